"""The verification suite (pytest), and the report and provenance code shared with benchmarks/."""
