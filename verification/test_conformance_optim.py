"""The optimizer checks on correct NumPy optimizers under every convention, and on planted bugs.

A correct optimizer passes under each declared convention (each momentum form with and without
Nesterov, eps inside and outside the square root and Adam's eps-hat, with weight decay, a step
counter per step or per parameter). Each planted bug (one line replaced,
``verification.optim_support``) must come out ``wrong`` with its diagnosis, found by
re-simulating suspected mistakes, and a declared convention never excuses a library that follows
another.
"""

from __future__ import annotations

import numpy as np
import pytest

from verification.conformance.checks.optimizers import HYPER, LAYER_OF, LIBRARY_DEFAULTS
from verification.conformance.trajectory import Rule, simulate, torch_trajectory
from verification.conformance_support import DIVIDED_LINEAR, load_text, run
from verification.optim_support import adapter

CORRECT = [("momentum", form) for form in ("pytorch", "classic", "ema")] + [
    (kind, eps) for kind in ("adam", "rmsprop", "adagrad")
    for eps in ("outside_sqrt", "inside_sqrt")] + [("adam", "hat")]


@pytest.mark.parametrize("kind, convention", CORRECT)
def test_correct_optimizer_passes(tmp_path, kind: str, convention: str) -> None:
    """No false alarm under any declared convention (weight decay taken, so checked too)."""
    target = load_text(tmp_path, "opt", adapter(kind, convention))
    rows = [f"{kind}-trajectory"] + (["momentum-nesterov-trajectory"] if kind == "momentum"
                                     else [])
    for row_id in rows:
        result = run(target, row_id)
        assert result.verdict == "pass", result


@pytest.mark.parametrize("kind", ["momentum", "adam", "rmsprop", "adagrad"])
def test_float32_optimizer_passes(tmp_path, kind: str) -> None:
    """No false alarm from float32 parameters and gradients (its own rounding)."""
    source = adapter(kind).replace("dtype=np.float64", "dtype=np.float32")
    target = load_text(tmp_path, "opt", source)
    for row_id in (f"{kind}-trajectory", f"network+{kind}-trains-as-torch"):
        result = run(target, row_id)
        assert result.verdict == "pass", result


def test_a_step_counter_per_step_is_right(tmp_path) -> None:
    """Adam with one counter advanced once per step (not per parameter) is correct."""
    target = load_text(tmp_path, "opt", adapter("adam", None, ('t = s["t"]', "t = self.t")))
    assert run(target, "adam-trajectory").verdict == "pass"


ADAM_FIRST = 'm, v = s["m"] / (1 - beta1 ** t), s["v"] / (1 - beta2 ** t)'
ADAM_STEP = "w -= lr * m / (np.sqrt(v) + eps)"
NO_COUNTER = ("        self.t += 1\n", "")
MOMENTUM_STEP = "w -= lr * (g + mu * v if self.nesterov else v)"
BY_NAME = [("self.v.get(key, 0.0)", "self.v.get(key[1], 0.0)"),
           ("self.v[key] = v", "self.v[key[1]] = v")]
STATE_BY_NAME = ("s = self.state.setdefault(key,", "s = self.state.setdefault(key[1],")
SHARED = "state shared between parameters of the same shape in different layers"
WEIGHT_DECAY = ("g = g + self.wd * w", "g = g + 0 * w")

PLANTED = {
    "adam, no bias correction": (
        "adam", None, [(ADAM_FIRST, 'm, v = s["m"], s["v"]')], None, "adam-trajectory",
        "no bias correction"),
    "adam, bias correction without t": (
        "adam", None, [("beta1 ** t", "beta1"), ("beta2 ** t", "beta2")], None,
        "adam-trajectory", "bias correction with t = 1 at every step"),
    "adam, counter advanced once per epoch": (
        "adam", None, [NO_COUNTER, ('t = s["t"]', "t = self.epoch"),
                       ("self.t = 0", "self.t, self.epoch = 0, 1")], None,
        "adam-trajectory", "bias correction with t = 1 at every step"),
    "adam, counter advanced once per layer": (
        "adam", None, [NO_COUNTER, ('t = s["t"]', 't = self.t = self.t + (key[1] == "W")')],
        None, "adam-trajectory", "the step counter advanced once per layer"),
    "adam, counter advanced at each parameter": (
        "adam", None, [NO_COUNTER, ('t = s["t"]', "self.t += 1\n            t = self.t")],
        None, "adam-trajectory", "one step counter shared by every parameter"),
    "adam, biases by plain SGD": (
        "adam", None, [(ADAM_STEP, 'w -= lr * (g if key[1] == "b" else '
                                   "m / (np.sqrt(v) + eps))")], None, "adam-trajectory",
        "b1 and b2: stepped by plain SGD (w -= lr*grad); W1 and W2 are right"),
    "adam, eps-hat": (
        "adam", "hat", [], "outside_sqrt", "adam-trajectory",
        "eps added to sqrt(v) before bias correction (eps-hat), but outside_sqrt is declared"),
    "adam, eps after the correction declared eps-hat": (
        "adam", "outside_sqrt", [], "hat", "adam-trajectory",
        "eps outside the square root, after any bias correction, but hat is declared"),
    "adam, its own betas and eps": (
        "adam", None, [("beta1, beta2 = self.hyper", "beta1, beta2 = 0.9, 0.999"),
                       ("lr, eps = self.lr, self.eps", "lr, eps = self.lr, 1e-8")], None,
        "adam-trajectory",
        "ignores beta1, beta2 and eps: its steps are those of beta1=0.9, beta2=0.999, eps=1e-08"),
    "rmsprop, its own alpha": (
        "rmsprop", None, [("a = self.hyper", "a = 0.99")], None, "rmsprop-trajectory",
        "ignores alpha: its steps are those of alpha=0.99, whatever is passed"),
    "momentum, its own mu": (
        "momentum", None, [("lr, mu = self.lr, self.mu", "lr, mu = self.lr, 0.9")], None,
        "momentum-trajectory", "ignores mu: its steps are those of mu=0.9"),
    "adam, update applied to the wrong tensor": (
        "adam", None, [("g = g + self.wd * w", "g = g[::-1] + self.wd * w")], None,
        "adam-trajectory", None),
    "adam, eps inside declared outside": (
        "adam", "inside_sqrt", [], "outside_sqrt", "adam-trajectory",
        "eps inside the square root, but outside_sqrt is declared"),
    "adam, eps outside declared inside": (
        "adam", "outside_sqrt", [], "inside_sqrt", "adam-trajectory",
        "eps outside the square root, after any bias correction, but inside_sqrt is declared"),
    "adam, weight decay ignored": (
        "adam", None, [WEIGHT_DECAY], None, "adam-trajectory",
        "with weight decay 0.1: weight decay ignored"),
    "adam, climbs": (
        "adam", None, [(ADAM_STEP, ADAM_STEP.replace("-=", "+="))], None, "adam-trajectory",
        "the sign of the step is wrong"),
    "momentum, velocity kept per name": (
        "momentum", None, BY_NAME, None, "momentum-trajectory", SHARED),
    "momentum, pytorch form declared ema": (
        "momentum", "pytorch", [], "ema", "momentum-trajectory",
        "follows the pytorch momentum form, not the declared ema"),
    "momentum, weight decay ignored": (
        "momentum", None, [WEIGHT_DECAY], None, "momentum-trajectory",
        "with weight decay 0.1: weight decay ignored"),
    "nesterov computed, plain step applied": (
        "momentum", None, [(MOMENTUM_STEP, "step = g + mu * v if self.nesterov else v\n"
                                           "            w -= lr * v")], None,
        "momentum-nesterov-trajectory",
        "computes the Nesterov step but applies the plain momentum step"),
    "adam, parameters NaN after the first step": (
        "adam", None, [(ADAM_STEP, "w -= lr * m / (np.sqrt(v - 10) + eps)")], None,
        "adam-trajectory", "the parameters are not finite (NaN or inf) after step 1"),
    "nesterov asked, a plain step in the ema form taken": (
        "momentum", None, [(MOMENTUM_STEP, "w -= lr * ((1 - mu) * v if self.nesterov else v)")],
        None, "momentum-nesterov-trajectory", "computes the Nesterov step but applies the plain "
        "momentum step, and follows the ema momentum form, not the declared pytorch"),
    "nesterov, a formula of no known pattern": (
        "momentum", None, [(MOMENTUM_STEP, "w -= lr * (v + mu * g * g if self.nesterov "
                                           "else v)")], None,
        "momentum-nesterov-trajectory", None),
    "rmsprop, state kept per name": (
        "rmsprop", None, [STATE_BY_NAME], None, "rmsprop-trajectory", SHARED),
    "rmsprop, eps inside declared outside": (
        "rmsprop", "inside_sqrt", [], "outside_sqrt", "rmsprop-trajectory",
        "eps inside the square root, but outside_sqrt is declared"),
    "adagrad, state kept per name": (
        "adagrad", None, [STATE_BY_NAME], None, "adagrad-trajectory", SHARED),
    "adagrad, biases by plain SGD": (
        "adagrad", None, [("w -= lr * g / (np.sqrt(v) + eps)",
                           'w -= lr * (g if key[1] == "b" else g / (np.sqrt(v) + eps))')],
        None, "adagrad-trajectory", "b1 and b2: stepped by plain SGD"),
}


@pytest.mark.parametrize("case", list(PLANTED))
def test_planted_optimizer_bug_is_diagnosed(tmp_path, case: str) -> None:
    """Each planted bug is ``wrong``, named by measurement (or explicitly of no known pattern),
    with a counterexample; the rows it does not touch pass."""
    kind, convention, replacements, declare, row_id, words = PLANTED[case]
    target = load_text(tmp_path, "opt", adapter(kind, convention, *replacements,
                                                declare=declare))
    result = run(target, row_id)
    assert result.verdict == "wrong", result
    if words is None:
        assert result.diagnosis is None, result
    else:
        assert words in (result.diagnosis or ""), result
    assert result.counterexample, result


def test_no_hyperparameter_is_a_library_default() -> None:
    """Every argument the checks pass differs from the libraries' defaults, so a library that
    ignores one (and uses its own default) cannot pass by coincidence."""
    for kind, hyper in HYPER.items():
        for key, value in hyper.items():
            assert key == "lr" or value not in LIBRARY_DEFAULTS[key], (kind, key)


@pytest.mark.parametrize("kind", ["momentum", "adam", "rmsprop", "adagrad"])
def test_the_simulation_is_torch(kind: str) -> None:
    """The NumPy rules that diagnose (and judge eps inside the root) are torch.optim's."""
    rng = np.random.default_rng(0)
    start = [rng.uniform(-1, 1, s) for s in ((3, 3), (3,), (3, 3), (3,))]
    grads = [[rng.standard_normal(p.shape) for p in start] for _ in range(6)]
    rules = [Rule(kind, {**HYPER[kind], "wd": 0.1}),
             Rule(kind, {**HYPER[kind], "wd": 0.1}, decay="decoupled"),
             Rule(kind, HYPER[kind], nesterov="yes" if kind == "momentum" else "no")]
    if kind == "adam":  # eps-hat: torch's Adam with a per-step eps
        rules.append(Rule(kind, {**HYPER[kind], "wd": 0.1}, eps="hat"))
    for rule in rules:
        ours = simulate(rule, start, grads, LAYER_OF)
        theirs = torch_trajectory(rule, start, grads)
        for a, b in zip(ours, theirs, strict=True):
            for x, y in zip(a, b, strict=True):
                np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)


HOSTILE = '''
import time
import numpy as np
import nplearn


def linear(W, b):
    layer = nplearn.Linear(*W.shape, dtype=np.float64)
    layer.W, layer.b = W, b
    return layer


class adam:
    def __init__(self, lr, beta1, beta2, eps):
        pass

    def step(self, layers):
        raise RuntimeError("the moments broke\\nsecond line")


class momentum:
    def __init__(self, lr, mu):
        pass

    def step(self, layers):
        time.sleep(60)
'''


def test_hostile_optimizers_are_errors(tmp_path) -> None:
    """A step that raises is an error row with its first line and where it was raised; one
    that never returns times out; a factory without nesterov has no Nesterov row."""
    target = load_text(tmp_path, "hostile", HOSTILE)
    raised = run(target, "adam-trajectory")
    assert raised.verdict_text() == "error: RuntimeError: the moments broke", raised
    line = next(i for i, text in enumerate(HOSTILE.splitlines(), 1) if "raise Runtime" in text)
    assert raised.where == f"hostile.py:{line}", raised
    assert raised.evidence() == f"raised at hostile.py:{line}"
    assert run(target, "momentum-trajectory", timeout=1.0).verdict_text() == "error: timed out"
    assert run(target, "momentum-nesterov-trajectory").verdict == "not present"


@pytest.mark.parametrize("kind, convention", [("momentum", "ema"), ("adam", "inside_sqrt"),
                                              ("adam", "hat"),
                                              ("rmsprop", None), ("adagrad", None)])
def test_a_network_trains_as_torch(tmp_path, kind: str, convention: str | None) -> None:
    """The library's network trained by its optimizer takes PyTorch's steps."""
    target = load_text(tmp_path, "opt", adapter(kind, convention))
    result = run(target, f"network+{kind}-trains-as-torch")
    assert result.verdict == "pass", result


@pytest.mark.parametrize("linear, replacements, words", [
    (DIVIDED_LINEAR, [], "the network's gradients are wrong (see the end-to-end rows); the "
                         "optimizer steps as torch.optim's adam on them"),
    ("", [(ADAM_FIRST, 'm, v = s["m"], s["v"]')],
     "the network's gradients are right; the optimizer's steps are not torch.optim's adam"),
])
def test_training_tells_the_gradients_from_the_steps(tmp_path, linear: str, replacements,
                                                     words: str) -> None:
    target = load_text(tmp_path, "opt", adapter("adam", None, *replacements) + linear)
    result = run(target, "network+adam-trains-as-torch")
    assert result.verdict == "wrong", result
    assert words in (result.diagnosis or ""), result
