"""``ifl_utils.io``: atomic writes keep the mode a plain ``open()`` gives, and nothing half-written."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from ifl_utils import io


def test_atomic_json_gets_the_umask_mode_not_mkstemp_0600(tmp_path):
    target = tmp_path / "results" / "x.json"
    io.write_json_atomic(target, {"b": 1, "a": [1, 2]})
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == io.FILE_MODE
    assert target.read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'


def test_file_mode_follows_the_umask_of_the_process(tmp_path):
    code = ("import os, stat, sys; from ifl_utils import io; p = sys.argv[1]; io.write_text_atomic(p, 'x');"
            "print(oct(stat.S_IMODE(os.stat(p).st_mode)))")
    for umask, mode in ((0o022, "0o644"), (0o077, "0o600"), (0o002, "0o664")):
        out = subprocess.run([sys.executable, "-c", f"import os; os.umask({umask}); exec({code!r})",
                              str(tmp_path / f"f{umask}")], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == mode


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "x.json"
    io.write_json_atomic(target, {"old": True})
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == '{\n  "old": true\n}\n'
    assert sorted(os.listdir(tmp_path)) == ["x.json"]
