"""pytest wiring of the timing pass: modes, ABBA order, thread pinning, one line per configuration.

Contract
--------
``--timing-mode quick|full`` picks :data:`MODES`; ``--timing-threads N`` pins every pool with
threadpoolctl. :func:`cases` plans, per configuration, ``pairs`` repeats of one block per
implementation in ABBA order, so every ratio compares blocks timed seconds apart. The ``step``
fixture builds each step once per configuration, after :func:`steps.assert_same_step` (not for the
post's code, whose gradient is not its loss's); float64 JAX in a :class:`WorkerStep`
(``jax_enable_x64`` is process-global: never on here). One line per configuration replaces
pytest-benchmark's tables.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from benchmarks.timing.config import Config, configs
from benchmarks.timing.sequential import QUANTILE, ROOT, Side, Worker
from benchmarks.timing.steps import IMPLS, Step, assert_same_step, make_step

#: Batch sizes, interleaved blocks per implementation, seconds per block.
MODES: dict[str, dict[str, Any]] = {
    "quick": {"batches": (16, 100), "pairs": 3, "block": 0.03},
    "full": {"batches": (1, 16, 100, 256, 1024), "pairs": 9, "block": 0.08},
}


@dataclass(frozen=True)
class Case:
    impl: str
    config: Config
    repeat: int
    block: float  # seconds
    last: bool = False

    @property
    def id(self) -> str:
        return f"{self.impl}-{self.config.id}-r{self.repeat}"

    @property
    def in_worker(self) -> bool:
        return self.impl == "jax" and self.config.dtype == "float64"


class WorkerStep:
    """A step built, checked and timed in a :mod:`.worker` of its own: :meth:`fetch` times steps
    there back to back, a call returns the next one's seconds (or times one) and :meth:`clock`
    advances by them, so pytest-benchmark, given it as timer, records the worker's times."""

    elapsed = 0.0

    def __init__(self, case: Case) -> None:
        cfg, self.times = case.config, list[float]()
        self.key = [case.impl, cfg.net, cfg.dtype, cfg.batch]
        self.worker = Worker(Side(f"{case.impl} {cfg.id} worker", ROOT, (case.impl,)))
        self.worker.handshake()
        self.worker.ask(check=self.key)
        self.worker.ask(build=self.key)

    def fetch(self, steps: int) -> None:
        self.times = self.worker.ask(time=self.key, steps=1, chunks=steps)["times"][::-1]

    def __call__(self) -> float:
        if not self.times:
            self.fetch(1)
        seconds = self.times.pop()
        WorkerStep.elapsed += seconds
        return seconds

    @staticmethod
    def clock() -> float:
        return WorkerStep.elapsed


def cases(mode: str) -> list[Case]:
    settings = MODES[mode]
    impls = [i for i in IMPLS if i not in ("torch", "jax") or importlib.util.find_spec(i)]
    out = []
    for cfg in configs(settings["batches"]):
        for r in range(settings["pairs"]):
            out += [Case(i, cfg, r, settings["block"]) for i in (impls[::-1] if r % 2 else impls)]
        out[-1] = replace(out[-1], last=True)
    return out


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--timing-mode", choices=tuple(MODES), default="quick")
    parser.addoption("--timing-threads", type=int, default=1)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        plan = cases(metafunc.config.getoption("--timing-mode"))
        timer = {c: WorkerStep.clock if c.in_worker else c.config.clock for c in plan}
        marks = {c: pytest.mark.benchmark(timer=timer[c]) for c in plan}
        metafunc.parametrize("case", [pytest.param(c, id=c.id, marks=marks[c]) for c in plan])


@pytest.fixture(scope="session", autouse=True)
def _pinned(pytestconfig: pytest.Config) -> Iterator[None]:
    with threadpool_limits(limits=pytestconfig.getoption("--timing-threads")):
        yield


_BUILT: dict[tuple[str, Config], Step] = {}
_SEEN: dict[Config, dict[str, list[float]]] = {}
_LINES: list[str] = []


def build(case: Case) -> Step:
    """The case's step, checked against nplearn's first."""
    if case.in_worker:
        return WorkerStep(case)
    if case.impl not in ("nplearn", "post"):  # the post's loss and gradient disagree (its bug)
        assert_same_step(case.impl, case.config)
    return make_step(case.impl, case.config)


@pytest.fixture
def step(case: Case) -> Step:
    key = (case.impl, case.config)
    return _BUILT[key] if key in _BUILT else _BUILT.setdefault(key, build(case))


def record(case: Case, times: list[float]) -> float:
    """A block's :data:`QUANTILE`; after a configuration's last block, queue its line (printed
    after output capture) and free its steps."""
    value = float(np.quantile(times, QUANTILE))
    _SEEN.setdefault(case.config, {}).setdefault(case.impl, []).append(value)
    if case.last:
        seen = _SEEN.pop(case.config)
        cells = ", ".join(f"{impl} {1e3 * float(np.median(v)):.3f}" for impl, v in seen.items())
        _LINES.append(f"  {case.config.id:<22} ms per step: {cells}")
        for impl in seen:
            if isinstance(done := _BUILT.pop((impl, case.config), None), WorkerStep):
                done.worker.close()
    return value


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    while _LINES and report.when == "teardown":
        print(_LINES.pop(0), flush=True)


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config
                             ) -> tuple[str, str, str] | None:  # fmt: skip
    if report.passed:  # one line per configuration instead (see pytest_runtest_logreport)
        return "passed" if report.when == "call" else "", "", ""
    return None
