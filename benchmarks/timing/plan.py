"""The plan of a timing run: which cases are timed, in which order, for how long.

Contract
--------
A :class:`Case` names one benchmark: an implementation (``IMPLS``), a kind of call (``forward``,
``backward`` or ``step``), a network, a dtype, a batch size and, for the *paired* cases, a
repeat index. :func:`make_plan` turns :class:`Settings` (``QUICK``, ``FULL``, or those of a
recheck) into the ordered list of cases; :meth:`Case.sort_key` is the execution order.

Noise on a shared machine is handled by pairing, not by loosening thresholds: the cases that are
compared by ratio (the fused floor, nplearn's step, PyTorch's step and, where the gate's
self-test runs, nplearn with a slowed ``Linear``) are timed in ``pairs`` short interleaved blocks,
in ABBA order (the order reverses on odd repeats), so each ratio comes from blocks measured
seconds apart and a burst of load on the machine spoils one block pair, not the figure. Every
other case is timed once, for ``single_time`` seconds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.timing.workloads import NETS, kind_flops

__all__ = [
    "DTYPES",
    "FULL",
    "IMPLS",
    "PAIRED",
    "QUICK",
    "Case",
    "Settings",
    "Timed",
    "load_settings",
    "make_plan",
    "recheck_settings",
    "save_settings",
    "selftest_settings",
]

#: The ``timed`` fixture: ``timed(fn, *args)`` benchmarks ``fn(*args)`` and returns its result.
Timed = Callable[..., Any]

#: Implementations, in the order they run inside a configuration.
IMPLS = ("floor-gemm", "floor-fused", "nplearn", "nplearn-copy", "torch", "sklearn", "seed")
#: Implementations timed in interleaved repeated blocks (their ratios are gated or reported).
PAIRED = ("floor-fused", "nplearn", "torch", "nplearn-copy")
DTYPES = ("float32", "float64")
KINDS = ("forward", "backward", "step")
#: The implementation every ratio is taken against.
REFERENCE = "floor-fused"


@dataclass(frozen=True)
class Case:
    """One benchmark of the plan.

    Attributes:
        impl: one of :data:`IMPLS`.
        kind: ``"forward"``, ``"backward"`` or ``"step"`` (only nplearn has the first two).
        net: ``"relu"`` or ``"sigmoid"``.
        dtype: ``"float32"`` or ``"float64"`` (the seed always computes in float64 on float32
            inputs: its case is timed under both names, to be compared with either floor).
        batch: rows per batch.
        repeat: index of the interleaved block (0 for unpaired cases).
        paired: timed in interleaved blocks (see the module docstring).
    """

    impl: str
    kind: str
    net: str
    dtype: str
    batch: int
    repeat: int = 0
    paired: bool = False

    @property
    def id(self) -> str:
        """The pytest id, e.g. ``nplearn-step-relu-float32-b100-r2``."""
        tail = f"-r{self.repeat}" if self.paired else ""
        return f"{self.impl}-{self.kind}-{self.net}-{self.dtype}-b{self.batch}{tail}"

    @property
    def group(self) -> str:
        """The pytest-benchmark group: one configuration."""
        return f"{self.net} {self.dtype} batch {self.batch}"

    def sort_key(self) -> tuple[object, ...]:
        """Execution order: configuration, then single cases, then the paired blocks (ABBA)."""
        config = (NETS.index(self.net), DTYPES.index(self.dtype), self.batch)
        if not self.paired:
            return (*config, 0, 0, IMPLS.index(self.impl), KINDS.index(self.kind))
        position = PAIRED.index(self.impl)
        if self.repeat % 2:
            position = len(PAIRED) - position
        return (*config, 1, self.repeat, position, 0)

    def extra_info(self) -> dict[str, object]:
        """What the results table needs, stored with the benchmark in the JSON."""
        return {
            "impl": self.impl,
            "kind": self.kind,
            "net": self.net,
            "dtype": self.dtype,
            "batch": self.batch,
            "repeat": self.repeat,
            "paired": self.paired,
            "flops": kind_flops(self.kind, self.batch),
        }


@dataclass(frozen=True)
class Settings:
    """How much to time.

    Attributes:
        name: ``"quick"``, ``"full"`` or ``"recheck"`` (recorded in the report).
        nets, dtypes, batches: the configurations.
        pairs: interleaved blocks per paired case (odd: the median is one block pair).
        block_time: seconds per paired block (pytest-benchmark ``max_time``).
        single_time: seconds per unpaired case.
        min_rounds: rounds per benchmark at least.
        selftest_batches: float32 batch sizes at which nplearn with the slowed ``Linear`` is
            timed for the gate's self-test.
        impls: the implementations to time (a recheck times only some).
        only: if not empty, the configurations ``(net, dtype, batch)`` to time (a recheck).
    """

    name: str
    nets: tuple[str, ...] = NETS
    dtypes: tuple[str, ...] = DTYPES
    batches: tuple[int, ...] = (1, 16, 100, 256, 1024)
    pairs: int = 9
    block_time: float = 0.2
    single_time: float = 1.0
    min_rounds: int = 15
    selftest_batches: tuple[int, ...] = (16, 100)
    impls: tuple[str, ...] = IMPLS
    only: tuple[tuple[str, str, int], ...] = field(default=())


FULL = Settings(name="full")
QUICK = Settings(
    name="quick", batches=(16, 100), pairs=7, block_time=0.08, single_time=0.25, min_rounds=10
)


def recheck_settings(settings: Settings, configs: Iterable[tuple[str, str, int]]) -> Settings:
    """Settings re-timing nplearn (and its slowed variant) against the fused floor in
    ``configs`` only, with twice the interleaved blocks plus one (an odd count, so the median
    block ratio is one block pair's)."""
    return replace(
        settings,
        name="recheck",
        pairs=2 * settings.pairs + 1,
        impls=("floor-fused", "nplearn", "nplearn-copy"),
        only=tuple(sorted(set(configs))),
    )


def selftest_settings(settings: Settings) -> Settings:
    """Settings timing only what the gate's self-test needs (float32, its batch sizes)."""
    return replace(
        settings,
        name=f"{settings.name} self-test",
        dtypes=("float32",),
        batches=settings.selftest_batches,
        impls=("floor-fused", "nplearn", "nplearn-copy"),
    )


def save_settings(settings: Settings, path: str | os.PathLike[str]) -> None:
    """Write settings as JSON (read back by :func:`load_settings`)."""
    Path(path).write_text(json.dumps(asdict(settings)), encoding="utf-8")


def load_settings(path: str | os.PathLike[str]) -> Settings:
    """Read settings written by :func:`save_settings`."""
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    data["only"] = [tuple(c) for c in data["only"]]
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return Settings(**fields)


def _configs(settings: Settings) -> Iterator[tuple[str, str, int]]:
    if settings.only:
        yield from settings.only
        return
    for net in settings.nets:
        for dtype in settings.dtypes:
            for batch in settings.batches:
                yield net, dtype, batch


def make_plan(settings: Settings) -> list[Case]:
    """The ordered cases of a run.

    Args:
        settings: what to time.

    Returns:
        The cases sorted by :meth:`Case.sort_key`.
    """
    cases: list[Case] = []
    for net, dtype, batch in _configs(settings):
        for impl in settings.impls:
            if impl == "nplearn-copy" and (
                dtype != "float32" or batch not in settings.selftest_batches
            ):
                continue
            if impl in PAIRED:
                cases += [
                    Case(impl, "step", net, dtype, batch, repeat=r, paired=True)
                    for r in range(settings.pairs)
                ]
            else:
                cases.append(Case(impl, "step", net, dtype, batch))
            if impl == "nplearn" and not settings.only:
                cases += [Case(impl, kind, net, dtype, batch) for kind in ("forward", "backward")]
    return sorted(cases, key=Case.sort_key)
