"""``Network``: a sequence of layers, run forward in order and backward in reverse.

Contract
--------
``Network(layers)`` owns a list of layers. ``forward(x)`` (also ``net(x)``)
feeds ``x`` through them; ``backward(grad)`` feeds ``dL/doutput`` through them
in reverse and returns ``dL/dinput`` (or None with ``input_grad=False``, which
spares the first layer's input gradient during training). Parameters and
gradients are reached by ``named_parameters()``, which yields
``(name, param, grad)`` with names ``"<layer index>.<key>"`` such as ``"0.W"``;
``save``/``load`` store exactly those arrays in an ``.npz`` file (no pickle).

When all parameters share one float dtype, ``Network`` keeps them in flat storage
(:class:`nplearn.flat.FlatParameters`): the layers' ``params``/``grads`` entries
become views of two contiguous arrays, which ``flat_parameters()`` returns so
that an optimizer updates everything in one NumPy call. Values are unchanged;
take references to parameters after building the network.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from nplearn.flat import FlatParameters, shared_float_dtype
from nplearn.functional import Tensor
from nplearn.layers import Layer

__all__ = ["Network"]


class Network:
    """A feed-forward stack of layers (the seed's ``Network``).

    Args:
        layers: the layers, first to last.

    Shape:
        - input: the first layer's input, e.g. ``(batch, 784)``
        - output: the last layer's output, e.g. ``(batch, 10)``
    """

    def __init__(self, layers: Iterable[Layer]) -> None:
        self.layers = list(layers)
        for i, layer in enumerate(self.layers):
            if isinstance(layer, type) or not callable(getattr(layer, "backward", None)):
                raise TypeError(
                    f"Network: layer {i} is {layer!r}, not a layer instance "
                    f"(did you mean {getattr(layer, '__name__', 'it')}()?)"
                )
        self._flat: FlatParameters | None = None
        self._flat_layers: list[Layer] | None = None
        self.flat_parameters()  # gather the parameters into flat storage now

    def forward(self, x: Tensor) -> Tensor:
        """Run the forward pass through every layer.

        Shape:
            - x: ``(batch, in_features)`` of the first layer
            - output: ``(batch, out_features)`` of the last layer
        """
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad: Tensor, *, input_grad: bool = True) -> Tensor | None:
        """Run the backward pass, last layer first.

        Args:
            grad: ``dL/doutput`` of the last forward (e.g. ``loss.grad``).
            input_grad: return ``dL/dinput``; False skips it (saves one matrix
                product of the first Linear layer) and returns None.

        Shape:
            - grad: ``(batch, out_features)`` of the last layer
            - output: ``(batch, in_features)`` of the first layer

        Returns:
            ``dL/dinput`` or None.
        """
        out: Tensor | None = grad
        for i in range(len(self.layers) - 1, -1, -1):
            assert out is not None
            out = self.layers[i].backward(out, input_grad=input_grad or i > 0)
        return out

    def __call__(self, x: Tensor) -> Tensor:
        """Run the forward pass."""
        return self.forward(x)

    def __repr__(self) -> str:
        return "\n".join(repr(layer) for layer in self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> Layer:
        return self.layers[index]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def named_parameters(self) -> Iterator[tuple[str, Tensor, Tensor]]:
        """Yield ``(name, param, grad)`` for every parameter, first layer first.

        Names are ``"<layer index>.<key>"`` (``"0.W"``, ``"0.b"``, ``"2.W"`` ...).
        ``param`` and ``grad`` are the live arrays (update them in place).
        """
        for i, layer in enumerate(self.layers):
            grads = layer.grads
            for key, param in layer.params.items():
                yield f"{i}.{key}", param, grads[key]

    def flat_parameters(self) -> tuple[Tensor, Tensor] | None:
        """All parameters and all gradients as two flat arrays, or None.

        The arrays hold the live values (entries replaced in a layer's dicts are
        copied in first); None when the parameters do not share one float dtype.
        Layers added since the last call are gathered into new storage.

        Shape:
            - output: ``(params, grads)``, each ``(total,)``, laid out as
              :meth:`named_parameters` yields them, each tensor in C order.
        """
        if self._flat_layers != self.layers:
            self._flat_layers = list(self.layers)
            shared = shared_float_dtype(self.layers) is not None
            self._flat = FlatParameters(self.layers) if shared else None
        return None if self._flat is None else self._flat.live()

    def __getstate__(self) -> dict[str, Any]:
        """Copy and pickle without the flat storage: a copied view is no longer a view."""
        return {**self.__dict__, "_flat": None, "_flat_layers": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore, then gather the (copied) parameters into new flat storage."""
        self.__dict__.update(state)
        self.flat_parameters()

    def parameters(self) -> Iterator[Tensor]:
        """Yield every parameter array."""
        for _, param, _ in self.named_parameters():
            yield param

    def state_dict(self) -> dict[str, Tensor]:
        """Copies of all parameters, keyed as in :meth:`named_parameters`."""
        return {name: param.copy() for name, param, _ in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Copy ``state``'s arrays into the parameters (shape-checked, dtype kept).

        Raises:
            ValueError: a missing or unexpected name, or a shape mismatch
                (both shapes are given).
        """
        own = {name: param for name, param, _ in self.named_parameters()}
        missing, unexpected = sorted(own.keys() - state.keys()), sorted(state.keys() - own.keys())
        if missing or unexpected:
            raise ValueError(
                f"state does not match the network: missing {missing}, unexpected {unexpected}"
            )
        for name, param in own.items():
            value = np.asarray(state[name])
            if value.shape != param.shape:
                raise ValueError(
                    f"parameter {name}: saved shape {value.shape} differs from the "
                    f"network's shape {param.shape}"
                )
        for name, param in own.items():
            param[...] = state[name]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save all parameters to an ``.npz`` file (plain arrays, no pickle)."""
        state: dict[str, Any] = self.state_dict()
        with open(path, "wb") as f:
            np.savez(f, **state)

    def load(self, path: str | os.PathLike[str]) -> None:
        """Load parameters saved by :meth:`save` into this network.

        Raises:
            ValueError: the file is not a valid ``.npz`` of this architecture
                (the message names the file).
        """
        name = os.fspath(path)
        try:
            archive = np.load(path, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ValueError("it holds a single array, not an .npz archive")
            with archive:
                state = {key: archive[key] for key in archive.files}
        except Exception as exc:  # zipfile, zlib, EOF, format errors: all mean a bad file
            raise ValueError(f"{name}: not a readable .npz file of parameters ({exc})") from exc
        try:
            self.load_state_dict(state)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from exc
