"""Conv2d, pooling, flatten and the CNN row on planted bugs and on correct twins (and every new
piece, dropout and batch norm too, in float32).

The correct pieces are :mod:`verification.spatial_support`'s, under each declared layout; each
planted library replaces one step of them with a bug class met in real libraries. A bug must
come out ``wrong`` with its diagnosis and a shrunk counterexample; a correct piece must pass
under every declared convention, and a convention must never excuse a wrong result.
"""

from __future__ import annotations

import pytest

from verification.conformance_support import ROWS, load_text, run
from verification.spatial_support import HEAD

SPATIAL_ROWS = [r for r in ROWS if r.split("-")[0] in (
    "conv2d", "maxpool2d", "avgpool2d", "flatten")]
NEW_ROWS = [r for r in ROWS if r.split("-")[0] in (
    "conv2d", "maxpool2d", "avgpool2d", "flatten", "dropout", "batchnorm", "cnn")]

LAYOUTS = '''
from functools import partial

conv2d = partial(Conv2d, layout="{layout}", weight_layout="{weights}")
maxpool2d = partial(MaxPool2d, layout="{layout}")
avgpool2d = partial(AvgPool2d, layout="{layout}")
CONVENTIONS = {{"conv2d": {{"layout": "{layout}", "weight_layout": "{weights}"}},
               "maxpool2d": {{"layout": "{layout}"}}, "avgpool2d": {{"layout": "{layout}"}},
               "flatten": {{"layout": "{layout}"}}}}
'''


@pytest.fixture(scope="module", params=[("NCHW", "OIHW"), ("NHWC", "HWIO"), ("NHWC", "OIHW")],
                ids="-".join)
def correct(request, tmp_path_factory):
    layout, weights = request.param
    body = HEAD + LAYOUTS.format(layout=layout, weights=weights)
    return load_text(tmp_path_factory.mktemp("spatial"), "spatial", body)


@pytest.mark.parametrize("row_id", SPATIAL_ROWS)
def test_correct_pieces_pass_under_every_layout(correct, row_id: str) -> None:
    """No false alarm: correct pieces pass whichever layouts they declare."""
    result = run(correct, row_id)
    assert result.verdict == "pass", result


PLANTED = {
    "flipped kernel": ('''
class conv2d(Conv2d):
    """dx computed with the kernel flipped the wrong way."""

    def spread(self, grad):
        super().spread(grad)
        return np.einsum("nohw,ocij->nchwij", grad, self._oihw()[:, :, ::-1, ::-1])
''', "conv2d-backward-vs-torch",
        "dx: computed with the kernel flipped the wrong way (rotated by 180 degrees); dW and db "
        "are right"),
    "padding slice": ('''
class conv2d(Conv2d):
    """dx cut out of the padded gradient with [p:-p]: empty at padding 0."""

    def padded_dx(self, parts):
        p = self.padding
        full = super().padded_dx(parts)
        return np.pad(full, ((0, 0), (0, 0), (p, p), (p, p)))[:, :, p:-p, p:-p]
''', "conv2d-backward-vs-torch", "at padding 0: an empty slice [p:-p] with p = 0"),
    "stride 1 windows": ('''
class maxpool2d(MaxPool2d):
    """Windows move at stride 1 (the output keeps its correct size)."""

    def windows(self, x):
        stride, self.stride = self.stride, 1
        every = super().windows(x)
        self.stride = stride
        oh, ow = ((n - self.k) // stride + 1 for n in x.shape[2:])
        return every[:, :, :oh, :ow]
''', "maxpool2d-forward", "y: windows move at stride 1 instead of the stride"),
    "wrong pixels": ('''
class avgpool2d(AvgPool2d):
    """The backward spreads each gradient over the window at stride 1."""

    def padded_dx(self, parts):
        stride, self.stride = self.stride, 1
        try:
            return super().padded_dx(parts)
        finally:
            self.stride = stride
''', "avgpool2d-backward-vs-torch", "dx: the gradient goes to the pixels of windows moving "
        "at stride 1 instead of the stride (the wrong pixels)"),
    "tied maxima": ('''
class maxpool2d(MaxPool2d):
    """The whole gradient to every maximum of the window (a mask x == max)."""

    def spread(self, grad):
        windows = self.windows(self.x)
        top = windows.max(axis=(-2, -1), keepdims=True)
        return (windows == top) * grad[..., None, None]
''', "maxpool2d-ties", "dx at tied maxima: the whole gradient given to every tied maximum"),
    "overwriting windows": ('''
class maxpool2d(MaxPool2d):
    """Each window, in order, assigns its gradient to its maximum: overlapping ones overwrite."""

    def padded_dx(self, parts):
        n, c, oh, ow, k, kw = parts.shape
        dx = np.zeros(self.shape)
        for i in range(oh):
            for j in range(ow):
                window = parts[:, :, i, j]
                hit = window != 0
                rows, cols = np.nonzero(hit.any(axis=(0, 1)))
                for r, q in zip(rows, cols):
                    spot = dx[:, :, i * self.stride + r, j * self.stride + q]
                    spot[hit[:, :, r, q]] = window[:, :, r, q][hit[:, :, r, q]]
        return dx
''', "maxpool2d-backward-vs-torch", "dx: the gradients of overlapping windows overwrite each "
        "other (dx[...] = where += is needed)"),
    "flatten order": ('''
class flatten(Flatten):
    """Flattens an NCHW array in NHWC order."""

    def forward(self, x):
        self.shape = x.shape
        return x.transpose(0, 2, 3, 1).reshape(len(x), -1)
''', "flatten-forward", "y: flattened in the other layout's order"),
}


@pytest.mark.parametrize("bug", list(PLANTED))
def test_planted_bug_is_diagnosed(tmp_path, bug: str) -> None:
    body, row_id, words = PLANTED[bug]
    result = run(load_text(tmp_path, "planted", HEAD + body), row_id)
    assert result.verdict == "wrong", result
    assert words in (result.diagnosis or ""), result
    assert result.counterexample, result


def test_index_typo_in_the_backward_is_wrong_without_a_pattern(tmp_path) -> None:
    """A backward that sends each gradient one column off fails with no invented diagnosis."""
    body = HEAD + '''
class maxpool2d(MaxPool2d):
    def spread(self, grad):
        return np.roll(super().spread(grad), 1, axis=-1)
'''
    target = load_text(tmp_path, "typo", body)
    result = run(target, "maxpool2d-backward-vs-torch")
    assert result.verdict == "wrong" and result.diagnosis is None, result
    assert result.counterexample, result
    ties = run(target, "maxpool2d-ties")  # not blamed on the ties: wrong without them too
    assert ties.verdict == "wrong", ties
    assert ties.diagnosis == "dx is wrong where no maximum is tied too (see the backward vs "\
        "torch row)", ties


def test_a_convention_never_excuses_a_wrong_result(tmp_path) -> None:
    """Correct NCHW pieces declared NHWC are wrong: the declaration is held to the numbers."""
    body = HEAD + '''
CONVENTIONS = {"conv2d": {"layout": "NHWC"}, "avgpool2d": {"layout": "NHWC"}}
'''
    target = load_text(tmp_path, "liar", body)
    for row_id in ("conv2d-forward", "avgpool2d-forward"):
        assert run(target, row_id).verdict in ("wrong", "error"), row_id


CNN = HEAD + '''
def linear(W, b):
    layer = nplearn.Linear(*W.shape, dtype=np.float64)
    layer.W, layer.b = W, b
    return layer


relu, cross_entropy = nplearn.ReLU, nplearn.CrossEntropyLoss
'''


NETWORK = '''
class network:
    def __init__(self, layers):
        self.layers = layers

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad):
        {backward}
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
'''


@pytest.mark.parametrize("network, note", [
    (NETWORK.format(backward="pass"), None),
    ("", None),
    ("network = nplearn.Network\n", "AttributeError: 'MaxPool2d' object has no attribute"),
    (NETWORK.format(backward="raise TypeError('2-D only')"), "TypeError: 2-D only"),
], ids=["its network", "no network", "a network that cannot hold them",
        "a network whose backward raises"])
def test_correct_cnn_passes(tmp_path, network: str, note: str | None) -> None:
    """Through the library's network, layer by layer without one, or when it cannot run these
    layers (the detail says why)."""
    result = run(load_text(tmp_path, "cnn", CNN + network), "cnn-end-to-end")
    assert result.verdict == "pass", result
    if note is None:
        assert result.detail is None, result
    else:
        assert result.detail.startswith(f"its network cannot run these layers ({note}"), result


def test_cnn_names_the_layer_and_factor(tmp_path) -> None:
    """A max-pool backward doubling its gradient: the conv's gradients are off by 2."""
    body = CNN + '''
class maxpool2d(MaxPool2d):
    def spread(self, grad):
        return 2 * super().spread(grad)
'''
    result = run(load_text(tmp_path, "cnn", body), "cnn-end-to-end")
    assert result.verdict == "wrong", result
    assert result.diagnosis == ("conv dW and conv db: off by a factor equal to 2; loss value "
                                "and linear dW and linear db are right"), result
    assert result.counterexample, result


FLOAT32 = '''
import numpy as np
import nplearn
from verification.spatial_support import AvgPool2d, Conv2d, Flatten, MaxPool2d
from verification.modal_support import BatchNorm1d, Dropout

def _f32(x):
    return np.asarray(x, dtype=np.float32)

class _Float32:
    def forward(self, x):
        return _f32(super().forward(_f32(x)))
    def backward(self, grad):
        return _f32(super().backward(_f32(grad)))

class conv2d(_Float32, Conv2d):
    def __init__(self, W, b, stride, padding):
        super().__init__(_f32(W), _f32(b), stride, padding)
    def spread(self, grad):
        out = super().spread(grad)
        self.grads = {k: _f32(v) for k, v in self.grads.items()}
        return out
class maxpool2d(_Float32, MaxPool2d): pass
class avgpool2d(_Float32, AvgPool2d): pass
class flatten(_Float32, Flatten): pass
class dropout(_Float32, Dropout): pass
class batchnorm(_Float32, BatchNorm1d):
    def __init__(self, n, eps, momentum):
        super().__init__(n, eps, momentum)
        self.params = {k: _f32(v).reshape(1, -1) for k, v in self.params.items()}
    def backward(self, grad):
        out = super().backward(grad)
        self.grads = {k: _f32(v).reshape(1, -1) for k, v in self.grads.items()}
        return out
def linear(W, b):
    layer = nplearn.Linear(*W.shape, dtype=np.float32)
    layer.W, layer.b = W, b
    return layer
class relu(_Float32, nplearn.ReLU): pass
class cross_entropy(nplearn.CrossEntropyLoss):
    def __call__(self, logits, true):
        return super().__call__(_f32(logits), _f32(true))
network = nplearn.Network
'''


@pytest.fixture(scope="module")
def float32(tmp_path_factory):
    return load_text(tmp_path_factory.mktemp("float32"), "float32", FLOAT32)


@pytest.mark.parametrize("row_id", NEW_ROWS)
def test_correct_float32_library_passes(float32, row_id: str) -> None:
    """No false alarm for rounding: correct pieces computing in float32 (batch norm keeping
    gamma and beta as (1, n) rows) pass every row of the new pieces."""
    result = run(float32, row_id)
    assert result.verdict == "pass", result
