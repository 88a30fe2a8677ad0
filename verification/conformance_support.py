"""Helpers of the conformance suite's own tests: the adapters, the rows by id, running one row,
and loading an adapter written as text (planted bugs, bad adapters)."""

from __future__ import annotations

from pathlib import Path

from verification.conformance import Result, Target, load_adapter, rows, run_row

ADAPTERS = Path(__file__).resolve().parent / "adapters"
ROWS = {row.id: row for row in rows()}
#: The registry's loss entries that nplearn's adapter presents (MSE, and cross-entropy summed over
#: one-hot targets): the conformance checks verify them (``test_conformance_nplearn.py``), so the
#: registry-driven tests keep only the other reductions and target forms.
ADAPTER_LOSSES = frozenset({"mse", "cross-entropy-sum-one-hot"})

#: Adapter source: nplearn's linear layer in float64 with exactly the given W and b.
LINEAR = '''
def linear(W, b):
    layer = nplearn.Linear(*W.shape, dtype=np.float64)
    layer.W, layer.b = W, b
    return layer
'''

#: Adapter source: a linear layer whose dW and db are divided by the batch size, dx right.
DIVIDED_LINEAR = '''
class linear(nplearn.Linear):
    """dW and db divided by the batch size (dx right): the steps of a learning rate / batch."""

    def __init__(self, W, b):
        super().__init__(*W.shape, dtype=np.float64)
        self.W, self.b = W, b

    def backward(self, grad, *, input_grad=True):
        out = super().backward(grad, input_grad=input_grad)
        for key in ("W", "b"):
            self.grads[key] /= len(grad)
        return out
'''


def run(target: Target, row_id: str, timeout: float = 30.0) -> Result:
    """The result of the row ``row_id`` (e.g. ``"relu-forward"``) on ``target``."""
    return run_row(ROWS[row_id], target, timeout)


def load_text(folder: Path, name: str, text: str) -> Target:
    """The target of an adapter whose source is ``text``, written as ``folder/<name>.py``."""
    path = folder / f"{name}.py"
    path.write_text(text)
    return load_adapter(path)
