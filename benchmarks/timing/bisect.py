"""``--bisect GOOD BAD``: the first first-parent commit whose nplearn is slower.

:func:`pair` is one :func:`.ab.compare` of two commits (``slower``, ``same``, ``faster`` when every
configuration is, ``inconclusive`` or ``error``; the worst configuration's interval). :func:`search`
confirms BAD slower than GOOD (else says so, 0; undecided, 3), then times each ``git rev-list
--bisect-all --first-parent`` midpoint against the last good commit, skipping an undecided or broken
one (``git bisect skip``). The last candidate is named only when slower than its parent with an
interval reaching the range's and at least half its log ratio, else it is *creep*; skips leaving
several candidates name the range.
:func:`bisect` saves the state after each step (``--resume``); its worktrees go on exit or SIGTERM.
"""

from __future__ import annotations

import json
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from benchmarks.timing import ab
from benchmarks.timing.config import Config, configs
from benchmarks.timing.conftest import MODES
from benchmarks.timing.sequential import BAD_INPUT, INCONCLUSIVE, OK, BenchError
from nplearn.atomic import atomic_write_text

Step = dict[str, Any]
NOT_SLOWER = ("same", "faster")  #: :func:`pair`'s verdicts that make a commit good.
CONFIGS = {c.id: c for c in configs(MODES["full"]["batches"])}  #: By id: ``relu-float32-b100``.


@contextmanager
def worktrees() -> Iterator[Callable[[str], Path]]:
    """A function giving the folder to import a commit's nplearn from; all removed on exit."""
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        yield cache(lambda commit: stack.enter_context(ab.baseline_tree(commit, Path(tmp))))


def pair(trees: Callable[[str], Path], commit: str, against: str, cfgs: Sequence[Config],
         tolerance: float, budget: float) -> Step:  # fmt: skip
    """``commit``'s nplearn timed against ``against``'s (see the contract)."""
    out: Step = {"commit": commit, "against": against, "start": time.perf_counter()}
    try:
        results = ab.compare(trees(against), trees(commit), cfgs, tolerance=tolerance,
                             budget=budget, labels=(against[:10], commit[:10]))  # fmt: skip
        worst = max(results, key=lambda c: c.estimate.ratio)
        # "faster" only when every configuration is: a history candidate whose ratio moved
        # because the floor got faster must not read "same" beside an interval below 1.
        fast = "faster" if all(c.verdict == "faster" for c in results) else "same"
        e, word = worst.estimate, {"REGRESSION": "slower", "no regression": fast}
        out |= {"verdict": word.get(ab.overall(results), "inconclusive"), "ratio": e.ratio,
                "low": e.low, "high": e.high, "config": worst.config.id,
                "slower": [c.config.id for c in results if c.verdict == "slower"]}  # fmt: skip
    except BenchError as exc:
        out |= {"verdict": "error", "why": str(exc)}
    return out | {"seconds": time.perf_counter() - out.pop("start")}


def text(s: Step) -> str:
    got = (f"{s['ratio']:.3f}x [{s['low']:.3f}, {s['high']:.3f}] {s['config']}" if "ratio" in s
           else s["why"])  # fmt: skip
    return f"{s['commit'][:10]} vs {s['against'][:10]}: {s['verdict']} {got}, {s['seconds']:.0f} s"


def search(good: str, bad: str, measure: Callable[[str, str, Sequence[Config]], Step],
           cfgs: Sequence[Config], state: dict[str, Any], save: Callable[[], None],
           say: Callable[[str], None] = print) -> int:  # fmt: skip
    """The bisection over ``state['steps']`` (steps already there are not measured again)."""
    done = {(s["commit"], s["against"]): s for s in state["steps"]}

    def step(commit: str, against: str, chosen: Sequence[Config]) -> Step:
        if (commit, against) not in done:
            done[commit, against] = measure(commit, against, chosen)
            state["steps"].append(done[commit, against])
            save()
        return done[commit, against]

    first, skipped = step(bad, good, cfgs), set[str]()
    say(f"endpoints: {text(first)}")
    if first["verdict"] in NOT_SLOWER:
        say(f"BISECT: BAD {bad[:10]} is not slower than GOOD {good[:10]}")
        return OK
    if first["verdict"] != "slower":
        say("BISECT INCONCLUSIVE: could not tell whether BAD is slower than GOOD (--budget)")
        return BAD_INPUT if first["verdict"] == "error" else INCONCLUSIVE
    cfgs = [c for c in cfgs if c.id in first["slower"]] or cfgs
    while True:
        span = [bad, "--not", good]
        listed = ab.git("rev-list", "--bisect-all", "--first-parent", *span).stdout.split("\n")
        mid = next((x for x in (line[:40] for line in listed) if x and x != bad
                    and x not in skipped), None)  # fmt: skip
        if mid is None:
            break
        s = step(mid, good, cfgs)
        if s["verdict"] == "slower":
            bad = mid
        elif s["verdict"] in NOT_SLOWER:
            good = mid
        else:
            skipped.add(mid)
        left = ab.git("rev-list", "--bisect-vars", "--first-parent", *span).stdout
        say(f"step: {text(s)}; about {left.split('bisect_steps=')[1].split()[0]} steps left")
    range_ = ab.git("rev-list", "--first-parent", bad, "--not", good).stdout.split()[::-1]
    if len(range_) > 1:
        say(f"BISECT: the first slower commit is one of {len(range_)} (skipped or undecided): "
            f"{' '.join(c[:10] for c in range_)}")
        return OK
    last = step(bad, good, cfgs)
    carries = last["high"] >= first["low"] and last["ratio"] ** 2 >= first["ratio"]  # most of it
    if last["verdict"] == "slower" and carries:
        subject = ab.git("log", "-1", "--format=%s", bad).stdout.strip()
        say(f"BISECT: first slower commit {bad[:10]} ({subject}): {text(last)}, against its parent")
        return OK
    top = sorted((s for s in done.values() if "ratio" in s and s is not first),
                 key=lambda s: -s["ratio"])[:3]  # fmt: skip
    say(f"BISECT: CREEP: the range is slower ({text(first)}) but no single commit carries it: "
        f"{text(last)}; the largest ratios measured: " + "; ".join(map(text, top)))
    return OK


def bisect(good: str, bad: str, cfgs: Sequence[Config], tolerance: float, budget: float,
           resume: bool) -> int:  # fmt: skip
    """``--bisect GOOD BAD`` (see the contract); BenchError on bad input."""
    path = Path(ab.git("rev-parse", "--absolute-git-dir").stdout.strip()) / "nplearn-bisect.json"
    good, bad = (ab.named(ref, "--bisect") for ref in (good, bad))
    if good == bad or ab.git("merge-base", "--is-ancestor", good, bad).returncode:
        raise BenchError(f"--bisect: GOOD {good[:10]} is not an ancestor of BAD {bad[:10]}")
    state = {"good": good, "bad": bad, "configs": [c.id for c in cfgs], "tolerance": tolerance}
    saved = json.loads(path.read_text(encoding="utf-8")) if resume and path.exists() else {}
    if saved and {k: saved[k] for k in state} != state:
        raise BenchError(f"--resume: {path} holds another bisect ({saved['good'][:10]}..)")
    state["steps"] = saved.get("steps", [])
    ab.git("worktree", "prune")  # leftovers of a killed run
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(INCONCLUSIVE))  # so worktrees are removed
    with worktrees() as trees:
        return search(good, bad, lambda c, a, cf: pair(trees, c, a, cf, tolerance, budget), cfgs,
                      state, lambda: atomic_write_text(path, json.dumps(state)))  # fmt: skip
