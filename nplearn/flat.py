"""Flat storage: a network's parameter groups, one pair of contiguous arrays per dtype.

Contract
--------
:class:`FlatParameters` takes a sequence of layers and, for each dtype among their parameters,
copies those parameters into one 1-D array and their gradients into another: a *parameter
group*. Each layer's ``params``/``grads`` entries become *views* of those arrays (same shapes,
same keys; values unchanged). The layers keep working exactly as before: they read
``params[key]`` and write ``grads[key]`` in place. What changes is that an optimizer updates
every parameter of a group with one NumPy call over the pair (its rules are elementwise, so the
result is the same) instead of one Python-level update per tensor, whose overhead matters at
small batches.

:meth:`FlatParameters.groups` returns the pairs after making sure each layer still holds the
views; an entry replaced since (``layer.params["W"] = new``, a layer that *assigns* fresh
gradient arrays or dicts in its backward, the same layer gathered by another network) is copied
into the flat arrays and re-pointed, so the groups always hold the live values.

Each flat array starts on a cache line (:func:`aligned_empty`), so the first layer's weight, the
operand of a step's largest matrix products, does too.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import DTypeLike

from nplearn.functional import Tensor
from nplearn.layers import Layer

__all__ = ["FlatParameters", "aligned_empty"]

CACHE_LINE = 64  #: bytes


def aligned_empty(size: int, dtype: DTypeLike) -> Tensor:
    """An uninitialised 1-D array of ``size`` entries whose first byte starts a cache line.

    NumPy's allocator aligns to 16 bytes only, and OpenBLAS's matrix product reads a weight that
    starts mid-line measurably slower (a few percent of a small batch's step).

    Shape:
        - output: ``(size,)``
    """
    nbytes = size * np.dtype(dtype).itemsize
    raw = np.empty(nbytes + CACHE_LINE, np.uint8)
    start = -raw.ctypes.data % CACHE_LINE
    return raw[start : start + nbytes].view(dtype)


class FlatParameters:
    """The parameters and gradients of ``layers``, gathered into one group per dtype.

    Args:
        layers: the layers, in order; those without parameters are skipped.

    Raises:
        ValueError: a gradient's shape differs from its parameter's (both shapes named).

    Shape:
        - each group: ``(params, grads)``, each ``(total,)`` where ``total`` is the number of
          parameter entries of that dtype, layer by layer, key by key, each in C order.
    """

    def __init__(self, layers: Iterable[Layer]) -> None:
        entries = [(layer, key) for layer in layers for key in layer.params]
        dtypes = list(dict.fromkeys(np.asarray(layer.params[key]).dtype for layer, key in entries))
        self._groups: list[tuple[Tensor, Tensor]] = []
        self._slots: list[tuple[Layer, str, Tensor, Tensor]] = []
        for dtype in dtypes:
            members = [(ly, k) for ly, k in entries if np.asarray(ly.params[k]).dtype == dtype]
            total = sum(np.size(layer.params[key]) for layer, key in members)
            # Left uninitialised: _repoint() below copies every entry in.
            params, grads = aligned_empty(total, dtype), aligned_empty(total, dtype)
            self._groups.append((params, grads))
            start = 0
            for layer, key in members:
                shape = np.shape(layer.params[key])
                if np.shape(layer.grads[key]) != shape:
                    raise ValueError(
                        f"FlatParameters: {layer!r} has {key} of shape {shape} but its gradient "
                        f"has shape {np.shape(layer.grads[key])}"
                    )
                # Equivalent mutant on 64-bit platforms, whose default NumPy integer is int64.
                stop = start + int(np.prod(shape, dtype=np.int64))  # pragma: no mutate
                view, grad_view = (a[start:stop].reshape(shape) for a in (params, grads))
                self._slots.append((layer, key, view, grad_view))
                start = stop
        self._repoint()

    def _repoint(self) -> None:
        """Copy every entry that is not its view into the flat arrays; point it at its view."""
        for layer, key, view, grad_view in self._slots:
            if layer.params[key] is not view:
                view[...] = layer.params[key]
                layer.params[key] = view
            if layer.grads[key] is not grad_view:
                grad_view[...] = layer.grads[key]
                layer.grads[key] = grad_view

    def groups(self) -> list[tuple[Tensor, Tensor]]:
        """The ``(params, grads)`` pairs, one per dtype, holding the layers' current values.

        Returns:
            The flat arrays (the same objects on every call); empty without parameters.
        """
        for layer, key, view, grad_view in self._slots:
            if layer.params[key] is not view or layer.grads[key] is not grad_view:
                self._repoint()
                break
        return self._groups

    def __len__(self) -> int:
        return sum(int(params.shape[0]) for params, _ in self._groups)

    def __repr__(self) -> str:
        dtypes = ", ".join(params.dtype.name for params, _ in self._groups)
        return f"FlatParameters({len(self)} values, dtypes: {dtypes or 'none'})"
