"""The thread count and the core every timed benchmark pins (BLAS, OpenMP, PyTorch and XLA alike).

Contract
--------
:func:`default_threads` is ``$NPLEARN_BENCH_THREADS`` or 1: on a 2-core machine two OpenBLAS
threads make the small products of a 784-128-10 step slower and noisier, and their workers
spin-wait on the core PyTorch's second thread needs, which would flatter nplearn; timing and mnist
both use it, so their figures compare. :func:`pinned_environment` pins a new process's pools
before it starts (threadpoolctl cannot reach XLA's, and some pools read it at import). Every timed
process runs on one core, ``$NPLEARN_BENCH_CORE`` (default: the last core this process may use;
``none``: no pinning), so no implementation gets a second core for its runtime threads: :func:`pin`
sets it (``os.sched_setaffinity``) and must run before any library starts a thread (threads
inherit the affinity of the thread that starts them); :func:`affinity` describes it for provenance.
"""

from __future__ import annotations

import os

ENV = "NPLEARN_BENCH_THREADS"
CORE = "NPLEARN_BENCH_CORE"
OFF = "none"


def default_threads() -> int:
    return int(os.environ.get(ENV, "1"))


def default_core() -> str:
    """``$NPLEARN_BENCH_CORE``, else the last core this process may use (``none``: no affinity)."""
    getter = getattr(os, "sched_getaffinity", None)
    return os.environ.get(CORE) or (str(max(getter(0))) if getter else OFF)


def pinned_environment(threads: int, core: str | None = None) -> dict[str, str]:
    """Variables that pin a new process's BLAS, OpenMP and XLA pools to ``threads`` and, with
    one thread, the process to ``core`` (default :func:`default_core`; ``none``: unpinned)."""
    n = str(threads)
    single = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    xla = single if threads == 1 else ""
    return {ENV: n, "OPENBLAS_NUM_THREADS": n, "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n,
            "XLA_FLAGS": xla, CORE: (core or default_core()) if threads == 1 else OFF}  # fmt: skip


def pin() -> str | None:
    """Pin this process to ``$NPLEARN_BENCH_CORE``; None when done or turned off, else why it
    could not be (not Linux, a core this process may not use)."""
    core = default_core()
    try:
        if core != OFF:
            os.sched_setaffinity(0, {int(core)})
    except (AttributeError, ValueError, OSError) as exc:
        return f"cannot pin to core {core!r} ({type(exc).__name__}: {exc})"
    return None


def affinity() -> str:
    """This process's CPU affinity, for provenance: ``core N ...`` or ``unpinned (cores ...)``."""
    cores = sorted(getattr(os, "sched_getaffinity", lambda pid: [])(0))
    if os.environ.get(CORE) != OFF and len(cores) == 1:
        return f"core {cores[0]}, every timed process (runtime threads inherit it)"
    return f"unpinned (cores {', '.join(map(str, cores)) or 'unknown'})"
