"""Optimizer checks: a trajectory of steps on two linear layers against ``torch.optim``.

Contract
--------
Two linear layers of the target with biases (``W1 (3, 3), b1, W2 (3, 3), b2``: same-shaped
parameters in different layers, so that state shared between them shows) take :data:`STEPS`
``opt.step(layers)`` calls; before each, a forward and backward call lets the layer fill its
``grads``, which are then overwritten in place with new random gradients. Each parameter's
displacement from its start after every step is compared with PyTorch's (``torch.optim`` fed
the same gradients, :mod:`~verification.conformance.trajectory`) under the declared conventions,
or with the NumPy rule where PyTorch has none (eps inside the square root). The hyperparameters
(:data:`HYPER`) make every convention measurable: eps is 0.1 beside gradients of about 1, so eps
inside and outside the square root differ by percents; and none is a library's default, so an
argument a library ignores for its own default (:data:`LIBRARY_DEFAULTS`) shows. When the factory
takes a ``weight_decay`` keyword, a second trajectory runs with decay. A failure is diagnosed by
re-simulating suspected mistakes (:func:`suspects`) and matching each parameter's trajectory: one
suspect matching all of them names the mistake; different ones per parameter are named per parameter
("b1 and b2: stepped by plain SGD ...; W1 and W2 are right"); else no known pattern. Parameters
that are not finite are named with the first step that made them so.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from hypothesis import strategies as st

from verification.conformance import calls, diagnosis, inputs
from verification.conformance.calls import CheckError
from verification.conformance.judge import Example, Finding, judge
from verification.conformance.numeric import error, oracle_tol
from verification.conformance.numeric import result_dtype as dtype_of
from verification.conformance.result import NOT_PRESENT, Result
from verification.conformance.target import Target
from verification.conformance.trajectory import Rule, declared, simulate, torch_trajectory

__all__ = ["HYPER", "STEPS", "accepts", "make", "nesterov", "run", "suspects", "trajectory"]

STEPS, SIZES, WD = 6, (3, 3, 3), 0.1
NAMES = ("W1", "b1", "W2", "b2")
LAYER_OF = (0, 0, 1, 1)
HYPER: dict[str, dict[str, float]] = {
    "momentum": {"lr": 0.05, "mu": 0.7},
    "adam": {"lr": 0.01, "beta1": 0.8, "beta2": 0.97, "eps": 0.1},
    "rmsprop": {"lr": 0.02, "alpha": 0.8, "eps": 0.1},
    "adagrad": {"lr": 0.05, "eps": 0.1},
}
#: Each hyperparameter's defaults in PyTorch, Keras and the papers: a library that ignores the
#: argument passed uses one of them.
LIBRARY_DEFAULTS: dict[str, tuple[float, ...]] = {
    "mu": (0.9, 0.99, 0.5), "beta1": (0.9,), "beta2": (0.999, 0.99),
    "alpha": (0.99, 0.9), "eps": (1e-8, 1e-7, 1e-10, 1e-6),
}
#: Where eps sits, in a diagnosis's words (``hat`` for Adam only: it moves the bias correction).
_EPS_WORDS = {"hat": "eps added to sqrt(v) before bias correction (eps-hat)",
              "inside": "eps inside the square root",
              "outside": "eps outside the square root, after any bias correction"}
_ARGS = {"momentum": ("lr", "mu"), "adam": ("lr", "beta1", "beta2", "eps"),
         "rmsprop": ("lr", "alpha", "eps"), "adagrad": ("lr", "eps")}


def accepts(factory: Callable[..., Any], keyword: str) -> bool:
    """Whether ``factory`` takes the keyword argument ``keyword`` (or any keyword)."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == keyword or p.kind is p.VAR_KEYWORD for p in parameters)


def make(target: Target, kind: str, hyper: Mapping[str, float], **keywords: Any) -> Any:
    """The target's optimizer ``kind`` with ``hyper``'s values, positionally as the protocol."""
    opt = target.factories[kind](*(hyper[k] for k in _ARGS[kind]), **keywords)
    if not callable(getattr(opt, "step", None)):
        raise CheckError("not an optimizer (no step)")
    return opt


def _example(rng: np.random.Generator, sizes: tuple[int, int, int], steps: int) -> Example:
    n_in, hidden, n_out = sizes
    shapes = {"W1": (n_in, hidden), "b1": (hidden,), "W2": (hidden, n_out), "b2": (n_out,)}
    example: Example = {k: rng.uniform(-1, 1, s) for k, s in shapes.items()}
    example.update({f"g{k}": rng.standard_normal((steps, *s)) for k, s in shapes.items()})
    return example


def _examples() -> list[Example]:
    return [_example(np.random.default_rng([inputs.SEED, 400 + i]), SIZES, STEPS)
            for i in range(2)]


@st.composite
def _small(draw) -> Example:
    sizes = tuple(draw(st.integers(1, 2)) for _ in range(3))
    steps = draw(st.integers(1, STEPS))
    seed = draw(st.integers(0, 2**16))
    return _example(np.random.default_rng(seed), sizes, steps)  # type: ignore[arg-type]


def run(target: Target, example: Example, opt: Any) -> tuple[list, list, list]:
    """``(start, trajectory, grads)``: the parameters as the library holds them, after each
    step, and the gradients it held at each step (module contract)."""
    layers = [calls.layer(target, "linear", {"W": example[f"W{i}"], "b": example[f"b{i}"]})
              for i in (1, 2)]
    start = [p for made in layers for p in calls.params_of(made, "params").values()]
    steps = len(example["gW1"])
    out, held = [], []
    for s in range(steps):
        for i, made in enumerate(layers, 1):
            n_in, n_out = example[f"W{i}"].shape
            made.forward(np.ones((2, n_in)))
            made.backward(np.ones((2, n_out)))
            grads = getattr(made, "grads", None)
            if not isinstance(grads, Mapping) or not {"W", "b"} <= grads.keys():
                raise CheckError("the linear layer has no grads dict with keys 'W' and 'b'")
            for k in ("W", "b"):
                np.copyto(grads[k], example[f"g{k}{i}"][s])
        held.append([np.array(made.grads[k]) for made in layers for k in ("W", "b")])
        opt.step(layers)
        out.append([p for made in layers for p in calls.params_of(made, "params").values()])
    return start, out, held


def _errors(start: list, found: list, ref: list) -> list[float]:
    """Per parameter, the worst error of its displacement from ``start`` over the steps."""
    return [max(error(f[j] - start[j], r[j] - start[j]) for f, r in zip(found, ref, strict=True))
            for j in range(len(start))]


def suspects(rule: Rule, conventions: Mapping[str, Any]) -> list[tuple[str, Rule]]:
    """The suspected mistakes of ``rule``, each with its words, most specific first."""
    out: list[tuple[str, Rule]] = []
    kind = rule.kind
    if kind == "momentum":
        yes = rule.nesterov == "yes"
        step = ("computes the Nesterov step but applies the plain momentum step" if yes
                else "takes a Nesterov step though nesterov=False")
        ema = conventions["form"] == "ema"
        form = (f"follows the {'pytorch' if ema else 'ema'} momentum form, not the declared "
                f"{conventions['form']}")
        changes = ({"nesterov": "no" if yes else "yes"},
                   {"lr_scale": 1.0 if ema else 1 - rule.hyper["mu"]})
        out += [(step, rule.but(**changes[0])), (form, rule.but(**changes[1])),
                (f"{step}, and {form}", rule.but(**changes[0], **changes[1]))]
    if kind == "adam":
        out += [
            ("no bias correction", rule.but(clock="none")),
            ("bias correction with t = 1 at every step (t missing from 1 - beta**t, or a "
             "step counter that never advances, e.g. once per epoch)", rule.but(clock="frozen")),
            ("bias correction one step ahead (t starts at 2)", rule.but(clock="ahead")),
            ("one step counter shared by every parameter, advanced at each parameter's update",
             rule.but(clock="shared")),
            ("the step counter advanced once per layer, not once per step",
             rule.but(clock="layer")),
        ]
    if kind != "momentum":
        declared_as = f"{rule.eps}_sqrt" if rule.eps != "hat" else "hat"
        out += [(f"{words}, but {declared_as} is declared", rule.but(eps=other))
                for other, words in _EPS_WORDS.items()
                if other != rule.eps and (kind == "adam" or other != "hat")]
    out += _ignored(rule, conventions)
    if rule.hyper.get("wd"):
        forms = {"none": "weight decay ignored",
                 "decoupled": "weight decay decoupled (w -= lr*wd*w, as AdamW), not added to "
                              "the gradient, but coupled is declared",
                 "coupled": "weight decay added to the gradient (coupled), but decoupled is "
                            "declared"}
        out += [(words, rule.but(decay=form)) for form, words in forms.items()
                if form != rule.decay]
    return [
        *out,
        ("state shared between parameters of the same shape in different layers (kept per "
         "name or shape, not per parameter)", rule.but(shared=True)),
        ("the sign of the step is wrong (it climbs the gradient)", rule.but(sign=-1.0)),
        ("stepped by plain SGD (w -= lr*grad)", rule.but(kind="sgd")),
        ("not updated", rule.but(kind="none")),
    ]


def _ignored(rule: Rule, conventions: Mapping[str, Any]) -> list[tuple[str, Rule]]:
    """Suspects of arguments ignored: every set of the rule's hyperparameters (the learning rate
    aside) at each combination of :data:`LIBRARY_DEFAULTS`, fewest first."""
    keys = _ARGS[rule.kind][1:]
    out = []
    for n in range(1, len(keys) + 1):
        for subset in itertools.combinations(keys, n):
            for values in itertools.product(*(LIBRARY_DEFAULTS[k] for k in subset)):
                fixed = dict(zip(subset, values, strict=True))
                names = " and ".join(", ".join(subset).rsplit(", ", 1))
                used = ", ".join(f"{k}={v:g}" for k, v in fixed.items())
                out.append((f"ignores {names}: its steps are those of {used}, whatever is passed",
                            declared(rule.kind, {**rule.hyper, **fixed}, conventions,
                                     rule.nesterov == "yes")))
    return out


def _diagnose(rule: Rule, conventions: Mapping[str, Any], start: list, found: list,
              held: list, tol: float) -> str | None:
    """Which suspect explains each parameter's trajectory (module contract)."""
    close = diagnosis.match_tol(tol)
    matched: list[str | None] = [None] * len(start)
    right = _errors(start, found, simulate(rule, start, held, LAYER_OF))
    pending = [j for j, e in enumerate(right) if not e <= close]
    for words, suspect in suspects(rule, conventions):
        if not pending:
            break
        errors = _errors(start, found, simulate(suspect, start, held, LAYER_OF))
        for j in [j for j in pending if errors[j] <= close]:
            matched[j] = words
            pending.remove(j)
    named = {matched[j] for j in range(len(start)) if not right[j] <= close}
    if len(named) == 1 and None not in named and all(not e <= close for e in right):
        return named.pop()
    return diagnosis.per_tensor({NAMES[j]: (not right[j] <= close, matched[j])
                                 for j in range(len(start))})


def _trial(target: Target, kind: str, nesterov: bool, wd: float):
    conventions = target.conventions[kind]
    hyper = {**HYPER[kind], "wd": wd}
    rule = declared(kind, hyper, conventions, nesterov)
    keywords = ({"nesterov": True} if nesterov else {}) | ({"weight_decay": wd} if wd else {})

    def trial(example: Example) -> Finding:
        opt = make(target, kind, hyper, **keywords)
        start, found, held = run(target, example, opt)
        ref = torch_trajectory(rule, start, held) or simulate(rule, start, held, LAYER_OF)
        tol = oracle_tol(dtype_of(*start, *held))
        worst = max(_errors(start, found, ref))
        if worst <= tol:
            return Finding(worst, tol)
        broken = next((s for s, params in enumerate(found, 1)
                       if not all(np.all(np.isfinite(p)) for p in params)), None)
        words = (f"the parameters are not finite (NaN or inf) after step {broken}" if broken
                 else _diagnose(rule, conventions, start, found, held, tol))
        return Finding(worst, tol, words and (f"with weight decay {wd:g}: {words}" if wd
                                              else words))

    return trial


def _rows(target: Target, piece: str, kind: str, nesterov: bool) -> Result:
    check = "nesterov trajectory" if nesterov else "trajectory"
    decays = [0.0] + ([WD] if accepts(target.factories[kind], "weight_decay") else [])
    results = [judge(piece, check, _trial(target, kind, nesterov, wd), _examples(), _small())
               for wd in decays]
    return next((r for r in results if r.failed), max(results, key=lambda r: r.worst_error))


def trajectory(target: Target, piece: str) -> Result:
    """:data:`STEPS` steps of the optimizer ``piece`` against ``torch.optim``."""
    return _rows(target, piece, piece, False)


def nesterov(target: Target, piece: str) -> Result:
    """As :func:`trajectory`, with ``nesterov=True`` (``not present`` when the momentum
    factory takes no ``nesterov`` keyword)."""
    if not accepts(target.factories["momentum"], "nesterov"):
        return Result(piece, "nesterov trajectory", NOT_PRESENT,
                      detail="the momentum factory takes no nesterov keyword")
    return _rows(target, piece, "momentum", True)
