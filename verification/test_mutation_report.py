"""The mutation report's inputs and rendering (``nox -s mutants`` itself is not run here).

- Every ``# pragma: no mutate`` in the library is a single-line exclusion with its reason written
  beside it (or on the comment line above, where the line is full): no block, start or end form,
  so no mutant is dropped without a stated reason.
- The report shows each file's score, each mutant no test killed with its one-line change and a
  reason, and each excluded line with its reason.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from verification.mutation_report import render
from verification.mutation_run import REPO_ROOT, Excluded, MutationResults, Unkilled, excluded_lines

LIBRARY = REPO_ROOT / "nplearn"


def test_every_pragma_in_the_library_gives_a_reason() -> None:
    """A pragma without a reason, or one that excludes a whole block, is refused."""
    for path in sorted(LIBRARY.glob("*.py")):
        for found in excluded_lines(path, path.name):
            where = f"{found.file}:{found.line}"
            assert len(found.reason) >= 10, f"{where}: the pragma needs a reason beside it"
            assert not re.match(r"(block|start|end)\b", found.reason), f"{where}: block pragma"


def test_excluded_lines_reads_code_and_reason(tmp_path: Path) -> None:
    """The code before the pragma and the reason after it (or in the comment above) are kept."""
    path = tmp_path / "m.py"
    path.write_text(
        "a = 1\nb = a + 1  # pragma: no mutate  # equivalent: reason here\n"
        "# equivalent: a reason too long\n# for the line\nc = b  # pragma: no mutate\n"
        "d = c  # pragma: no mutate\n"
    )
    assert excluded_lines(path, "m.py") == [
        Excluded("m.py", 2, "b = a + 1", "equivalent: reason here"),
        Excluded("m.py", 5, "c = b", "equivalent: a reason too long for the line"),
        Excluded("m.py", 6, "d = c", ""),
    ]


def test_render_shows_scores_survivors_and_exclusions() -> None:
    """Per-file scores (with the total), every unkilled mutant, every excluded line."""
    results = MutationResults(
        counts={"nplearn/a.py": Counter(killed=9, survived=1), "nplearn/b.py": Counter(killed=5)},
        unkilled=[Unkilled("nplearn/a.py", 7, "f", "survived", "x + 1", "x - 1", "x_f__mutmut_1")],
        excluded=[Excluded("nplearn/b.py", 3, "y = x", "equivalent: only a copy")],
        seconds=90.0,
        workers=2,
        mutmut="3.8.1",
    )
    text = render(results, resumed=False)
    assert "| `nplearn/a.py` | 10 | 9 | 0 | 1 | 0 | 0 | 90.0% |" in text
    assert "| **all** | 15 | 14 | 0 | 1 | 0 | 0 | 93.3% |" in text
    assert "`nplearn/a.py:7` | `f` | survived | `x + 1` -> `x - 1`" in text
    assert "| `nplearn/b.py:3` | `y = x` | equivalent: only a copy |" in text
    assert "**1 not detected**" in text and "1.5 min on 2 workers (fresh run)" in text
