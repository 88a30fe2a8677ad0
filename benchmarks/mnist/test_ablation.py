"""Unit tests of the ablation's one-sentence conclusion, on synthetic table rows.

Contract
--------
Fast (no training); ``python -m benchmarks.mnist`` runs them before it trains, and a plain
``pytest benchmarks/mnist`` runs them too. They check that the sentence names every smallest
set of factors that works (never "only with" one set when another set of the same size works
too), with its accuracy, and the best accuracy of the variants that leave one factor out.
"""

from __future__ import annotations

from itertools import combinations

from benchmarks.mnist.ablation import FACTORS, Row, conclusion


def _rows(accuracy: dict[tuple[str, ...], float]) -> list[Row]:
    """Every subset of the factors, with the given accuracy (default 0.10)."""
    keys = tuple(FACTORS)
    subsets = [c for n in range(len(keys) + 1) for c in combinations(keys, n)]
    labels = {s: " + ".join(FACTORS[c][0] for c in s) or "baseline" for s in subsets}
    return [Row(s, labels[s], "", accuracy.get(s, 0.10), 0.0, 0.1, 1.0, 3) for s in subsets]


def test_one_working_set_is_named_with_what_leaving_one_out_gives() -> None:
    text = conclusion(
        _rows({("relu",): 0.31, ("relu", "init"): 0.65, ("relu", "init", "lr"): 0.96})
    )
    assert "only with correct ReLU backward + He init + the CE run's learning rate" in text
    assert "to 96.0 % test accuracy" in text and "at most 65.0 %" in text
    assert "either" not in text


def test_two_working_sets_are_both_named_not_only_the_best() -> None:
    """The published run: relu+init+lr (96.2 %) and relu+init+sum (94.1 %) both work."""
    rows = _rows(
        {
            ("relu",): 0.315,
            ("relu", "init"): 0.656,
            ("relu", "init", "lr"): 0.962,
            ("relu", "init", "sum"): 0.941,
            ("relu", "init", "lr", "sum"): 0.098,
        }
    )
    text = conclusion(rows)
    assert "only with correct ReLU backward + He init together with either" in text
    assert "the CE run's learning rate 0.05 (96.2 %)" in text
    assert "the gradient summed over the batch" in text and "(94.1 %)" in text
    assert text.index("96.2 %") < text.index("94.1 %")
    assert "at most 65.6 %" in text and "all of them at once give 9.8 %" in text
    assert "(10.0 % test accuracy)" in text  # the post's run


def test_disjoint_working_sets_and_single_factor_and_none() -> None:
    disjoint = conclusion(_rows({("relu", "init"): 0.95, ("lr", "sum"): 0.92}))
    assert "only with either correct ReLU backward + He init (95.0 %) or" in disjoint
    single = conclusion(_rows({("init",): 0.93}))
    assert single.startswith("One factor alone") and "He init" in single
    none = conclusion(_rows({("relu", "init"): 0.70}))
    assert none.startswith("No variant reaches 90.0 %") and "70.0 %" in none
