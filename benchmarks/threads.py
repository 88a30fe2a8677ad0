"""The thread count every timed benchmark pins (BLAS, OpenMP and torch alike).

Contract
--------
:func:`default_threads` is ``$NPLEARN_BENCH_THREADS`` or 1. One thread is the
default on purpose: on the 2-core build machines, two OpenBLAS threads make the
small products of a 784-128-10 step slower and far noisier (measured: a batch-16
step 0.21 ms on 1 thread vs 0.39-0.43 ms on 2), for nplearn and PyTorch alike.
Both ``benchmarks.timing`` and the time-to-accuracy runs of ``benchmarks.mnist``
use it, so their figures are comparable; ``--threads N`` overrides it.

Two threads would also bias the time-to-accuracy comparison. NumPy's OpenBLAS
workers spin-wait for a while after each product, on the core PyTorch's second
OpenMP thread needs. Alternating the two frameworks every quarter epoch on 2 threads,
PyTorch's seed-CE step took 1.2 to 4.6 ms depending on the pass, against 1.1 to
1.2 ms on 1 thread. Alternating every step, PyTorch's forward alone took 3.5 ms
(0.57 ms on 1 thread). That would flatter nplearn.
"""

from __future__ import annotations

import os

ENV = "NPLEARN_BENCH_THREADS"


def default_threads() -> int:
    """``$NPLEARN_BENCH_THREADS`` as an int, else 1."""
    return int(os.environ.get(ENV, "1"))
