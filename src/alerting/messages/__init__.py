"""Messages to tenants: SMS length and cost, quiet hours, and reading replies."""
