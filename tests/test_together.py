"""``ifl_utils.together``: commands side by side, prefixed output, every failure reported."""
from __future__ import annotations

import io
import subprocess
import sys
import time

import pytest

from ifl_utils import together

PY = sys.executable


def _py(code: str) -> list[str]:
    return [PY, "-c", code]


def test_commands_run_at_the_same_time_and_lines_are_prefixed():
    buf = io.BytesIO()
    t0 = time.perf_counter()
    outcomes = together.run_together([
        ("a", _py("import time; print('one', flush=True); time.sleep(1.5); print('two')")),
        ("b", _py("import sys, time; time.sleep(1.5); print('err line', file=sys.stderr); print('tail', end='')")),
    ], out=buf)
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.9                     # side by side, not 3 s one after the other
    lines = buf.getvalue().decode().splitlines()
    assert [ln for ln in lines if ln.startswith("[a] ")] == ["[a] one", "[a] two"]
    assert set(ln for ln in lines if ln.startswith("[b] ")) == {"[b] err line", "[b] tail"}
    assert [o.name for o in outcomes] == ["a", "b"] and all(o.returncode == 0 for o in outcomes)
    assert all(o.seconds >= 1.4 for o in outcomes)
    assert lines[-2:] == [f"[together] a: exit 0 after {outcomes[0].seconds:.1f} s",
                          f"[together] b: exit 0 after {outcomes[1].seconds:.1f} s"]
    assert together.exit_status(outcomes) == 0


def test_a_failure_does_not_stop_the_others_and_the_first_failure_is_the_status():
    buf = io.BytesIO()
    outcomes = together.run_together([
        ("ok", _py("import time; time.sleep(0.5); print('finished')")),
        ("five", _py("raise SystemExit(5)")),
        ("three", _py("raise SystemExit(3)")),
    ], out=buf)
    assert [o.returncode for o in outcomes] == [0, 5, 3]
    assert "[ok] finished" in buf.getvalue().decode()        # ran to its end after 'five' failed
    assert together.exit_status(outcomes) == 5              # pytest's "no tests" passes through
    assert together.exit_status([together.Outcome("k", -9, 1.0)]) == 137


def test_a_command_that_cannot_start_is_reported_as_127(tmp_path):
    buf = io.BytesIO()
    missing = str(tmp_path / "no-such-program")
    outcomes = together.run_together([("gone", [missing]), ("ok", _py("print('fine')"))], out=buf)
    text = buf.getvalue().decode()
    assert [o.returncode for o in outcomes] == [127, 0]
    assert f"[gone] cannot start {missing!r}" in text and "[ok] fine" in text


@pytest.mark.parametrize("spec", ["no equals sign", "=pytest", "name=", "  = x"])
def test_bad_command_specs_are_refused_with_the_expected_form(spec):
    with pytest.raises(ValueError, match="expected NAME=COMMAND"):
        together.parse_command(spec)


def test_parse_command_uses_shell_quoting():
    assert together.parse_command("unit tests=pytest tests -k 'a and b'") == (
        "unit tests", ["pytest", "tests", "-k", "a and b"])


def test_command_line_exit_status_and_usage_error():
    res = subprocess.run([PY, "-m", "ifl_utils.together", f"x={PY} -c 'raise SystemExit(4)'",
                          f"y={PY} -c 'print(1)'"], capture_output=True, text=True)
    assert res.returncode == 4
    assert "[y] 1" in res.stdout and "[together] x: exit 4" in res.stdout
    bad = subprocess.run([PY, "-m", "ifl_utils.together", "nothing"], capture_output=True, text=True)
    assert bad.returncode == 2 and "expected NAME=COMMAND" in bad.stderr


def test_sigterm_stops_every_command(tmp_path):
    import os
    import signal

    pidfile = tmp_path / "child.pid"
    child = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    proc = subprocess.Popen([PY, "-m", "ifl_utils.together", f"long={PY} -c {child!r}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.time() + 20
    while not (pidfile.is_file() and pidfile.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 128 + signal.SIGTERM
    for _ in range(100):                      # the child is gone (killed with its process group)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"child {pid} still running after SIGTERM to together")
