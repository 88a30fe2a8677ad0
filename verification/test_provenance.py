"""Tests of verification.provenance: the facts every report header carries; it never fails."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import threadpoolctl

from nplearn.doctor import versions
from verification import provenance as prov

COMMIT = re.compile(r"^([0-9a-f]{4,40}(-dirty)?|unknown)$")


def test_keys_and_values() -> None:
    info = prov.provenance()
    assert list(info)[:2] == ["date", "commit"]
    facts = {k: v for k, v in info.items() if k not in ("date", "commit")}
    assert facts == versions(prov.SUITE_PACKAGES)  # the library's "show versions" is the source
    assert list(facts)[5:8] == list(prov.SUITE_PACKAGES)
    assert all(isinstance(value, str) and value for value in info.values())
    assert COMMIT.match(info["commit"]), info["commit"]
    date = datetime.fromisoformat(info["date"])
    assert date.utcoffset() == UTC.utcoffset(None)
    assert abs((datetime.now(UTC) - date).total_seconds()) < 60


def test_seeds_and_extra_items() -> None:
    assert prov.provenance(seeds=7)["seeds"] == "7"
    assert prov.provenance(seeds=[0, 1, 2])["seeds"] == "0, 1, 2"
    info = prov.provenance(seeds={"init": 1, "split": 2}, extra={"epochs": 10, "data": "mnist"})
    assert info["seeds"] == "init=1, split=2"
    assert list(info)[-2:] == ["epochs", "data"] and info["epochs"] == "10"
    assert "seeds" not in prov.provenance()


def test_markdown_table() -> None:
    info = prov.provenance(seeds=[3], extra={"note": "a|b\nc"})
    text = prov.provenance_markdown(info)
    lines = text.strip().splitlines()
    assert lines[:2] == ["| item | value |", "| --- | --- |"]
    assert len(lines) == 2 + len(info)
    assert "| commit |" in text and "| BLAS |" in text
    assert "| note | a\\|b<br>c |" in text
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines)


def test_commit_unknown_outside_a_checkout(tmp_path: Path) -> None:
    assert prov.git_commit(tmp_path) == "unknown"


def test_never_fails_without_git_or_threadpoolctl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")  # no git executable to be found

    def broken() -> list[dict[str, object]]:
        raise RuntimeError("no pools")

    monkeypatch.setattr(threadpoolctl, "threadpool_info", broken)
    info = prov.provenance()
    assert info["commit"] == "unknown"
    assert info["BLAS"].startswith("unknown (RuntimeError: no pools)")


def test_commit_of_a_scratch_repository(tmp_path: Path) -> None:
    # A throwaway repository in tmp_path; the project's own repository is never touched.
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    assert prov.git_commit(tmp_path) == "unknown"  # no commit yet
    (tmp_path / "a.txt").write_text("1")
    git("add", "a.txt")
    git("commit", "-q", "-m", "first")
    head = git("rev-parse", "--short", "HEAD")
    (tmp_path / "untracked.md").write_text("a new report")
    assert prov.git_commit(tmp_path) == head  # untracked files are not "dirty"
    (tmp_path / "a.txt").write_text("2")
    assert prov.git_commit(str(tmp_path)) == f"{head}-dirty"
