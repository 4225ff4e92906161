"""Run independent commands side by side, each output line prefixed with the command's name.

``make test`` uses it to run the unit tests while the chapters execute in quick mode: each of the
two keeps about one core busy (the unit tests are one pytest process, the chapters one kernel at a
time), so on a two-core machine running them together takes about as long as the longer of the
two instead of their sum.

Every command runs to its end even when another fails, so one run reports all failures. The exit
status is 0 when every command exits 0, otherwise the status of the first failing command in the
order given (pytest's 5, "no tests collected", passes through unchanged). A command that cannot be
started counts as exit 127. Ctrl-C or SIGTERM stops every command (its whole process group).

The last lines printed are one summary line per command, ``[together] <name>: exit <code> after
<seconds> s``, which :mod:`ifl_utils.ci_time` reads to time each side.

Usage::

    python -m ifl_utils.together "unit tests=pytest tests -q" "chapters=ifl run --mode quick"
"""
from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

#: Prefix of the summary lines printed after every command has ended.
SUMMARY_TAG = "[together]"


@dataclass(frozen=True)
class Outcome:
    """How one command ended: its name, exit status and wall-clock seconds."""

    name: str
    returncode: int
    seconds: float


def parse_command(spec: str) -> tuple[str, list[str]]:
    """Split ``"name=command line"`` into the name and the command's arguments (shell quoting).

    Raises
    ------
    ValueError
        When ``spec`` has no ``=``, an empty name, or an empty command.
    """
    name, sep, command = spec.partition("=")
    argv = shlex.split(command) if sep else []
    if not sep or not name.strip() or not argv:
        raise ValueError(f"expected NAME=COMMAND (for example 'unit tests=pytest tests -q'), got {spec!r}")
    return name.strip(), argv


def _pump(stream: BinaryIO, prefix: bytes, out: BinaryIO, lock: threading.Lock) -> None:
    """Copy ``stream`` to ``out`` line by line, each line prefixed; a partial last line too."""
    for line in iter(stream.readline, b""):
        with lock:
            out.write(prefix + line if line.endswith(b"\n") else prefix + line + b"\n")
            out.flush()
    stream.close()


def run_together(commands: Sequence[tuple[str, Sequence[str]]], out: BinaryIO | None = None,
                 env: dict[str, str] | None = None) -> list[Outcome]:
    """Start every command at once and wait for all of them.

    Parameters
    ----------
    commands
        ``(name, argv)`` pairs; the name prefixes each line of that command's merged stdout and
        stderr as ``[name] ``.
    out
        Binary stream the prefixed lines go to (default: this process's stdout).
    env
        Environment of the commands (default: this process's).

    Returns
    -------
    list of Outcome
        In the order of ``commands``. A command that could not be started has exit status 127
        and its reason printed under its prefix.
    """
    out = out if out is not None else sys.stdout.buffer
    lock = threading.Lock()
    started: list[tuple[str, subprocess.Popen | None, float, threading.Thread | None]] = []
    for name, argv in commands:
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        except OSError as e:
            with lock:
                out.write(f"[{name}] cannot start {argv[0]!r}: {e.strerror or e}\n".encode())
                out.flush()
            started.append((name, None, t0, None))
            continue
        pump = threading.Thread(target=_pump, args=(proc.stdout, f"[{name}] ".encode(), out, lock),
                                daemon=True)
        pump.start()
        started.append((name, proc, t0, pump))

    def stop(signum, _frame):
        for _, proc, _, _ in started:
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        raise KeyboardInterrupt if signum == signal.SIGINT else SystemExit(128 + signum)

    in_main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)} if in_main else {}
    try:
        outcomes = []
        for name, proc, t0, pump in started:
            if proc is None:
                outcomes.append(Outcome(name, 127, 0.0))
                continue
            code = proc.wait()
            pump.join()
            outcomes.append(Outcome(name, code, round(time.perf_counter() - t0, 1)))
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    with lock:
        for o in outcomes:
            out.write(f"{SUMMARY_TAG} {o.name}: exit {o.returncode} after {o.seconds:.1f} s\n".encode())
        out.flush()
    return outcomes


def exit_status(outcomes: Sequence[Outcome]) -> int:
    """0 when every command exited 0, else the first non-zero status in order (a signal's
    negative status becomes 128 + signal, as a shell reports it)."""
    for o in outcomes:
        if o.returncode != 0:
            return 128 - o.returncode if o.returncode < 0 else o.returncode
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m ifl_utils.together "NAME=COMMAND" "NAME=COMMAND" ...``."""
    parser = argparse.ArgumentParser(prog="python -m ifl_utils.together", description=__doc__.split("\n\n")[0])
    parser.add_argument("commands", nargs="+", metavar="NAME=COMMAND",
                        help="a name for the output prefix and the command line (shell quoting)")
    args = parser.parse_args(argv)
    try:
        commands = [parse_command(c) for c in args.commands]
    except ValueError as e:
        parser.error(str(e))
    return exit_status(run_together(commands))


if __name__ == "__main__":
    sys.exit(main())
