"""From measurements to a verdict: run a trial on fixed examples, shrink a failure with hypothesis.

Contract
--------
A check measures with a *trial*: ``trial(example) -> Finding`` (worst error, tolerance,
diagnosis), an example being a dict of named arrays. :func:`judge` runs the trial on the check's
fixed examples (sizes chosen so that the batch size, the number of classes and 2 differ, which a
diagnosis needs); if any fails, the row gets ``verdict`` (``wrong`` unless the check says
otherwise), the diagnosis only if it is a pattern across the failing examples (:func:`pattern`:
the same words on each, a fitted number found on two at least; else, for float64 results off
the oracle by float32's rounding alone, words that say so), and a minimal counterexample:
hypothesis ``find`` over the check's strategy of small examples, derandomized, stopped after
:data:`SHRINK_SECONDS` with the smallest failing example found so far (the fixed example if
none). The row's worst error covers the counterexample too, where that error is finite (a
reference of zeros, such as a one-class softmax's gradient, makes any difference an infinite
relative error, which is no size). A fixed example on which the library raises ends the row as an
``error`` that shows the example's shapes and settings (``exc.example``, :func:`brief`), but one
:class:`Refused` as the layer was built is left out and named in the row's detail (all refused:
an ``error``); one that raises while shrinking does not count as failing; a library whose result
on an example changes from call to call (its own unseeded random draws) keeps the smallest failing
example found.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, NoSuchExample, Unsatisfiable

from verification.conformance.diagnosis import fitted
from verification.conformance.numeric import oracle_tol
from verification.conformance.result import PASS, WRONG, Result

__all__ = ["Example", "Finding", "Refused", "brief", "judge", "pattern", "show", "shrink"]

Example = dict[str, Any]
SHRINK_SECONDS = 2.0
SHRINK_SETTINGS = settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate, Phase.shrink],
)


class Refused(ValueError):
    """A fixed example the library declined as its layer was built (a ValueError-family error:
    a setting it does not take, such as a pool's stride other than its size): the row is judged
    on the other examples, and says which it was refused."""


@dataclass(frozen=True)
class Finding:
    """One trial's worst relative error, the tolerance it is judged by, and a diagnosis."""

    error: float
    tol: float
    diagnosis: str | None = None

    @property
    def failed(self) -> bool:
        return not self.error <= self.tol  # NaN fails


class _OutOfTime(Exception):
    pass


def shrink(
    strategy: st.SearchStrategy[Example], fails: Callable[[Example], bool]
) -> Example | None:
    """A small example on which ``fails`` holds, or None if hypothesis finds none in time."""
    smallest: list[Example] = []
    stop = time.monotonic() + SHRINK_SECONDS

    def predicate(example: Example) -> bool:
        if time.monotonic() > stop:
            raise _OutOfTime
        try:
            failed = bool(fails(example))
        except Exception:
            return False
        if failed:
            smallest[:] = [example]
        return failed

    try:
        return find(strategy, predicate, settings=SHRINK_SETTINGS)
    except (_OutOfTime, NoSuchExample, Unsatisfiable, Flaky):  # Flaky: a random library
        return smallest[0] if smallest else None


def show(example: Example) -> str:
    """``"x=[[0.5, -1]], grad=[[1]]"``: the example's arrays, compactly."""

    def cell(value: Any) -> str:
        if isinstance(value, np.ndarray):
            text = np.array2string(value, precision=4, separator=", ", threshold=40)
            return " ".join(text.split())
        return repr(value)

    return ", ".join(f"{k}={cell(v)}" for k, v in example.items())


def _size(error: float) -> float:
    return math.inf if math.isnan(error) else error


def judge(
    piece: str,
    check: str,
    trial: Callable[[Example], Finding],
    examples: Sequence[Example],
    strategy: st.SearchStrategy[Example] | None,
    *,
    verdict: str = WRONG,
) -> Result:
    """The row of ``check`` on ``piece`` from ``trial`` on ``examples`` (module contract)."""
    findings, refused = [], []
    for example in examples:
        try:
            findings.append((_attributed(trial, example), example))
        except Refused as exc:
            refused.append(f"{brief(example)} ({exc})")
    if not findings:
        raise Refused(f"every example refused as the layer was built: {refused[0]}")
    said = f"refused: {'; '.join(refused)}" if refused else None
    worst = max(_size(f.error) for f, _ in findings)
    failing = [(f, ex) for f, ex in findings if f.failed]
    if not failing:
        return Result(piece, check, PASS, worst, detail=said)
    example = max(failing, key=lambda fe: _size(fe[0].error))[1]
    small = shrink(strategy, lambda ex: trial(ex).failed) if strategy is not None else None
    if small is not None:  # the row's number is never below its counterexample's error
        with contextlib.suppress(Exception):  # as in shrinking, a raising rerun counts for nothing
            shrunk = trial(small).error
            if math.isfinite(shrunk):  # inf: a reference of zeros (no scale), not a size
                worst = max(worst, shrunk)
    words = pattern([f.diagnosis for f, _ in failing]) or _float32_sized(failing, worst)
    return Result(piece, check, verdict, worst, words, show(small or example), detail=said)


#: Errors of float32's rounding: up to a hundred times its epsilon (1.2e-5).
FLOAT32_ROUNDING = 100 * float(np.finfo(np.float32).eps)


def _float32_sized(failing: Sequence[tuple[Finding, Example]], worst: float) -> str | None:
    """Words for float64 results, judged against the oracle, whose every error on the fixed
    examples is of float32's rounding (:data:`FLOAT32_ROUNDING`), where nothing else is named."""
    narrow = oracle_tol(np.dtype(np.float64))
    if not all(f.tol == narrow and f.error <= FLOAT32_ROUNDING for f, _ in failing):
        return None
    tiny = (" (a counterexample's tiny values underflow, as in float32)"
            if worst > FLOAT32_ROUNDING else "")
    return (f"errors of float32's rounding on the fixed examples (at most "
            f"{FLOAT32_ROUNDING:.2g}) in float64 results: as from a float32 computation "
            f"inside{tiny}")


def _attributed(trial: Callable[[Example], Finding], example: Example) -> Finding:
    """``trial(example)``; an exception leaves with the example it was raised on
    (``exc.example``, shown by the row)."""
    try:
        return trial(example)
    except Exception as exc:
        exc.example = brief(example)  # type: ignore[attr-defined]
        raise


def brief(example: Example) -> str:
    """``"x (3, 4), W (4, 5), stride=2"``: an example's array shapes and other settings (an
    error row's example, whose arrays no one needs to read)."""
    return ", ".join(f"{k} {v.shape}" if isinstance(v, np.ndarray) else f"{k}={v!r}"
                     for k, v in example.items())


def pattern(diagnoses: Sequence[str | None]) -> str | None:
    """The diagnosis that holds across the failing examples: the same words on every one, and,
    for words naming a fitted number, on two examples at least (one example's ratio is no
    pattern); where every failing example names a mistake but not the same one, and none is a
    fitted number, each is named ("on different examples: [A] and [B]"); else None."""
    first = diagnoses[0]
    if first is not None and all(d == first for d in diagnoses):
        return None if fitted(first) and len(diagnoses) < 2 else first
    if any(d is None or fitted(d) for d in diagnoses):
        return None
    return "on different examples: " + " and ".join(f"[{d}]" for d in dict.fromkeys(diagnoses))
