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


def test_features_on_a_synthetic_release(tmp_path, cache_dir, capsys):
    """``ifl synth`` then ``ifl features``: one row per query, the quality report beside the table."""
    import pandas as pd

    from ifl_utils.data.synth import INJECTED_DEFECTS

    rec = tmp_path / "rec"
    assert cli.main(["synth", "--out", str(rec)]) == 0
    capsys.readouterr()
    out = tmp_path / "out" / "features.parquet"
    assert cli.main(["features", "--data", str(rec), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    made = json.loads(captured.out)
    # not the published release: read unverified, and said so on stderr
    assert "unverified" in captured.err
    queries = pd.read_csv(rec / "query_logs_table.csv")
    table = pd.read_parquet(out)
    assert len(table) == len(queries) == made["queries"] == 18
    assert sorted(table["query_id"]) == sorted(queries["query_ID"])
    assert table.shape[1] - 1 == made["columns"]
    report_path = out.with_name("features.quality.csv")
    assert made["quality_report"] == str(report_path)
    report = pd.read_csv(report_path).set_index("#")
    assert len(report) == 30
    missed = [n for n in INJECTED_DEFECTS if report.loc[n, "count"] == 0]
    assert not missed, f"injected defects not in the quality report: {missed}"
    assert made["quality"] == {str(r["defect"]): int(r["count"]) for _, r in report.iterrows()}


def test_features_on_an_archive_as_csv(tmp_path, cache_dir, capsys):
    """An archive of your own folder works too; ``--verify none`` skips the manifest check."""
    import tarfile

    import pandas as pd

    rec = tmp_path / "rec"
    cli.main(["synth", "--out", str(rec), "--workers", "2"])
    archive = tmp_path / "rec.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(rec, arcname="rec")
    capsys.readouterr()
    out = tmp_path / "features.csv"
    assert cli.main(["features", "--data", str(archive), "--out", str(out), "--verify", "none"]) == 0
    captured = capsys.readouterr()
    assert "manifest" not in captured.err
    table = pd.read_csv(out)
    assert len(table) == json.loads(captured.out)["queries"] == 12
    assert (tmp_path / "features.quality.csv").is_file()
    # a wrong suffix is refused before any work
    assert cli.main(["features", "--data", str(rec), "--out", str(tmp_path / "f.txt")]) == 2


@pytest.mark.realdata
def test_features_on_the_real_release(real_root, tmp_path, capsys):
    """The published release: one row per query log row, and the quality report's reference counts."""
    import pandas as pd

    out = tmp_path / "features.parquet"
    assert cli.main(["features", "--data", str(real_root), "--out", str(out)]) == 0
    made = json.loads(capsys.readouterr().out)
    table = pd.read_parquet(out)
    assert len(table) == made["queries"] == 1691 and table["query_id"].is_unique
    report = pd.read_csv(tmp_path / "features.quality.csv")
    checked = report.dropna(subset=["reference"])
    assert (checked["count"] == checked["reference"]).all()
