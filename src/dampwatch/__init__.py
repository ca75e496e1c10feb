"""DampWatch command line and local stack."""
