"""Conv2d, max and average pooling, flatten: forward and backward against PyTorch float64.

Contract
--------
Examples and calls are :mod:`verification.conformance.spatial`'s (NCHW and OIHW here, the
library's declared layouts at its boundary). :func:`forward` compares ``y``, :func:`backward`
``dx`` (and a conv's ``dW``, ``db``) with ``F.conv2d``, ``F.max_pool2d``, ``F.avg_pool2d`` or
``torch.flatten``, at stride 1 and 2 and (conv) padding 0 and 1, on sizes the windows divide
evenly. :func:`uneven` takes sizes they do not: the row passes when the output and gradients are
PyTorch's (the last rows and columns left out) or when the library rejects the shape with a
ValueError-family exception, and takes the same example cropped to sizes the windows divide;
any other exception, an exception on the cropped example too, or a wrong output, fails it (the
exception's type named: its message, which names sizes, would differ between examples). In every
row but the kernel's, a ValueError as the layer is built declines that example's setting (a pool
whose stride must equal its size): the example is left out and named (``Refused``).
:func:`non_square` does the same with a conv kernel of two sizes (``kh != kw``). A forward output
of the wrong shape is an ``error`` row naming both shapes.

Diagnoses compare with suspected mistakes computed by torch: a conv that flips the kernel
(true convolution) in forward, ``dx`` computed with the kernel flipped the wrong way, ``dW``
rotated by 180 degrees, windows moving at stride 1 instead of the stride (in forward, or only in
backward: the gradient sent to the wrong pixels), overlapping max-pool windows whose gradients
overwrite each other, a flatten in the other layout's order; a
``dx`` of the wrong shape is named with its shape (an empty one at padding 0 is the slice
``[p:-p]`` with ``p = 0``); otherwise a factor equal to a known size (batch, kernel size or
area), or no known pattern.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from verification.conformance import diagnosis, oracle, spatial
from verification.conformance.calls import CheckError
from verification.conformance.judge import Example, Finding, Refused, judge
from verification.conformance.numeric import error, errors, oracle_tol
from verification.conformance.numeric import result_dtype as dtype_of
from verification.conformance.result import Result
from verification.conformance.target import Target

__all__ = ["backward", "forward", "non_square", "suspects", "uneven"]


def _stride_one(piece: str, example: Example, shape: tuple[int, ...]) -> Any:
    """torch forward whose windows move at stride 1, cropped to the correct output's size."""
    f = spatial.torch_forward(piece, {**example, "stride": 1})
    return lambda x, W, b: f(x, W, b)[:, :, : shape[2], : shape[3]]


def suspects(piece: str, example: Example, ref: dict[str, np.ndarray], layout: str
             ) -> dict[str, list[tuple[str, Any]]]:
    """Suspected mistakes per tensor (``"y"``, ``"dx"``, ``"dW"``): words and values."""
    out: dict[str, list[tuple[str, Any]]] = {"y": [], "dx": [], "dW": []}
    if piece == "conv2d":
        s, p = example["stride"], example["padding"]
        flipped = spatial.reference(piece, example, fn=lambda x, W, b: oracle.torch(
        ).nn.functional.conv2d(x, W.flip(2, 3), b, stride=s, padding=p))
        out["y"].append(("convolves with the kernel rotated by 180 degrees (true convolution) "
                         "where F.conv2d cross-correlates", flipped["y"]))
        out["dx"].append(("computed with the kernel flipped the wrong way (rotated by 180 "
                          "degrees)", flipped["dx"]))
        out["dW"].append(("rotated by 180 degrees", ref["dW"][:, :, ::-1, ::-1]))
    if piece == "maxpool2d" and example["k"] > example["stride"]:
        out["dx"].append(("the gradients of overlapping windows overwrite each other (dx[...] = "
                          "where += is needed)", _overwritten(example)))
    if piece == "flatten":
        other = spatial.reference(piece, example, "NHWC" if layout == "NCHW" else "NCHW")
        out["y"].append(("flattened in the other layout's order", other["y"]))
    elif example["stride"] > 1:
        wrong = spatial.reference(piece, example, fn=_stride_one(piece, example, ref["y"].shape))
        out["y"].append(("windows move at stride 1 instead of the stride", wrong["y"]))
        out["dx"].append(("the gradient goes to the pixels of windows moving at stride 1 "
                          "instead of the stride (the wrong pixels)", wrong["dx"]))
    return out


def _overwritten(example: Example) -> np.ndarray:
    """A max-pool ``dx`` whose windows, taken in order, assign their gradient to their maximum
    instead of adding it."""
    x, grad, k, s = example["x"], example["grad"], example["k"], example["stride"]
    dx = np.zeros_like(x, dtype=np.float64)
    for n, c, i, j in np.ndindex(grad.shape):
        window = x[n, c, i * s : i * s + k, j * s : j * s + k]
        r, q = np.unravel_index(np.argmax(window), window.shape)
        dx[n, c, i * s + r, j * s + q] = grad[n, c, i, j]
    return dx


def _sizes(example: Example) -> dict[str, int]:
    k = example.get("k", example["W"].shape[-1] if "W" in example else 1)
    return {"batch size": len(example["x"]), "kernel size": k, "kernel area": k * k}


def _diagnose(target: Target, piece: str, example: Example, ref: dict[str, np.ndarray],
              found: dict[str, Any], tol: float) -> str | None:
    if "dx" in found and np.shape(found["dx"]) != ref["dx"].shape:
        empty = 0 in np.shape(found["dx"]) and example.get("padding") == 0
        words = ("dx has shape (..., 0, 0) at padding 0: an empty slice [p:-p] with p = 0"
                 if empty else "dx has a shape other than the input's")
        rest = {k: v for k, v in found.items() if k != "dx"}
        more = diagnosis.tensors(rest, ref, {}, _sizes(example), tol)
        return "; ".join(w for w in (words, more) if w)
    formulas = suspects(piece, example, ref, target.convention(piece, "layout"))
    return diagnosis.tensors(found, ref, formulas, _sizes(example), tol)


def _reference(target: Target, piece: str, example: Example) -> dict[str, np.ndarray]:
    layout = target.convention(piece, "layout")
    return spatial.reference(piece, example, layout)


def _forward_trial(target: Target, piece: str):
    def trial(example: Example) -> Finding:
        y, _, _ = spatial.run(target, piece, example, backward=False)
        ref = _reference(target, piece, example)
        tol = oracle_tol(dtype_of(y))
        e = error(y, ref["y"])
        diag = _diagnose(target, piece, example, ref, {"y": y}, tol) if e > tol else None
        return Finding(e, tol, diag)

    return trial


def _backward_trial(target: Target, piece: str):
    def trial(example: Example) -> Finding:
        y, dx, grads = spatial.run(target, piece, example)
        ref = _reference(target, piece, example)
        found = {"dx": dx, **{f"d{k}": v for k, v in grads.items()}}
        tol = oracle_tol(dtype_of(y, dx, *grads.values()))
        worst = max(errors(found, ref).values())
        diag = _diagnose(target, piece, example, ref, found, tol) if not worst <= tol else None
        return Finding(worst, tol, diag)

    return trial


def forward(target: Target, piece: str) -> Result:
    """The output against PyTorch at stride 1 and 2 (conv: padding 0 and 1)."""
    return judge(piece, "forward", _forward_trial(target, piece), spatial.examples(piece),
                 spatial.strategy(piece))


def backward(target: Target, piece: str) -> Result:
    """``dx`` (conv: and ``dW``, ``db``) against PyTorch's autograd."""
    return judge(piece, "backward vs torch", _backward_trial(target, piece),
                 spatial.examples(piece), spatial.strategy(piece))


def uneven(target: Target, piece: str) -> Result:
    """Sizes the windows do not divide: PyTorch's output and gradients, or a ValueError."""
    return _or_refused(target, piece, "uneven shapes", "which leaves out the rows and columns no "
                       "window reaches", uneven=True)


def non_square(target: Target, piece: str) -> Result:
    """A kernel wider or narrower than it is high: PyTorch's output and gradients, or a
    ValueError when the layer is built that a square kernel does not meet (a library may take
    square kernels only, if it says so; a ValueError later, from a forward that assumed a
    square, is no such refusal)."""
    return _or_refused(target, piece, "non-square kernel", "for a kernel of two sizes",
                       wide=True)


def _even(example: Example) -> Example:
    """The example cropped to the rows and columns its windows reach: sizes they divide evenly,
    the same output (and upstream gradient)."""
    ks = example["W"].shape[2:] if "W" in example else (example["k"],) * 2
    s, p = example["stride"], example.get("padding", 0)
    sizes = [(spatial.out_size(n, k, s, p) - 1) * s + k - 2 * p
             for n, k in zip(example["x"].shape[2:], ks, strict=True)]
    return {**example, "x": example["x"][:, :, : sizes[0], : sizes[1]]}


def _or_refused(target: Target, piece: str, check: str, wrong_shape: str, **shape: bool
                ) -> Result:
    """The backward check on :func:`spatial.examples` of ``shape``; a ValueError passes (for
    a kernel, only from building the layer; for uneven sizes, only if the sizes the windows
    divide evenly run), an output of the wrong shape is named with ``wrong_shape``."""
    both = _backward_trial(target, piece)
    kernel = shape.get("wide", False)

    def trial(example: Example) -> Finding:
        if kernel:
            try:
                spatial.build(target, piece, example)
            except ValueError:  # the kernel refused as the layer is built, if a square one is
                o, c, kh, _ = example["W"].shape  # not (else Refused: another setting, left out)
                spatial.build(target, piece, {**example, "W": np.ones((o, c, kh, kh))})
                return Finding(0.0, 0.0)
        try:
            return both(example)
        except Refused:  # declined as the layer was built, before seeing any size: left out
            raise
        except Exception as exc:
            raised = exc
        if not kernel and not isinstance(raised, CheckError):
            try:
                both(_even(example))
            except Exception:
                return Finding(np.inf, 0.0, f"raises {type(raised).__name__} on sizes the windows "
                               "divide evenly too (the rows and columns no window reaches cut "
                               "off): not a refusal of the shape (see the backward vs torch row)")
        if isinstance(raised, CheckError):  # the forward's shape (the counterexample shows it)
            return Finding(np.inf, 0.0, f"the output's shape is not PyTorch's, {wrong_shape}")
        if not isinstance(raised, ValueError):
            return Finding(np.inf, 0.0, f"raises {type(raised).__name__} (a shape it rejects "
                           "should raise a ValueError)")
        if kernel:
            return Finding(np.inf, 0.0, "raises ValueError after building the layer with "
                           "this kernel: one it does not take should be refused there")
        return Finding(0.0, 0.0)  # a clear refusal of a shape the library does not take

    return judge(piece, check, trial, spatial.examples(piece, **shape),
                 spatial.strategy(piece, **shape))
