"""The local stack: real Mosquitto and InfluxDB processes on their own ports, with their
own config and state, plus the gateway and API; used by ``dampwatch up`` and the tests."""
