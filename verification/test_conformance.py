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
from verification.conformance import NotAnAdapter, load_adapter, parametrize_with_checks, rows
from verification.conformance.target import FACTORIES
from verification.conformance_support import ADAPTERS, run

NPLEARN = load_adapter(ADAPTERS / "nplearn.py")


@parametrize_with_checks(ADAPTERS / "nplearn.py")
def test_nplearn(check) -> None:
    """Every conformance check passes on nplearn (what a library author's test looks like)."""
    check()


def test_nplearn_has_every_piece() -> None:
    """nplearn's adapter defines every factory of the protocol, so its run has no skip."""
    assert [f for f in FACTORIES if not NPLEARN.has(f)] == []


def test_a_missing_piece_is_a_skip_in_an_authors_run(tmp_path) -> None:
    """In a library author's pytest run, a row the adapter cannot run is a skip saying so."""
    path = _adapter(tmp_path, "import nplearn\nrelu = nplearn.ReLU\n")
    mark = parametrize_with_checks(path, rows=[r for r in rows() if r.id == "linear-forward"])
    check = mark.args[1][0]
    with pytest.raises(pytest.skip.Exception, match=r"^not present \(no linear\)$"):
        check()


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
    "training-overfit-50": ("wrong", "training accuracy"),
}


@pytest.mark.parametrize("row_id", list(POST_FINDINGS))
def test_post_findings(post, row_id: str) -> None:
    """Must-fail: the post's bugs are found and named; its correct pieces pass."""
    verdict, words = POST_FINDINGS[row_id]
    result = run(post, row_id)
    assert result.verdict == verdict, result
    if words is not None:
        assert words in (result.diagnosis or ""), result
        assert result.counterexample, result


def _adapter(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "adapter.py"
    path.write_text(textwrap.dedent(body))
    return path


def test_missing_factory_is_not_present(tmp_path) -> None:
    target = load_adapter(_adapter(tmp_path, "import nplearn\nrelu = nplearn.ReLU\n"))
    assert run(target, "relu-forward").verdict == "pass"
    result = run(target, "linear-forward")
    assert (result.verdict, result.detail) == ("not present", "no linear")


def test_raising_factory_is_an_error_with_its_first_line(tmp_path) -> None:
    target = load_adapter(_adapter(tmp_path, '''
        def relu():
            raise RuntimeError("the library broke\\nsecond line")
    '''))
    result = run(target, "relu-forward")
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
    assert run(target, "relu-forward", timeout=1.0).verdict_text() == "error: timed out"


def test_object_without_backward_is_not_a_layer(tmp_path) -> None:
    target = load_adapter(_adapter(tmp_path, '''
        class relu:
            def forward(self, x):
                return x
    '''))
    assert run(target, "relu-forward").verdict_text() == "error: not a layer (no backward)"


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
        assert run(target, row_id).verdict == "pass", row_id
