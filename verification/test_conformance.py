"""The conformance suite on nplearn, on the post's library, on planted bugs and on bad adapters.

nplearn's adapter runs every check through ``parametrize_with_checks``, as a library author
would (each check must pass). The post's known bugs, and bugs planted in small libraries written
here, must come out ``wrong`` or ``unstable`` with the right diagnosis: proof that the checks can
fail. A correct library written here (nplearn's pieces in float32) must pass: no false alarm.
Bad adapters must each get their row while the run completes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from verification import card
from verification.conformance import (
    NotAnAdapter,
    load_adapter,
    parametrize_with_checks,
    rows,
    run_row,
)

ADAPTERS = Path(__file__).resolve().parent / "adapters"
ROWS = {row.id: row for row in rows()}


@pytest.mark.filterwarnings("error::verification.conformance.pytest_helper.NotPresent")
@parametrize_with_checks(ADAPTERS / "nplearn.py")
def test_nplearn(check) -> None:
    """Every conformance check passes on nplearn (what a library author's test looks like);
    nplearn has every piece, so a row ``not present`` fails here."""
    check()


def _run(target, row_id: str, timeout: float = 30.0):
    return run_row(ROWS[row_id], target, timeout)


@pytest.fixture(scope="module")
def post():
    return load_adapter(ADAPTERS / "post.py")


POST_FINDINGS = {
    "relu-backward-vs-torch": ("wrong", "np.maximum(grad, 0)"),
    "relu-backward-vs-differences": ("wrong", "np.maximum(grad, 0)"),
    "cross_entropy-own-gradient": (
        "wrong", "gradient and loss value disagree: gradient off by a factor equal to batch x "
        "classes"),
    "cross_entropy-vs-torch": (
        "wrong", "loss value: off by a factor equal to 1/(batch x classes); gradient is right"),
    "cross_entropy-stability": ("unstable", "not finite at large negative logits"),
    "network+sigmoid-end-to-end": ("wrong", "off by a factor equal to batch x classes"),
    "linear-backward-vs-torch": ("pass", None),
    "sigmoid-backward-vs-differences": ("pass", None),
    "sgd-L2-rule": ("pass", None),
    "mse-vs-torch": ("not present", None),
}


@pytest.mark.parametrize("row_id", list(POST_FINDINGS))
def test_post_findings(post, row_id: str) -> None:
    """Must-fail: the post's bugs are found and named; its correct pieces pass."""
    verdict, words = POST_FINDINGS[row_id]
    result = _run(post, row_id)
    assert result.verdict == verdict, result
    if words is not None:
        assert words in (result.diagnosis or ""), result
        assert result.counterexample, result


PLANTED = '''
import numpy as np
import scipy.special
import nplearn

NAME = "planted bugs"


class linear(nplearn.Linear):
    """dW and db divided by the batch size, dx right."""

    def __init__(self, W, b):
        super().__init__(*W.shape, dtype=np.float64)
        self.W, self.b = W, b

    def backward(self, grad, *, input_grad=True):
        out = super().backward(grad, input_grad=input_grad)
        for key in ("W", "b"):
            self.grads[key] /= len(grad)
        return out


class sigmoid(nplearn.Sigmoid):
    """The derivative applied to the output."""

    def backward(self, grad, *, input_grad=True):
        return grad * nplearn.sigmoid(self.output) * (1 - nplearn.sigmoid(self.output))


class relu:
    """Right values, but backward writes into the caller's input."""

    def forward(self, x):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, grad):
        self.x[self.x <= 0] = 0
        return grad * (self.x > 0)


class softmax:
    """Softmax normalised over axis 0 (across the batch)."""

    def forward(self, x):
        self.y = scipy.special.softmax(x, axis=0)
        return self.y

    def backward(self, grad):
        return self.y * (grad - (grad * self.y).sum(axis=0, keepdims=True))


class mse(nplearn.MSE):
    """Loss 0.5 * sum / batch, gradient twice its derivative."""

    def __call__(self, pred, true):
        value = super().__call__(pred, true)
        self.grad = 2 * self.grad
        return value


class cross_entropy:
    """log(softmax) computed naively: NaN at large negative logits."""

    def __call__(self, logits, true):
        p = scipy.special.softmax(logits, axis=1)
        self.grad = p - true
        return float(-np.sum(true * np.log(p)))
'''

PLANTED_FINDINGS = {
    "linear-backward-vs-torch": "dW and db: off by a factor equal to 1/batch size; dx is right",
    "linear-backward-vs-differences": "dW and db: off by a factor equal to 1/batch size",
    "sigmoid-backward-vs-torch": "applied to the output instead of the input",
    "relu-inputs-not-mutated": "backward overwrote the caller's input x",
    "softmax-forward": "normalised over the wrong axis (axis 0, across the batch)",
    "softmax-backward-vs-torch": "normalised over the wrong axis (axis 0, across the batch)",
    "mse-own-gradient": "gradient off by a factor equal to 2",
    "mse-vs-torch": "gradient: off by a factor equal to 2; loss value is right",
    "cross_entropy-stability": "not finite at large negative logits",
}


PLANTED_TOO = '''
import numpy as np
import scipy.special
import nplearn

NAME = "more planted bugs"


class relu(nplearn.ReLU):
    """Slope 1 on both sides of the kink."""

    def backward(self, grad, *, input_grad=True):
        return grad * (self.output >= 0)


class tanh(nplearn.Tanh):
    """The derivative applied to the output."""

    def backward(self, grad, *, input_grad=True):
        return grad * (1 - np.tanh(self.output) ** 2)


class softmax:
    """Softmax normalised over the whole batch."""

    def forward(self, x):
        self.y = scipy.special.softmax(x, axis=None)
        return self.y

    def backward(self, grad):
        return self.y * (grad - (grad * self.y).sum())


class mse:
    """Value averaged over batch x outputs, gradient divided by the batch only."""

    def __call__(self, pred, true):
        self.grad = 2 * (pred - true) / len(pred)
        return float(np.mean((pred - true) ** 2))
'''
CONVENTIONS_TOO = {"mse": {"reduction": "mean_all", "scale": 1.0}}

PLANTED_FINDINGS_TOO = {
    "relu-backward-vs-torch": "slope 1 on both sides of the kink",
    "tanh-backward-vs-differences": "tanh'(.) applied to the output instead of the input",
    "softmax-forward": "normalised over the wrong axis (the whole batch) instead of each row",
    "softmax-backward-vs-torch": "normalised over the wrong axis (the whole batch)",
    "mse-own-gradient": "gradient off by a factor equal to the number of classes",
    "mse-vs-torch": "gradient: off by a factor equal to the number of classes",
}


def _load(tmp_path_factory, name: str, text: str):
    path = tmp_path_factory.mktemp(name) / f"{name}.py"
    path.write_text(text)
    return load_adapter(path)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return _load(tmp_path_factory, "planted", PLANTED)


@pytest.fixture(scope="module")
def planted_too(tmp_path_factory):
    return _load(tmp_path_factory, "planted_too",
                 PLANTED_TOO + f"CONVENTIONS = {CONVENTIONS_TOO!r}\n")


@pytest.mark.parametrize("row_id", list(PLANTED_FINDINGS))
def test_planted_bug_is_diagnosed(planted, row_id: str) -> None:
    """Each planted bug is found, named by measurement, with a shrunk counterexample."""
    result = _run(planted, row_id)
    assert result.verdict in ("wrong", "unstable"), result
    assert PLANTED_FINDINGS[row_id] in (result.diagnosis or ""), result
    assert result.counterexample, result


@pytest.mark.parametrize("row_id", list(PLANTED_FINDINGS_TOO))
def test_more_planted_bugs_are_diagnosed(planted_too, row_id: str) -> None:
    """More planted bugs: found and named, whatever the declared conventions."""
    result = _run(planted_too, row_id)
    assert result.verdict == "wrong", result
    assert PLANTED_FINDINGS_TOO[row_id] in (result.diagnosis or ""), result
    assert result.counterexample, result


CORRECT = '''
import numpy as np
import nplearn

NAME = "correct float32 library"


def _f32(x):
    return np.asarray(x, dtype=np.float32)


def linear(W, b):
    layer = nplearn.Linear(*W.shape, dtype=np.float32)
    layer.W, layer.b = W, b
    return layer


class _Float32:
    def forward(self, x):
        return super().forward(_f32(x))

    def backward(self, grad):
        return super().backward(_f32(grad))


class relu(_Float32, nplearn.ReLU): pass
class sigmoid(_Float32, nplearn.Sigmoid): pass
class tanh(_Float32, nplearn.Tanh): pass
class softmax(_Float32, nplearn.Softmax): pass


class cross_entropy(nplearn.CrossEntropyLoss):
    def __call__(self, logits, true):
        return super().__call__(_f32(logits), _f32(true))


class mse(nplearn.MSE):
    def __call__(self, pred, true):
        return super().__call__(_f32(pred), _f32(true))
'''


@pytest.fixture(scope="module")
def correct(tmp_path_factory):
    return _load(tmp_path_factory, "correct32", CORRECT)


@pytest.mark.parametrize("row_id", [r for r in ROWS if r.split("-")[0] in (
    "linear", "relu", "sigmoid", "tanh", "softmax", "mse", "cross_entropy")])
def test_correct_float32_library_passes(correct, row_id: str) -> None:
    """No false alarm: a correct library computing in float32 (with a softmax layer) passes."""
    result = _run(correct, row_id)
    assert result.verdict == "pass", result


def _adapter(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "adapter.py"
    path.write_text(textwrap.dedent(body))
    return path


def test_missing_factory_is_not_present(tmp_path) -> None:
    target = load_adapter(_adapter(tmp_path, "import nplearn\nrelu = nplearn.ReLU\n"))
    assert _run(target, "relu-forward").verdict == "pass"
    result = _run(target, "linear-forward")
    assert (result.verdict, result.detail) == ("not present", "no linear")


def test_raising_factory_is_an_error_with_its_first_line(tmp_path) -> None:
    target = load_adapter(_adapter(tmp_path, '''
        def relu():
            raise RuntimeError("the library broke\\nsecond line")
    '''))
    result = _run(target, "relu-forward")
    assert result.verdict_text() == "error: RuntimeError: the library broke"


def test_hanging_check_times_out(tmp_path) -> None:
    target = load_adapter(_adapter(tmp_path, '''
        import time
        class relu:
            def forward(self, x):
                time.sleep(60)
            def backward(self, grad):
                return grad
    '''))
    assert _run(target, "relu-forward", timeout=1.0).verdict_text() == "error: timed out"


def test_object_without_backward_is_not_a_layer(tmp_path) -> None:
    target = load_adapter(_adapter(tmp_path, '''
        class relu:
            def forward(self, x):
                return x
    '''))
    assert _run(target, "relu-forward").verdict_text() == "error: not a layer (no backward)"


@pytest.mark.parametrize("body, words", [
    ("x = 1\n", "not an adapter: it defines none of the factories"),
    ("raise ImportError('no such library')\n", "importing it raised ImportError: no such"),
    ("def relu(): pass\nCONVENTIONS = {'sgd': {'l2_rule': 'adam'}}\n", "allowed: 'post'"),
])
def test_not_an_adapter_exits_2(tmp_path, capsys, body: str, words: str) -> None:
    """One clear line on stderr, exit status 2, and no card."""
    path = _adapter(tmp_path, body)
    with pytest.raises(NotAnAdapter, match=r"adapter\.py"):
        load_adapter(path)
    assert card.main([str(path), "--out", str(tmp_path / "cards"), "--no-timing"]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "cards").exists()


@pytest.mark.parametrize("grad_wrt", ["input", "logits"])
def test_logits_loss_declares_either_grad_wrt(tmp_path, grad_wrt: str) -> None:
    """For a loss that takes logits, its input is its logits: both spellings pass."""
    target = load_adapter(_adapter(tmp_path, f'''
        import nplearn
        cross_entropy = nplearn.CrossEntropyLoss
        CONVENTIONS = {{"cross_entropy": {{"input": "logits", "grad_wrt": "{grad_wrt}"}}}}
    '''))
    for row_id in ("cross_entropy-own-gradient", "cross_entropy-vs-torch"):
        assert _run(target, row_id).verdict == "pass", row_id
