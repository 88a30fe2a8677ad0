"""Unit tests of --bisect (fake A/B outcomes on a throwaway git history), the command line's bad
input, the history file (atomic append, corrupt lines) and its change points on synthetic rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.timing import __main__ as cli
from benchmarks.timing import ab, bisect, history
from benchmarks.timing.sequential import BenchError, Estimate


@pytest.fixture
def commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A linear history of 13 empty commits (0 = GOOD, 12 = BAD) that ``ab.git`` works in."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.setattr(ab, "ROOT", tmp_path)
    for k in range(13):
        ab.git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty",
               "-m", str(k))  # fmt: skip
    return ab.git("rev-list", "--reverse", "HEAD").stdout.split()


def run(commits: list[str], factor: dict[int, float], broken: Any) -> str:
    """:func:`bisect.search`'s verdict with an A/B that sees the true ratio to within 0.5%."""
    speed = {c: float(np.prod([factor.get(j, 1.0) for j in range(k + 1)]))
             for k, c in enumerate(commits)}  # fmt: skip

    def measure(commit: str, against: str, configs: Any) -> dict[str, Any]:
        r = speed[commit] / speed[against]
        word = ("slower" if r > 1.015 else "faster" if r < 0.985 else "same" if r < 1.01
                else "inconclusive")  # fmt: skip
        return {"commit": commit, "against": against, "seconds": 1.0, "config": "c"} | (
            {"verdict": "error", "why": "broken"} if commits.index(commit) in broken else
            {"verdict": word, "slower": [], "ratio": r, "low": r * 0.995, "high": r * 1.005})

    said: list[str] = []
    bisect.search(commits[0], commits[-1], measure, [], {"steps": []}, lambda: None, said.append)
    assert all("steps left" in line for line in said if line.startswith("step:"))
    return said[-1]


@pytest.mark.parametrize(
    ("factor", "broken", "expect"),
    [({7: 1.05}, (), "BISECT: first slower commit {7}"),
     ({7: 1.05, 5: 1.012}, (6,), "one of 3 (skipped or undecided): {5} {6} {7}"),
     ({3: 1.02, 5: 1.02, 7: 1.02, 9: 1.02}, (), "BISECT: CREEP"),
     ({4: 0.95, 7: 1.12}, (), "BISECT: first slower commit {7}"),
     ({}, (), "BISECT: BAD {12} is not slower")],
)  # fmt: skip
def test_bisect(commits: list[str], factor: dict[int, float], broken: Any, expect: str) -> None:
    """A culprit (also after a faster commit, whose midpoints read faster, i.e. good); a skip and
    an undecided step leave a range; creep and identical code name none."""
    last = run(commits, factor, broken)
    assert expect.format(*(c[:10] for c in commits)) in last
    culprit = 7 in factor and 3 not in factor and not broken
    assert ("BISECT: first slower commit" in last) == culprit


@pytest.mark.parametrize(("verdicts", "word"), [
    (["faster", "faster"], "faster"), (["faster", "same"], "same"), (["same", "same"], "same"),
    (["faster", "slower"], "slower"), (["faster", "inconclusive"], "inconclusive")])  # fmt: skip
def test_pair_says_faster_only_when_every_configuration_is(
    verdicts: list[str], word: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pair's word is the A/B's overall one; ``faster`` needs every configuration faster."""
    ratios = {"faster": 0.9, "same": 1.0, "slower": 1.1, "inconclusive": 1.02}
    ids = ["relu-float32-b16", "relu-float32-b100"]
    results = [ab.Comparison(bisect.CONFIGS[k], Estimate(ratios[v], ratios[v] - 0.01,
               ratios[v] + 0.01, 6, 0.01, 1.0), v, 1.0, 1.0, 0.03)
               for k, v in zip(ids, verdicts, strict=True)]  # fmt: skip
    monkeypatch.setattr(ab, "compare", lambda *a, **k: results)
    assert bisect.pair(lambda c: Path(c), "b" * 40, "a" * 40, [], 0.03, 1.0)["verdict"] == word


OPTIONS = [["--budget", "0"], ["--budget", "-5"], ["--budget", "soon"], ["--tolerance", "0"],
           ["--tolerance", "0.5"], ["--tolerance", "nan"], ["--runs", "0"], ["--plant", "-0.1"]]


@pytest.mark.parametrize(
    ("argv", "words"),
    [*((argv, argv[0]) for argv in OPTIONS),
     (["--bisect", "HEAD", "HEAD~1"], "not an ancestor"),
     (["--bisect", "no-such-ref", "HEAD"], "no such commit"),
     (["--bisect", "HEAD~1", "HEAD", "--config", "relu"], "--config"),
     (["--quick", "--baseline", "EMPTY"], "no nplearn package folder"),
     (["--quick", "--baseline-env", "/no/such/python"], "no such interpreter"),
     (["--quick", "--baseline-env", "venv/bin/python"], "No module named 'numpy'")],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line(argv: list[str], words: str, capsys: Any,
                                         tmp_path: Path) -> None:  # fmt: skip
    if "venv/bin/python" in argv:  # a Python without numpy
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp_path / "venv"])
        argv = [*argv[:-1], str(tmp_path / argv[-1])]
    if "EMPTY" in argv:  # a commit without nplearn
        empty = ab.git("hash-object", "-t", "tree", "/dev/null").stdout.strip()
        argv = [*argv[:-1], ab.git("commit-tree", empty, "-m", "no nplearn").stdout.strip()]
    try:
        status = cli.main(argv)
    except SystemExit as exit_:  # argparse's errors
        status = exit_.code
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and words in err[0] and "Traceback" not in err[0]


def row(k: int, ratio: float) -> dict[str, Any]:
    return {"date": f"2026-01-{k + 1:02d}", "commit": f"c{k}", "cpu": "x", "kernel": "k",
            "config": "relu-float32-b16", "ratio": ratio, "low": ratio * 0.99, "high": ratio * 1.01}


def test_history_append_is_atomic_and_refuses_a_corrupt_file(tmp_path: Path, monkeypatch: Any,
                                                              capsys: Any) -> None:  # fmt: skip
    path = tmp_path / history.FILE
    history.append(path, [row(2, 1.2)])
    history.append(path, [row(0, 1.3), row(1, 1.25)])
    assert [r["ratio"] for r in history.read(path)] == [1.2, 1.3, 1.25]
    lines = sorted(path.read_text().splitlines())  # by date
    assert [json.loads(x)["commit"] for x in lines] == ["c0", "c1", "c2"]
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
    kinds = {(kind, a["commit"], b["commit"]) for kind, a, b in history.changes(step, 0.03)}
    assert kinds == {("step", "c4", "c5"), ("creep", "c0", "c7")}
    creep = [row(k, 1.3 * 1.006**k) for k in range(8)]
    assert [kind for kind, *_ in history.changes(creep, 0.03)] == ["creep"]
    other = [{**r, "kernel": "other"} for r in step[:5]] + flat[5:]
    assert history.changes(other, 0.03) == []  # another kernel's rows are not compared


