"""A target: a library presented by an adapter file in the post's interface.

Contract
--------
An adapter is a Python file defining any of the factories in :data:`FACTORIES` and, optionally,
``NAME`` (shown on the card) and ``CONVENTIONS`` (how to read its losses and optimizer)::

    NAME = "mylib 0.3"
    def linear(W, b): ...        # W float64 (in, out), b (out,): a layer with exactly these values
    def relu(): ...              # also sigmoid(), tanh(), softmax(): layers
    def mse(): ...               # also cross_entropy(): losses
    def sgd(lr, l2=0.0): ...     # the library's own update rule
    def network(layers): ...     # the library's own model code over these layers
    def leaky_relu(slope): ...   # an activation layer
    def bce(): ...               # binary cross-entropy over targets in {0, 1}
    def momentum(lr, mu, nesterov=False): ...   # also adam(lr, beta1, beta2, eps),
    def rmsprop(lr, alpha, eps): ...            # adagrad(lr, eps): optimizers
    def dropout(p): ...          # p: drop probability; the layer has train() and eval()
    def batchnorm(n, eps, momentum): ...        # over (batch, n); params gamma, beta
    def conv2d(W, b, stride, padding): ...      # also maxpool2d(k, stride), avgpool2d(k, stride)
    def flatten(): ...
    CONVENTIONS = {"cross_entropy": {"input": "logits", "grad_wrt": "input", "reduction": "sum"}}

A layer has ``forward(x) -> y`` and ``backward(grad) -> dL/dx``; a linear layer also ``params``
and ``grads`` dicts with keys ``"W"`` (in, out) and ``"b"`` (out,), read after each call. A loss
is called as ``loss(pred, onehot) -> float`` and leaves its gradient in ``loss.grad``;
``opt.step(layers)`` updates the linear layers' ``params``; ``net.forward(x)`` and
``net.backward(grad)`` run the library's model code. An optimizer's ``step(layers)`` updates
every layer's ``params`` from its ``grads`` (linear: ``W``, ``b``; batch norm: ``gamma``,
``beta``; conv: ``W`` and ``b`` in the declared weight layout). Dropout and batch norm start in
training mode. The checks call ``leaky_relu`` with one slope (0.1) and the optimizer factories
with the protocol's arguments positionally; ``momentum`` also with ``nesterov=True`` when it takes
that keyword (else the Nesterov row is ``not present``), and an optimizer factory that takes a
``weight_decay`` keyword is checked again with coupled decay (``grad + wd * w``, as
``torch.optim``). ``bce`` is fed probabilities (the sigmoid of logits) or logits as its
``input`` convention declares, and targets of 0 and 1. A missing factory means the library has
no such piece. :data:`CONVENTIONS` lists
the allowed values and :data:`DEFAULTS` the values used when
the adapter declares none. A reduction ``"mean"`` divides by the batch size (PyTorch's
cross-entropy, the post's MSE); ``"mean_all"`` by batch x outputs (PyTorch's ``mse_loss``).
``grad_wrt`` matters only for a cross-entropy that takes probabilities: ``"logits"`` says its
gradient is taken with respect to the logits whose softmax it was fed (softmax and loss fused).

The spatial pieces take and return arrays in the declared ``layout`` (``NCHW``: batch, channels,
height, width; ``NHWC``: channels last); ``conv2d``'s ``W`` comes in the declared
``weight_layout`` (``OIHW``: out, in, kh, kw; ``HWIO``) with ``b`` (out,), and its ``grads``
``W`` and ``b`` are read in the same layouts. Its output size is PyTorch's,
``(size + 2 padding - k) // stride + 1`` (pools: padding 0); a library that refuses sizes the
windows do not divide raises a ``ValueError``. ``flatten()`` keeps the order of the array as its
layout holds it. ``train()`` and ``eval()`` switch dropout and batch norm; batch norm's
``params`` ``gamma`` and ``beta`` (n,) are the layer's own arrays, written in place as an
optimizer does, and its ``momentum`` is read as declared (PyTorch's default is 0.1, Keras's
0.99 for the same meaning in reverse).

:func:`load_adapter` imports the file and raises :class:`NotAnAdapter` (a ``ValueError``) naming
the file when it cannot be imported, defines no factory, or declares a convention outside the
allowed values.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CONVENTIONS", "DEFAULTS", "FACTORIES", "MODAL", "OPTIMIZERS", "SPATIAL", "NotAnAdapter",
    "Target", "load_adapter",
]

LAYERS = ("linear", "relu", "sigmoid", "tanh", "softmax")
ACTIVATIONS = ("relu", "sigmoid", "tanh")
LOSSES = ("mse", "cross_entropy")
#: Pieces beyond the post's: an activation with a parameter, a loss, optimizers, layers with a
#: training mode, and the spatial layers of a small CNN.
EXTRA_ACTIVATIONS = ("leaky_relu",)
EXTRA_LOSSES = ("bce",)
OPTIMIZERS = ("momentum", "adam", "rmsprop", "adagrad")
MODAL = ("dropout", "batchnorm")
SPATIAL = ("conv2d", "maxpool2d", "avgpool2d", "flatten")
FACTORIES = (
    *LAYERS, *EXTRA_ACTIVATIONS, *MODAL, *SPATIAL, *LOSSES, *EXTRA_LOSSES, "sgd", *OPTIMIZERS,
    "network",
)

DECAYS = ("coupled", "decoupled")  #: an optimizer's weight decay
#: Allowed values of each convention, per piece.
CONVENTIONS: dict[str, dict[str, tuple[object, ...]]] = {
    "cross_entropy": {
        "input": ("logits", "probabilities"),
        "grad_wrt": ("input", "logits"),
        "reduction": ("sum", "mean"),
    },
    "mse": {"reduction": ("sum", "mean", "mean_all"), "scale": (0.5, 1.0)},
    # l2_on: all parameters take the L2 term, or the weights only (biases plain SGD).
    "sgd": {"l2_rule": ("post", "weight_decay", "none"), "l2_on": ("all", "weights")},
    "bce": {"input": ("probabilities", "logits"), "reduction": ("sum", "mean", "mean_all")},
    # pytorch: v = mu v + g, w -= lr v; classic: v = mu v - lr g, w += v;
    # ema: v = mu v + (1 - mu) g, w -= lr v. weight_decay (a factory's keyword, if it takes one):
    # coupled, g + wd w; decoupled, w -= lr wd w beside the step (AdamW's).
    "momentum": {"form": ("pytorch", "classic", "ema"), "weight_decay": DECAYS},
    # hat: Kingma & Ba's eps-hat, as Keras: lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps).
    "adam": {"eps": ("outside_sqrt", "inside_sqrt", "hat"), "weight_decay": DECAYS},
    "rmsprop": {"eps": ("outside_sqrt", "inside_sqrt"), "weight_decay": DECAYS},
    "adagrad": {"eps": ("outside_sqrt", "inside_sqrt"), "weight_decay": DECAYS},
    # inverted: survivors scaled by 1/(1-p) in training; at_eval: the output by (1-p) at eval.
    "dropout": {"scaling": ("inverted", "at_eval")},
    # pytorch: new = (1 - m) old + m batch; keras: new = m old + (1 - m) batch.
    "batchnorm": {"momentum": ("pytorch", "keras"), "running_var": ("unbiased", "biased")},
    "conv2d": {"layout": ("NCHW", "NHWC"), "weight_layout": ("OIHW", "HWIO")},
    "maxpool2d": {"layout": ("NCHW", "NHWC")},
    "avgpool2d": {"layout": ("NCHW", "NHWC")},
    "flatten": {"layout": ("NCHW", "NHWC")},
}
#: The conventions of the post's interface (and nplearn's defaults), used where none is declared.
DEFAULTS: dict[str, dict[str, object]] = {
    "cross_entropy": {"input": "logits", "grad_wrt": "input", "reduction": "sum"},
    "mse": {"reduction": "mean", "scale": 0.5},
    "sgd": {"l2_rule": "post", "l2_on": "all"},
    "bce": {"input": "probabilities", "reduction": "mean"},
    "momentum": {"form": "pytorch", "weight_decay": "coupled"},
    "adam": {"eps": "outside_sqrt", "weight_decay": "coupled"},
    "rmsprop": {"eps": "outside_sqrt", "weight_decay": "coupled"},
    "adagrad": {"eps": "outside_sqrt", "weight_decay": "coupled"},
    "dropout": {"scaling": "inverted"},
    "batchnorm": {"momentum": "pytorch", "running_var": "unbiased"},
    "conv2d": {"layout": "NCHW", "weight_layout": "OIHW"},
    "maxpool2d": {"layout": "NCHW"},
    "avgpool2d": {"layout": "NCHW"},
    "flatten": {"layout": "NCHW"},
}


class NotAnAdapter(ValueError):
    """The file cannot be used as an adapter (the message names the file and the reason)."""


@dataclass(frozen=True)
class Target:
    """A loaded adapter.

    Attributes:
        name: ``NAME``, or the file's stem.
        slug: the card's file name: the adapter file's stem.
        path: the adapter file.
        factories: the factories it defines, by protocol name.
        conventions: per piece, the declared conventions with defaults filled in.
    """

    name: str
    slug: str
    path: Path
    factories: Mapping[str, Callable[..., Any]]
    conventions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def has(self, *pieces: str) -> bool:
        """Whether the adapter defines every one of ``pieces``."""
        return all(p in self.factories for p in pieces)

    def convention(self, piece: str, key: str) -> Any:
        """The declared (or default) convention ``key`` of ``piece``."""
        return self.conventions[piece][key]


def _conventions(path: Path, declared: object) -> dict[str, dict[str, Any]]:
    """Validate ``CONVENTIONS`` against the allowed values; fill in the defaults."""
    if not isinstance(declared, Mapping):
        raise NotAnAdapter(f"{path}: CONVENTIONS must be a dict, got {type(declared).__name__}")
    out = {piece: dict(values) for piece, values in DEFAULTS.items()}
    for piece, values in declared.items():
        if piece not in CONVENTIONS or not isinstance(values, Mapping):
            raise NotAnAdapter(
                f"{path}: CONVENTIONS[{piece!r}] is not a dict of conventions for one of "
                f"{', '.join(CONVENTIONS)}"
            )
        for key, value in values.items():
            allowed = CONVENTIONS[piece].get(key)
            if allowed is None or value not in allowed:
                choices = ", ".join(map(repr, allowed)) if allowed else "no such convention"
                raise NotAnAdapter(
                    f"{path}: CONVENTIONS[{piece!r}][{key!r}] = {value!r}; allowed: {choices}"
                )
            out[piece][key] = value
    return out


def load_adapter(path: str | os.PathLike[str]) -> Target:
    """Import the adapter file at ``path`` into a :class:`Target`.

    Raises:
        NotAnAdapter: the file is missing, not importable (the exception's first line is given),
            defines none of :data:`FACTORIES`, or declares a convention not allowed.
    """
    path = Path(path).resolve()
    if not path.is_file() or path.suffix != ".py":
        raise NotAnAdapter(f"{path}: not a Python file")
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    stem = re.sub(r"\W", "_", path.stem)
    module_name = f"_conformance_adapter_{stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look classes up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        first = (str(exc).splitlines() or [""])[0]
        raise NotAnAdapter(f"{path}: importing it raised {type(exc).__name__}: {first}") from exc
    factories = {n: getattr(module, n) for n in FACTORIES if callable(getattr(module, n, None))}
    if not factories:
        raise NotAnAdapter(
            f"{path}: not an adapter: it defines none of the factories {', '.join(FACTORIES)}"
        )
    name = getattr(module, "NAME", None)
    return Target(
        name=str(name) if name else path.stem,
        slug=path.stem,
        path=path,
        factories=factories,
        conventions=_conventions(path, getattr(module, "CONVENTIONS", {})),
    )
