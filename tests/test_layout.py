"""The layout of a recordings folder, the file-format tables, the synthetic release's defects."""
from __future__ import annotations

import csv
import doctest
import shutil

import numpy as np
import pandas as pd
import pytest

from ifl_utils.data import layout, schema, tables
from ifl_utils.data.api import Dataset
from ifl_utils.data.synth import INHERENT_DEFECTS, INJECTED_DEFECTS, SynthConfig, make_release


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return make_release(tmp_path_factory.mktemp("rec") / "release", SynthConfig(seed=4))


@pytest.fixture()
def copy(release, tmp_path):
    """A private copy of the synthetic release to break."""
    return shutil.copytree(release, tmp_path / "release")


# -- doctests ---------------------------------------------------------------------------------
@pytest.mark.parametrize("module", [layout, schema])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


# -- format tables ----------------------------------------------------------------------------
def test_table_formats_match_the_reader_and_the_generator(release):
    expected = {"query_logs_table.csv": tables._QUERY_COLUMNS, "task_table.csv": tables._TASK_COLUMNS,
                "record_info_table.csv": tables._RECORD_COLUMNS}
    for name, cols in expected.items():
        assert layout.TABLE_COLUMNS[name] == cols
        with open(release / name, newline="", encoding="utf-8") as fh:
            assert tuple(next(csv.reader(fh))) == cols


def test_stream_formats_match_the_parsed_schema():
    parsed_rel = [c.name for c in schema.REL_ROWS if c.name != "line"]
    assert [c.name for c in schema.REL_FILE_7COL] == parsed_rel
    assert [c.name for c in schema.REL_FILE_6COL] == [n for n in parsed_rel if n != "valid"]
    parsed_abs = [c.name for c in schema.ABS_ROWS if c.name != "line"]
    assert [c.name for c in schema.ABS_GAZE_FILE] == [c.name for c in schema.ABS_MOUSE_FILE] == parsed_abs
    kinds = [s.name for s in schema.STREAM_KINDS]
    assert sorted(kinds) == sorted(set(schema.PAIRWISE_STREAMS) | set(schema.POINTWISE_STREAMS))


def test_format_tables_document_every_column():
    t = schema.format_tables()
    assert list(t) == list(schema.INPUT_FILES)
    for title, df in t.items():
        header = schema.INPUT_FILES[title][1]
        assert list(df.columns) == (["column"] if header else ["field", "column"]) + ["type", "unit", "meaning"]
        assert df["meaning"].str.len().gt(0).all() and df["type"].str.len().gt(0).all()
        if not header:
            assert df["field"].tolist() == list(range(1, len(df) + 1))
    assert t["rel_*.csv, 7-column format"].set_index("column").loc["valid", "field"] == 6
    kinds = schema.stream_kinds_frame()
    assert len(kinds) == 8 and kinds["stream"].is_unique


# -- layout checks ----------------------------------------------------------------------------
def test_check_layout_accepts_the_synthetic_release(release):
    assert layout.check_layout(release) == []


def test_check_layout_names_each_problem(copy):
    (copy / "record_info_table.csv").unlink()
    q = copy / "query_logs_table.csv"
    df = pd.read_csv(q, dtype=str, keep_default_na=False)
    df.drop(columns=["adjustment"]).to_csv(q, index=False)
    worker = sorted((copy / "user_behavior").iterdir())[0]
    tasks = sorted(worker.iterdir())
    (tasks[0] / "notes.txt").write_text("x")
    tasks[1].rename(worker / "topic")
    (copy / "user_behavior" / "stray.csv").write_text("x")
    problems = layout.check_layout(copy)
    assert "missing record_info_table.csv" in problems
    assert "query_logs_table.csv: header lacks adjustment" in problems
    assert "user_behavior/stray.csv: a file where a worker folder was expected" in problems
    rel = f"user_behavior/{worker.name}"
    assert any(p.startswith(f"{rel}/{tasks[0].name}: files [") and "notes.txt" in p for p in problems)
    assert f"{rel}/topic: folder name is not a task id (digits)" in problems
    assert len(problems) == 5


def test_check_layout_without_behaviour_folder(copy):
    shutil.rmtree(copy / "user_behavior")
    assert layout.check_layout(copy) == ["missing user_behavior/"]


def test_file_tree_is_relative_and_summarises_the_rest(release):
    text = layout.file_tree(release, max_workers=1, name="rec")
    lines = text.splitlines()
    assert lines[0] == "rec/"
    assert str(release) not in text
    assert lines[1:4] == ["├── query_logs_table.csv", "├── record_info_table.csv", "├── task_table.csv"]
    assert lines[4] == "└── user_behavior/"
    assert lines[-1] == "    └── ... 2 more worker folder(s) with 4 task folder(s)"
    assert sum("abs_gaze.csv abs_mouse.csv" in ln for ln in lines) == 2  # the drawn worker's two folders
    full = layout.file_tree(release, max_workers=10)
    assert "more worker" not in full and sum("abs_gaze.csv" in ln for ln in full.splitlines()) == 6


def test_layout_frame_lists_the_required_paths():
    f = layout.layout_frame()
    assert f["required"].all()
    assert set(f["path"]) >= {"query_logs_table.csv", "task_table.csv", "record_info_table.csv"}


# -- inventory and defects (pure) --------------------------------------------------------------
def test_stream_inventory_from_counts_and_folders():
    counts = {"files_abs_gaze": 3, "lines_abs_gaze": 500, "abs_gaze_duplicates": 200,
              "files_abs_mouse": 3, "lines_abs_mouse": 300, "files_rel_gaze": 1, "lines_rel_gaze": 100,
              "files_rel_gaze_one": 2, "lines_rel_gaze_one": 200}
    folders = pd.DataFrame({"mode": ["pairwise", "pairwise", "pointwise"],
                            "rel_format": ["7-col", "6-col", "7-col"]})
    inv = layout.stream_inventory(counts, folders)
    assert list(inv.index) == [s.name for s in schema.STREAM_KINDS]
    assert inv.loc["abs_gaze", "rows"] == 300 and inv.loc["abs_gaze", "lines"] == 500
    assert inv.loc["abs_mouse", "rows"] == 300
    assert pd.isna(inv.loc["abs_gaze", "files_6col"])
    assert inv.loc["rel_gaze_one", ["files_6col", "files_7col"]].tolist() == [1, 1]
    assert inv.loc["rel_gaze", ["files_6col", "files_7col"]].tolist() == [0, 1]
    assert inv.loc["rel_mouse", "files"] == 0
    assert str(inv["files_6col"].dtype) == "Int64"


def test_found_defects_keeps_found_and_expected():
    rep = pd.DataFrame({"#": [1, 2, 3], "defect": ["a", "b", "c"], "count": [5, 0, 0],
                        "unit": ["u"] * 3, "detail": [""] * 3, "handling": ["h"] * 3,
                        "reference": pd.array([1, 2, None], dtype="Int64"), "matches": [False, False, None]})
    plain = layout.found_defects(rep)
    assert plain["#"].tolist() == [1] and "reference" not in plain.columns
    exp = layout.found_defects(rep, {3: "injected c"})
    assert exp["#"].tolist() == [1, 3]
    assert exp["expected"].tolist() == ["", "injected c"]


# -- the synthetic release's defects, as the parser counts them ----------------------------------
@pytest.mark.parametrize("inject", [True, False])
def test_synth_defects_are_detected(inject, tmp_path, cache_dir):
    root = make_release(tmp_path / "rec", SynthConfig(seed=0, inject_defects=inject))
    rep = Dataset(root, verify="none", progress=False).quality_report().set_index("#")["count"]
    if inject:
        missed = [n for n in INJECTED_DEFECTS if rep[n] == 0]
        assert not missed, f"injected but not counted: {missed}"
    else:
        # only what every release in this layout has: the injected-only kinds are absent
        only_injected = set(INJECTED_DEFECTS) - set(INHERENT_DEFECTS)
        assert all(rep[n] == 0 for n in only_injected)
    assert all(rep[n] > 0 for n in INHERENT_DEFECTS)
    assert set(INJECTED_DEFECTS) <= set(rep.index)


# -- the figure -----------------------------------------------------------------------------------
def test_query_traces_figure_is_labelled():
    from ifl_utils.figures.recordings import TRACE_COLUMNS, query_traces
    from ifl_utils.plots import check_labelled

    n = 20
    s = pd.DataFrame({"query_id": [7] * n + [8] * 5, "epoch": np.arange(n + 5) * 75 + 1000,
                      "gaze_x": 500.0, "gaze_y": 400.0, "mouse_x": np.nan, "mouse_y": np.nan,
                      "gaze1_pos": np.r_[np.linspace(0, 1, n), np.zeros(5)],
                      "mouse1_pos": np.r_[np.full(n, 1.5), np.zeros(5)]})
    assert list(s.columns) == TRACE_COLUMNS
    fig = query_traces(s, 7, display_ms=1000)
    check_labelled(fig)
    ax0, ax1 = fig.axes
    labels = [t.get_text() for t in ax1.get_legend().get_texts()]
    assert labels == [f"gaze on the answer (n = {n})", "mouse on the answer (n = 0)"]
    assert "mouse (n = 0)" in [t.get_text() for t in ax0.get_legend().get_texts()]
    import matplotlib.pyplot as plt

    plt.close(fig)
