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


def test_parquet_round_trip_is_atomic_and_the_read_goes_through_python_open(tmp_path):
    import pandas as pd

    code = (
        "import sys, pandas as pd; from ifl_utils import io; seen = []\n"
        "sys.addaudithook(lambda e, a: seen.append(str(a[0])) if e == 'open' and a and isinstance(a[0], str) else None)\n"
        "t = io.read_parquet(sys.argv[1]); print(len(t), any(s.endswith('t.parquet') for s in seen))\n")
    target = tmp_path / "cache" / "t.parquet"
    io.write_parquet_atomic(target, pd.DataFrame({"a": [1.5, 2.5], "b": ["x", "y"]}), index=False)
    assert sorted(os.listdir(target.parent)) == ["t.parquet"]
    pd.testing.assert_frame_equal(io.read_parquet(target), pd.DataFrame({"a": [1.5, 2.5], "b": ["x", "y"]}))
    out = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "True"]   # the runner's audit hook would see this cache read
