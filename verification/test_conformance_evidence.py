"""A card's evidence: no false alarm from a deliberate clip or from a gradient that is 0 in exact
arithmetic, no invented diagnosis, the example an error row raised on.

A probability cross-entropy that clips p into [1e-7, 1 - 1e-7] is stable (its ~1e-7 cost is
said in the detail) while real instabilities stay ``unstable``: a softmax shifted by max|z|
instead of max z. A loss wrong by a non-constant amount gets no fitted factor: a diagnosis is a
pattern across the examples, never one example's ratio.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

from verification import card
from verification.conformance import diagnosis, parametrize_with_checks
from verification.conformance.checks import batchnorm
from verification.conformance.judge import Finding, judge, pattern
from verification.conformance.numeric import error, errors, fd_tol
from verification.conformance_support import ROWS, load_text, run

HEAD = '''
import numpy as np
import scipy.special
import nplearn

CONVENTIONS = {"cross_entropy": {"input": "probabilities", "grad_wrt": "input",
                                 "reduction": "sum"}}


class cross_entropy:
    def __call__(self, p, t):
        p = PROBABILITIES
        self.grad = np.divide(-t, p, out=np.zeros_like(p), where=t > 0)
        return float(-np.sum(scipy.special.xlogy(t, p)))
'''


def _ce(probabilities: str) -> str:
    return HEAD.replace("PROBABILITIES", probabilities)


def test_a_clipped_cross_entropy_is_stable(tmp_path) -> None:
    """The clip's cost at logits x1000 is ~1e-7 relative: pass, with the deviation measured."""
    target = load_text(tmp_path, "ce", _ce("np.clip(p, 1e-7, 1 - 1e-7)"))
    result = run(target, "cross_entropy-stability")
    assert result.verdict == "pass", result
    assert 1e-8 < result.worst_error < 1e-6, result
    assert result.detail and result.detail.startswith(
        f"deviates from the oracle by up to {result.worst_error:.2g}"), result


SHIFTED = '''
import numpy as np
import nplearn


class softmax(nplearn.Softmax):
    """exp(z - max|z|): rows far below max|z| underflow to 0/0."""

    def forward(self, x):
        e = np.exp(x - np.abs(x).max(axis=1, keepdims=True))
        self.output = e / e.sum(axis=1, keepdims=True)
        return self.output
'''


def test_a_softmax_shifted_by_max_abs_is_unstable(tmp_path) -> None:
    result = run(load_text(tmp_path, "shifted", SHIFTED), "softmax-stability")
    assert result.verdict == "unstable", result
    assert "not finite at large negative logits" in (result.diagnosis or ""), result


def test_a_loss_wrong_by_no_constant_gets_no_factor(tmp_path) -> None:
    """Softmax applied twice to probabilities: the value's ratio differs between examples, so
    no factor is named (the row is wrong, of no known pattern)."""
    target = load_text(tmp_path, "twice", _ce("scipy.special.softmax(p, axis=1)"))
    for row_id in ("cross_entropy-vs-torch", "cross_entropy-own-gradient"):
        result = run(target, row_id)
        assert result.verdict == "wrong", result
        assert "factor" not in (result.diagnosis or ""), result
        assert result.evidence() == (result.diagnosis or "no known pattern")


@pytest.mark.parametrize("diagnoses, kept", [
    (["off by a constant factor 0.4332", "off by a constant factor 0.72"], None),
    (["off by a constant factor 0.4332"], None),
    (["off by a constant factor 4", "off by a constant factor 4"], "off by a constant factor 4"),
    (["off by a factor equal to 2"], "off by a factor equal to 2"),
    (["off by a factor equal to 2", None], None),
    (["off by a factor equal to 2", "raises ValueError", "off by a factor equal to 2"],
     "on different examples: [off by a factor equal to 2] and [raises ValueError]"),
    (["off by a factor equal to 2", "off by a constant factor 4"], None),
])
def test_a_diagnosis_is_a_pattern_across_examples(diagnoses, kept) -> None:
    assert pattern(diagnoses) == kept


RAISING = '''
def relu():
    return Relu()


class Relu:
    def forward(self, x):
        return undefined_name * x

    def backward(self, grad):
        return grad
'''


def test_an_error_row_shows_where_it_was_raised(tmp_path) -> None:
    """The card's evidence, the JSON record and the pytest helper's message all say where."""
    target = load_text(tmp_path, "raising", RAISING)
    result = run(target, "relu-forward")
    line = next(i for i, t in enumerate(RAISING.splitlines(), 1) if "undefined_name" in t)
    assert result.verdict_text() == "error: NameError: name 'undefined_name' is not defined"
    assert result.record()["where"] == f"raising.py:{line}"
    assert f"| raised at raising.py:{line} |" in card.render(target, [result], None)
    mark = parametrize_with_checks(target.path, rows=[ROWS["relu-forward"]])
    with pytest.raises(AssertionError, match=f"NameError.*raised at raising.py:{line}"):
        mark.args[1][0]()


def test_an_error_row_shows_the_example_it_was_raised_on(tmp_path) -> None:
    """The fixed example that raised, its shapes, is the row's counterexample, in the card and in
    pytest."""
    target = load_text(tmp_path, "raising", RAISING)
    result = run(target, "relu-forward")
    assert result.counterexample == "x (3, 4), grad (3, 4)", result
    assert f"| {result.counterexample} |" in card.render(target, [result], None)
    mark = parametrize_with_checks(target.path, rows=[ROWS["relu-forward"]])
    with pytest.raises(AssertionError, match=r"raising.py:\d+\) on x \(3, 4\), grad"):
        mark.args[1][0]()


def test_a_counterexample_of_zero_reference_leaves_the_row_error_finite() -> None:
    """A counterexample whose reference is all zeros (a one-class softmax's gradient) has an
    infinite relative error, which is no size: the fixed examples' error stands."""

    def trial(example: dict) -> Finding:
        return Finding(14.1 if example["n"] > 1 else np.inf, 1e-8)

    result = judge("piece", "check", trial, [{"n": 9}], st.fixed_dictionaries(
        {"n": st.integers(1, 9)}))
    assert result.counterexample == "n=1", result
    assert result.worst_error == 14.1, result


def test_a_gradient_zero_in_exact_arithmetic_is_no_false_alarm() -> None:
    """dgamma under a constant upstream gradient is 0 exactly; PyTorch's rounding of it (1e-17)
    against a library's exact 0 reads as error 1 on its own scale. Judged with dbeta (1.9) it is
    no failure, while a dgamma wrong by 1e-3 still is."""
    example = {"x": np.array([[2.1344], [0.0]]), "gamma": np.array([0.0]),
               "beta": np.array([0.0]), "grad": np.full((2, 1), 0.9375)}
    ref = batchnorm.reference(example)
    found = {"dx": np.zeros((2, 1)), "dgamma": np.zeros(1), "dbeta": np.array([1.875])}
    assert error(found["dgamma"], ref["dgamma"]) == 1.0  # the false alarm, on its own scale
    assert max(errors(found, ref).values()) < 1e-12
    assert errors({**found, "dgamma": np.array([1e-3])}, ref)["dgamma"] > 1e-4


def test_float64_results_computed_in_float32_are_named(tmp_path) -> None:
    """A linear layer that multiplies in float32 and returns float64: wrong by float64's
    tolerance, with words that say the errors are float32's rounding."""
    body = '''
import numpy as np
import nplearn


class Linear32(nplearn.Linear):
    def forward(self, x):
        f32 = np.float32
        return (x.astype(f32) @ self.W.astype(f32)).astype(np.float64) + self.b


def linear(W, b):
    layer = Linear32(*W.shape, dtype=np.float64)
    layer.W, layer.b = W, b
    return layer
'''
    result = run(load_text(tmp_path, "f32", body), "linear-forward")
    assert result.verdict == "wrong", result
    assert (result.diagnosis or "").startswith(
        "errors of float32's rounding on the fixed examples (at most 1.2e-05) in float64 "
        "results: as from a float32 computation inside"), result


def test_a_suspect_the_reference_matches_names_nothing() -> None:
    """Central differences' tolerance (6e-5, matches within 6e-4) cannot tell eps 1e-3 from 2e-3
    (a 5e-4 change): a failing tensor is not named by a formula the reference itself matches."""
    ref = {"dgamma": np.array([1.0, -2.0, 0.5])}
    found = {"dgamma": ref["dgamma"] * 1.0004}
    suspect = [("eps ignored: computed with eps=0.001", ref["dgamma"] * 1.0003)]
    words = diagnosis.tensors(found, ref, {"dgamma": suspect}, {}, fd_tol(np.dtype(np.float64)))
    assert "eps ignored" not in (words or ""), words


def test_the_row_error_covers_its_counterexample() -> None:
    """A shrunk counterexample that fails worse than the fixed examples (say, through an
    underflow the fixed ones do not reach) raises the row's worst error to its own."""

    def trial(example: dict) -> Finding:
        return Finding(1e-7 if example["n"] > 5 else 1.0, 1e-8)

    result = judge("piece", "check", trial, [{"n": 9}], st.fixed_dictionaries(
        {"n": st.integers(0, 9)}))
    assert result.counterexample == "n=0", result
    assert result.worst_error == 1.0, result
