"""The spatial pieces (conv2d, maxpool2d, avgpool2d, flatten): layouts, calls, inputs, oracle.

Contract
--------
Examples hold NCHW arrays and OIHW weights, whatever the library's layout: :func:`run` converts
them to the target's declared ``layout`` (``NCHW`` or ``NHWC``) and ``weight_layout`` (``OIHW``
or ``HWIO``), builds a fresh layer (``conv2d(W, b, stride, padding)``, ``maxpool2d(k, stride)``,
``avgpool2d(k, stride)``, ``flatten()``), runs forward then backward, and converts the results
back: ``y`` and ``dx`` NCHW (a flatten's ``y`` is 2-D, in the library's own layout's order),
``dW`` OIHW and ``db``. A forward output of the wrong shape raises
:class:`~verification.conformance.calls.CheckError` naming both shapes (an ``error`` row) and
the mistake that gives that shape, if known (windows moving at stride 1, the padding left out).
:func:`reference` is PyTorch float64's forward and backward (``F.conv2d``, ``F.max_pool2d``,
``F.avg_pool2d``, ``torch.flatten`` of the array in the library's layout).

Fixed examples (:func:`examples`) take stride 1 and 2 and, for conv2d, padding 0 and 1, on
non-square inputs whose sizes the windows divide evenly (``uneven=True``: sizes they do not;
``wide=True``: a conv kernel one column narrower than it is high), 2 channels in and once 1;
entries are distinct, so that a max-pool window has one maximum. :func:`strategy` draws the
same kinds of examples, small, for shrinking.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from hypothesis import strategies as st

from verification.conformance import calls, inputs, oracle
from verification.conformance.judge import Example, Refused
from verification.conformance.target import Target
from verification.registry import values

__all__ = ["POOLS", "build", "examples", "out_size", "reference", "run", "strategy",
           "torch_forward"]

POOLS = ("maxpool2d", "avgpool2d")
#: (stride, padding) of the fixed examples; pools have no padding.
SETTINGS = {"conv2d": ((1, 0), (1, 1), (2, 0), (2, 1)), "maxpool2d": ((2, 0), (1, 0)),
            "avgpool2d": ((2, 0), (1, 0)), "flatten": ((1, 0),)}
KERNEL = {"conv2d": 3, "maxpool2d": 2, "avgpool2d": 3, "flatten": 1}


def out_size(size: int, k: int, stride: int, padding: int) -> int:
    """PyTorch's output size: ``(size + 2 padding - k) // stride + 1``."""
    return (size + 2 * padding - k) // stride + 1


def _nhwc(x: np.ndarray, layout: str) -> np.ndarray:
    return x.transpose(0, 2, 3, 1) if layout == "NHWC" else x


def _nchw(x: np.ndarray, layout: str) -> np.ndarray:
    return x.transpose(0, 3, 1, 2) if layout == "NHWC" and x.ndim == 4 else x


def torch_forward(piece: str, example: Mapping[str, Any], layout: str = "NCHW") -> Any:
    """``f(x, W, b) -> y`` in torch for ``piece`` with the example's kernel, stride, padding."""
    F = oracle.torch().nn.functional
    k, s, p = example.get("k"), example.get("stride"), example.get("padding", 0)
    if piece == "conv2d":
        return lambda x, W, b: F.conv2d(x, W, b, stride=s, padding=p)
    if piece == "maxpool2d":
        return lambda x, W, b: F.max_pool2d(x, k, s)
    if piece == "avgpool2d":
        return lambda x, W, b: F.avg_pool2d(x, k, s)
    perm = (0, 2, 3, 1) if layout == "NHWC" else (0, 1, 2, 3)
    return lambda x, W, b: x.permute(*perm).flatten(1)


def reference(piece: str, example: Mapping[str, Any], layout: str = "NCHW",
              fn: Any = None) -> dict[str, np.ndarray]:
    """``{"y", "dx"[, "dW", "db"]}`` of torch float64 (``fn`` replaces the piece's forward)."""
    t = oracle.torch()
    leaf = {k: t.tensor(np.asarray(example[k], dtype=np.float64), requires_grad=True)
            for k in ("x", "W", "b") if k in example}
    y = (fn or torch_forward(piece, example, layout))(leaf["x"], leaf.get("W"), leaf.get("b"))
    y.backward(t.tensor(np.asarray(example["grad"], dtype=np.float64)))
    return {"y": y.detach().numpy(), **{f"d{k}": v.grad.numpy() for k, v in leaf.items()}}


def build(target: Target, piece: str, example: Mapping[str, Any]) -> Any:
    """A fresh layer of ``target`` for ``example``: a conv's kernel in the declared layout.

    Raises:
        Refused: the library's ValueError-family error as it builds the layer (a setting it
            does not take), with that error's first line.
    """
    if piece == "conv2d":
        hwio = target.convention(piece, "weight_layout") == "HWIO"
        W = example["W"].transpose(2, 3, 1, 0) if hwio else example["W"]
        args = (np.array(W), np.array(example["b"]), example["stride"], example["padding"])
    else:
        args = (example["k"], example["stride"]) if piece in POOLS else ()
    try:
        return calls.build(target, piece, *args)
    except ValueError as exc:
        line = (str(exc).strip().splitlines() or [""])[0]
        raise Refused(f"{type(exc).__name__}: {line}") from exc


def run(target: Target, piece: str, example: Mapping[str, Any], backward: bool = True
        ) -> tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:
    """``(y, dx, grads)`` of a fresh layer of ``target`` on ``example`` (module contract); with
    ``backward=False`` only the forward runs (``dx`` None, no grads), so that a broken backward
    cannot fail a forward row."""
    layout = target.convention(piece, "layout")
    x = np.array(_nhwc(example["x"], layout), dtype=np.float64)
    hwio = piece == "conv2d" and target.convention(piece, "weight_layout") == "HWIO"
    made = build(target, piece, example)
    y = np.asarray(made.forward(x))
    expected = np.shape(example["grad"]) if piece == "flatten" else _nhwc(example["grad"],
                                                                           layout).shape
    if y.shape != expected:
        raise calls.CheckError(f"forward returned shape {y.shape} for input {x.shape}; expected "
                               f"{expected}{_shape_hint(piece, example, y.shape, layout)}")
    if not backward:
        return (_nchw(y, layout) if piece != "flatten" else y), None, {}
    grad = example["grad"] if piece == "flatten" else _nhwc(example["grad"], layout)
    dx = _nchw(calls.input_grad(made.backward(np.array(grad, dtype=np.float64))), layout)
    grads = {}
    if piece == "conv2d":
        grads = calls.params_of(made)
        grads["b"] = grads["b"].reshape(-1)  # a bias kept as (out, 1) is as good as (out,)
        if hwio and grads["W"].ndim == 4:
            grads["W"] = grads["W"].transpose(3, 2, 0, 1)
    return _nchw(y, layout) if piece != "flatten" else y, dx, grads


def _shape_hint(piece: str, example: Mapping[str, Any], shape: tuple[int, ...], layout: str
                ) -> str:
    """Which mistake gives ``shape``: windows at stride 1, or the padding left out."""
    if piece == "flatten":
        return ""
    ks = example["W"].shape[2:] if piece == "conv2d" else (example["k"],) * 2
    s, p = example["stride"], example.get("padding", 0)
    for words, stride, padding in (("windows moving at stride 1", 1, p),
                                   ("the padding left out", s, 0)):
        sizes = [out_size(n, k, stride, padding)
                 for n, k in zip(example["x"].shape[2:], ks, strict=True)]
        wrong = _nhwc(np.empty((*example["grad"].shape[:2], *sizes)), layout).shape
        if (stride, padding) != (s, p) and shape == wrong:
            return f" (the shape of {words})"
    return ""


def _settings(piece: str, example: Example, k: int, stride: int, padding: int) -> None:
    if piece in POOLS:
        example["k"] = k
    if piece != "flatten":
        example["stride"] = stride
    if piece == "conv2d":
        example["padding"] = padding


def _example(piece: str, rng: np.random.Generator, n: int, c: int, o: int, hw: tuple[int, int],
             ks: tuple[int, int], stride: int, padding: int) -> Example:
    x = rng.permutation(n * c * hw[0] * hw[1]).reshape(n, c, *hw)
    example: Example = {"x": (x - x.size / 2) / x.size * 4}
    if piece == "conv2d":
        example.update(W=rng.uniform(-1, 1, (o, c, *ks)), b=rng.uniform(-1, 1, o))
    _settings(piece, example, ks[0], stride, padding)
    oh, ow = (out_size(size, k, stride, padding) for size, k in zip(hw, ks, strict=True))
    channels = o if piece == "conv2d" else c
    shape = (n, c * hw[0] * hw[1]) if piece == "flatten" else (n, channels, oh, ow)
    example["grad"] = rng.standard_normal(shape)
    return example


def examples(piece: str, uneven: bool = False, wide: bool = False) -> list[Example]:
    """Fixed examples (module contract): batch 3, 2 channels in, 4 out, non-square sizes
    (``wide``: a conv kernel one column narrower than it is high), and the first setting again
    with 1 channel in (MNIST's; a squeeze that drops the channel axis fails only there)."""
    out = []
    ks = (KERNEL[piece], KERNEL[piece] - wide)
    settings = [(i, s, p) for i, (s, p) in enumerate(SETTINGS[piece]) if not (uneven and s == 1)]
    for i, stride, padding in [*settings, settings[0]]:
        channels = 1 if len(out) == len(settings) else 2
        rng = np.random.default_rng([inputs.SEED, 400 + i, *([1] if channels == 1 else [])])
        # k - 2p + 2s and k - 2p + 3s are divided evenly at stride s; one more is not
        hw = (ks[0] - 2 * padding + 2 * stride + uneven, ks[1] - 2 * padding + 3 * stride + uneven)
        out.append(_example(piece, rng, inputs.BATCH, channels, 4, hw, ks, stride, padding))
    return out


@st.composite
def _small(draw, piece: str, uneven: bool, wide: bool) -> Example:
    n, c, o = (draw(st.integers(1, 2)) for _ in range(3))
    k = draw(st.integers(1, 3)) if piece != "flatten" else 1
    ks = (k, draw(st.integers(1, 3).filter(lambda w: w != k))) if wide else (k, k)
    stride = draw(st.integers(2 if uneven else 1, 2)) if piece != "flatten" else 1
    padding = draw(st.integers(0, min(1, min(ks) // 2))) if piece == "conv2d" else 0
    bases = [kk - 2 * padding + (stride if kk <= 2 * padding else 0) for kk in ks]
    hw = tuple(base + stride * draw(st.integers(0, 2)) + uneven for base in bases)
    size = n * c * hw[0] * hw[1]
    perm = np.array(draw(st.permutations(range(size))), dtype=np.float64)
    example: Example = {"x": ((perm - size / 2) / size * 4).reshape(n, c, *hw)}
    if piece == "conv2d":
        example.update(W=draw(values((o, c, *ks), 1.0)), b=draw(values((o,), 1.0)))
    _settings(piece, example, k, stride, padding)
    oh, ow = (out_size(s, kk, stride, padding) for s, kk in zip(hw, ks, strict=True))
    shape = (n, size // n) if piece == "flatten" else (n, o if piece == "conv2d" else c, oh, ow)
    example["grad"] = draw(values(shape, 2.0))
    return example


def strategy(piece: str, uneven: bool = False, wide: bool = False
             ) -> st.SearchStrategy[Example]:
    """Small examples shaped as :func:`examples`'s."""
    return _small(piece, uneven, wide)
