"""Ingest gateway: MQTT telemetry -> validation -> registry enrichment -> InfluxDB."""
