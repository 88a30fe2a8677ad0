"""How a check calls a target's pieces through the protocol, always on copies of its inputs.

Contract
--------
:func:`layer` builds a layer piece (``linear(W, b)``, ``relu()``, ``leaky_relu(slope)`` with the
arguments of ``inputs.ARGUMENTS``...) and raises
:class:`CheckError` ``"not a layer (no backward)"`` (or ``forward``) when the factory returns an
object without those methods; :func:`run_layer` runs forward then backward and reads the linear
layer's ``grads``; :func:`run_loss` calls a loss and reads its ``grad``; :func:`build` calls
any layer factory with its arguments, :func:`switch` a layer's ``train()`` or ``eval()``
(raising ``"the layer has no eval()"`` when either is missing). Every array handed to the
library is a fresh float64 copy, so that a library that writes into its inputs cannot change the
checks' data (the mutation check looks for that on purpose). :class:`CheckError` carries a
message for the card as is; any other exception a check lets through becomes an ``error`` row
with its type and first line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from verification.conformance.inputs import ARGUMENTS
from verification.conformance.target import Target

__all__ = ["CheckError", "build", "forward", "input_grad", "layer", "params_of", "part",
           "run_layer", "run_loss", "switch"]


class CheckError(Exception):
    """A failure to show on the card as its message alone (e.g. ``not a layer (no backward)``)."""


def layer(target: Target, piece: str, params: Mapping[str, np.ndarray] | None = None) -> Any:
    """A new layer ``piece`` of ``target``; a linear layer gets copies of ``params["W"], ["b"]``."""
    return _checked(part(target, piece, params))


def part(target: Target, piece: str, params: Mapping[str, np.ndarray] | None = None) -> Any:
    """As :func:`layer`, for a piece handed to the library's ``network``: not checked for
    ``forward`` and ``backward`` (a fixed model's stand-ins carry arrays only)."""
    if piece == "linear":
        return target.factories[piece](np.array(params["W"]), np.array(params["b"]))
    return target.factories[piece](*ARGUMENTS.get(piece, ()))


def build(target: Target, piece: str, *args: Any) -> Any:
    """``factory(*args)`` of ``piece``, checked to have ``forward`` and ``backward``."""
    return _checked(target.factories[piece](*args))


def _checked(made: Any) -> Any:
    for method in ("backward", "forward"):
        if not callable(getattr(made, method, None)):
            raise CheckError(f"not a layer (no {method})")
    return made


def params_of(made: Any, which: str = "grads") -> dict[str, np.ndarray]:
    """Copies of a linear layer's ``grads`` (or ``params``) ``W`` and ``b`` (float64 view kept)."""
    source = getattr(made, which, None)
    if not isinstance(source, Mapping) or not {"W", "b"} <= source.keys():
        raise CheckError(f"the layer has no {which} dict with keys 'W' and 'b'")
    return {k: np.array(source[k]) for k in ("W", "b")}


def run_layer(
    target: Target, piece: str, example: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """``(y, dx, grads)`` of a fresh layer on ``example`` (``x``, ``grad``, ``W``/``b``).

    Shape:
        - x ``(batch, in)``, grad and y ``(batch, out)``, dx ``(batch, in)``; grads of a linear
          layer ``{"W": (in, out), "b": (out,)}``, else empty.
    """
    made = layer(target, piece, example if piece == "linear" else None)
    y = np.array(made.forward(np.array(example["x"], dtype=np.float64)))
    dx = input_grad(made.backward(np.array(example["grad"], dtype=np.float64)))
    return y, dx, (params_of(made) if piece == "linear" else {})


def input_grad(dx: Any) -> np.ndarray:
    """What a layer's ``backward`` returned, as an array; None is an error row's message."""
    if dx is None:
        raise CheckError("backward returned None, not dL/dx (no input gradient)")
    return np.array(dx)


def forward(target: Target, piece: str, example: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    """The output of a fresh layer (parameters from ``example``) on a copy of ``x``."""
    made = layer(target, piece, example if piece == "linear" else None)
    return np.asarray(made.forward(np.array(x, dtype=np.float64)))


def run_loss(target: Target, piece: str, fed: np.ndarray, true: np.ndarray) -> tuple[float, Any]:
    """``(value, grad)`` of a fresh loss ``piece`` called on copies of ``fed`` and ``true``."""
    loss = target.factories[piece]()
    value = loss(np.array(fed, dtype=np.float64), np.array(true, dtype=np.float64))
    grad = getattr(loss, "grad", None)
    if grad is None:
        raise CheckError("the loss left no .grad")
    return float(value), np.array(grad)


def switch(made: Any, mode: str | None) -> None:
    """``made.train()`` or ``made.eval()`` (``None``: neither); a layer without either method
    is a :class:`CheckError`."""
    for name in ("eval", "train"):
        if not callable(getattr(made, name, None)):
            raise CheckError(f"the layer has no {name}()")
    if mode is not None:
        getattr(made, mode)()
