"""Simulators: physically plausible flats and sensor fleets."""
