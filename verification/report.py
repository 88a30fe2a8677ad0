"""The pytest plugin that writes ``reports/verification.md``: one row per test of the run.

Contract
--------
:class:`VerificationReport` (registered by ``conftest.py``) collects every test's outcome and, at
the end of the session, in the main process only, writes the report through
:func:`verification.markdown.write_report` (provenance header, atomic write). The report has a
summary line (counts and duration) and, per test file, a table with one row per test: its id, what
it checks (the first line of the test's docstring, or what the test recorded), the tolerance, the
worst observed error and the result. Tests add the tolerance and the observed value with
:func:`record_check` (the ``check_record`` fixture); numbers recorded several times (e.g. by
hypothesis examples) keep their maximum, the worst case. Records travel in the reports'
``user_properties``, so they survive pytest-xdist. A run of part of the suite (tests deselected by
``-k``, ``-m`` or ``--deselect``, or only some files named) is not the suite's report: it goes to
``partial_path`` when one is given, and the terminal says where.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from verification.markdown import markdown_table, write_report

RECORD = "verification_check"
DOC = "verification_doc"
MODULE_DOC = "verification_module_doc"
ORDER = ("passed", "failed", "error", "skipped", "xfailed", "xpassed", "not run")
COLUMNS = ("check", "what it checks", "tolerance", "worst observed", "result")
METRICS = (
    "Errors are relative unless the tolerance says otherwise: `max |actual - expected| / "
    "max |expected|` over the compared tensor (`nplearn.checks.relative_error`). The gradient "
    "checks compare analytic gradients with float64 central differences (eps 1e-6), fail an "
    "element outside `atol + rtol * |numeric|` as `torch.autograd.gradcheck` does, and floor the "
    "scale of their relative error at atol (a tensor whose gradients are all below atol reports "
    "its absolute error / atol). Numbers recorded by several examples show the worst one."
)
MUTATION = (
    "How well these checks catch bugs, and where they stop: [mutation testing](mutation.md) "
    "plants small bugs in the core math (`nox -s mutants`) and lists every one the suite misses "
    "and every line left out, with the reason."
)


def record_check(
    user_properties: list[tuple[str, Any]],
    observed: float | str,
    tolerance: float | str | None = None,
    what: str | None = None,
) -> None:
    """Merge one measurement into a test's ``user_properties``.

    Args:
        user_properties: the test item's list (``request.node.user_properties``).
        observed: the observed error (numbers keep the maximum over calls) or a text.
        tolerance: the bound it is held to (a number or a text such as ``"rel 1e-10"``).
        what: replaces the docstring line in the report's "what it checks" column.
    """
    entry = next((value for key, value in user_properties if key == RECORD), None)
    if entry is None:
        entry = {}
        user_properties.append((RECORD, entry))
    previous = entry.get("observed")
    if isinstance(observed, str) or not isinstance(previous, float):
        entry["observed"] = observed if isinstance(observed, str) else float(observed)
    else:
        entry["observed"] = max(previous, float(observed))
    if tolerance is not None:
        entry["tolerance"] = tolerance
    if what is not None:
        entry["what"] = what


def first_line(doc: str | None) -> str:
    """The first non-empty line of a docstring ("" if none)."""
    return next((line.strip() for line in (doc or "").splitlines() if line.strip()), "")


@dataclass
class Row:
    """One test's line of the report."""

    nodeid: str
    what: str = ""
    tolerance: object = ""
    observed: object = ""
    result: str = "not run"
    module_doc: str = ""


def _reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    """The skip / xfail reason of a report."""
    if getattr(report, "wasxfail", ""):
        return str(report.wasxfail)
    longrepr = report.longrepr
    reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr or "")
    return reason.removeprefix("Skipped: ")


def outcome_of(report: pytest.TestReport) -> str | None:
    """The result a report decides ("passed", "failed", "error", "skipped: why", ...), or None."""
    xfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if report.passed:
            return "xpassed" if xfail else "passed"
        if report.failed:
            return "failed"
        return f"{'xfailed' if xfail else 'skipped'}: {_reason(report)}"
    if report.failed:
        return "error"
    if report.skipped:
        return f"{'xfailed' if xfail else 'skipped'}: {_reason(report)}"
    return None


def _bold(result: str) -> str:
    """Results other than passed, skipped and xfailed stand out in upper case and bold."""
    quiet = result.startswith(("passed", "skipped", "xfailed"))
    return result if quiet else f"**{result.upper()}**"


def render(rows: list[Row], duration: float) -> str:
    """The report body: summary, the metrics note, one table per test file.

    Args:
        rows: the tests, in run order.
        duration: seconds the session took.

    Returns:
        Markdown.
    """
    counts = Counter(row.result.split(":")[0] for row in rows)
    summary = ", ".join(f"{counts[kind]} {kind}" for kind in ORDER if counts[kind])
    parts = [f"## Summary\n\n**{summary}** in {duration:.1f} s ({len(rows)} tests).\n", METRICS,
             MUTATION]
    failed = [row.nodeid for row in rows if row.result in ("failed", "error", "xpassed")]
    if failed:
        parts.insert(1, "Not passed:\n\n" + "".join(f"- `{nodeid}`\n" for nodeid in failed))
    files: dict[str, list[Row]] = {}
    for row in rows:
        files.setdefault(row.nodeid.split("::")[0], []).append(row)
    for file, members in files.items():
        heading = f"## {Path(file).name}"
        doc = members[0].module_doc
        table = markdown_table(
            COLUMNS,
            [
                (r.nodeid.split("::", 1)[-1], r.what, r.tolerance, r.observed, _bold(r.result))
                for r in members
            ],
            digits=3,
        )
        parts.append(f"{heading}\n\n{doc}\n\n{table}" if doc else f"{heading}\n\n{table}")
    return "\n\n".join(parts) + "\n"


def names_whole_suite(args: Sequence[str], cwd: Path, roots: Collection[Path]) -> bool:
    """True when every path argument (a folder, a file or a test id, relative to ``cwd``) is one
    of ``roots``: the run was asked for the whole suite."""
    return all((cwd / arg.split("::")[0]).resolve() in roots for arg in args)


class VerificationReport:
    """Collects outcomes during the session and writes the report at its end.

    Args:
        path: the report file, or None to write nothing.
        seeds: the suite's seeds, for the provenance header.
        extra: more provenance items (e.g. the pytest arguments).
        partial_path: where a partial run's report goes instead of ``path`` (None: to ``path``).
        whole: False when the run's arguments already select part of the suite.
    """

    def __init__(
        self,
        path: Path | None,
        seeds: Mapping[str, int],
        extra: Mapping[str, object],
        partial_path: Path | None = None,
        whole: bool = True,
    ) -> None:
        self.path, self.seeds, self.extra = path, dict(seeds), dict(extra)
        self.partial_path, self.whole = partial_path, whole
        self.rows: dict[str, Row] = {}
        self.start = time.perf_counter()

    def target(self) -> Path | None:
        """The file this run's report is written to (None: none)."""
        return self.path if self.whole or self.partial_path is None else self.partial_path

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.whole = False

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            obj = getattr(item, "obj", None)
            module = getattr(item, "module", None)
            item.user_properties.append((DOC, first_line(getattr(obj, "__doc__", None))))
            item.user_properties.append((MODULE_DOC, first_line(getattr(module, "__doc__", None))))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        row = self.rows.setdefault(report.nodeid, Row(report.nodeid))
        for key, value in report.user_properties:
            if key == DOC:
                row.what = row.what or value
            elif key == MODULE_DOC:
                row.module_doc = value
            elif key == RECORD:
                row.what = value.get("what", row.what)
                row.tolerance = value.get("tolerance", row.tolerance)
                row.observed = value.get("observed", row.observed)
        outcome = outcome_of(report)
        if outcome is not None and not (report.when == "teardown" and row.result == "failed"):
            row.result = outcome

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A whole module skipped (``pytest.importorskip`` at import) or failing to import."""
        if report.skipped or report.failed:
            reason = _reason(report) if report.skipped else "collection error"
            result = f"skipped: {reason}" if report.skipped else "error"
            self.rows[report.nodeid] = Row(report.nodeid, "(whole module)", result=result)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        path = self.target()
        if path is None or hasattr(session.config, "workerinput") or not self.rows:
            return
        rows = list(self.rows.values())
        write_report(
            path,
            "Verification report",
            render(rows, time.perf_counter() - self.start),
            seeds=self.seeds,
            extra=self.extra,
        )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.target() is not self.path:
            terminalreporter.write_line(
                f"part of the suite ran: its report is {self.partial_path}, not {self.path}"
            )
