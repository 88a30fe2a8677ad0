"""The conformance suite: nplearn's checks, run on any homemade NumPy network library.

Contract
--------
A library is presented by an adapter file in the post's interface
(:mod:`verification.conformance.target`); every check of :data:`CHECKS` runs on it and gives
one :class:`Result` per piece (:func:`run_checks`); ``python -m verification.card`` writes the
results as a report card, and :func:`parametrize_with_checks` runs them in the library's own
pytest suite, one test per check, as scikit-learn's helper of that name does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from verification.conformance.checks import CHECKS, Check, Row, rows
from verification.conformance.result import VERDICTS, Result
from verification.conformance.runner import DEFAULT_TIMEOUT, run_checks, run_row
from verification.conformance.target import NotAnAdapter, Target, load_adapter

__all__ = [
    "CHECKS", "VERDICTS", "Check", "NotAnAdapter", "Result", "Row", "Target", "load_adapter",
    "parametrize_with_checks", "rows", "run_checks", "run_row",
]


def parametrize_with_checks(
    adapter: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT,
    rows: Iterable[Row] | None = None,
) -> Any:
    """One test per check on the adapter file: see
    :func:`verification.conformance.pytest_helper.parametrize_with_checks` (pytest is imported
    only here, so that the card does not need it)."""
    from verification.conformance.pytest_helper import parametrize_with_checks as helper

    return helper(adapter, timeout=timeout, stacklevel=2, rows=rows)
