"""The simulators' first API, kept for its callers (``dampwatch simulate``,
``dampwatch evaluate``, the end-to-end tests). New code imports ``simulators.estate``,
``simulators.flat``, ``simulators.scenario``, ``simulators.weather`` and
``simulators.csvout`` directly (see ``simulators/README.md``)."""
