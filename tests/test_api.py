"""The tidy API end to end on a synthetic release (and on the real one when IFLLM_DATA is set)."""
from __future__ import annotations

import numpy as np
import pytest

from ifl_utils.data.api import ANALYSIS_COLUMNS, SAMPLE_COLUMNS, Dataset
from ifl_utils.data.synth import SynthConfig, make_release


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    base = tmp_path_factory.mktemp("synth")
    root = make_release(base / "release", SynthConfig(workers=3, turns=3, seed=1))
    return root, base / "cache"


@pytest.fixture()
def ds(synth, monkeypatch):
    root, cache = synth
    monkeypatch.setenv("IFLLM_CACHE", str(cache))
    return Dataset(root, verify="none", progress=False)


def test_summary_counts(ds):
    s = ds.summary()
    assert s["workers"] == 3 and s["conversations"] == 6 and s["queries"] == 18
    assert s["queries_by_mode"] == {"pairwise": 9, "pointwise": 9}
    assert s["folders"] == {"total": 6, "pairwise": 3, "pointwise": 3}
    by = s["callbacks_by_stream"]
    assert by["abs_gaze"] == by["abs_mouse"] == s["callbacks"]
    assert s["raw_lines_by_stream"]["abs_gaze"] > by["abs_gaze"]  # pairwise batches doubled
    for key in ("quality", "page_sessions", "recorded_hours"):
        assert key in s


def test_injected_defects_are_counted(ds):
    rep = ds.quality_report().set_index("#")
    assert len(rep) == 30
    assert rep.loc[4, "count"] == 2          # the 6-column folder's two rel files
    assert rep.loc[5, "count"] >= 1          # window without quotes
    assert rep.loc[7, "count"] > 0           # doubled pairwise abs_gaze
    assert rep.loc[9, "count"] >= 1          # batches out of order
    assert rep.loc[11, "count"] == 1         # hidden tab
    assert rep.loc[13, "count"] == 1         # +4 h conversation
    assert rep.loc[20, "count"] == 2         # unrated
    assert rep.loc[27, "count"] > 0          # mouse before the first move


def test_turn_assignment_and_positions(ds):
    q = ds.queries()
    assert q["shifted"].sum() == 3 and q["display_ms"].notna().all()
    s = ds.samples(columns=["query_id", "turn", "gaze1_pos", "gaze1_in", "mouse1_pos"])
    on = s["query_id"] >= 0
    assert set(s.loc[on, "query_id"]) == set(q["query_id"])   # every query got samples
    assert (s.loc[~on, "turn"] == -1).all() and (s.loc[on, "turn"] >= 1).all()
    pos = s.loc[on, "gaze1_pos"].dropna()
    assert len(pos) > 100 and pos.between(0, 1).all()
    # a reader scans top to bottom: later samples of a turn sit lower in the answer
    assert 0.35 < pos.mean() < 0.65


def test_column_selection_and_schema(ds):
    df = ds.samples(columns=ANALYSIS_COLUMNS)
    assert list(df.columns) == ANALYSIS_COLUMNS
    full = ds.samples()
    assert [c.name for c in SAMPLE_COLUMNS] == list(full.columns)


def test_cache_is_reused_and_rebuilt_when_damaged(ds, synth):
    entry = ds.ensure()
    built = ds.meta()["build_seconds"]
    again = Dataset(synth[0], verify="none", progress=False)
    assert again.ensure() == entry and again.meta()["build_seconds"] == built
    (entry / "queries.parquet").write_bytes(b"garbage")
    fresh = Dataset(synth[0], verify="none", progress=False)
    assert len(fresh.queries()) == 18   # rebuilt transparently


def test_exclusions(ds):
    assert len(ds.queries(exclude="paper")) == 18  # none of the synthetic workers is on the list
    with pytest.raises(ValueError, match="exclude must be one of"):
        ds.excluded("everyone")
    conv = ds.conversations()
    assert len(conv) == 6 and conv["turns"].eq(3).all()
    w = ds.workers()
    assert w["queries"].sum() == 18


@pytest.mark.realdata
def test_real_release_reference_counts(real_root, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("IFLLM_CACHE", str(tmp_path_factory.mktemp("realcache")))
    ds = Dataset(real_root, progress=False)
    s = ds.summary()
    assert (s["workers"], s["conversations"], s["queries"]) == (87, 512, 1691)
    assert s["queries_by_mode"] == {"pairwise": 821, "pointwise": 870}
    assert s["callbacks"] == 1_833_139 and s["page_sessions"] == 466
    assert s["folders"] == {"total": 462, "pairwise": 257, "pointwise": 205}
    assert abs(s["recorded_hours"] - 43.60) < 0.01
    rep = ds.quality_report()
    known = rep[rep["reference"].notna()]
    assert known["matches"].all(), known.loc[~known["matches"].astype(bool), ["#", "count", "reference"]]
    c = ds.counts()
    assert c["callbacks_unassigned_linked"] == 230_195
    after = ds.queries(exclude="paper")
    assert (len(after), after["worker"].nunique()) == (1536, 64)
    samples = ds.samples(columns=["gaze1_pos"])
    assert np.isfinite(samples["gaze1_pos"]).sum() > 0


def test_sample_dtypes_follow_the_schema(ds):
    df = ds.samples()
    declared = {c.name: c.dtype for c in SAMPLE_COLUMNS}
    for name, dtype in declared.items():
        if dtype == "string":
            assert df[name].dtype.kind == "O" or "str" in str(df[name].dtype), name
        else:
            assert str(df[name].dtype) == dtype, (name, str(df[name].dtype), dtype)


def test_assignment_rows_align_with_callbacks(synth, tmp_path, monkeypatch):
    # the two row-aligned cache tables must pair each callback with its own folder, also when
    # the callbacks are written as several parts by several processes
    from ifl_utils.data import build

    monkeypatch.setattr(build, "CHUNK", 2)
    monkeypatch.setenv("IFLLM_CACHE", str(tmp_path / "cache"))
    ds = Dataset(synth[0], verify="none", progress=False)
    assert len(list((ds.ensure() / "callbacks.parquet").glob("part-*.parquet"))) == 3
    s = ds.samples(columns=["worker", "task_id", "row", "epoch", "file_row"])
    f = ds.folders().set_index(["worker", "task_id"])
    span = s.groupby(["worker", "task_id"], observed=True)["epoch"].agg(["min", "max"])
    assert (span["min"].to_numpy() == f.loc[span.index, "start_ms"].to_numpy()).all()
    assert (span["max"].to_numpy() == f.loc[span.index, "end_ms"].to_numpy()).all()
    assert (s.groupby(["worker", "task_id"], observed=True)["row"].apply(
        lambda r: (r.to_numpy() == range(len(r))).all())).all()
