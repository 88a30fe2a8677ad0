"""Timings of nplearn's 784-128-10 training step: floors, peers, a ratio gate, the limit, an A/B.

Contract
--------
``python -m benchmarks.timing`` (see ``__main__``). :mod:`.steps` holds every timed step of a
:mod:`.config`, :mod:`.bench_steps` times them with pytest-benchmark in ABBA-interleaved blocks,
:mod:`.gate` judges the result, :mod:`.sequential` compares across fresh :mod:`.worker` processes
until decided (for :mod:`.ab`, :mod:`.bisect`, the gate's second look and :mod:`.limit`),
:mod:`.run` drives a run and :mod:`.report` renders it.
"""
