"""``Network``: a sequence of layers, run forward in order and backward in reverse.

Contract
--------
``Network(layers)`` owns a list of layers. ``forward(x)`` (also ``net(x)``)
feeds ``x`` through them; ``backward(grad)`` feeds ``dL/doutput`` through them
in reverse, filling every layer's ``grads``, and returns None; only
``backward(grad, input_grad=True)`` also computes and returns ``dL/dinput``
(as PyTorch computes no gradient for inputs that do not require one).
Parameters and gradients are reached by ``named_parameters()``, which yields
``(name, param, grad)`` with names ``"<layer index>.<key>"`` such as ``"0.W"``.

``save``/``load`` store exactly those arrays (and any layer's ``buffers``, such as batch norm's
running statistics: :meth:`Network.named_state`) in an ``.npz`` file, never a
pickle. ``save`` replaces the file atomically (:mod:`nplearn.atomic`): an
interrupted save leaves the previous file intact. ``load`` and
``load_state_dict`` are all-or-nothing: every name, shape and dtype is checked
before any parameter is written, and after any failure the network is
unchanged.

``Network`` keeps its parameters in flat storage (:class:`nplearn.flat.FlatParameters`):
the layers' ``params``/``grads`` entries become views of one pair of contiguous arrays
per dtype, which ``parameter_groups()`` returns so that an optimizer updates each
group in one NumPy call. Values are unchanged; take references to parameters after
building the network. ``train()`` and ``eval()`` set every layer's mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from nplearn.atomic import atomic_write
from nplearn.flat import FlatParameters
from nplearn.functional import Tensor
from nplearn.layers import Layer

__all__ = ["Network"]


class Network:
    """A feed-forward stack of layers (the post's ``Network``).

    Args:
        layers: the layers, first to last.

    Shape:
        - input: the first layer's input, e.g. ``(batch, 784)``
        - output: the last layer's output, e.g. ``(batch, 10)``
    """

    def __init__(self, layers: Iterable[Layer]) -> None:
        self.layers = list(layers)
        for i, layer in enumerate(self.layers):
            if isinstance(layer, type):
                raise TypeError(
                    f"Network: layer {i} is the class {layer.__name__}, not a layer instance "
                    f"(did you mean {layer.__name__}()?)"
                )
            if not callable(getattr(layer, "backward", None)):
                raise TypeError(
                    f"Network: layer {i} is {layer!r}, not a layer (it has no backward method)"
                )
        # Equivalent mutant: with _flat_layers unset, any start value here makes it gather.
        self._flat: FlatParameters | None = None  # pragma: no mutate
        # Equivalent mutant: any start value but the layer list itself makes it gather.
        self._flat_layers: list[Layer] | None = None  # pragma: no mutate
        self.parameter_groups()  # gather the parameters into flat storage now

    def forward(self, x: Tensor) -> Tensor:
        """Run the forward pass through every layer.

        Shape:
            - x: ``(batch, in_features)`` of the first layer
            - output: ``(batch, out_features)`` of the last layer
        """
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad: Tensor, *, input_grad: bool = False) -> Tensor | None:
        """Run the backward pass, last layer first, filling every layer's ``grads``.

        Args:
            grad: ``dL/doutput`` of the last forward (e.g. ``loss.grad``).
            input_grad: also compute and return ``dL/dinput``. Off by default:
                training never needs it, and it costs the first Linear layer a
                matrix product. Gradient checks ask for it.

        Shape:
            - grad: ``(batch, out_features)`` of the last layer
            - output: ``(batch, in_features)`` of the first layer

        Returns:
            ``dL/dinput`` with ``input_grad=True``, else None.
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

    def parameter_groups(self) -> list[tuple[Tensor, Tensor]]:
        """All parameters and all gradients as flat arrays, one ``(params, grads)`` per dtype.

        The arrays hold the live values (entries replaced in a layer's dicts are
        copied in first). Layers added since the last call are gathered into new storage.

        Shape:
            - output: pairs of ``(total,)`` arrays, laid out as :meth:`named_parameters`
              yields the parameters of that dtype, each tensor in C order.
        """
        if self._flat is None or self._flat_layers != self.layers:
            self._flat_layers = list(self.layers)
            self._flat = FlatParameters(self.layers)
        return self._flat.groups()

    def train(self, mode: bool = True) -> Network:
        """Set every layer's training mode (``Layer.train``) and return the network."""
        for layer in self.layers:
            layer.train(mode)
        return self

    def eval(self) -> Network:
        """Set every layer to evaluation mode, ``train(False)``, and return the network."""
        return self.train(False)

    def __getstate__(self) -> dict[str, Any]:
        """Copy and pickle without the flat storage: a copied view is no longer a view."""
        # Equivalent mutants: either key alone set to None already makes __setstate__ regather.
        return {**self.__dict__, "_flat": None, "_flat_layers": None}  # pragma: no mutate

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore, then gather the (copied) parameters into new flat storage."""
        self.__dict__.update(state)
        self.parameter_groups()

    def parameters(self) -> Iterator[Tensor]:
        """Yield every parameter array."""
        for _, param, _ in self.named_parameters():
            yield param

    def named_state(self) -> Iterator[tuple[str, Tensor]]:
        """Yield ``(name, array)`` for every parameter, then every buffer: the arrays a layer
        keeps in an optional ``buffers`` dict (batch norm's running statistics), which are
        saved and loaded with the parameters but not trained. Names are ``"<i>.<key>"``."""
        for name, param, _ in self.named_parameters():
            yield name, param
        for i, layer in enumerate(self.layers):
            for key, buffer in getattr(layer, "buffers", {}).items():
                yield f"{i}.{key}", buffer

    def state_dict(self) -> dict[str, Tensor]:
        """Copies of all parameters and buffers, keyed as in :meth:`named_state`."""
        return {name: array.copy() for name, array in self.named_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy ``state``'s arrays into the parameters, all or nothing (dtype kept).

        Every name, shape and dtype is checked before anything is written, so
        after an error the network is unchanged. Values are cast to each
        parameter's dtype.

        Args:
            state: parameter (or buffer) name -> floating array, as :meth:`state_dict` gives.

        Raises:
            ValueError: a missing or unexpected name; a shape mismatch (both
                shapes are given); a value that is not a floating array
                (complex, bool, integer, datetime, string, object...), naming
                the parameter.
        """
        own = dict(self.named_state())
        missing, unexpected = sorted(own.keys() - state.keys()), sorted(state.keys() - own.keys())
        problems = [f"missing parameters {missing}"] if missing else []
        problems += [f"unexpected parameters {unexpected}"] if unexpected else []
        if problems:
            raise ValueError(
                f"state does not match the network ({', '.join(sorted(own))}): "
                + "; ".join(problems)
            )
        values = {name: _checked_value(name, state[name], param) for name, param in own.items()}
        for name, param in own.items():
            param[...] = values[name]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save all parameters to an ``.npz`` file (plain arrays, no pickle), atomically.

        The arrays go into a temporary file beside ``path``, which is flushed to
        disk and then renamed onto ``path``: an interrupted or failed save leaves
        any previous file at ``path`` intact and no temporary file behind.

        Args:
            path: The file to write (no suffix is added).

        Raises:
            OSError: If the file cannot be written; ``path`` is then unchanged.
        """
        state: dict[str, Any] = self.state_dict()
        with atomic_write(path, "wb") as f:
            np.savez(f, **state)

    def load(self, path: str | os.PathLike[str]) -> None:
        """Load parameters saved by :meth:`save` into this network, all or nothing.

        The file is read with ``allow_pickle=False``: an array of Python objects
        is refused, never unpickled.

        Args:
            path: An ``.npz`` file written by :meth:`save`.

        Raises:
            ValueError: the file is missing or not a readable ``.npz`` archive,
                or its arrays do not match this network (see
                :meth:`load_state_dict`); the message names the file, and the
                network is unchanged.
        """
        name = os.fspath(path)
        try:
            state = _read_npz(path)
        except Exception as exc:  # zipfile, zlib, EOF, format errors: all mean a bad file
            # numpy's own message would point at allow_pickle=True, which runs code from the file.
            reason = "it holds Python objects (refused)" if "allow_pickle" in str(exc) else exc
            raise ValueError(f"{name}: not a readable .npz file of parameters ({reason})") from exc
        try:
            self.load_state_dict(state)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from exc


def _read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` archive; ValueError for pickled arrays or a lone ``.npy``."""
    # Equivalent mutants: False is np.load's default, written out as the security property
    # (test_faults checks that pickled arrays are refused and never unpickled).
    archive = np.load(path, allow_pickle=False)  # pragma: no mutate
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError("it holds a single array, not an .npz archive")
    state = {}
    with archive:
        for key in archive.files:
            try:
                state[key] = archive[key]
            except ValueError as exc:
                if "allow_pickle" not in str(exc):
                    raise
                raise ValueError(f"{key} is an array of Python objects (refused)") from None
    return state


def _checked_value(name: str, value: Any, param: Tensor) -> np.ndarray:
    """``value`` as an array if it is floating and has ``param``'s shape; else ValueError."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"parameter {name}: not an array ({exc})") from None
    if array.dtype.kind != "f":
        raise ValueError(
            f"parameter {name}: saved array has dtype {array.dtype}, expected a floating "
            f"array like the network's {param.dtype}"
        )
    if array.shape != param.shape:
        raise ValueError(
            f"parameter {name}: saved shape {array.shape} differs from the "
            f"network's shape {param.shape}"
        )
    return array
