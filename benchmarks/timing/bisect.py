"""``--bisect GOOD BAD``: the first first-parent commit that made the training step slower.

Contract
--------
:func:`pair` is one A/B (:func:`.ab.compare`) of one commit's nplearn against another's, reduced
to a verdict and the interval of the worst configuration. :func:`bisect` confirms that BAD is
``slower`` than GOOD (if not: it says so, exit 0; undecided: exit 3), then bisects the
first-parent history with ``git rev-list --bisect-all``: each step times the midpoint against the
last commit known good; ``slower`` marks it bad, ``same``/``faster`` good, ``inconclusive`` (after
the engine's looks up to ``--budget``) or a midpoint that does not import is skipped, as ``git
bisect skip``. The candidate is then timed against its parent and named only when ``slower`` with
an interval that reaches the range's; else the range is *creep* and the measured steps with the
largest ratios are listed. Skips that leave several candidates name the range. The state is saved
atomically in the git folder after every step (``--resume`` continues it); worktrees live in a
temporary folder, removed on exit, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import json
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from benchmarks.timing import ab
from benchmarks.timing.conftest import MODES
from benchmarks.timing.sequential import BAD_INPUT, INCONCLUSIVE, OK, BenchError
from benchmarks.timing.steps import Config, configs
from nplearn.atomic import atomic_write_text

Pair = Callable[[str, str, Sequence[Config]], dict[str, Any]]


def rev(ref: str) -> str:
    found = ab.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode:
        raise BenchError(f"{ref!r}: no such commit, branch or tag in this repository")
    return found.stdout.strip()


def config(name: str) -> Config:
    """The timed configuration whose id is ``name``, e.g. ``relu-float32-b100``."""
    found = [c for c in configs(MODES["full"]["batches"]) if c.id == name]
    if not found:
        raise BenchError(f"--config {name!r}: not one of {', '.join(c.id for c in configs([1]))}"
                         " (any batch of the full run)")  # fmt: skip
    return found[0]


@contextmanager
def worktrees() -> Iterator[Callable[[str], Path]]:
    """A function giving the folder to import a commit's nplearn from; all removed on exit."""
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        made: dict[str, Path] = {}

        def tree(commit: str) -> Path:
            if commit not in made:
                (Path(tmp) / commit).mkdir()
                made[commit] = stack.enter_context(ab.baseline_tree(commit, Path(tmp) / commit))
            return made[commit]

        yield tree


def pair(trees: Callable[[str], Path], commit: str, against: str, configs: Sequence[Config],
         tolerance: float, budget: float) -> dict[str, Any]:  # fmt: skip
    """``commit`` against ``against``: verdict (``error`` when a side cannot run), worst ratio."""
    start = time.perf_counter()
    try:
        results = ab.compare(trees(against), trees(commit), configs, tolerance=tolerance,
                             budget=budget, labels=(against[:10], commit[:10]))  # fmt: skip
    except BenchError as exc:
        return {"commit": commit, "against": against, "verdict": "error", "why": str(exc),
                "seconds": time.perf_counter() - start}  # fmt: skip
    worst = max(results, key=lambda c: c.estimate.ratio)
    words = {"REGRESSION": "slower", "no regression": "same"}
    word = words.get(ab.overall(results), "inconclusive")
    e = worst.estimate
    return {"commit": commit, "against": against, "verdict": word, "config": worst.config.id,
            "slower": [c.config.id for c in results if c.verdict == "slower"],
            "ratio": e.ratio, "low": e.low, "high": e.high,
            "seconds": time.perf_counter() - start}  # fmt: skip


def text(s: dict[str, Any]) -> str:
    got = (f"{s['ratio']:.3f}x [{s['low']:.3f}, {s['high']:.3f}] ({s['config']})" if "ratio" in s
           else s["why"])  # fmt: skip
    return f"{s['commit'][:10]} vs {s['against'][:10]}: {s['verdict']} {got}, {s['seconds']:.0f} s"


def _steps_left(good: str, bad: str, skipped: set[str]) -> tuple[str | None, int]:
    """The best midpoint not skipped (None: nothing left to test) and git's estimate of steps."""
    span = [bad, "--not", good]
    listed = ab.git("rev-list", "--bisect-all", "--first-parent", *span).stdout.split("\n")
    left = ab.git("rev-list", "--bisect-vars", "--first-parent", *span).stdout
    steps = int(left.split("bisect_steps=")[1].split()[0]) if "bisect_steps=" in left else 0
    mid = next((line.split()[0] for line in listed if line and line.split()[0] not in skipped
                and line.split()[0] != bad), None)  # fmt: skip
    return mid, steps + 1 if mid else 0


def search(good: str, bad: str, measure: Pair, configs: Sequence[Config], state: dict[str, Any],
           save: Callable[[], None], say: Callable[[str], None] = print) -> int:  # fmt: skip
    """The bisection proper over ``state['steps']`` (resumed ones are not measured again)."""
    done = {(s["commit"], s["against"]): s for s in state["steps"]}

    def step(commit: str, against: str, cfgs: Sequence[Config]) -> dict[str, Any]:
        if (commit, against) not in done:
            done[commit, against] = measure(commit, against, cfgs)
            state["steps"].append(done[commit, against])
            save()
        return done[commit, against]

    first = step(bad, good, configs)
    say(f"endpoints: {text(first)}")
    if first["verdict"] != "slower":
        if first["verdict"] == "same":
            say(f"BISECT: BAD {bad[:10]} is not slower than GOOD {good[:10]}; nothing to bisect")
            return OK
        say("BISECT INCONCLUSIVE: could not tell whether BAD is slower than GOOD (--budget)")
        return BAD_INPUT if first["verdict"] == "error" else INCONCLUSIVE
    named = [c for c in configs if c.id in first["slower"]] or list(configs)
    skipped: set[str] = set()
    while True:
        mid, left = _steps_left(good, bad, skipped)
        if mid is None:
            break
        s = step(mid, good, named)
        if s["verdict"] == "slower":
            bad = mid
        elif s["verdict"] == "same":
            good = mid
        else:
            skipped.add(mid)
        say(f"step: {text(s)}; about {max(left - 1, 0)} steps left")
    candidates = ab.git("rev-list", "--first-parent", bad, "--not", good).stdout.split()[::-1]
    if len(candidates) > 1:
        say(f"BISECT: the first slower commit is one of {len(candidates)} (noise or skips): "
            f"{' '.join(c[:10] for c in candidates)}; range {good[:10]}..{bad[:10]}")
        return OK
    last = step(bad, good, named)
    if last["verdict"] == "slower" and last["high"] >= first["low"]:
        say(f"BISECT: first slower commit {bad[:10]}: {last['ratio']:.3f}x "
            f"[{last['low']:.3f}, {last['high']:.3f}] its parent's time ({last['config']})")
        return OK
    top = sorted((s for s in state["steps"] if "ratio" in s and s is not first),
                 key=lambda s: -s["ratio"])[:3]  # fmt: skip
    say(f"BISECT: CREEP: the range is slower ({first['ratio']:.3f}x [{first['low']:.3f}, "
        f"{first['high']:.3f}]) but no single commit carries it: {bad[:10]} against its parent "
        f"{last['ratio']:.3f}x [{last['low']:.3f}, {last['high']:.3f}] ({last['verdict']}); the "
        "largest ratios measured: " + "; ".join(text(s) for s in top))
    return OK


def bisect(good: str, bad: str, configs: Sequence[Config], tolerance: float, budget: float,
           resume: bool) -> int:  # fmt: skip
    """``--bisect GOOD BAD`` (see the contract); BenchError on bad input."""
    path = Path(ab.git("rev-parse", "--absolute-git-dir").stdout.strip()) / "nplearn-bisect.json"
    good, bad = rev(good), rev(bad)
    if good == bad or ab.git("merge-base", "--is-ancestor", good, bad).returncode:
        raise BenchError(f"--bisect: GOOD {good[:10]} is not an ancestor of BAD {bad[:10]}")
    key = {"good": good, "bad": bad, "configs": [c.id for c in configs], "tolerance": tolerance}
    state = {**key, "steps": []}
    if resume and path.exists():
        saved = json.loads(path.readtext(encoding="utf-8"))
        if {k: saved.get(k) for k in key} != key:
            raise BenchError(f"--resume: {path} holds another bisect ({saved.get('good')}..)")
        state = saved
    ab.git("worktree", "prune")  # leftovers of a killed run
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(INCONCLUSIVE))  # so worktrees are removed
    with worktrees() as trees:

        def measure(commit: str, against: str, cfgs: Sequence[Config]) -> dict[str, Any]:
            return pair(trees, commit, against, cfgs, tolerance, budget)

        return search(good, bad, measure, configs, state,
                      lambda: atomic_write_text(path, json.dumps(state, indent=1)))  # fmt: skip
