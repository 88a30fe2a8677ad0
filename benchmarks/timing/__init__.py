"""Timings of nplearn's 784-128-10 training step, with floors, peers and a ratio gate (issue 4).

Contract
--------
``python -m benchmarks.timing [--quick]`` pins the BLAS thread count for the whole run, times with
pytest-benchmark (modules ``bench_*.py`` here) nplearn's forward, backward and training step, two
plain-NumPy floors (:mod:`benchmarks.timing.floors`) and the peers PyTorch, scikit-learn and the
seed's own code (:mod:`benchmarks.timing.peers`) on the seed's networks, for several batch sizes
and both float dtypes; then it gates the ratios nplearn / fused floor measured in that same run
against ``benchmarks/thresholds.json`` (:mod:`benchmarks.timing.gate`) and writes
``reports/bench.md`` with PNG plots and CSV tables under ``reports/bench/``
(:mod:`benchmarks.timing.report`). Its exit status is non-zero when the gate fails.
"""
