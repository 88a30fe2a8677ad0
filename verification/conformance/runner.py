"""Run the checks on a target: each in a child process with a time limit, never raising.

Contract
--------
:func:`run_row` gives one row's :class:`Result`: ``not present`` when the target lacks a factory
the row needs; otherwise the check runs in a forked child process (Linux and macOS; elsewhere in
this process, without a limit) with NumPy warnings silenced, and the row is ``error: timed out``
when the child outlives ``timeout`` seconds (it is killed), ``error`` with the message of a
:class:`~verification.conformance.calls.CheckError`, or with the type and first line of any other
exception, or of a child that died; an exception raised by the library also gives ``where``, the
``file:line`` it was raised at (:func:`where`), and the fixed example it was raised on
(:func:`~verification.conformance.judge.judge`) as the row's counterexample. :func:`run_checks`
runs every row of :func:`~verification.conformance.checks.rows` in order. PyTorch is imported
before forking, so that children share it instead of importing it each.
"""

from __future__ import annotations

import multiprocessing
import sys
import sysconfig
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from verification.conformance import oracle
from verification.conformance.calls import CheckError
from verification.conformance.checks import Row, rows
from verification.conformance.result import ERROR, NOT_PRESENT, Result
from verification.conformance.target import Target

__all__ = ["DEFAULT_TIMEOUT", "ChildFailed", "in_child", "run_checks", "run_row", "where"]

DEFAULT_TIMEOUT = 30.0


def _first_line(exc: BaseException) -> str:
    line = (str(exc).strip().splitlines() or [""])[0]
    return line if isinstance(exc, CheckError) else f"{type(exc).__name__}: {line}".rstrip(": ")


def _folders() -> tuple[str, ...]:
    """Folders whose frames are not the library's: the suite's checks, the standard library,
    and the numerical packages the library calls."""
    import scipy

    packages = (np, scipy, oracle.torch())
    return (str(Path(__file__).parent), sysconfig.get_paths()["stdlib"],
            *(str(Path(m.__file__).parent) for m in packages))


def where(exc: BaseException) -> str | None:
    """``file:line`` of the innermost frame of ``exc``'s traceback in the library or its
    adapter (None for the suite's own :class:`CheckError`); the file relative to the longest
    ``sys.path`` entry holding it, else its name."""
    if isinstance(exc, CheckError):
        return None
    frames = traceback.extract_tb(exc.__traceback__)
    outside = [f for f in frames if not f.filename.startswith(_folders())]
    if not outside:
        return None
    frame = outside[-1]
    path = Path(frame.filename).resolve()
    roots = [Path(p or ".").resolve() for p in sys.path]
    holding = [r for r in roots if r in path.parents]
    name = path.relative_to(max(holding, key=lambda r: len(r.parts))) if holding else path.name
    return f"{name}:{frame.lineno}"


def _run_here(row: Row, target: Target) -> Result:
    try:
        with np.errstate(all="ignore"):
            return row.check.run(target, row.piece)
    except Exception as exc:
        return Result(row.piece, row.check.name, ERROR, detail=_first_line(exc),
                      counterexample=getattr(exc, "example", None), where=where(exc))


class ChildFailed(Exception):
    """The child process timed out (message ``"timed out"``) or died."""


def _child(fn: Callable[[], Any], conn: Any) -> None:
    try:
        conn.send((True, fn()))
    except BaseException as exc:  # the message must reach the parent, whatever it was
        conn.send((False, _first_line(exc)))
    finally:
        conn.close()


def in_child(fn: Callable[[], Any], timeout: float) -> Any:
    """``fn()`` run in a forked child killed after ``timeout`` s (here, if fork is missing).

    Raises:
        ChildFailed: ``"timed out"``, the child died, or ``fn`` raised (its first line).
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        try:
            return fn()
        except Exception as exc:
            raise ChildFailed(_first_line(exc)) from exc
    oracle.torch()
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(fn, send), daemon=True)
    process.start()
    send.close()
    try:
        if receive.poll(timeout):
            ok, value = receive.recv()
            if ok:
                return value
            raise ChildFailed(value)
        if process.is_alive():
            raise ChildFailed("timed out")
        raise EOFError
    except EOFError:
        raise ChildFailed(f"the check's process died (exit code {process.exitcode})") from None
    finally:
        receive.close()
        if process.is_alive():
            process.kill()
        process.join()


def run_row(row: Row, target: Target, timeout: float = DEFAULT_TIMEOUT) -> Result:
    """The row's result (see the module contract); never raises for the library's faults."""
    if not row.present(target):
        return Result(row.piece, row.check.name, NOT_PRESENT,
                      detail=f"no {', '.join(row.missing(target))}")
    try:
        return in_child(lambda: _run_here(row, target), timeout)
    except ChildFailed as exc:
        return Result(row.piece, row.check.name, ERROR, detail=str(exc))


def run_checks(
    target: Target, timeout: float = DEFAULT_TIMEOUT, selected: Iterable[Row] | None = None
) -> list[Result]:
    """Every row's result for ``target``, in card order."""
    return [run_row(row, target, timeout) for row in (rows() if selected is None else selected)]
