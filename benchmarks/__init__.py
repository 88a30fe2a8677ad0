"""nplearn benchmarks: ``benchmarks.timing`` (timings) and ``benchmarks.mnist`` (reproduction)."""
