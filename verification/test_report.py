"""Tests of verification.report, the plugin behind reports/verification.md: where a run writes."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from verification import report

ROOT = Path(__file__).resolve().parent.parent
SUITE = {ROOT, ROOT / "verification"}


def finish(plugin: report.VerificationReport) -> None:
    """End a session of one passed test in the main process."""
    plugin.rows["test_x.py::test_y"] = report.Row("test_x.py::test_y", result="passed")
    plugin.pytest_sessionfinish(SimpleNamespace(config=SimpleNamespace()))  # type: ignore[arg-type]


@pytest.mark.parametrize("how", ["whole suite", "tests deselected", "some files named"])
def test_only_the_whole_suite_writes_the_suite_report(tmp_path: Path, how: str) -> None:
    suite, partial = tmp_path / "verification.md", tmp_path / "quick" / "verification.md"
    plugin = report.VerificationReport(
        suite, {}, {}, partial_path=partial, whole=how != "some files named"
    )
    if how == "tests deselected":
        plugin.pytest_deselected([])
    finish(plugin)
    whole = how == "whole suite"
    assert suite.exists() is whole and partial.exists() is not whole
    assert "passed" in (suite if whole else partial).read_text()


def test_a_path_given_explicitly_is_written_by_any_run(tmp_path: Path) -> None:
    path = tmp_path / "mine.md"
    plugin = report.VerificationReport(path, {}, {}, whole=False)
    plugin.pytest_deselected([])
    finish(plugin)
    assert path.exists()


@pytest.mark.parametrize(
    ("args", "cwd", "whole"),
    [
        ([str(ROOT)], ROOT, True),
        (["verification"], ROOT, True),
        (["verification/"], ROOT, True),
        (["."], ROOT / "verification", True),
        (["verification/test_edges.py"], ROOT, False),
        (["verification", "verification/test_edges.py::test_a"], ROOT, False),
        (["test_edges.py::test_a"], ROOT / "verification", False),
        (["benchmarks"], ROOT, False),
    ],
)
def test_whole_suite_arguments(args: list[str], cwd: Path, whole: bool) -> None:
    assert report.names_whole_suite(args, cwd, SUITE) is whole
