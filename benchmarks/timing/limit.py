"""How far from the limit: nplearn's step against the matrix-product bound and every peer.

Contract
--------
:func:`measure` times with :func:`.sequential.measure` (nothing decided, 95% intervals over
``clusters`` clusters) the fused floor, nplearn, the matrix-product bound :data:`.steps.BOUND`,
PyTorch and JAX (when installed) in the environment as given, and the floor and nplearn under
each other OpenBLAS kernel this CPU supports (:func:`nplearn.doctor.supported_coretypes`, unless
it loads a kernel already present). Its outcome holds nplearn (default kernel) / each arm, named
by :func:`name`, and :data:`FLOOR_BOUND`. The limit is the bound; the fastest step is a peer.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from contextlib import closing

from benchmarks.timing.config import Config
from benchmarks.timing.sequential import ROOT, Arm, Outcome, Side, Worker
from benchmarks.timing.sequential import measure as measure_clusters
from benchmarks.timing.steps import BOUND
from nplearn.doctor import VAR, supported_coretypes

DEFAULT = "default"
OURS = (DEFAULT, "nplearn")
FLOOR, LIMIT = (DEFAULT, "floor"), (DEFAULT, BOUND)
FLOOR_BOUND = "floor / bound"


def name(arm: Arm) -> str:
    """The name of nplearn (default kernel) / ``arm``, e.g. ``default torch``."""
    return " ".join(arm)


def _sides() -> dict[str, Side]:
    """The default worker and one per OpenBLAS kernel that loads as a kernel not yet present."""
    peers = tuple(p for p in ("torch", "jax") if importlib.util.find_spec(p))
    sides = {DEFAULT: Side("default kernel", ROOT, ("floor", "nplearn", BOUND, *peers))}
    kernels = set()
    for core, env in [(DEFAULT, ()), *((c, ((VAR, c),)) for c in supported_coretypes())]:
        with closing(Worker(Side(f"{VAR}={core}", ROOT, (), env))) as probe:
            probe.handshake()
            kernel = probe.kernel()
        if kernel not in kernels:
            kernels.add(kernel)
            sides.setdefault(core, Side(f"{VAR}={core}", ROOT, ("floor", "nplearn"), env))
    return sides


def measure(configs: Sequence[Config], *, clusters: int, block: float = 0.03) -> Outcome:
    sides = _sides()
    ratios = {name((w, i)): (OURS, (w, i)) for w, side in sides.items() for i in side.impls}
    return measure_clusters(sides, {**ratios, FLOOR_BOUND: (FLOOR, LIMIT)}, configs,
                            budget=math.inf, decide=lambda c, n, e: None, max_clusters=clusters,
                            block=block, level=0.95)  # fmt: skip
