"""nplearn's own math through the conformance checks: every row on nplearn's adapter, here.

The checks are the one system that verifies layers, losses, the optimizer's rule and the network
against PyTorch and central differences (the card of any library runs the same rows). Here they
run in this process rather than in a forked child per row, so that mutation testing sees which
of nplearn's functions each row exercises, and each row's worst error goes into the verification
report. Every row must pass, and a row judged against PyTorch (or the formula of the optimizer's
rule) must agree to :data:`ORACLE_RTOL`: far inside the card's float64 tolerance, because
nplearn's float64 pieces compute the same formulas as PyTorch's up to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

from verification.conformance import load_adapter, rows
from verification.conformance.result import PASS
from verification.conformance_support import ADAPTERS

pytestmark = pytest.mark.oracle  # its rows judge nplearn against PyTorch (``nox -s oracle``)

#: Relative error allowed to nplearn's float64 pieces against PyTorch or a formula.
ORACLE_RTOL = 1e-14
#: The checks whose reference is PyTorch or the formula itself (not central differences).
ORACLE_CHECKS = {"forward", "backward vs torch", "vs torch", "L2 rule", "eval backward"}


@pytest.fixture(scope="module")
def nplearn_target():
    return load_adapter(ADAPTERS / "nplearn.py")


@pytest.mark.parametrize("row", rows(), ids=lambda row: row.id)
def test_row_passes_on_nplearn(check_record, nplearn_target, row) -> None:
    """The row's verdict is pass (nplearn has every piece); oracle rows agree to 1e-14."""
    assert row.present(nplearn_target), f"{row.id}: nplearn's adapter has no {row.needs}"
    with np.errstate(all="ignore"):  # as on the card: a row judges values, not warnings
        result = row.check.run(nplearn_target, row.piece)
    assert result.verdict == PASS, result
    if row.check.name in ORACLE_CHECKS:
        assert result.worst_error is not None, f"{row.id}: no worst error measured"
        check_record(result.worst_error, ORACLE_RTOL)
        assert result.worst_error <= ORACLE_RTOL, result
    elif result.worst_error is not None:
        check_record(result.worst_error, "the check's own")
