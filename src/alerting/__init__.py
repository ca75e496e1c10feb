"""Alerting: findings -> tickets with Awaab's Law clocks, contractor webhooks, tenant SMS."""
