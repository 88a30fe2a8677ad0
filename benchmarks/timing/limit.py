"""How far from the limit: nplearn's step against the matrix-product bound and every peer.

Contract
--------
:func:`measure` times, with :func:`.sequential.measure` (fresh workers in every cluster, intervals
over clusters, nothing decided), a worker with the environment as given (the default kernel:
the fused floor, nplearn, the matrix-product bound :data:`.steps.BOUND`, and PyTorch and JAX
when installed) and one per other OpenBLAS kernel this CPU supports
(:func:`nplearn.doctor.supported_coretypes`; one that loads a kernel already present is
dropped): the floor and nplearn. Every candidate gets nplearn (default kernel) / candidate, and
the floor gets floor / bound, each with its 95% interval over ``clusters`` clusters. The limit is
the bound (the step's matrix products alone); the fastest measured step is a peer.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.timing.config import Config
from benchmarks.timing.sequential import ROOT, Estimate, Side, Worker
from benchmarks.timing.sequential import measure as measure_clusters
from benchmarks.timing.steps import BOUND
from nplearn.doctor import VAR, supported_coretypes

DEFAULT = "default"
OURS = (DEFAULT, "nplearn")
FLOOR, LIMIT = (DEFAULT, "floor"), (DEFAULT, BOUND)


@dataclass
class Limit:
    """Per config and candidate ``(worker, impl)``: median ``times`` (ms) and ``ratios``
    (nplearn default kernel / candidate); ``floor`` (floor / bound) per config; ``kernels`` maps
    each worker to the kernel it ran."""

    kernels: dict[str, str]
    times: dict[Config, dict[tuple[str, str], float]]
    ratios: dict[Config, dict[tuple[str, str], Estimate]]
    floor: dict[Config, Estimate]

    def fastest(self, config: Config) -> tuple[str, str]:
        """The fastest measured step (the bound is not a step)."""
        steps = [arm for arm in self.times[config] if arm != LIMIT]
        return min(steps, key=self.times[config].__getitem__)


def _sides() -> dict[str, Side]:
    """The default worker and one per OpenBLAS kernel that loads as a kernel not yet present."""
    peers = tuple(p for p in ("torch", "jax") if importlib.util.find_spec(p))
    sides = {DEFAULT: Side("default kernel", ROOT, ("floor", "nplearn", BOUND, *peers))}
    kernels = set()
    for name, env in [(DEFAULT, ()), *((c, ((VAR, c),)) for c in supported_coretypes())]:
        probe = Worker(Side(f"{VAR}={name}", ROOT, (), env))
        try:
            probe.handshake()
            kernel = probe.kernel()
        finally:
            probe.close()
        if kernel not in kernels:
            kernels.add(kernel)
            sides.setdefault(name, Side(f"{VAR}={name}", ROOT, ("floor", "nplearn"), env))
    return sides


def measure(configs: Sequence[Config], *, clusters: int, block: float = 0.03) -> Limit:
    sides = _sides()
    arms = [(side, impl) for side, s in sides.items() for impl in s.impls]
    names = {f"{side} {impl}": (OURS, (side, impl)) for side, impl in arms}
    outcome = measure_clusters(
        sides, {**names, "floor / bound": (FLOOR, LIMIT)}, configs,
        budget=math.inf, decide=lambda c, name, e: None, max_clusters=clusters, block=block,
        level=0.95,
    )  # fmt: skip
    ratios = {c: {a: outcome.estimates[c][f"{a[0]} {a[1]}"] for a in arms} for c in configs}
    floor = {c: outcome.estimates[c]["floor / bound"] for c in configs}
    return Limit(outcome.kernels, outcome.times, ratios, floor)
