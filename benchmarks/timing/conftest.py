"""pytest wiring of the timing modules: options, thread pinning, parametrization and order.

Contract
--------
``--timing-mode quick|full`` picks the :mod:`benchmarks.timing.plan` settings (default
quick); ``--timing-settings FILE`` replaces them by settings saved with ``plan.save_settings``
(how ``python -m benchmarks.timing`` runs its passes); ``--timing-threads N`` (default 1) pins
every BLAS/OpenMP pool with ``threadpoolctl`` (and PyTorch with ``torch.set_num_threads``) for
the whole session. Each test function marked ``@pytest.mark.impls(...)`` receives a ``case``
fixture per planned case of those implementations; the collected items are then sorted into the
plan's order (so the paired blocks interleave across modules) and given their pytest-benchmark
time budget by marker. The ``timed`` fixture benchmarks a callable and stores the case in the
benchmark's ``extra_info``.
"""

from __future__ import annotations

from collections.abc import Callable
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

SETTINGS_KEY = pytest.StashKey[Settings]()
LIMITER_KEY = pytest.StashKey[threadpool_limits]()


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
    config.stash[LIMITER_KEY] = threadpool_limits(limits=config.getoption("--timing-threads"))


def pytest_unconfigure(config: pytest.Config) -> None:
    limiter = config.stash.get(LIMITER_KEY, None)
    if limiter is not None:
        limiter.restore_original_limits()


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = config.stash[SETTINGS_KEY]
    unplanned = [item for item in items if _case(item) is None]
    if unplanned:  # a timing test with no case in this plan (e.g. torch in a recheck)
        config.hook.pytest_deselected(items=unplanned)
    planned = sorted(
        (item for item in items if _case(item) is not None), key=lambda item: _case(item).sort_key()
    )  # type: ignore[union-attr]
    for item in planned:
        case = _case(item)
        assert case is not None
        budget = settings.block_time if case.paired else settings.single_time
        item.add_marker(
            pytest.mark.benchmark(group=case.group, max_time=budget, min_rounds=settings.min_rounds)
        )
    items[:] = planned


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
