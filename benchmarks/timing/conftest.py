"""pytest wiring of the timing modules: options, thread pinning, parametrization and order.

Contract
--------
``--timing-mode quick|full`` picks the :mod:`benchmarks.timing.plan` settings (default
quick); ``--timing-settings FILE`` replaces them by settings saved with ``plan.save_settings``
(how ``python -m benchmarks.timing`` runs its passes); ``--timing-threads N`` (default 1) pins
every BLAS/OpenMP pool with ``threadpoolctl`` (and PyTorch with ``torch.set_num_threads``)
while the timing tests run. Each test function marked ``@pytest.mark.impls(...)`` receives a
``case`` fixture per planned case of those implementations; the collected items are then
sorted into the plan's order (so the paired blocks interleave across modules) and given their
pytest-benchmark time budget by marker; tests outside this folder in the same session are left
untouched. The ``timed`` fixture benchmarks a callable and stores the case in the benchmark's
``extra_info``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from threadpoolctl import threadpool_limits

from benchmarks.timing.plan import (
    FULL,
    QUICK,
    Case,
    Settings,
    Timed,
    load_settings,
    make_plan,
)

HERE = Path(__file__).resolve().parent
SETTINGS_KEY = pytest.StashKey[Settings]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nplearn timing")
    group.addoption("--timing-mode", choices=("quick", "full"), default="quick")
    group.addoption("--timing-settings", default=None, help="settings JSON (plan.save_settings)")
    group.addoption("--timing-threads", type=int, default=1, help="BLAS threads (pinned)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "impls(*names): implementations a timing test covers")
    path = config.getoption("--timing-settings")
    if path:
        settings = load_settings(path)
    else:
        settings = QUICK if config.getoption("--timing-mode") == "quick" else FULL
    config.stash[SETTINGS_KEY] = settings


@pytest.fixture(scope="session", autouse=True)
def _pinned_threads(pytestconfig: pytest.Config) -> Iterator[None]:
    """Pin every BLAS/OpenMP pool for the timing tests (only those: this is their conftest)."""
    with threadpool_limits(limits=pytestconfig.getoption("--timing-threads")):
        yield


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("impls")
    if marker is None or "case" not in metafunc.fixturenames:
        return
    plan = make_plan(metafunc.config.stash[SETTINGS_KEY])
    cases = [case for case in plan if case.impl in marker.args]
    metafunc.parametrize("case", cases, ids=[case.id for case in cases])


def _case(item: pytest.Item) -> Case | None:
    callspec = getattr(item, "callspec", None)
    case = callspec.params.get("case") if callspec else None
    return case if isinstance(case, Case) else None


def _is_timing(item: pytest.Item) -> bool:
    return HERE in item.path.parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the timing items by the plan; tests elsewhere in the session are left alone."""
    settings = config.stash[SETTINGS_KEY]
    others, planned, unplanned = [], [], []
    for item in items:
        case = _case(item) if _is_timing(item) else None
        if case is not None:
            planned.append((case, item))
        elif _is_timing(item) and item.get_closest_marker("impls"):
            unplanned.append(item)  # a timing test with no case in this plan (torch in a recheck)
        else:
            others.append(item)  # e.g. the unit tests of test_gate.py: they run first
    if unplanned:
        config.hook.pytest_deselected(items=unplanned)
    planned.sort(key=lambda pair: pair[0].sort_key())
    for case, item in planned:
        budget = settings.block_time if case.paired else settings.single_time
        item.add_marker(
            pytest.mark.benchmark(group=case.group, max_time=budget, min_rounds=settings.min_rounds)
        )
    items[:] = others + [item for _, item in planned]


@pytest.fixture
def threads(pytestconfig: pytest.Config) -> int:
    """The pinned thread count (PyTorch gets the same)."""
    return int(pytestconfig.getoption("--timing-threads"))


@pytest.fixture
def timed(benchmark: Any, case: Case) -> Timed:
    """``timed(fn, *args)``: benchmark ``fn`` for ``case`` and record the case with it."""

    def run(fn: Callable[..., Any], *args: Any) -> Any:
        benchmark.extra_info.update(case.extra_info())
        return benchmark(fn, *args)

    return run
