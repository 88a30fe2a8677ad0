"""One row of a card: a check on one piece, its verdict and its evidence.

Contract
--------
A :class:`Result` holds the piece (``"linear"``, ``"cross_entropy"``, ``"network+relu"``...), the
check, one of :data:`VERDICTS`, the worst error measured (``None`` when nothing was measured),
and for a failing row a diagnosis in words (``None`` when no known pattern fits), a minimal
counterexample and a detail line (an error row's message, e.g. ``"timed out"``, or what a passing
row measured worth saying); an error row raised by the library says ``where``: ``file:line``.
:meth:`Result.record` is its JSON record; :meth:`Result.verdict_text` its card cell.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ERROR", "NOT_PRESENT", "PASS", "UNSTABLE", "VERDICTS", "WRONG", "Result"]

PASS, WRONG, UNSTABLE, NOT_PRESENT, ERROR = "pass", "wrong", "unstable", "not present", "error"
#: Every verdict, in the order a card's summary counts them.
VERDICTS = (PASS, WRONG, UNSTABLE, NOT_PRESENT, ERROR)


@dataclass(frozen=True)
class Result:
    """A check's verdict on one piece of a target, with its evidence."""

    piece: str
    check: str
    verdict: str
    worst_error: float | None = None
    diagnosis: str | None = None
    counterexample: str | None = None
    detail: str | None = None
    where: str | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}; choose one of {VERDICTS}")

    @property
    def id(self) -> str:
        """``piece-check``, the pytest id."""
        return f"{self.piece}-{self.check}"

    @property
    def failed(self) -> bool:
        """Whether the row counts against the library (wrong, unstable or error)."""
        return self.verdict in (WRONG, UNSTABLE, ERROR)

    def verdict_text(self) -> str:
        """``"error: timed out"`` for an error row, else the verdict."""
        return f"{self.verdict}: {self.detail}" if self.verdict == ERROR else self.verdict

    def evidence(self) -> str:
        """The row's evidence in words: an error's place (``"raised at lib.py:12"``), else the
        diagnosis (``"no known pattern"`` for a failing row without one), else the detail."""
        if self.verdict == ERROR:
            return f"raised at {self.where}" if self.where else ""
        if self.failed:
            return self.diagnosis or "no known pattern"
        return self.detail or ""

    def record(self) -> dict[str, Any]:
        """The JSON record: every field; a non-finite worst error as its string (``"nan"``)."""
        out = asdict(self)
        if out["worst_error"] is not None and not math.isfinite(out["worst_error"]):
            out["worst_error"] = str(out["worst_error"])
        return out
