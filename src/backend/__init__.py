"""Backend: registry, API, dashboard and scheduled risk analytics."""
