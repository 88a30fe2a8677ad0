"""What ``reports/mnist.md`` is rendered from: one frozen bundle of plain results.

Contract
--------
:class:`Inputs` holds the plan, the per-run and aggregated final metrics, the
ablation rows and conclusion, the time-to-accuracy summary, the run settings
and the names of the figures and data files, with small read-only accessors
(``get``, ``pm``, ``seeds``) over the aggregate table. Nothing here computes
a result or writes a file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from benchmarks.mnist.ablation import Row
from benchmarks.mnist.configs import RunConfig
from benchmarks.mnist.schedule import Plan
from benchmarks.mnist.summary import pm

__all__ = ["NAMES", "Inputs"]

NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


@dataclass(frozen=True)
class Inputs:
    """What the report is rendered from.

    Attributes:
        plan: the runs' plan (configs as run, seeds, data sets).
        finals: ``summary.finals``, one row per run.
        table: ``summary.aggregate`` of the final metrics.
        ablation_rows: the ablation table; ablation_text its conclusion.
        tta: ``summary.tta_summary`` frame (may be empty when torch is missing).
        tta_configs: the configs timed, as run (epoch caps applied).
        tta_agreement: largest |nplearn - torch| test accuracy at the same
            evaluation point (``summary.peer_agreement``).
        settings: mode, workers, threads and timing notes, shown verbatim.
        figures: figure name -> path relative to the report.
        data_files: file names of the CSV/JSON data beside the figures.
    """

    plan: Plan
    finals: pd.DataFrame
    table: pd.DataFrame
    ablation_rows: Sequence[Row]
    ablation_text: str
    tta: pd.DataFrame
    tta_configs: Sequence[RunConfig]
    tta_agreement: float
    settings: Mapping[str, str]
    figures: Mapping[str, str]
    data_files: Sequence[str]

    def get(self, dataset: str, key: str, metric: str, stat: str = "mean") -> float:
        """One aggregated value, e.g. ``get("mnist", "best", "test_accuracy")``."""
        return float(self.table.loc[(dataset, key), (metric, stat)])

    def pm(self, dataset: str, key: str, metric: str, digits: int = 4) -> str:
        """``"mean ± std"`` of one metric."""
        return pm(self.get(dataset, key, metric), self.get(dataset, key, metric, "std"), digits)

    def seeds(self, dataset: str, key: str) -> int:
        """Number of seeds behind one aggregate."""
        return int(self.table.loc[(dataset, key), ("seed", "count")])

    @property
    def mode(self) -> str:
        """``"full"``, ``"QUICK MODE"`` or ``"REDUCED RUN"``."""
        return self.settings.get("mode", "full").split(" (")[0]

    @property
    def without_torch(self) -> bool:
        """True when no PyTorch curve was timed."""
        return bool(self.tta.empty or self.tta.query("framework == 'torch'")["seeds"].sum() == 0)
