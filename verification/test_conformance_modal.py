"""Dropout and batch norm on planted bugs and on correct twins.

The correct pieces are :mod:`verification.modal_support`'s, under each declared convention; each
planted library changes one step of them into a bug class met in real libraries. A bug must come
out with its verdict and diagnosis and a shrunk counterexample; a correct piece must pass under
every declared convention (the card's edges for these pieces: ``test_conformance_modal_edges``).
"""

from __future__ import annotations

import pytest

from verification.conformance_support import ROWS, load_text, run

HEAD = '''
import numpy as np
from functools import partial
from verification.modal_support import BatchNorm1d, Dropout

dropout, batchnorm = Dropout, BatchNorm1d
'''


@pytest.mark.parametrize("conventions", [
    {},
    {"dropout": {"scaling": "at_eval"}, "batchnorm": {"momentum": "keras"}},
    {"batchnorm": {"running_var": "biased"}},
])
def test_correct_pieces_pass_under_every_convention(tmp_path, conventions: dict) -> None:
    body = HEAD + f'''
CONVENTIONS = {conventions!r}
dropout = partial(Dropout, scaling="{conventions.get("dropout", {}).get("scaling", "inverted")}")
batchnorm = partial(BatchNorm1d, form="{conventions.get("batchnorm", {}).get("momentum",
                                                                            "pytorch")}",
                    running_var="{conventions.get("batchnorm", {}).get("running_var",
                                                                       "unbiased")}")
'''
    target = load_text(tmp_path, "modal", body)
    for row_id in [r for r in ROWS if r.split("-")[0] in ("dropout", "batchnorm")]:
        result = run(target, row_id)
        assert result.verdict == "pass", result


#: Eval forward right, backward still multiplying by the last training forward's mask.
STALE_MASK = '''
class dropout(Dropout):
    def forward(self, x):
        return super().forward(x) if self.training else x * self.factor()
'''
#: The training formula (mean and variance terms) whatever the mode.
TRAINING_BACKWARD = '''
class batchnorm(BatchNorm1d):
    def input_grad(self, dxhat):
        centred = dxhat - dxhat.mean(axis=0)
        return self.inv * (centred - self.xhat * (dxhat * self.xhat).mean(axis=0))
'''

#: Every row of the batch dropped alike, at the right rate.
ONE_MASK = '''
class dropout(Dropout):
    def factor(self):
        shape, self.shape = self.shape, self.shape[1:]
        row = super().factor()
        self.shape = shape
        return np.broadcast_to(row, shape)
'''

DROPOUT = {
    "scaled twice": ('''
class dropout(Dropout):
    def factor(self):
        return super().factor() if self.training else 1 - self.p
''', "dropout-eval-and-train", "eval output scaled by 1 - p, where inverted dropout "
        "(declared) has scaled in training already: scaled twice"),
    "operator precedence": ('''
class dropout(Dropout):
    def factor(self):
        keep = super().factor() != 0
        return keep * (1.0 / 1.0 - self.p) if self.training else 1.0
''', "dropout-drop-rate-and-scale", "survivors scaled by 1 - p instead of 1/(1 - p): "
        "1.0/1.0 - p, an operator-precedence slip"),
    "no eval mode": ('''
class dropout(Dropout):
    def eval(self):
        pass
''', "dropout-eval-and-train", "still drops after eval()"),
    "always on": ('''
class dropout(Dropout):
    def forward(self, x, training=True):
        self.training = training
        return super().forward(x)
''', "dropout-eval-and-train", "still drops after eval()"),
    "off for good": ('''
class dropout(Dropout):
    def train(self):
        pass
''', "dropout-eval-and-train", "train() does not drop again: one eval() turns it off for good"),
    "backward ignores the mask": ('''
class dropout(Dropout):
    def backward(self, grad):
        return grad
''', "dropout-backward", "backward ignores the mask: the gradient passes through"),
    "one mask for the batch": (ONE_MASK, "dropout-masks",
                               "one mask for the whole batch (every row dropped alike)"),
    "the keep probability dropped, one mask for the batch": (ONE_MASK + '''
    def __init__(self, p, **kwargs):
        super().__init__(1 - p, **kwargs)
        self.scale_p = p

    def factor(self):
        return (super().factor() != 0) / (1 - self.scale_p) if self.training else 1.0
''', "dropout-drop-rate-and-scale", "drops a fraction 1 - p: p taken as the keep probability"),
    "stale training mask in the eval backward": (STALE_MASK, "dropout-eval-backward",
                                                "eval backward applies the training mask (the "
                                                "last training forward's, stale)"),
    "a mask in place": ('''
class dropout(Dropout):
    def forward(self, x):
        super().forward(x)
        x *= self.mask
        return x
''', "dropout-inputs-not-mutated", "forward overwrote its input x"),
}

#: Running statistics starting at mean 0, variance 0.
VAR_AT_0 = '''
class batchnorm(BatchNorm1d):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.running_var = np.zeros_like(self.running_var)
'''

BATCHNORM = {
    "np.std as the variance": ('''
class batchnorm(BatchNorm1d):
    def statistics(self, x):
        mean, var = super().statistics(x)
        return mean, np.sqrt(var) if self.training else var
''', "batchnorm-forward", "y: normalised by sqrt(std + eps): np.std used as the variance"),
    "batch statistics at eval": ('''
class batchnorm(BatchNorm1d):
    def statistics(self, x):
        super().statistics(x)
        return x.mean(axis=0), x.var(axis=0)
''', "batchnorm-eval-mode", "normalises with the batch's own statistics at eval"),
    "backward without the mean and variance terms": ('''
class batchnorm(BatchNorm1d):
    def input_grad(self, dxhat):
        return dxhat * self.inv
''', "batchnorm-backward-vs-torch", "dx: gamma * grad / sqrt(var + eps): the mean and "
        "variance terms left out; dgamma and dbeta are right"),
    "training backward at eval": (TRAINING_BACKWARD, "batchnorm-eval-backward",
                                  "dx: eval backward uses the batch statistics' formula (training "
                                  "backward); dgamma and dbeta are right"),
    "keras momentum seen from the eval backward": ('''
batchnorm = partial(BatchNorm1d, form="keras")
''', "batchnorm-eval-backward", "right for the running statistics the eval forward uses, which "
        "are wrong"),
    "its own eps": ('''
class batchnorm(BatchNorm1d):
    def __init__(self, n, eps, momentum, **kwargs):
        super().__init__(n, 1e-5, momentum, **kwargs)
''', "batchnorm-forward", "y: eps ignored: computed with eps=1e-05 whatever is passed"),
    "running variance starting at 0": (VAR_AT_0, "batchnorm-running-statistics",
                                       "running statistics: the running variance starting at 0"),
    "running variance starting at 0, seen from eval mode": (
        VAR_AT_0, "batchnorm-eval-mode", "normalises with its running statistics, which are not "
        "the expected ones: the running variance starting at 0 (not 1) (see the running"),
    "training backward at eval on running statistics starting at variance 0": (
        TRAINING_BACKWARD + VAR_AT_0.split("BatchNorm1d):")[1], "batchnorm-eval-backward",
        "training backward), on the running statistics the eval forward uses, which are wrong"),
    "batch statistics at eval with an eps of its own": ('''
class batchnorm(BatchNorm1d):
    def __init__(self, n, eps, momentum, **kwargs):
        super().__init__(n, 1e-8, momentum, **kwargs)

    def statistics(self, x):
        super().statistics(x)
        return x.mean(axis=0), x.var(axis=0)
''', "batchnorm-eval-mode", "batch's own statistics at eval (eps=1e-08 whatever is passed)"),
    "its own eps, seen from dgamma": ('''
class batchnorm(BatchNorm1d):
    def __init__(self, n, eps, momentum, **kwargs):
        super().__init__(n, 1e-8, momentum, **kwargs)
''', "batchnorm-backward-vs-torch", "dgamma: eps ignored: computed with eps=1e-08"),
    "running statistics starting from the first batch": ('''
class batchnorm(BatchNorm1d):
    def statistics(self, x):
        if self.training and not hasattr(self, "started"):
            self.started = True
            self.running_mean = x.mean(axis=0)
            self.running_var = x.var(axis=0, ddof=1)
        return super().statistics(x)
''', "batchnorm-running-statistics", "running statistics: the running statistics starting from "
        "the first batch's"),
    "keras momentum where pytorch is declared": ('''
batchnorm = partial(BatchNorm1d, form="keras")
''', "batchnorm-running-statistics", "running statistics: the keras momentum reading"),
    "np.std stored as the running variance": ('''
class batchnorm(BatchNorm1d):
    def statistics(self, x):
        before = self.running_var
        mean, var = super().statistics(x)
        if self.training:
            stored = np.sqrt(x.var(axis=0, ddof=1))
            self.running_var = (1 - self.new) * before + self.new * stored
        return mean, var
''', "batchnorm-running-statistics", "np.std (the standard deviation) stored as the variance"),
    "NaN with a constant feature": ('''
class batchnorm(BatchNorm1d):
    def forward(self, x):
        y = super().forward(x)
        self.inv = self.xhat / (x - x.mean(axis=0))  # 1/std recovered: 0/0 at variance 0
        return y
''', "batchnorm-stability", "dx not finite with a constant feature or at batch 2"),
}


@pytest.mark.parametrize("bug", [*DROPOUT, *BATCHNORM])
def test_planted_bug_is_diagnosed(tmp_path, bug: str) -> None:
    body, row_id, words = {**DROPOUT, **BATCHNORM}[bug]
    result = run(load_text(tmp_path, "planted", HEAD + body), row_id)
    assert result.verdict == ("unstable" if "stability" in row_id else "wrong"), result
    assert words in (result.diagnosis or ""), result
    assert result.counterexample, result


@pytest.mark.parametrize("body, wrong", [(STALE_MASK, "dropout-eval-backward"),
                                         (TRAINING_BACKWARD, "batchnorm-eval-backward"),
                                         (ONE_MASK, "dropout-masks")],
                         ids=["stale mask", "training backward", "one mask for the batch"])
def test_bugs_one_row_sees_pass_every_other_row(tmp_path, body: str, wrong: str) -> None:
    """The bugs only one row sees (the eval backward; a mask shared by the batch, whose rate is
    right): every other row of the piece passes."""
    target = load_text(tmp_path, "planted", HEAD + body)
    for row_id in [r for r in ROWS if r.split("-")[0] == wrong.split("-")[0]]:
        verdict = run(target, row_id).verdict
        assert verdict == ("wrong" if row_id == wrong else "pass"), row_id
