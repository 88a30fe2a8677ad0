"""Unit tests of --bisect (fake A/B outcomes on a throwaway git history), --baseline-env's bad
input and the history file (atomic append, corrupt lines, change points on synthetic rows)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from benchmarks.timing import __main__ as cli
from benchmarks.timing import ab, bisect, history
from benchmarks.timing.sequential import BenchError


@pytest.fixture
def commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A linear history of 13 empty commits (0 = GOOD, 12 = BAD) that ``ab.git`` works in."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.setattr(ab, "ROOT", tmp_path)
    for k in range(13):
        ab.git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty",
               "-m", str(k))  # fmt: skip
    return ab.git("rev-list", "--reverse", "HEAD").stdout.split()


def run(commits: list[str], factor: dict[int, float], broken: set[int] = frozenset()) -> str:
    """:func:`bisect.search` with an A/B that sees the true ratio to within 0.5%."""
    speed = {c: 1.0 for c in commits}
    for k, c in enumerate(commits):
        speed[c] = speed[commits[k - 1]] * factor.get(k, 1.0) if k else 1.0

    def measure(commit: str, against: str, configs: Any) -> dict[str, Any]:
        r = speed[commit] / speed[against]
        word = "slower" if r > 1.015 else "same" if r < 1.01 else "inconclusive"
        if commits.index(commit) in broken:
            return {"commit": commit, "against": against, "verdict": "error", "why": "broken",
                    "seconds": 1.0}  # fmt: skip
        return {"commit": commit, "against": against, "verdict": word, "config": "c",
                "slower": ["c"] * (word == "slower"), "ratio": r, "low": r * 0.995,
                "high": r * 1.005, "seconds": 1.0}  # fmt: skip

    said: list[str] = []
    state: dict[str, Any] = {"steps": []}
    bisect.search(commits[0], commits[-1], measure, [], state, lambda: None, said.append)
    assert all("steps left" in line for line in said if line.startswith("step:"))
    return said[-1]


def test_bisect_names_the_culprit(commits: list[str]) -> None:
    assert run(commits, {7: 1.05}).startswith(f"BISECT: first slower commit {commits[7][:10]}")


def test_skipped_and_undecided_midpoints_leave_an_honest_range(commits: list[str]) -> None:
    last = run(commits, {7: 1.05, 5: 1.012}, broken={6})
    assert "one of 3" in last and all(commits[k][:10] in last for k in (5, 6, 7))


def test_creep_is_reported_not_a_culprit(commits: list[str]) -> None:
    last = run(commits, {3: 1.02, 5: 1.02, 7: 1.02, 9: 1.02})
    assert last.startswith("BISECT: CREEP") and "first slower commit" not in last


def test_identical_code_is_never_a_culprit(commits: list[str]) -> None:
    assert "is not slower" in run(commits, {})


@pytest.mark.parametrize(
    ("argv", "words"),
    [(["--bisect", "HEAD", "HEAD~1"], "not an ancestor"),
     (["--bisect", "no-such-ref", "HEAD"], "no such commit"),
     (["--bisect", "HEAD~1", "HEAD", "--config", "relu"], "--config"),
     (["--quick", "--baseline-env", "/no/such/python"], "no such interpreter"),
     (["--quick", "--baseline-env", "/usr/bin/python3"], "cannot run the timing")],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line(argv: list[str], words: str, capsys: Any) -> None:
    if "/usr/bin/python3" in argv and not Path("/usr/bin/python3").exists():
        pytest.skip("no system Python to stand for an interpreter without numpy")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]


def row(k: int, ratio: float, config: str = "relu-float32-b16") -> dict[str, Any]:
    return {"date": f"2026-01-{k + 1:02d}", "commit": f"c{k}", "cpu": "x", "kernel": "k",
            "config": config, "ratio": ratio, "low": ratio * 0.99, "high": ratio * 1.01}


def test_history_appends_atomically_and_refuses_a_corrupt_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    path = tmp_path / history.FILE
    history.append(path, [row(0, 1.2)])
    history.append(path, [row(1, 1.3), row(2, 1.25)])
    assert [r["ratio"] for r in history.read(path)] == [1.2, 1.3, 1.25]
    before = path.read_bytes()
    monkeypatch.setattr(history.json, "dumps", lambda *a: 1 / 0)  # fails mid-write
    with pytest.raises(ZeroDivisionError):
        history.append(path, [row(3, 1.0)])
    monkeypatch.undo()
    path.write_bytes(before + b'{"date": "x", "ratio": 1}\n')
    with pytest.raises(BenchError, match="line 4"):
        history.append(path, [row(3, 1.0)])
    assert path.read_bytes() == before + b'{"date": "x", "ratio": 1}\n'
    assert cli.main(["--reports", str(tmp_path)]) == 2  # stops before any timing
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "line 4" in err[0]


def test_change_points_find_a_step_and_creep_but_not_noise() -> None:
    noise = [1.0, 1.004, 0.997, 1.002, 0.999, 1.003, 0.998, 1.001]
    flat = [row(k, 1.3 * n) for k, n in enumerate(noise)]
    assert history.changes(flat, 0.03) == []
    step = [row(k, 1.3 * n * (1.08 if k >= 5 else 1)) for k, n in enumerate(noise)]
    kinds = {(c.kind, c.older, c.newer) for c in history.changes(step, 0.03)}
    assert kinds == {("step", "c4", "c5"), ("creep", "c0", "c7")}
    creep = [row(k, 1.3 * 1.006**k) for k in range(8)]
    assert [c.kind for c in history.changes(creep, 0.03)] == ["creep"]
    other = [{**r, "kernel": "other"} for r in step[:5]] + flat[5:]
    assert history.changes(other, 0.03) == []  # another kernel's rows are not compared


def test_history_lines_sort_by_date(tmp_path: Path) -> None:
    path = tmp_path / history.FILE
    history.append(path, [row(1, 1.2), row(0, 1.1)])
    lines = sorted(path.read_text().splitlines())
    assert [json.loads(line)["commit"] for line in lines] == ["c0", "c1"]
