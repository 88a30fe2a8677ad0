"""Render the mutation-testing results as ``reports/mutation.md``.

Contract
--------
:func:`write_mutation_report` takes the plain data of
:class:`verification.mutation_run.MutationResults` and writes, after the provenance header: the
score per mutated file, every mutant no test killed (source line, one-line diff, reason), and
every line kept out of mutation with the reason written beside its pragma. It computes no result
beyond sums and ratios.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import TYPE_CHECKING

from verification.markdown import markdown_table, write_report

if TYPE_CHECKING:
    from verification.mutation_run import MutationResults

#: The statuses shown in their own column; any other status is summed under "other".
COLUMNS = ("killed", "timeout", "survived", "no tests")
#: Why a mutant that no test killed is listed, by mutmut status.
REASONS = {
    "survived": "every test passes on it: an unmarked equivalent mutant or a gap in the suite",
    "no tests": "no test runs this function",
    "timeout": "the tests ran past mutmut's time limit (counted as detected)",
    "segfault": "the test process crashed (counted as detected)",
    "not checked": "the run stopped before testing it",
    "suspicious": "the tests took far longer than usual without timing out",
}

EXPLANATION = """\
A mutant is one small change that mutmut makes to the library's source: an operator swapped, a
constant changed, an argument dropped or set to `None`. For each mutant mutmut runs the tests
that cover the changed function; the mutant is *killed* when at least one of them fails.
A *detected* mutant is killed, or makes the tests hang or crash. A line whose every mutant
would be equivalent (same behaviour) is marked `# pragma: no mutate` with its reason beside it,
listed in the last section, so no mutant is excluded without a written reason.
"""


def _score_rows(counts: dict[str, Counter[str]]) -> list[list[object]]:
    total: Counter[str] = Counter()
    rows: list[list[object]] = []
    for name, count in [*counts.items(), ("all", total)]:
        if name != "all":
            total.update(count)
        mutants = sum(count.values())
        detected = sum(count[s] for s in ("killed", "timeout", "segfault"))
        other = mutants - sum(count[s] for s in COLUMNS)
        score = f"{100 * detected / mutants:.1f}%" if mutants else "-"
        rows.append([f"`{name}`" if name != "all" else "**all**", mutants,
                     *(count[s] for s in COLUMNS), other, score])
    return rows


def render(results: MutationResults, *, resumed: bool) -> str:
    """The report body (everything after the provenance header)."""
    counts = results.counts
    mutants = sum(sum(c.values()) for c in counts.values())
    undetected = [u for u in results.unkilled if u.status not in ("timeout", "segfault")]
    parts = [
        "## What this measures\n\n" + EXPLANATION,
        f"\n**{mutants} mutants** in {len(counts)} files; **{len(undetected)} not detected**; "
        f"{len(results.excluded)} lines excluded, each with a reason. Run time "
        f"{results.seconds / 60:.1f} min on {results.workers} workers "
        f"({'resumed from earlier verdicts' if resumed else 'fresh run'}).\n",
        "\n## Score per file\n\n"
        + markdown_table(["file", "mutants", *COLUMNS, "other", "detected"],
                         _score_rows(counts)),
        "\n## Mutants no test killed\n\n",
    ]
    if results.unkilled:
        rows = [[f"`{u.file}:{u.line}`", f"`{u.function}`", u.status,
                 f"`{u.removed}` -> `{u.added}`", REASONS.get(u.status, u.status)]
                for u in results.unkilled]
        parts.append(markdown_table(["where", "function", "status", "change", "reason"], rows))
    else:
        parts.append("None: every mutant was killed by at least one test.\n")
    parts.append("\n## Lines not mutated\n\n")
    if results.excluded:
        rows = [[f"`{e.file}:{e.line}`", f"`{e.code}`", e.reason or "**no reason given**"]
                for e in results.excluded]
        parts.append(markdown_table(["where", "code", "reason"], rows))
    else:
        parts.append("None.\n")
    return "".join(parts)


def write_mutation_report(
    path: str | os.PathLike[str], results: MutationResults, *, resumed: bool = False
) -> None:
    """Write the report with its provenance header.

    Args:
        path: the report file, usually ``reports/mutation.md``.
        results: the collected verdicts.
        resumed: whether the run kept earlier verdicts (``--resume``) instead of starting fresh.
    """
    extra = {
        "mutmut": results.mutmut,
        "workers": results.workers,
        "mode": "resumed" if resumed else "fresh",
        "mutated files": ", ".join(results.counts),
    }
    write_report(path, "Mutation testing of the core math", render(results, resumed=resumed),
                 extra=extra)
