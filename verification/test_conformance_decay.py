"""Optimizer weight decay, coupled (``g + wd w``, PyTorch's default) or decoupled (``w -= lr wd w``
beside the step, AdamW's): the decoupled oracle is ``torch.optim.AdamW``; either form is right
when declared (``CONVENTIONS[kind]["weight_decay"]``) and named when it is not.
"""

from __future__ import annotations

import numpy as np
import pytest

from verification.conformance import oracle
from verification.conformance.checks.optimizers import HYPER
from verification.conformance.trajectory import Rule, torch_trajectory
from verification.conformance_support import load_text, run
from verification.optim_support import adapter


def test_decoupled_adam_is_adamw() -> None:
    """The decoupled oracle (weights shrunk by 1 - lr wd, then Adam undecayed) is AdamW."""
    torch = oracle.torch()
    rng = np.random.default_rng(1)
    start = [rng.uniform(-1, 1, s) for s in ((3, 3), (3,))]
    grads = [[rng.standard_normal(p.shape) for p in start] for _ in range(6)]
    h = {**HYPER["adam"], "wd": 0.1}
    ours = torch_trajectory(Rule("adam", h, decay="decoupled"), start, grads)
    ps = [torch.tensor(p, requires_grad=True) for p in start]
    adamw = torch.optim.AdamW(ps, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"],
                              weight_decay=h["wd"])
    for step, gs in zip(ours, grads, strict=True):
        for p, g in zip(ps, gs, strict=True):
            p.grad = torch.tensor(g)
        adamw.step()
        for x, p in zip(step, ps, strict=True):
            np.testing.assert_allclose(x, p.detach().numpy(), rtol=1e-13, atol=1e-15)


DECOUPLED = ("g = g + self.wd * w", "w -= lr * self.wd * w")


@pytest.mark.parametrize("kind", ["momentum", "adam", "rmsprop", "adagrad"])
@pytest.mark.parametrize("decay, declared, words", [
    (DECOUPLED, "decoupled", None),
    (DECOUPLED, None, "weight decay decoupled (w -= lr*wd*w, as AdamW), not added to the "
     "gradient, but coupled is declared"),
    (None, "decoupled", "weight decay added to the gradient (coupled), but decoupled is "
     "declared"),
], ids=["decoupled-declared", "decoupled-undeclared", "coupled-declared-decoupled"])
def test_weight_decay_coupled_or_decoupled(tmp_path, kind: str, decay, declared, words) -> None:
    """Decoupled weight decay (AdamW's) is right when declared, and named either way."""
    source = adapter(kind, None, *([decay] if decay else []))
    if declared:
        form = {"momentum": '"form": "pytorch"'}.get(kind, '"eps": "outside_sqrt"')
        source += (f'CONVENTIONS = {{"{kind}": {{{form}, "weight_decay": "{declared}"}}}}\n')
    result = run(load_text(tmp_path, "opt", source), f"{kind}-trajectory")
    assert result.verdict == ("pass" if words is None else "wrong"), result
    if words:
        assert result.diagnosis == f"with weight decay 0.1: {words}", result
