"""Layers: ``Linear`` and elementwise activations, each with forward and backward.

Contract
--------
A layer maps ``forward(x) -> y`` and ``backward(grad_y) -> grad_x`` where
``grad_y = dL/dy`` of the last ``forward`` and ``grad_x = dL/dx``. Each layer
caches only what its backward needs (Linear: its input; an activation: its
output). A layer with parameters keeps them in ``params`` and, after
``backward``, their gradients in ``grads``: two dicts with the same keys
(``"W"``, ``"b"``), arrays of the same shape and dtype, written in place on
every backward (no accumulation). ``backward(grad, input_grad=False)`` skips
``dL/dx`` (and returns ``None``), which the first layer of a network does not need.

Shapes follow the post: inputs are ``(batch, features)``, ``W`` is
``(in_features, out_features)``, ``b`` is ``(out_features,)`` and
``Linear(x) = x @ W + b``. Wrong shapes raise ``ValueError`` naming both shapes.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import DTypeLike

from nplearn.functional import Tensor, relu, sigmoid, summing_vector
from nplearn.init import INITS, initial_weights

__all__ = ["INITS", "Activation", "Layer", "Linear", "ReLU", "Sigmoid", "Tanh"]


class Layer:
    """Base class: ``forward``/``backward``/``__call__``, the two dicts and the mode.

    Subclasses implement ``forward(x)`` and ``backward(grad, *, input_grad)``.
    ``params`` and ``grads`` are empty for parameter-free layers. ``training``
    is True after ``train()`` (the default) and False after ``eval()``, for
    layers that act differently at evaluation, as dropout does.
    """

    def __init__(self) -> None:
        self.params: dict[str, Tensor] = {}
        self.grads: dict[str, Tensor] = {}
        self.training = True

    def forward(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(  # pragma: no cover - abstract
        self, grad: Tensor, *, input_grad: bool
    ) -> Tensor | None:
        raise NotImplementedError

    def train(self, mode: bool = True) -> Layer:
        """Set ``training`` to ``mode`` and return the layer (as ``torch.nn.Module.train``)."""
        self.training = mode
        return self

    def eval(self) -> Layer:
        """Set evaluation mode, ``train(False)``, and return the layer."""
        return self.train(False)

    def __call__(self, x: Tensor) -> Tensor:
        """Perform the forward pass."""
        return self.forward(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _bad_grad(layer: Layer, grad: Tensor, expected: tuple[int, ...] | None) -> Exception:
    """The error for an upstream gradient that does not fit the last forward."""
    if expected is None:
        return RuntimeError(f"{layer!r}: backward() called before forward()")
    return ValueError(
        f"{layer!r}: upstream gradient has shape {np.shape(grad)}, but the last "
        f"forward produced an output of shape {expected}"
    )


class Linear(Layer):
    r"""Fully connected layer :math:`L(x) = xW + b`.

    Args:
        in_features: size of each input row.
        out_features: size of each output row.
        init: weight initialisation. ``"pytorch"`` (default, as
            ``torch.nn.Linear``): ``W, b ~ U(-1/sqrt(in), 1/sqrt(in))``;
            ``"he"``: ``W ~ N(0, 2/in)``, ``b = 0`` (for ReLU);
            ``"xavier"``: ``W ~ U(+-sqrt(6/(in+out)))``, ``b = 0`` (for Sigmoid);
            ``"randn"``: the post's ``W, b ~ N(0, 1)``, drawn from NumPy's global
            state with ``np.random.randn`` when ``rng`` is None, exactly as the
            post does, so ``np.random.seed`` reproduces it.
        dtype: floating dtype of ``W``, ``b``, their gradients and the output.
        rng: a ``numpy.random.Generator`` or an int seed; None draws a fresh
            generator (or the global state for ``"randn"``).

    Shape:
        - input: ``(batch, in_features)``; other dtypes are cast to ``dtype``.
        - output: ``(batch, out_features)``
        - ``W``: ``(in_features, out_features)``, ``b``: ``(out_features,)``

    Attributes:
        params: ``{"W": W, "b": b}``.
        grads: ``{"W": dL/dW, "b": dL/db}`` after ``backward``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        init: str = "pytorch",
        dtype: DTypeLike = np.float32,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear needs positive sizes, got ({in_features}, {out_features})")
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose one of {INITS}")
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(f"Linear needs a floating dtype, got {self.dtype}")
        self.in_features = in_features
        self.out_features = out_features
        self.init = init
        W, b = initial_weights(in_features, out_features, init, rng)
        self.params = {"W": W.astype(self.dtype), "b": b.astype(self.dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.input: Tensor | None = None

    # The post reads and assigns ``layer.W`` / ``layer.b`` and reads ``dydw`` / ``dydb``.
    W = property(
        lambda self: self.params["W"],
        lambda self, value: self._assign("W", value),
        doc="The weight, ``params['W']``, shape ``(in_features, out_features)``; assigning copies.",
    )
    b = property(
        lambda self: self.params["b"],
        lambda self, value: self._assign("b", value),
        doc="The bias, ``params['b']``, shape ``(out_features,)``; assigning copies.",
    )
    dydw = property(lambda self: self.grads["W"], doc="The post's name for ``grads['W']``.")
    dydb = property(lambda self: self.grads["b"], doc="The post's name for ``grads['b']``.")

    def _assign(self, name: str, value: Tensor) -> None:
        """Copy new values into a parameter, in place: shape, dtype and array are kept
        (so a network's flat storage and an optimizer's state stay attached to it)."""
        old = self.params[name]
        value = np.asarray(value)
        if value.shape != old.shape:
            raise ValueError(
                f"{self!r}: cannot assign {name} of shape {value.shape}; expected shape {old.shape}"
            )
        old[...] = value

    def forward(self, x: Tensor) -> Tensor:
        """Return ``x @ W + b`` in the layer's dtype and keep ``x`` for backward.

        Shape:
            - x: ``(batch, in_features)``; output: ``(batch, out_features)``
        """
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"{self!r} expects input of shape (batch, {self.in_features}), got shape {x.shape}"
            )
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        self.input = x
        y = x @ self.params["W"]
        y += self.params["b"]
        return y

    def backward(self, grad: Tensor, *, input_grad: bool = True) -> Tensor | None:
        r"""Back-propagate ``grad = dL/dy``.

        Stores :math:`dL/dW = x^T \cdot grad` and :math:`dL/db = \sum_{batch} grad`
        in ``grads`` and returns :math:`dL/dx = grad \cdot W^T`.

        Args:
            grad: ``dL/dy`` of the last output, shape ``(batch, out_features)``.
            input_grad: compute and return ``dL/dx`` (False returns None).

        Returns:
            ``dL/dx`` of shape ``(batch, in_features)``, or None when ``input_grad`` is False.
        """
        x, grad = self.input, np.asarray(grad)
        if x is None or grad.shape != (x.shape[0], self.out_features):
            raise _bad_grad(self, grad, None if x is None else (x.shape[0], self.out_features))
        batch = x.shape[0]
        # dL/dW = x^T grad (np.matmul skips BLAS for a one-row batch; np.dot does not).
        (np.dot if batch == 1 else np.matmul)(x.T, grad, out=self.grads["W"])
        np.matmul(summing_vector(batch, self.dtype), grad, out=self.grads["b"])  # sum over batch
        if not input_grad:
            return None
        return grad @ self.params["W"].T

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features}, dtype={self.dtype.name})"


class Activation(Layer):
    """An elementwise activation ``y = f(x)`` whose derivative is read off its output.

    Forward keeps only the output ``y`` (all backward needs); backward returns
    ``grad * f'(x)`` with ``f'(x)`` computed from ``y`` by :meth:`derivative`.
    Subclasses set :meth:`function` and :meth:`derivative`.

    Shape:
        - input: ``(batch, features)`` (any shape works)
        - output: same as input.
    """

    def __init__(self) -> None:
        super().__init__()
        self.output: Tensor | None = None

    function: Callable[..., Tensor]  # ``f``, set by each subclass (a ufunc such as np.tanh fits)

    @staticmethod
    def derivative(y: Tensor) -> Tensor:  # pragma: no cover - abstract
        """``f'(x)`` from ``y = f(x)``, as a new array (backward may overwrite it)."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        """Return ``f(x)`` and keep it for backward."""
        self.output = self.function(x)
        return self.output

    def backward(self, grad: Tensor, *, input_grad: bool = True) -> Tensor | None:
        """Return ``grad * f'(x)``, with ``f'(x)`` from the last output.

        Shape:
            - grad, output: the shape of the last output.
        """
        y, grad = self.output, np.asarray(grad)
        if y is None or grad.shape != y.shape:
            raise _bad_grad(self, grad, None if y is None else y.shape)
        if not input_grad:
            return None
        slope = self.derivative(y)  # a new array: scale it in place when it holds grad's dtype
        return np.multiply(grad, slope, out=slope) if slope.dtype == grad.dtype else grad * slope


class ReLU(Activation):
    r"""Rectified linear unit, :math:`f(x) = \max(x, 0)`.

    Its derivative is 1 where ``x > 0`` and 0 elsewhere (``y > 0`` iff
    ``x > 0``), so backward is ``grad * (x > 0)``. (The post's
    ``np.maximum(grad, 0)`` clips the *gradient* instead, which is wrong.) At
    ``x == 0`` the subgradient 0 is used, as in PyTorch.

    Shape:
        - input: ``(*)``; output: same as input.
    """

    function = staticmethod(relu)

    @staticmethod
    def derivative(y: Tensor) -> Tensor:
        """``f'(x) = 1 if x > 0 else 0``, from ``y = max(x, 0)``."""
        return y > 0


class Sigmoid(Activation):
    r"""Sigmoid, :math:`\sigma(x) = 1 / (1 + e^{-x})` (:func:`nplearn.functional.sigmoid`).

    Its derivative is :math:`\sigma(x)(1 - \sigma(x))`; backward reuses the
    cached output ``y = sigma(x)`` and returns ``grad * y * (1 - y)``, which is
    the post's ``sigmoid_prime(input) * grad`` without recomputing the sigmoid.

    Shape:
        - input: ``(*)``; output: same as input.
    """

    function = staticmethod(sigmoid)

    @staticmethod
    def derivative(y: Tensor) -> Tensor:
        """``sigma'(x) = y * (1 - y)`` with ``y = sigma(x)`` (one new array)."""
        slope = 1 - y
        slope *= y
        return slope


class Tanh(Activation):
    r"""Hyperbolic tangent, :math:`f(x) = \tanh(x)`, whose derivative is :math:`1 - y^2`.

    Shape:
        - input: ``(*)``; output: same as input.
    """

    function = staticmethod(np.tanh)

    @staticmethod
    def derivative(y: Tensor) -> Tensor:
        """``tanh'(x) = (1 - y)(1 + y)``, ``y = tanh(x)``: ``y**2`` is not rounded near 1."""
        slope = 1 - y
        return np.multiply(slope, 1 + y, out=slope)
