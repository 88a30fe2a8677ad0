"""Numbers for the checks: errors, tolerances by the library's dtype, central differences.

Contract
--------
Every comparison is tensor-wise, :func:`nplearn.checks.relative_error` (``max |a - e| / max |e|``),
with two rules of its own: a shape mismatch or a non-finite entry where the reference is finite
is an infinite error, and entries where the float64 reference itself is not finite are not
judged. The tensors of one result (a backward's ``dx``, ``dW``, ``db``) are judged by
:func:`errors`, each on a scale of at least :data:`FLOOR` of the set's largest. Tolerances
follow the precision of the dtype the library returns, so that a float32 library is never
``wrong`` for rounding, while a factor of 2 or a batch size (an error of 0.5 or more) is always
caught:

- against the PyTorch float64 oracle, ``sqrt(eps)`` (float64 1.5e-8, float32 3.5e-4);
- against central differences of the library's own values, ``10 * h`` with step
  ``h = eps ** (1/3)`` (float64: h 6e-6, tol 6e-5; float32: h 4.9e-3, tol 0.049): the
  differences' rounding error is about ``eps / h`` and their truncation error ``h**2``.

:func:`gradient` takes central differences with :func:`nplearn.checks.central_difference`, the
gradient checker's own step, element by element.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nplearn.checks import central_difference, relative_error

__all__ = ["FLOOR", "error", "errors", "fd_step", "fd_tol", "gradient", "oracle_tol",
           "result_dtype"]

F64 = np.dtype(np.float64)
#: A tensor's smallest scale, as a fraction of the largest tensor of its set. A gradient that is 0
#: in exact arithmetic (dgamma under a constant upstream gradient) comes out of PyTorch or central
#: differences as rounding noise, and judged on that scale any other rounding reads as error 1;
#: shrinking drifts to such examples. Above the floor errors stay relative: a wrong tensor 1e-4
#: of the largest still reads ~1, far above any tolerance.
FLOOR = 1e-4


def result_dtype(*values: Any) -> np.dtype:
    """The least precise floating dtype among ``values``' (float64 if none is floating): a
    result is only as precise as the least precise array the library computed it from."""
    dtypes = [np.dtype(v.dtype) for v in values if getattr(v, "dtype", None) is not None]
    floating = [d for d in dtypes if d.kind == "f"]
    return max(floating, key=lambda d: float(np.finfo(d).eps), default=F64)


def _eps(dtype: np.dtype) -> float:
    return float(np.finfo(dtype if np.dtype(dtype).kind == "f" else F64).eps)


def oracle_tol(dtype: np.dtype) -> float:
    """Largest relative error against the float64 oracle for a result of ``dtype``."""
    return math.sqrt(_eps(dtype))


def fd_step(dtype: np.dtype) -> float:
    """Central-difference step for a library computing in ``dtype``."""
    return _eps(dtype) ** (1 / 3)


def fd_tol(dtype: np.dtype) -> float:
    """Largest relative error against central differences for a library computing in ``dtype``."""
    return 10 * fd_step(dtype)


def error(actual: Any, expected: Any, floor: float = 0.0) -> float:
    """Tensor-wise relative error of ``actual`` against the reference ``expected``.

    Args:
        floor: smallest scale (:func:`errors` passes a fraction of the largest tensor's).

    Shape:
        - actual, expected: equal shapes (a mismatch, or a missing array, is ``inf``).

    Returns:
        ``relative_error`` over the entries where ``expected`` is finite; ``inf`` if ``actual``
        is not finite there; 0.0 if no entry is judged.
    """
    try:
        a = np.asarray(actual, dtype=np.float64)
    except (TypeError, ValueError):
        return math.inf
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        return math.inf
    judged = np.isfinite(e)
    if not np.all(np.isfinite(a[judged])):
        return math.inf
    return relative_error(a[judged], e[judged], floor)


def errors(found: Mapping[str, Any], ref: Mapping[str, Any]) -> dict[str, float]:
    """:func:`error` of each tensor of ``found`` (say a backward's ``dx``, ``dW``, ``db``)
    against ``ref``, on a scale of at least :data:`FLOOR` times the largest reference entry of
    the set."""
    refs = [np.asarray(ref[k], dtype=np.float64) for k in found]
    largest = max((float(np.max(np.abs(r), initial=0.0, where=np.isfinite(r))) for r in refs),
                  default=0.0)
    return {k: error(v, ref[k], FLOOR * largest) for k, v in found.items()}


def gradient(f: Callable[[], float], value: np.ndarray, step: float) -> np.ndarray:
    """Central differences of ``f()`` with respect to every element of ``value``.

    ``f`` reads ``value``, which is perturbed in place one element at a time and restored.

    Shape:
        - value: any; output: the same shape, float64.
    """
    flat = [central_difference(f, value, i, step) for i in range(value.size)]
    return np.asarray(flat, dtype=np.float64).reshape(value.shape)
