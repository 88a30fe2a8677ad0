"""The thread count every timed benchmark pins (BLAS, OpenMP, PyTorch and XLA alike).

Contract
--------
:func:`default_threads` is ``$NPLEARN_BENCH_THREADS`` or 1. One thread is the default on purpose:
on a 2-core machine, two OpenBLAS threads make the small products of a 784-128-10 step slower and
far noisier, for nplearn and PyTorch alike, and NumPy's OpenBLAS workers spin-wait after each
product on the core PyTorch's second OpenMP thread needs, which would flatter nplearn in the
time-to-accuracy comparison. Both ``benchmarks.timing`` and ``benchmarks.mnist`` use it, so their
figures are comparable; ``--threads N`` overrides it. :func:`pinned_environment` is the
environment that pins the pools of a process before it starts (timing workers, kernel checks):
threadpoolctl cannot reach XLA's pool, and a pool read at import needs the variables early.
"""

from __future__ import annotations

import os

ENV = "NPLEARN_BENCH_THREADS"


def default_threads() -> int:
    """``$NPLEARN_BENCH_THREADS`` as an int, else 1."""
    return int(os.environ.get(ENV, "1"))


def pinned_environment(threads: int) -> dict[str, str]:
    """Variables that pin a new process's BLAS, OpenMP and XLA pools to ``threads``."""
    n = str(threads)
    single = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    xla = single if threads == 1 else ""
    return {ENV: n, "OPENBLAS_NUM_THREADS": n, "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n,
            "XLA_FLAGS": xla}  # fmt: skip
