"""``ifl data verify``: exit 0 only when every file matches; names what differs."""
from __future__ import annotations

import json

import pytest

from ifl_utils.data.verify_cli import verify_command
from ifl_utils.errors import IFLDataError
from release_fixture import make_manifest_file, make_release, make_tar


@pytest.fixture()
def release(tmp_path, cache_dir):
    root = make_release(tmp_path / "rel")
    manifest = make_manifest_file(root, tmp_path / "manifest.tsv")
    return root, manifest


def test_folder_ok_then_tampered(release, capsys):
    root, manifest = release
    assert verify_command(str(root), manifest=manifest) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["n_ok"] == out["n_expected"]
    victim = next((root / "user_behavior").rglob("abs_gaze.csv"))
    victim.write_bytes(victim.read_bytes()[:-5] + b"9999\n")  # same size, other content
    (root / "task_table.csv").unlink()
    assert verify_command(str(root), manifest=manifest) == 1
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["missing"] == ["task_table.csv"]
    assert [d["path"] for d in out["hash_mismatch"]] == [victim.relative_to(root).as_posix()]
    assert "task_table.csv" in captured.err


def test_archive(release, tmp_path, capsys):
    root, manifest = release
    archive = make_tar(root, tmp_path / "rel.tar.xz")
    assert verify_command(str(archive), manifest=manifest) == 0
    assert json.loads(capsys.readouterr().out)["ok"]


def test_bad_sources(tmp_path, monkeypatch):
    monkeypatch.delenv("IFLLM_DATA", raising=False)
    with pytest.raises(IFLDataError, match="no release given"):
        verify_command(None)
    with pytest.raises(IFLDataError, match="no such file"):
        verify_command(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(IFLDataError, match="no IFLLM release layout"):
        verify_command(str(tmp_path / "empty"))
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(IFLDataError, match="neither a folder nor a supported archive"):
        verify_command(str(tmp_path / "x.txt"))
