"""How much memory a call allocates, for tests that a step works in its own buffers.

Contract
--------
:func:`peak_bytes` runs a function under :mod:`tracemalloc`, which also sees NumPy's array
buffers, and returns the peak of memory allocated during the call beyond what was allocated
before it. A test compares it with the size of the arrays involved: a temporary array of that
size shows up as a peak of at least its size.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable


def peak_bytes(fn: Callable[..., object], *args: object) -> int:
    """The peak of memory newly allocated while ``fn(*args)`` runs, in bytes."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn(*args)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
