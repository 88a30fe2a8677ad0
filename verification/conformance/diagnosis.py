"""Diagnoses by measurement: which known mistake, if any, explains a failing comparison.

Contract
--------
Nothing here knows a library. A diagnosis is found only by measuring the library's result
against the oracle's:

- :func:`scale` fits the least-squares factor ``c = <a, e> / <e, e>``; when the residual after
  scaling is within the match tolerance, it names ``c`` if it equals one of the sizes of the
  example (``"off by a factor equal to the batch size"``, ``1/batch size``, ``2``, ``the number
  of classes``, ``batch x classes``...), else gives it as a number (:func:`factor_words`);
- :func:`offset` finds a constant added to every entry;
- :func:`formula` compares the result with the formulas of suspected mistakes (each given with
  its words by the check) and names the first that matches;
- :func:`per_tensor` joins the findings of several tensors (``"dW and db: off by ...; dx is
  right"``); :func:`tensors` finds them, formula first, then factor.

Words that name a fitted number rather than a known size say "constant" (:func:`fitted`): the
judge keeps them only when they hold across examples. Matching uses ``min(10 * tol, 0.01)``
with the check's tolerance ``tol``; an unknown pattern gives ``None`` (no diagnosis, the worst
error speaks alone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from verification.conformance.numeric import error, errors

__all__ = ["factor_words", "factors", "fitted", "formula", "match_tol", "offset", "per_tensor",
           "scale", "tensors"]


def match_tol(tol: float) -> float:
    """How close a result must be to a suspected formula to be named by it."""
    return min(10 * tol, 1e-2)


def fitted(words: str) -> bool:
    """Whether ``words`` name a fitted number (every such diagnosis says "constant")."""
    return "constant" in words


def factors(sizes: Mapping[str, int]) -> list[tuple[str, float]]:
    """Named factors to recognise: 2, 1/2, -1, each size, its inverse and the batch x classes."""
    out: list[tuple[str, float]] = [("2", 2.0), ("1/2", 0.5), ("-1 (the sign is wrong)", -1.0)]
    for name, n in sizes.items():
        out += [(f"the {name}", float(n)), (f"1/{name}", 1 / n)]
    if "batch size" in sizes and "number of classes" in sizes:
        n = sizes["batch size"] * sizes["number of classes"]
        out += [("batch x classes", float(n)), ("1/(batch x classes)", 1 / n)]
    return out


def scale(actual: object, expected: object, sizes: Mapping[str, int], tol: float) -> str | None:
    """``"off by a factor equal to ..."`` when ``actual`` is a multiple of ``expected``.

    Shape:
        - actual, expected: equal shapes (scalars work).
    """
    a = np.asarray(actual, dtype=np.float64).ravel()
    e = np.asarray(expected, dtype=np.float64).ravel()
    if a.shape != e.shape or not (np.all(np.isfinite(a)) and np.all(np.isfinite(e))):
        return None
    norm = float(e @ e)
    if norm == 0:
        return None
    c = float(a @ e) / norm
    close = match_tol(tol)
    if abs(c - 1) <= close or c == 0 or error(a, c * e) > close:
        return None
    return factor_words(c, sizes, tol)


def factor_words(c: float, sizes: Mapping[str, int], tol: float) -> str:
    """``"off by a factor equal to the batch size"`` for a fitted factor ``c`` (a number if it
    equals none of :func:`factors`); ``"right"`` when ``c`` is 1 within the match tolerance."""
    close = match_tol(tol)
    if abs(c - 1) <= close:
        return "right"
    for name, value in factors(sizes):
        if abs(c - value) <= close * abs(value):
            return f"off by a factor equal to {name}"
    return f"off by a constant factor {c:.4g}"


def offset(actual: object, expected: object, tol: float) -> str | None:
    """``"off by a constant c added to every entry"`` when ``actual - expected`` is constant."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape or a.size < 2 or not np.all(np.isfinite(a - e)):
        return None
    c = float(np.mean(a - e))
    if c == 0 or error(a - c, e) > match_tol(tol):
        return None
    return f"off by a constant {c:.4g} added to every entry"


def formula(actual: object, candidates: Iterable[tuple[str, object]], tol: float) -> str | None:
    """The words of the first candidate formula that ``actual`` matches, else None."""
    for words, value in candidates:
        if error(actual, value) <= match_tol(tol):
            return words
    return None


def per_tensor(findings: Mapping[str, tuple[bool, str | None]]) -> str | None:
    """Join ``{tensor: (failed, diagnosis)}`` into one sentence; None if no failure is diagnosed.

    Example: ``{"dx": (False, None), "dW": (True, "off by 2"), "db": (True, "off by 2")}`` gives
    ``"dW and db: off by 2; dx is right"``.
    """
    groups: dict[str, list[str]] = {}
    right = [name for name, (failed, _) in findings.items() if not failed]
    for name, (failed, words) in findings.items():
        if failed:
            groups.setdefault(words or "wrong, no known pattern", []).append(name)
    if not any(words != "wrong, no known pattern" for words in groups):
        return None
    parts = [f"{' and '.join(names)}: {words}" for words, names in groups.items()]
    if right and len(findings) > 1:
        parts.append(f"{' and '.join(right)} {'is' if len(right) == 1 else 'are'} right")
    return "; ".join(parts)


def tensors(
    found: Mapping[str, object], ref: Mapping[str, object],
    formulas: Mapping[str, list[tuple[str, object]]], sizes: Mapping[str, int], tol: float,
) -> str | None:
    """:func:`per_tensor` of each tensor of ``found`` against ``ref``: the first suspected
    formula it matches, else the factor :func:`scale` names; None if no failure is named. A
    formula the reference itself matches (an eps of 1e-3 for 2e-3, within central differences'
    tolerance) tells nothing and is skipped."""
    findings, judged = {}, errors(found, ref)
    for name, value in found.items():
        failed = not judged[name] <= tol
        words = None
        if failed:
            telling = [(w, v) for w, v in formulas.get(name, [])
                       if not error(v, ref[name]) <= match_tol(tol)]
            words = formula(value, telling, tol) or scale(value, ref[name], sizes, tol)
        findings[name] = (failed, words)
    return per_tensor(findings)
