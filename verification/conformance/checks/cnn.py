"""End to end, a small CNN: conv, ReLU, max-pool, flatten, linear, loss, against PyTorch.

Contract
--------
``conv2d(W1, b1, 1, 1)`` (3x3, padding 1), ``relu()``, ``maxpool2d(2, 2)``, ``flatten()``,
``linear(W2, b2)`` and the library's loss (cross-entropy, else MSE, with the head of the
end-to-end rows: its softmax layer, or softmax applied here, when the loss takes
probabilities), run through the library's own ``network(layers)``; layer by layer, forward then
backward in reverse, when it has no ``network`` or its network cannot run these layers (the
row's detail says why). The input is given in the conv's declared layout and its weights in
the declared weight layout; the flatten's order is its declared layout's. The loss value and
the four parameter gradients are compared with PyTorch float64 doing the same. Inputs keep
every conv output :data:`MARGIN` from ReLU's kink and every pooling window's maximum that far
from its runner-up, so that a float32 library takes the same branches.

A failure is diagnosed per tensor: a factor equal to the batch size, the number of classes or
their product, else ``wrong, no known pattern``, and the tensors that are right.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import scipy.special
from hypothesis import strategies as st

from nplearn.functional import softmax_backward
from verification.conformance import calls, diagnosis, inputs, oracle
from verification.conformance.checks.training import head
from verification.conformance.judge import Example, Finding, judge
from verification.conformance.numeric import error, errors, oracle_tol
from verification.conformance.numeric import result_dtype as dtype_of
from verification.conformance.result import Result
from verification.conformance.target import Target
from verification.registry import values

__all__ = ["MARGIN", "cnn"]

MARGIN = 1e-3  # far above a float32 library's rounding of conv outputs of about 1
NAMES = {"conv dW": ("W1", 0), "conv db": ("b1", 0), "linear dW": ("W2", 4),
         "linear db": ("b2", 4)}


def _torch(target: Target, loss_piece: str, example: Example) -> dict[str, Any]:
    """The loss value and parameter gradients of PyTorch float64."""
    t = oracle.torch()
    F = t.nn.functional
    leaf = {k: t.tensor(example[k], requires_grad=k != "x") for k in ("x", "W1", "b1", "W2",
                                                                      "b2")}
    h = F.conv2d(leaf["x"], leaf["W1"], leaf["b1"], padding=1)
    pooled = F.max_pool2d(F.relu(h), 2, 2)
    order = (0, 2, 3, 1) if target.convention("flatten", "layout") == "NHWC" else (0, 1, 2, 3)
    z = pooled.permute(*order).flatten(1) @ leaf["W2"] + leaf["b2"]
    y = t.tensor(example["target"])
    conventions = target.conventions[loss_piece]
    n = {"sum": 1, "mean": len(z), "mean_all": z.numel()}[conventions["reduction"]]
    if loss_piece == "mse":
        value = conventions["scale"] * ((z - y) ** 2).sum() / n
    else:
        value = -(y * t.log_softmax(z, dim=1)).sum() / n
    value.backward()
    out = {"loss value": float(value.detach())}
    out.update({name: leaf[k].grad.numpy() for name, (k, _) in NAMES.items()})
    return out


def _clear(example: Example) -> bool:
    """Conv outputs clear of 0, and each window's maximum clear of its runner-up (or 0)."""
    t = oracle.torch()
    h = t.nn.functional.conv2d(t.tensor(example["x"]), t.tensor(example["W1"]),
                               t.tensor(example["b1"]), padding=1).numpy()
    if np.min(np.abs(h)) < MARGIN:
        return False
    n, c, hh, ww = h.shape
    windows = np.maximum(h, 0).reshape(n, c, hh // 2, 2, ww // 2, 2).transpose(0, 1, 2, 4, 3, 5)
    top = np.sort(windows.reshape(n, c, hh // 2, ww // 2, 4), axis=-1)
    return bool(np.all((top[..., -1] == 0) | (top[..., -1] - top[..., -2] >= MARGIN)))


def _example(rng: np.random.Generator, batch: int, c: int, o: int, size: int, classes: int
             ) -> Example:
    features = o * (size // 2) ** 2
    return {"x": rng.uniform(-1, 1, (batch, c, size, size)),
            "W1": rng.uniform(-1, 1, (o, c, 3, 3)), "b1": rng.uniform(-1, 1, o),
            "W2": rng.uniform(-1, 1, (features, classes)), "b2": rng.uniform(-1, 1, classes),
            "target": inputs.onehot(rng.integers(0, classes, batch), classes)}


def _examples() -> list[Example]:
    out, seed = [], 0
    while len(out) < 2:
        rng = np.random.default_rng([inputs.SEED, 700 + seed])
        seed += 1
        example = _example(rng, inputs.BATCH, 2, 3, 6, inputs.CLASSES)
        if _clear(example):
            out.append(example)
    return out


@st.composite
def _small(draw) -> Example:
    batch, c, o, classes = (draw(st.integers(lo, 2)) for lo in (1, 1, 1, 2))
    size = 2 * draw(st.integers(1, 2))
    features = o * (size // 2) ** 2
    labels = draw(st.lists(st.integers(0, classes - 1), min_size=batch, max_size=batch))
    return {"x": draw(values((batch, c, size, size), 1.0)),
            "W1": draw(values((o, c, 3, 3), 1.0)), "b1": draw(values((o,), 1.0)),
            "W2": draw(values((features, classes), 1.0)), "b2": draw(values((classes,), 1.0)),
            "target": inputs.onehot(np.array(labels), classes)}


def _layers(target: Target, loss_piece: str, example: Example) -> list[Any]:
    W1 = example["W1"]
    if target.convention("conv2d", "weight_layout") == "HWIO":
        W1 = W1.transpose(2, 3, 1, 0)
    made = [calls.build(target, "conv2d", np.array(W1), np.array(example["b1"]), 1, 1),
            calls.layer(target, "relu"), calls.build(target, "maxpool2d", 2, 2),
            calls.build(target, "flatten"),
            calls.layer(target, "linear", {"W": example["W2"], "b": example["b2"]})]
    return made + ([calls.layer(target, "softmax")] if head(target, loss_piece)[1] else [])


class _NetworkFailed(Exception):
    """The library's network raised on these layers (the message: its type and first line)."""


class _Chain:
    """Layer by layer: forward in order, backward in reverse."""

    def __init__(self, layers: list[Any]) -> None:
        self.layers = layers

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad: Any) -> None:
        for layer in reversed(self.layers):
            grad = layer.backward(grad)


def _through(target: Target, loss_piece: str, example: Example, own: bool
             ) -> tuple[float, list[Any]]:
    """``(value, layers)`` after forward, loss and backward through the library's network
    (``own``; its failures raise :class:`_NetworkFailed`) or layer by layer."""
    x = np.array(example["x"])
    if target.convention("conv2d", "layout") == "NHWC":
        x = x.transpose(0, 2, 3, 1)
    made = _layers(target, loss_piece, example)

    def network(call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except Exception as exc:
            if not own:
                raise
            line = (str(exc).splitlines() or [""])[0]
            raise _NetworkFailed(f"{type(exc).__name__}: {line}") from exc

    net = network(target.factories["network"], made) if own else _Chain(made)
    out = np.asarray(network(net.forward, x), dtype=np.float64)
    probabilities, inside = head(target, loss_piece)
    fed = scipy.special.softmax(out, axis=1) if probabilities and not inside else out
    loss = target.factories[loss_piece]()
    value = float(loss(fed, np.array(example["target"])))
    grad = np.array(loss.grad, dtype=np.float64)
    if probabilities and not inside and target.convention(loss_piece, "grad_wrt") == "input":
        grad = softmax_backward(fed, grad, axis=1)
    network(net.backward, grad)
    return value, made


def _run(target: Target, loss_piece: str, example: Example) -> tuple[float, list, str | None]:
    """``(value, layers, note)``: through the library's network if it can run the CNN, else
    layer by layer, with a note saying why."""
    if target.has("network"):
        try:
            return (*_through(target, loss_piece, example, True), None)
        except _NetworkFailed as exc:
            note = f"its network cannot run these layers ({exc}): run layer by layer"
            return (*_through(target, loss_piece, example, False), note)
    return (*_through(target, loss_piece, example, False), None)


def cnn(target: Target, piece: str) -> Result:
    """The loss value and every parameter gradient against PyTorch (module contract)."""
    loss_piece = "cross_entropy" if target.has("cross_entropy") else "mse"
    notes: list[str] = []

    def trial(example: Example) -> Finding:
        if not _clear(example):  # a drawn example too near a kink does not count (a filter
            return Finding(0.0, np.inf)  # would spend the shrinking time outside its clock)
        value, made, note = _run(target, loss_piece, example)
        notes.append(note or "")
        grads = [calls.params_of(made[0]), calls.params_of(made[4])]
        if target.convention("conv2d", "weight_layout") == "HWIO":
            grads[0]["W"] = grads[0]["W"].transpose(3, 2, 0, 1)
        found: dict[str, Any] = {"loss value": value}
        found.update({name: grads[i // 4][k[0]] for name, (k, i) in NAMES.items()})
        ref = _torch(target, loss_piece, example)
        tol = oracle_tol(dtype_of(*found.values()))
        worst = max(errors(found, ref).values())
        if worst <= tol:
            return Finding(worst, tol)
        sizes = {"batch size": len(example["x"]),
                 "number of classes": example["target"].shape[1]}
        words = diagnosis.tensors(found, ref, {}, sizes, tol)
        failed = [k for k, v in found.items() if not error(v, ref[k]) <= tol]
        return Finding(worst, tol, words or f"{' and '.join(failed)}: wrong, no known pattern")

    result = judge(piece, "end to end", trial, _examples(), _small())
    note = next((n for n in notes if n), None)
    return dataclasses.replace(result, detail=note) if note else result
