"""The thread count every timed benchmark pins (BLAS, OpenMP, PyTorch and XLA alike).

Contract
--------
:func:`default_threads` is ``$NPLEARN_BENCH_THREADS`` or 1: on a 2-core machine two OpenBLAS
threads make the small products of a 784-128-10 step slower and noisier, and OpenBLAS workers
spin-wait on the core PyTorch's second thread needs, which would flatter nplearn. Timing and
mnist both use it, so their figures compare. :func:`pinned_environment` pins a new process's
pools before it starts (threadpoolctl cannot reach XLA's, and some pools read it at import).
"""

from __future__ import annotations

import os

ENV = "NPLEARN_BENCH_THREADS"


def default_threads() -> int:
    return int(os.environ.get(ENV, "1"))


def pinned_environment(threads: int) -> dict[str, str]:
    """Variables that pin a new process's BLAS, OpenMP and XLA pools to ``threads``."""
    n = str(threads)
    single = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    xla = single if threads == 1 else ""
    return {ENV: n, "OPENBLAS_NUM_THREADS": n, "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n,
            "XLA_FLAGS": xla}  # fmt: skip
