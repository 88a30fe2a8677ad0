"""``parametrize_with_checks``: the conformance checks as tests of a library's own pytest suite.

Contract
--------
As scikit-learn's helper of the same name::

    from verification.conformance import parametrize_with_checks

    @parametrize_with_checks("my_adapter.py")
    def test_my_library(check):
        check()

gives one test per row of the card, with the id ``piece-check`` (``relu-backward-vs-torch``).
The adapter path is taken relative to the test file's folder when it exists there, else to the
working directory; it is loaded when the first test runs. A row whose verdict is ``wrong``,
``unstable`` raises ``AssertionError`` with the verdict, worst error, diagnosis and
counterexample, an ``error`` with the exception's first line, where and on which example it was
raised; a piece
the adapter does not define is a skip with the reason ``"not present (no ...)"``, as pytest
users expect of something that cannot run. ``rows`` selects the rows (default: every row).
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from verification.conformance.checks import Row
from verification.conformance.checks import rows as all_rows
from verification.conformance.result import ERROR, NOT_PRESENT
from verification.conformance.runner import DEFAULT_TIMEOUT, run_row
from verification.conformance.target import Target, load_adapter

__all__ = ["parametrize_with_checks"]


@functools.cache
def _target(path: Path) -> Target:
    return load_adapter(path)


def _check(row: Row, path: Path, timeout: float) -> Callable[[], None]:
    def check() -> None:
        result = run_row(row, _target(path), timeout)
        if result.verdict == NOT_PRESENT:
            pytest.skip(f"not present ({result.detail})")
        elif result.verdict == ERROR:
            raise AssertionError(f"{row.id}: {result.verdict_text()}"
                                 + (f" (raised at {result.where})" if result.where else "")
                                 + (f" on {result.counterexample}" if result.counterexample
                                    else ""))
        elif result.failed:
            raise AssertionError(
                f"{row.id}: {result.verdict}; worst error {result.worst_error}; "
                f"diagnosis: {result.evidence()}; counterexample: {result.counterexample}"
            )

    check.__name__ = check.__qualname__ = row.id
    return check


def parametrize_with_checks(
    adapter: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT, stacklevel: int = 1,
    rows: Iterable[Row] | None = None,
) -> Any:
    """A ``pytest.mark.parametrize("check", ...)`` over every check, for the adapter file.

    Args:
        adapter: the adapter file (relative to the calling test file's folder, or to the
            working directory).
        timeout: the time limit of each check, in seconds.
        stacklevel: which caller's file a relative path starts from (1: this function's).
        rows: the rows to run (default: every row of the card).
    """
    path = Path(adapter)
    if not path.is_absolute():
        here = Path(inspect.stack()[stacklevel].filename).resolve().parent / path
        path = here if here.is_file() else Path.cwd() / path
    every = all_rows() if rows is None else list(rows)
    return pytest.mark.parametrize(
        "check", [_check(row, path.resolve(), timeout) for row in every],
        ids=[row.id for row in every],
    )
