"""The spatial pieces on shapes: an output of the wrong shape, a backward that raises, sizes the
windows do not divide, a kernel of two sizes.

Each planted library is :mod:`verification.spatial_support`'s correct pieces with one replaced.
A shape a library does not take may be refused with a ValueError-family error (a kernel: as the
layer is built); any other failure is ``wrong`` or ``error`` with words that say which.
"""

from __future__ import annotations

import pytest

from verification.conformance_support import load_text, run
from verification.spatial_support import HEAD


def test_wrong_shape_is_an_error_and_the_card_completes(tmp_path) -> None:
    """A conv returning the wrong shape reads error with both shapes; other rows still run."""
    body = HEAD + '''
class conv2d(Conv2d):
    def forward(self, x):
        return super().forward(x)[:, :, 1:]
'''
    target = load_text(tmp_path, "shape", body)
    result = run(target, "conv2d-forward")
    assert result.verdict == "error", result
    assert result.detail.startswith("forward returned shape (3, 4, 2, 4) for input"), result
    assert run(target, "maxpool2d-forward").verdict == "pass"


def test_a_broken_backward_fails_only_the_backward_rows(tmp_path) -> None:
    """A pool whose backward raises: its forward row still passes (forward rows never call
    backward); the backward row is the error, with where it was raised."""
    body = HEAD + '''
class maxpool2d(MaxPool2d):
    def backward(self, grad):
        raise TypeError("cannot unpack non-iterable NoneType object")
'''
    target = load_text(tmp_path, "broken", body)
    assert run(target, "maxpool2d-forward").verdict == "pass"
    result = run(target, "maxpool2d-backward-vs-torch")
    assert result.verdict_text().startswith("error: TypeError"), result


def test_a_wrong_shape_is_named_when_a_mistake_gives_it(tmp_path) -> None:
    """A pool whose windows move at stride 1, output size included: the error says so."""
    body = HEAD + '''
class avgpool2d(AvgPool2d):
    def __init__(self, k, stride):
        super().__init__(k, 1)
'''
    result = run(load_text(tmp_path, "shape", body), "avgpool2d-forward")
    assert result.verdict == "error", result
    assert result.detail.endswith("(the shape of windows moving at stride 1)"), result


@pytest.mark.parametrize("error, verdict", [("ValueError", "pass"), ("IndexError", "wrong")])
def test_a_rejected_uneven_shape_needs_a_clear_error(tmp_path, error: str, verdict: str) -> None:
    """A library may refuse sizes its windows do not divide, with a ValueError-family error."""
    body = HEAD + f'''
class conv2d(Conv2d):
    def forward(self, x):
        if (x.shape[2] + 2 * self.padding - self.k) % self.stride:
            raise {error}("the windows do not divide the input")
        return super().forward(x)
'''
    result = run(load_text(tmp_path, "uneven", body), "conv2d-uneven-shapes")
    assert result.verdict == verdict, result
    if verdict == "wrong":
        assert result.diagnosis.startswith("raises IndexError (a shape it rejects"), result


@pytest.mark.parametrize("error", ["ValueError", "TypeError"])
def test_an_error_on_even_sizes_too_is_no_refusal(tmp_path, error: str) -> None:
    """A conv that raises at stride 2 whatever the sizes (a numpy broadcast error, say) refuses
    no shape: the uneven row fails and points at the backward row, which shows the error."""
    body = HEAD + f'''
class conv2d(Conv2d):
    def forward(self, x):
        if self.stride == 2:
            raise {error}("operands could not be broadcast together")
        return super().forward(x)
'''
    result = run(load_text(tmp_path, "crash", body), "conv2d-uneven-shapes")
    assert result.verdict == "wrong", result
    assert result.diagnosis == (f"raises {error} on "
                                "sizes the windows divide evenly too (the rows and columns no "
                                "window reaches cut off): not a refusal of the shape (see the "
                                "backward vs torch row)"), result


def test_one_channel_is_among_the_fixed_examples(tmp_path) -> None:
    """A pool that squeezes its (batch, channels) window maxima breaks with 1 channel and a
    batch over 1 (MNIST's shapes): a fixed example has them, so the row fails (shrinking only
    starts once a fixed example fails)."""
    body = HEAD + '''
class maxpool2d(MaxPool2d):
    def forward(self, x):
        y = super().forward(x)
        out = np.empty_like(y)
        for r in range(y.shape[2]):
            for c in range(y.shape[3]):
                out[:, :, r, c] = y[:, :, r, c].squeeze()
        return out
'''
    result = run(load_text(tmp_path, "squeeze", body), "maxpool2d-forward")
    assert result.verdict_text().startswith("error: ValueError: could not broadcast"), result
    assert result.counterexample.startswith("x (3, 1, "), result


#: A pool that takes only windows moving by their own size, and says so as it is built.
OWN_STRIDE = '''
class maxpool2d(MaxPool2d):
    def __init__(self, k, stride):
        if stride != k:
            raise ValueError(f"this pool moves by its size {k}; got stride={stride}")
        super().__init__(k, stride)
'''


def test_a_setting_refused_as_the_layer_is_built_is_left_out(tmp_path) -> None:
    """A pool refusing stride 1 is judged on its stride-2 examples: the forward passes, naming
    what it refused; a conv refusing every bias (every example has one) is an error that says
    so."""
    target = load_text(tmp_path, "own", HEAD + OWN_STRIDE + '''
class conv2d(Conv2d):
    def __init__(self, W, b, *args, **kwargs):
        if b.any():
            raise ValueError("this conv has no bias")
        super().__init__(W, b, *args, **kwargs)
''')
    result = run(target, "maxpool2d-forward")
    assert result.verdict == "pass", result
    assert result.detail == ("refused: x (3, 2, 4, 5), k=2, stride=1, grad (3, 2, 3, 4) "
                             "(ValueError: this pool moves by its size 2; got stride=1)"), result
    assert run(target, "conv2d-non-square-kernel").verdict_text().startswith(
        "error: Refused: every example refused"), "a refused bias is no refusal of the kernel"
    assert run(target, "conv2d-forward").verdict_text() == (
        "error: Refused: every example refused as the layer was built: x (3, 2, 5, 6), W (4, 2, "
        "3, 3), b (4,), stride=1, padding=0, grad (3, 4, 3, 4) (ValueError: this conv has no "
        "bias)"), result


def test_a_refused_setting_does_not_hide_a_bug_on_the_others(tmp_path) -> None:
    """The same pool, its backward wrong: the rows judged on the stride-2 examples are wrong."""
    body = HEAD + OWN_STRIDE + '''
    def backward(self, grad):
        return 2 * super().backward(grad)
'''
    result = run(load_text(tmp_path, "own", body), "maxpool2d-backward-vs-torch")
    assert result.verdict == "wrong", result
    assert "factor equal to 2" in (result.diagnosis or ""), result


SQUARE_ONLY = {
    "refused when built": ("""
class conv2d(Conv2d):
    def __init__(self, W, b, stride, padding):
        if W.shape[2] != W.shape[3]:
            raise ValueError("square kernels only")
        super().__init__(W, b, stride, padding)
""", "pass", None),
    "a square assumed": ("""
class conv2d(Conv2d):
    def __init__(self, W, b, stride, padding):
        super().__init__(W, b, stride, padding)
        self.kw = self.k
""", "wrong", "raises ValueError after building the layer with this kernel"),
    "an assert on the wrong side": ("""
class conv2d(Conv2d):
    def forward(self, x):
        assert (x.shape[3] + 2 * self.padding - self.k) % self.stride == 0
        return super().forward(x)
""", "wrong", "raises AssertionError (a shape it rejects should raise a ValueError)"),
}


@pytest.mark.parametrize("case", list(SQUARE_ONLY))
def test_a_square_only_conv_must_say_so_when_built(tmp_path, case: str) -> None:
    """A conv may take square kernels only, refusing others with a ValueError as it is built;
    a numpy error from a forward that assumed a square, or an assert, is wrong."""
    body, verdict, words = SQUARE_ONLY[case]
    result = run(load_text(tmp_path, "square", HEAD + body), "conv2d-non-square-kernel")
    assert result.verdict == verdict, result
    if words:
        assert words in (result.diagnosis or ""), result
        assert result.counterexample, result
