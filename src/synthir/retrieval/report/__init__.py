"""The study's reports: ``scaling.csv`` (one row per cell), ``summary.csv`` (draws and seeds pooled,
tests and their power), ``claims.md`` (a verdict per claim) and the volatile ``timings.csv``."""
