"""Dropout and batch norm at the card's edges: float32 parameters are no ignored eps, a stability
row carries its moderate error, an unknown backward gets no invented diagnosis, hostile pieces are
errors while the card completes, and no convention excuses a wrong result.
"""

from __future__ import annotations

import pytest

from verification.conformance_support import load_text, run
from verification.test_conformance_modal import BATCHNORM, HEAD


def test_float32_parameters_are_no_ignored_eps(tmp_path) -> None:
    """gamma and beta kept in float32 (values written in are rounded): central differences of
    the forward are noisy (about 1e-2), and an eps of 1e-3 for 2e-3, which PyTorch's own values
    match at that tolerance, must not name the noise."""
    body = HEAD + '''
class batchnorm(BatchNorm1d):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params = {k: v.astype(np.float32) for k, v in self.params.items()}
'''
    result = run(load_text(tmp_path, "planted", body), "batchnorm-backward-vs-differences")
    assert "eps" not in (result.diagnosis or ""), result


def test_a_stability_row_wrong_already_carries_the_moderate_error(tmp_path) -> None:
    """Batch norm wrong on moderate batches (an eps of its own) but finite at the extremes: the
    stability row is wrong with the moderate batches' error, not the extremes' (about 0)."""
    target = load_text(tmp_path, "planted", HEAD + BATCHNORM["its own eps"][0])
    result = run(target, "batchnorm-stability")
    assert result.verdict == "wrong", result
    assert result.worst_error > 1e-4, result


def test_unknown_backward_has_no_invented_diagnosis(tmp_path) -> None:
    body = HEAD + '''
class batchnorm(BatchNorm1d):
    def input_grad(self, dxhat):
        return super().input_grad(dxhat) + 0.1 * np.cos(self.xhat)
'''
    target = load_text(tmp_path, "planted", body)
    for row_id in ("batchnorm-backward-vs-torch", "batchnorm-backward-vs-differences"):
        result = run(target, row_id)
        assert result.verdict == "wrong" and result.diagnosis is None, result
        assert result.counterexample, result


@pytest.mark.parametrize("body, row_id, detail", [
    ('''
class dropout:
    def __init__(self, p):
        self.p = p
    def forward(self, x):
        return x
    def backward(self, grad):
        return grad
''', "dropout-drop-rate-and-scale", "the layer has no eval()"),
    ('''
class batchnorm(BatchNorm1d):
    def forward(self, x):
        return super().forward(x) * np.nan
''', "batchnorm-forward", "forward returned non-finite values (nan first) on a moderate batch"),
    ('''
class dropout(Dropout):
    shape = None
    def forward(self, x):  # right at eval, but the shape is recorded in training only
        return super().forward(x) if self.training else x * self.factor()
    def backward(self, grad):
        if self.shape is None:
            raise RuntimeError("backward called before forward")
        return grad * (self.mask if self.training else self.factor())
''', "dropout-eval-backward", "RuntimeError: backward called before forward"),
], ids=["dropout without modes", "batch norm returning NaN", "dropout eval backward untrained"])
def test_hostile_pieces_are_errors_and_the_card_completes(tmp_path, body, row_id, detail):
    target = load_text(tmp_path, "hostile", HEAD + body)
    result = run(target, row_id)
    assert result.verdict_text() == f"error: {detail}", result
    other = "batchnorm-forward" if row_id.startswith("dropout") else "dropout-masks"
    assert run(target, other).verdict == "pass"


def test_a_convention_never_excuses_a_wrong_result(tmp_path) -> None:
    """Inverted dropout declared at_eval, and a biased running variance declared unbiased:
    each is wrong, named."""
    body = HEAD + '''
CONVENTIONS = {"dropout": {"scaling": "at_eval"}}
batchnorm = partial(BatchNorm1d, running_var="biased")
'''
    target = load_text(tmp_path, "liar", body)
    result = run(target, "dropout-drop-rate-and-scale")
    assert result.verdict == "wrong", result
    assert "survivors scaled by 1/(1 - p) though at_eval is declared" in result.diagnosis
    result = run(target, "batchnorm-running-statistics")
    assert result.verdict == "wrong", result
    assert result.diagnosis == "running statistics: the biased variance", result
