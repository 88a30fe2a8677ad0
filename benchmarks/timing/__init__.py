"""Timings of nplearn's 784-128-10 training step: floors, peers, a ratio gate, the limit, an A/B.

Contract
--------
``python -m benchmarks.timing [--quick] [--reports DIR] [--baseline REF]`` (see ``__main__``).
:mod:`.steps` holds every timed step (nplearn, the fused floor, PyTorch, JAX, the post's code),
:mod:`.bench_steps` times them as pytest-benchmark functions in ABBA-interleaved blocks,
:mod:`.gate` judges the JSON, :mod:`.sequential` compares across fresh :mod:`.worker` processes
until decided (for :mod:`.ab`, the gate's second look and :mod:`.limit`), :mod:`.run` drives a run
and :mod:`.report` renders it.
"""
