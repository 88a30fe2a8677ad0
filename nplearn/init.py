"""Weight initialisation of ``Linear`` layers: the post's ``randn`` and three sound schemes.

Contract
--------
:func:`initial_weights` returns float64 ``(W, b)`` of shapes ``(fan_in, fan_out)`` and
``(fan_out,)``; the layer casts them to its dtype. Randomness comes from the ``rng`` given (a
``numpy.random.Generator`` or an int seed), except for ``"randn"`` without ``rng``, which draws
from NumPy's global state exactly as the post did (``np.random.randn`` for W, then for b).
"""

from __future__ import annotations

import math

import numpy as np

from nplearn.functional import Tensor

__all__ = ["INITS", "initial_weights"]

#: Weight initialisations of ``Linear``.
INITS = ("pytorch", "he", "xavier", "randn")


def initial_weights(
    fan_in: int, fan_out: int, init: str, rng: np.random.Generator | int | None
) -> tuple[Tensor, Tensor]:
    """Draw ``(W, b)`` for ``Linear`` (float64; the layer casts them).

    Args:
        fan_in: input features; fan_out: output features.
        init: ``"pytorch"`` (``U(+-1/sqrt(fan_in))`` for W and b), ``"he"``
            (``N(0, 2/fan_in)``, b = 0), ``"xavier"`` (``U(+-sqrt(6/(fan_in+fan_out)))``,
            b = 0) or ``"randn"`` (the post's ``N(0, 1)`` for both).
        rng: generator or seed; None: a fresh generator (global state for ``"randn"``).

    Shape:
        - W: ``(fan_in, fan_out)``, b: ``(fan_out,)``

    Returns:
        ``(W, b)`` as float64 arrays.
    """
    if init == "randn" and rng is None:
        # The post, verbatim: NumPy's global state, W first, then b.
        return np.random.randn(fan_in, fan_out), np.random.randn(fan_out)  # noqa: NPY002
    gen = np.random.default_rng(rng)
    if init == "randn":
        return gen.standard_normal((fan_in, fan_out)), gen.standard_normal(fan_out)
    if init == "pytorch":
        bound = 1 / math.sqrt(fan_in)
        return (
            gen.uniform(-bound, bound, (fan_in, fan_out)),
            gen.uniform(-bound, bound, fan_out),
        )
    if init == "he":
        return gen.normal(0.0, math.sqrt(2 / fan_in), (fan_in, fan_out)), np.zeros(fan_out)
    bound = math.sqrt(6 / (fan_in + fan_out))  # xavier
    return gen.uniform(-bound, bound, (fan_in, fan_out)), np.zeros(fan_out)
