"""Physically plausible flats: weather, a 1R1C heat and moisture balance per room,
labelled scenarios and whole estates (see ``simulators/README.md``)."""
