"""The verification suite (pytest), and the report and provenance code it shares with benchmarks/."""
