"""The ``ifl`` command: synth, data summary --json, argument errors."""
from __future__ import annotations

import json

import pytest

from ifl_utils import cli


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for word in ("run", "build", "data", "synth", "bench"):
        assert word in out


def test_synth_then_summary(tmp_path, cache_dir, capsys):
    out = tmp_path / "rec"
    assert cli.main(["synth", "--out", str(out), "--workers", "2", "--seed", "3"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["files"] == 3 + 2 * (6 + 4)  # tables + per worker one pairwise and one pointwise folder
    assert cli.main(["data", "summary", "--json", "--unverified", "--data", str(out)]) == 0
    s = json.loads(capsys.readouterr().out)
    for key in ("workers", "conversations", "queries", "queries_by_mode", "folders", "callbacks",
                "callbacks_by_stream", "quality"):
        assert key in s
    assert s["workers"] == 2 and s["queries"] == 12
    assert len(s["quality"]) == 30
    # refuses to overwrite
    assert cli.main(["synth", "--out", str(out)]) == 2


def test_summary_of_unverified_folder_without_flag_fails_cleanly(tmp_path, cache_dir, capsys):
    out = tmp_path / "rec"
    cli.main(["synth", "--out", str(out), "--workers", "1"])
    capsys.readouterr()
    # not the published release: the manifest check names what differs and the command exits 2
    assert cli.main(["data", "summary", "--json", "--data", str(out)]) == 2
    assert "manifest" in capsys.readouterr().err
