"""Optimizers written for the conformance suite's own tests: correct NumPy ones under each
declared convention, and planted bugs made from them by replacing one line.

Each source is an adapter's text: nplearn's linear layer (float64) plus one optimizer factory.
:func:`adapter` gives the source of an optimizer ``kind`` under a convention, with lines
replaced; nothing here is copied from a published library.
"""

from __future__ import annotations

from verification.conformance_support import LINEAR

HEAD = '''
import numpy as np
import nplearn

NAME = "planted optimizers"
''' + LINEAR + '''

relu, sigmoid, network = nplearn.ReLU, nplearn.Sigmoid, nplearn.Network
cross_entropy, mse = nplearn.CrossEntropyLoss, nplearn.MSE


def _params(layers):
    """(key, parameter, gradient) of every parameter, one key per layer and name."""
    return [((i, k), w, layer.grads[k]) for i, layer in enumerate(layers)
            for k, w in getattr(layer, "params", {}).items()]
'''

MOMENTUM = '''
class momentum:
    def __init__(self, lr, mu, nesterov=False, weight_decay=0.0):
        self.lr, self.mu, self.nesterov, self.wd, self.v = lr, mu, nesterov, weight_decay, {}

    def step(self, layers):
        lr, mu = self.lr, self.mu
        for key, w, g in _params(layers):
            g = g + self.wd * w
            v = self.v.get(key, 0.0)
            STEP
            self.v[key] = v
'''
FORMS = {
    "pytorch": '''v = mu * v + g
            w -= lr * (g + mu * v if self.nesterov else v)''',
    "classic": '''v = mu * v - lr * g
            w += mu * v - lr * g if self.nesterov else v''',
    "ema": '''v = mu * v + (1 - mu) * g
            w -= lr * ((1 - mu) * g + mu * v if self.nesterov else v)''',
}

ADAPTIVE = '''
class OPTIMIZER:
    def __init__(self, ARGS, weight_decay=0.0):
        self.lr, self.eps, self.wd, self.state = lr, eps, weight_decay, {}
        self.hyper = HYPER
        self.t = 0

    def step(self, layers):
        lr, eps = self.lr, self.eps
        self.t += 1
        for key, w, g in _params(layers):
            g = g + self.wd * w
            s = self.state.setdefault(key, {"t": 0, "m": 0.0, "v": 0.0})
            s["t"] += 1
            t = s["t"]
            RULE
            w -= lr * STEP
'''
RULES = {
    "adam": ("lr, beta1, beta2, eps", "(beta1, beta2)", '''beta1, beta2 = self.hyper
            s["m"] = beta1 * s["m"] + (1 - beta1) * g
            s["v"] = beta2 * s["v"] + (1 - beta2) * g * g
            m, v = s["m"] / (1 - beta1 ** t), s["v"] / (1 - beta2 ** t)''', "m / DENOM"),
    "rmsprop": ("lr, alpha, eps", "alpha", '''a = self.hyper
            s["v"] = a * s["v"] + (1 - a) * g * g
            v = s["v"]''', "g / DENOM"),
    "adagrad": ("lr, eps", "None", '''s["v"] = s["v"] + g * g
            v = s["v"]''', "g / DENOM"),
}
DENOMS = {"outside_sqrt": "(np.sqrt(v) + eps)", "inside_sqrt": "np.sqrt(v + eps)",
          "hat": "(np.sqrt(v) + eps)"}


def adapter(kind: str, convention: str | None = None, *replacements: tuple[str, str],
            declare: str | None = None) -> str:
    """The adapter source of optimizer ``kind`` under ``convention`` (a momentum form or an eps
    placement; the default when None), each ``(old, new)`` of ``replacements`` applied, and
    declaring ``declare`` (default: ``convention``)."""
    if kind == "momentum":
        form = convention or "pytorch"
        body = MOMENTUM.replace("STEP", FORMS[form])
        declared = f'CONVENTIONS = {{"momentum": {{"form": "{declare or form}"}}}}\n'
    else:
        eps = convention or "outside_sqrt"
        args, hyper, rule, step = RULES[kind]
        if eps == "hat":  # Kingma & Ba's eps-hat: v stays uncorrected, its correction is the step's
            rule = rule.replace('s["v"] / (1 - beta2 ** t)', 's["v"]')
            step += " * (1 - beta2 ** t) ** 0.5"
        body = (ADAPTIVE.replace("OPTIMIZER", kind).replace("ARGS", args)
                .replace("HYPER", hyper).replace("RULE", rule)
                .replace("STEP", step).replace("DENOM", DENOMS[eps]))
        declared = f'CONVENTIONS = {{"{kind}": {{"eps": "{declare or eps}"}}}}\n'
    for old, new in replacements:
        if old not in body:
            raise ValueError(f"{old!r} is not in the {kind} source")
        body = body.replace(old, new)
    return HEAD + body + declared
