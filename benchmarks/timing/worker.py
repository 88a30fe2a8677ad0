"""A timing worker: one process that builds training steps and times blocks of them.

Contract
--------
``python -m benchmarks.timing.worker`` pins itself to ``$NPLEARN_BENCH_CORE`` before any library
starts a thread (:func:`benchmarks.threads.pin`) and every BLAS/OpenMP pool to
``$NPLEARN_BENCH_THREADS``, holds a random :data:`PAD` of heap (where a build's arrays land is so
sampled per process, not fixed by the modules the build imports), imports the nplearn its
``PYTHONPATH`` puts first (one worker per version or ``OPENBLAS_CORETYPE``), then answers a JSON
line on stdout per JSON request line on stdin:

- first, unasked: ``{"ready": {"nplearn": file, "numpy": version, "blas": [pools], "affinity":
  text}}``, or ``{"error": message}`` and exit 1 when nplearn or numpy cannot be imported;
- ``{"build": [impl, net, dtype, batch]}``: build that step (once per process: memory layout is
  sampled by starting fresh processes); ``{"seconds": s}`` per step after a warm-up;
- ``{"check": [impl, net, dtype, batch]}``: :func:`.steps.assert_same_step`; ``{"checked": true}``;
- ``{"time": key, "steps": n, "chunks": k}``: ``k`` chunks of ``n`` steps, garbage collector off,
  on the configuration's clock; ``{"times": [...]}`` in seconds per step, one per chunk.

A failing request answers ``{"error": message}`` and the worker keeps serving.
"""

from __future__ import annotations

import gc
import json
import random
import sys
import time
import traceback
from typing import Any

from benchmarks.threads import affinity, default_threads, pin

PAD = 1 << 16  #: Up to this many bytes, in whole 64-byte cache lines.


def _chunks(step: Any, steps: int, chunks: int, clock: Any) -> list[float]:
    out = []
    gc.disable()
    try:
        for _ in range(chunks):
            start = clock()
            for _ in range(steps):
                step()
            out.append((clock() - start) / steps)
    finally:
        gc.enable()
    return out


def serve() -> int:
    pin()  # unpinned when it cannot be: the parent process said so once
    pad = bytearray(64 * random.randrange(PAD // 64))  # held for the process's life
    try:
        import numpy
        from threadpoolctl import threadpool_info, threadpool_limits

        import nplearn
        from benchmarks.timing.config import Config
        from benchmarks.timing.steps import assert_same_step, make_step

        limits = threadpool_limits(limits=default_threads())  # held for the process's life
        ready = {"nplearn": nplearn.__file__, "numpy": numpy.__version__, "blas": threadpool_info(),
                 "affinity": affinity()}  # fmt: skip
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    print(json.dumps({"ready": ready}), flush=True)
    built: dict[tuple[Any, ...], Any] = {}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if "check" in request:
                assert_same_step(request["check"][0], Config(*request["check"][1:]))
                answer: dict[str, Any] = {"checked": True}
            elif "build" in request:
                key = tuple(request["build"])
                if key not in built:
                    built[key] = make_step(key[0], Config(*key[1:]))
                # a warm-up chunk of 3 steps, then the fastest of 3 more chunks
                answer = {"seconds": min(_chunks(built[key], 3, 4, time.perf_counter)[1:])}
            else:
                key = tuple(request["time"])
                clock = Config(*key[1:]).clock
                answer = {"times": _chunks(built[key], request["steps"], request["chunks"], clock)}
        except Exception as exc:
            answer = {"error": "".join(traceback.format_exception_only(exc)).strip()}
        print(json.dumps(answer), flush=True)
    del limits, pad
    return 0


if __name__ == "__main__":
    sys.exit(serve())
