"""How far from the limit: nplearn's step against the fastest step measured on this machine.

Contract
--------
:func:`measure` starts one :mod:`.worker` with the environment as given (the default kernel) and
one per other OpenBLAS kernel this CPU supports (:func:`nplearn.doctor.supported_coretypes`;
duplicates of a kernel dropped). Per configuration it times, in rounds (order reversed every
round), the fused floor and nplearn under every kernel, and PyTorch and JAX (when installed) in
the default worker; each round gives nplearn (default kernel) / candidate from blocks of that round.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

import numpy as np

from benchmarks.timing.ab import ROOT, ABError, Worker
from benchmarks.timing.steps import Config
from nplearn.doctor import VAR, supported_coretypes

DEFAULT = "default"


@dataclass
class Limit:
    """Per config and candidate ``(worker, impl)``: median ``times`` (ms) and ``ratios``
    ``(median, low, high)``; ``kernels`` maps each worker to the kernel it ran."""

    kernels: dict[str, str]
    times: dict[Config, dict[tuple[str, str], float]] = field(default_factory=dict)
    ratios: dict[Config, dict[tuple[str, str], tuple[float, float, float]]] = field(
        default_factory=dict
    )

    def fastest(self, config: Config) -> tuple[str, str]:
        return min(self.times[config], key=self.times[config].__getitem__)


def _workers(stack: ExitStack) -> dict[str, Worker]:
    workers = {DEFAULT: Worker(ROOT, "default kernel")}
    stack.callback(workers[DEFAULT].close)
    for coretype in supported_coretypes():
        worker = Worker(ROOT, f"{VAR}={coretype}", env={VAR: coretype})
        stack.callback(worker.close)
        if worker.kernel() not in {w.kernel() for w in workers.values()}:
            workers[coretype] = worker
    return workers


def measure(configs: Sequence[Config], *, rounds: int, block: float = 0.03) -> Limit:
    with ExitStack() as stack:
        workers = _workers(stack)
        result = Limit({name: w.kernel() for name, w in workers.items()})
        plan: dict[Config, dict[tuple[str, str], int]] = {}
        for c in configs:
            plan[c] = {}
            for name, worker in workers.items():
                for impl in ("floor", "nplearn", *(("torch", "jax") if name == DEFAULT else ())):
                    try:
                        seconds = worker.ask(build=[impl, c.net, c.dtype, c.batch])["seconds"]
                    except ABError:  # a peer that is not installed
                        continue
                    plan[c][(name, impl)] = max(8, round(block / seconds))
        seen: dict[Config, dict[tuple[str, str], list[float]]] = {c: {} for c in configs}
        for r in range(rounds):
            for c in configs:
                order = list(plan[c]) if r % 2 == 0 else list(plan[c])[::-1]
                for name, impl in order:
                    key = [impl, c.net, c.dtype, c.batch]
                    value = workers[name].block(key, plan[c][name, impl])
                    seen[c].setdefault((name, impl), []).append(value)
    for c in configs:
        ours = np.asarray(seen[c][(DEFAULT, "nplearn")])
        result.times[c] = {k: 1e3 * float(np.median(v)) for k, v in seen[c].items()}
        ratios = {k: ours / np.asarray(v) for k, v in seen[c].items()}
        result.ratios[c] = {k: (float(np.median(r)), r.min(), r.max()) for k, r in ratios.items()}
    return result
