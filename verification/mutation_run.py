"""Run mutmut over the core math and hand its verdicts, as plain data, to the mutation report.

Contract
--------
``python -m verification.mutation_run [--resume] [--max-children N] [--output PATH]`` runs the
pinned mutmut from the repository root with the ``[tool.mutmut]`` table of ``pyproject.toml``
(which files are mutated, which tests run). A run starts from scratch (it deletes mutmut's scratch
copy ``mutants/``) unless ``--resume`` keeps the verdicts of unchanged functions. It then reads
mutmut's per-file results and writes ``reports/mutation.md`` through
:mod:`verification.mutation_report`:

- per mutated file, the number of mutants in each status (killed, survived, timeout, ...);
- every mutant that no test killed, with its source line and one-line diff;
- every line kept out of mutation by ``# pragma: no mutate  # <reason>`` (or by a bare pragma
  below comment lines giving the reason), with its reason.

mutmut is imported only by :func:`collect`, so the suite can import :func:`excluded_lines`
without it. Nothing here formats markdown.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRATCH = REPO_ROOT / "mutants"
DEFAULT_OUTPUT = REPO_ROOT / "reports" / "mutation.md"
#: A line mutmut leaves alone; the reason is the comment that follows the pragma.
PRAGMA = re.compile(r"#\s*pragma:\s*no mutate\b(?P<rest>.*)$")
#: Statuses that mean a test noticed the mutant (a hang or a crash is noticed too).
DETECTED = ("killed", "timeout", "segfault")


@dataclass(frozen=True)
class Unkilled:
    """A mutant no test killed: where it is and what it changes."""

    file: str
    line: int
    function: str
    status: str
    removed: str
    added: str
    name: str


@dataclass(frozen=True)
class Excluded:
    """A source line kept out of mutation, with the reason written beside its pragma."""

    file: str
    line: int
    code: str
    reason: str


@dataclass(frozen=True)
class MutationResults:
    """Everything the report shows, as plain data."""

    counts: dict[str, Counter[str]]
    unkilled: list[Unkilled]
    excluded: list[Excluded]
    seconds: float
    workers: int
    mutmut: str


def excluded_lines(path: Path, name: str) -> list[Excluded]:
    """Every ``# pragma: no mutate`` line of the file ``path`` (reported as ``name``).

    The reason is the comment after the pragma, or, where it would not fit on the line, the
    comment lines just above; a pragma with neither has the reason ``""``, which the suite rejects.
    """
    found = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, text in enumerate(lines, start=1):
        match = PRAGMA.search(text)
        if not match:
            continue
        reason = match["rest"].strip().lstrip("#:").strip()
        above = number - 1
        while not reason and above > 0 and lines[above - 1].strip().startswith("#"):
            above -= 1
        if above < number - 1:
            reason = " ".join(ln.strip().lstrip("#").strip() for ln in lines[above : number - 1])
        found.append(Excluded(name, number, text[: match.start()].strip(), reason))
    return found


def _source_line(source: str, function: str, cls: str | None, old: list[str]) -> int:
    """The number of the line of ``cls.function`` (or module-level ``function``) that a mutant
    changes: the line reading ``old[-1]`` whose preceding lines read the rest of ``old`` (the
    diff's context), so a repeated line is told apart; the function's first line if none does."""
    body = ast.parse(source).body
    if cls is not None:
        body = next(n.body for n in body if isinstance(n, ast.ClassDef) and n.name == cls)
    node = next(n for n in body if isinstance(n, ast.FunctionDef) and n.name == function)
    lines = [line.strip() for line in source.splitlines()]
    span = range(node.lineno, (node.end_lineno or node.lineno) + 1)
    fits = [n for n in span if lines[n - 1] == old[-1]]
    context = [n for n in fits if lines[max(n - len(old), 0) : n] == old]
    return (context or fits or [node.lineno])[0]


def _changed_lines(diff: str) -> tuple[list[str], str]:
    """From a unified diff, stripped: the old side up to its first removed line (context
    included), and the first added line."""
    old: list[str] = []
    added = ""
    for line in diff.splitlines()[2:]:
        if line[:1] in (" ", "-") and not (old and old[-1][:1] == "-"):
            old.append(line)
        elif line[:1] == "+" and not added:
            added = line[1:].strip()
    if not old or old[-1][:1] != "-":
        old.append("-")
    return [line[1:].strip() for line in old], added


def collect(seconds: float, workers: int) -> MutationResults:
    """Read mutmut's results for every mutated file (the working directory is the repository)."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files
    from mutmut.utils.format_utils import orig_function_and_class_names_from_key

    counts: dict[str, Counter[str]] = {}
    unkilled, excluded = [], []
    for path in sorted(walk_mutatable_files()):
        name = path.as_posix()
        source = path.read_text(encoding="utf-8")
        excluded += excluded_lines(path, name)
        data = SourceFileMutationData(path=path)
        data.load()
        statuses = {key: status_by_exit_code[code] for key, code in data.exit_code_by_key.items()}
        counts[name] = Counter(statuses.values())
        for key, status in sorted(statuses.items()):
            if status == "killed":
                continue
            function, cls = orig_function_and_class_names_from_key(key)
            old, added = _changed_lines(get_diff_for_mutant(key, path=path))
            line = _source_line(source, function, cls, old)
            qualified = f"{cls}.{function}" if cls else function
            unkilled.append(Unkilled(name, line, qualified, status, old[-1], added, key))
    unkilled.sort(key=lambda u: (u.file, u.line, int(u.name.rpartition("_")[2])))
    return MutationResults(counts, unkilled, excluded, seconds, workers, metadata.version("mutmut"))


def run_mutmut(workers: int, resume: bool) -> float:
    """Run ``mutmut run`` in the repository; returns its wall time in seconds."""
    if not resume and SCRATCH.exists():
        shutil.rmtree(SCRATCH)
    start = time.perf_counter()
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(workers)]
    # The tests run inside mutants/, so the default data folder must stay the repository's.
    env = {"NPLEARN_DATA_DIR": str(REPO_ROOT / "data"), **os.environ}
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    """Command line: run mutmut, collect, write the report."""
    from verification.mutation_report import write_mutation_report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resume", action="store_true", help="keep the verdicts of mutants/")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    seconds = run_mutmut(args.max_children, args.resume)
    os.chdir(REPO_ROOT)
    write_mutation_report(args.output, collect(seconds, args.max_children), resumed=args.resume)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
