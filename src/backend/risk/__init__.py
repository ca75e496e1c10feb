"""Risk analytics: damp, condensation, mould and under-heating from indoor climate.

Physics (``psychrometrics``, ``surfaces``, ``mould``, ``heating``) are pure functions
over numpy arrays, documented with units and the papers and standards they come from (see
``backend/risk/README.md``). The
``engine`` scores many rooms at once on a regular time grid, carrying state (the mould
index) between runs; ``levels`` turns metrics into explained risk levels using the
versioned ``thresholds.toml``.
"""
