"""Tests of the folder assembly (:mod:`ifl_utils.data.folder`): one row per WebGazer callback.

Unit tests build tiny folders in code (one per repair of §3 #7-#12, #26-#28 and one per error
path); the ``realdata`` test parses the whole release in a process pool of 2 and checks every
reference count of the data reference §3/§4.
"""
from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ifl_utils.data.folder import (CALLBACK_COLUMNS, DEFECT_KEYS, assemble_callbacks,
                                   empty_callbacks, parse_folder)
from ifl_utils.data.parse import parse_stream
from ifl_utils.data.schema import CALLBACKS, PAIRWISE_STREAMS, POINTWISE_STREAMS, expand
from ifl_utils.errors import IFLDataError

FOLDER = "user_behavior/worker_test/7"
EP = 1763445794290


@dataclass
class Cb:
    """One callback as the website would write it to every stream."""

    pt: float
    ep: int
    gaze: tuple = (500.5, 300.25)
    mouse: tuple = (10, 20)
    valid: int = 1
    rel: dict = field(default_factory=dict)   # stream -> (x, y, window, char_idx) or absent


def cbs(n: int, start: float = 1000.0) -> list[Cb]:
    """``n`` regular callbacks, 80 ms apart; pane 1 gaze inside the text on even ones."""
    out = []
    for i in range(n):
        rel = {"one": (100.0 + i, 50.0, f'"word {i}"', i)} if i % 2 == 0 else {}
        out.append(Cb(pt=start + 80 * i, ep=EP + 80 * i, gaze=(500.5 + i, 300.25 - i),
                      mouse=(10 + i, 20 + i), rel=rel))
    return out


def write(callbacks: list[Cb], mode: str = "pairwise", batches: list[int] | None = None,
          no_rel: tuple[int, ...] = (), six: bool = False, rel_shift: dict | None = None,
          gaze_doubled: bool | None = None) -> dict[str, bytes]:
    """The files of a folder holding ``callbacks`` in file order.

    ``batches``: sizes of the POSTed batches (pairwise abs_gaze repeats each one, §3 #7);
    ``no_rel``: callback indices missing from every rel stream (§3 #8); ``rel_shift``:
    callback index -> ms added to the rel epochs (§3 #12); ``six``: 6-column rel files (§3 #4).
    """
    streams = PAIRWISE_STREAMS if mode == "pairwise" else POINTWISE_STREAMS
    gaze_doubled = mode == "pairwise" if gaze_doubled is None else gaze_doubled
    batches = batches or [len(callbacks)]
    rel_shift = rel_shift or {}
    files = {s: [] for s in streams}
    i = 0
    for size in batches:
        block = callbacks[i:i + size]
        gl = [f"{c.gaze[0]},{c.gaze[1]},{c.pt},{c.ep}\n" for c in block]
        files["abs_gaze"] += gl * 2 if gaze_doubled else gl
        files["abs_mouse"] += [f"{c.mouse[0]},{c.mouse[1]},{c.pt},{c.ep}\n" for c in block]
        for j, c in enumerate(block, start=i):
            if j in no_rel:
                continue
            for s in streams:
                if not s.startswith("rel_"):
                    continue
                key = {"rel_gaze": "one", "rel_mouse": "left"}.get(s, s.split("_")[-1])
                x, y, w, ci = c.rel.get(key, (-1, -1, "", ""))
                ep = str(c.ep + rel_shift.get(j, 0))
                tail = [str(c.pt)] + ([] if six else [str(c.valid)]) + [ep]
                files[s].append(",".join([str(x), str(y), w, str(ci)] + tail) + "\n")
        i += size
    assert i == len(callbacks)
    return {s: "".join(lines).encode() for s, lines in files.items()}


def parse_all(files: dict[str, bytes]) -> dict[str, pd.DataFrame]:
    return {s: parse_stream(b, s, f"{FOLDER}/{s}.csv")[0] for s, b in files.items()}


def assemble(files: dict[str, bytes]) -> tuple[pd.DataFrame, Counter]:
    cb, counts = assemble_callbacks(parse_all(files), FOLDER)
    check_schema(cb)
    assert set(counts) <= set(DEFECT_KEYS)
    order = np.lexsort((cb["file_row"].to_numpy(), cb["epoch"].to_numpy()))
    assert (order == np.arange(len(cb))).all()          # sorted by (epoch, file_row)
    return cb, counts


def check_schema(df: pd.DataFrame) -> None:
    assert [c.name for c in CALLBACK_COLUMNS] == [c.name for c in expand(CALLBACKS)]
    assert list(df.columns) == [c.name for c in CALLBACK_COLUMNS]
    for c in CALLBACK_COLUMNS:
        assert str(df[c.name].dtype) == c.dtype, (c.name, df[c.name].dtype)


def na(series: pd.Series) -> list[bool]:
    return series.isna().tolist()


# ---------------------------------------------------------------------------------------------
# joins and repairs
# ---------------------------------------------------------------------------------------------

def test_pairwise_join():
    c = cbs(5)
    c[1].rel = {"two": (7.5, 8.25, '"right, pane"', 42), "right": (1.0, 2.0, '""', 3),
                "left": (3.0, 4.0, "unquoted", 4)}
    c[2].valid = 0
    cb, counts = assemble(write(c, batches=[3, 2]))
    assert len(cb) == 5
    assert cb["page_time"].tolist() == [x.pt for x in c]
    assert cb["epoch"].tolist() == [x.ep for x in c]
    assert cb["file_row"].tolist() == [0, 1, 2, 3, 4] and cb["occ"].tolist() == [0] * 5
    assert cb["gaze_x"].tolist() == [x.gaze[0] for x in c]
    assert cb["mouse_y"].tolist() == [x.mouse[1] for x in c]
    assert cb["has_rel"].all()
    assert cb["valid"].tolist() == [1, 1, 0, 1, 1]
    assert cb["gaze1_window"].tolist()[::2] == ["word 0", "word 2", "word 4"]
    assert na(cb["gaze1_window"])[1::2] == [True, True]
    assert na(cb["gaze1_x"]) == [False, True, False, True, False]
    assert cb["gaze1_char"].tolist()[::2] == [0, 2, 4]
    assert cb["gaze2_x"].iat[1] == 7.5 and cb["gaze2_y"].iat[1] == 8.25
    assert cb["gaze2_window"].iat[1] == "right, pane" and cb["gaze2_char"].iat[1] == 42
    assert cb["mouse2_window"].iat[1] == "" and cb["mouse1_window"].iat[1] == "unquoted"
    assert cb["mouse1_char"].iat[1] == 4
    assert cb["gaze1_epoch"].tolist() == [x.ep for x in c]
    assert counts["abs_gaze_duplicates"] == 5                   # §3 #7
    assert counts["folders_pairwise"] == 1 and counts["callbacks_pairwise"] == 5
    assert counts["callbacks"] == 5 and counts["rel_rows"] == 20
    assert counts["folders_7col"] == 1 and counts["valid_zero"] == 1
    for k in ("callbacks_without_rel", "backward_steps", "repeated_page_time",
              "rel_epoch_mismatch", "gaze_x_offscreen", "mouse_before_move", "valid_absent"):
        assert counts[k] == 0, k


def test_pointwise_pane2_is_na_and_gaze_not_deduplicated():
    c = cbs(4)
    c[1].rel = {"left": (5.0, 6.0, '"m"', 1)}
    cb, counts = assemble(write(c, mode="pointwise"))
    assert len(cb) == 4
    for m in ("gaze", "mouse"):
        for k in ("x", "y", "char", "window", "epoch"):
            assert cb[f"{m}2_{k}"].isna().all()
    assert cb["mouse1_window"].iat[1] == "m"
    assert cb["gaze1_window"].iat[0] == "word 0"
    assert counts["abs_gaze_duplicates"] == 0
    assert counts["folders_pointwise"] == 1 and counts["callbacks_pointwise"] == 4


def test_pointwise_duplicate_gaze_row_is_an_error():
    """Only pairwise abs_gaze is doubled: a repeated row in pointwise joins no callback."""
    files = write(cbs(3), mode="pointwise")
    files["abs_gaze"] += files["abs_gaze"].splitlines(keepends=True)[1]
    with pytest.raises(IFLDataError, match="no abs_mouse callback") as e:
        assemble_callbacks(parse_all(files), FOLDER)
    assert e.value.path == f"{FOLDER}/abs_gaze.csv" and e.value.line == 4


def test_out_of_order_batches_sorted_by_epoch():
    """§3 #9: a later 100-callback batch landed before the first one."""
    c = cbs(6)
    files = write(c[3:] + c[:3], batches=[3, 3])
    cb, counts = assemble(files)
    assert cb["epoch"].tolist() == [x.ep for x in c]
    assert cb["file_row"].tolist() == [3, 4, 5, 0, 1, 2]
    assert cb["gaze_x"].tolist() == [x.gaze[0] for x in c]
    assert cb["gaze1_window"].tolist()[::2] == ["word 0", "word 2", "word 4"]
    assert counts["backward_steps"] == 1 and counts["folders_backward_steps"] == 1


def test_repeated_page_time_joined_by_occurrence():
    """§3 #11: page_time frozen while the tab is hidden; the occurrence index tells them apart."""
    c = cbs(5)
    for i in (2, 3, 4):
        c[i].pt = c[1].pt                            # 4 callbacks share one page_time
    c[3].rel = {"one": (9.0, 9.0, '"third"', 33)}
    cb, counts = assemble(write(c))
    assert cb["occ"].tolist() == [0, 0, 1, 2, 3]
    assert cb["gaze_x"].tolist() == [x.gaze[0] for x in c]
    assert cb["gaze1_window"].tolist()[2:] == ["word 2", "third", "word 4"]
    assert counts["repeated_page_time"] == 3 and counts["folders_repeated_page_time"] == 1


def test_callbacks_without_rel_rows():
    """§3 #8: callbacks missing from all rel streams keep has_rel False and NA rel columns."""
    cb, counts = assemble(write(cbs(5), no_rel=(1, 2)))
    assert cb["has_rel"].tolist() == [True, False, False, True, True]
    assert na(cb["gaze1_window"]) == [False, True, True, True, False]
    assert na(cb["valid"]) == [False, True, True, False, False]
    assert na(cb["mouse2_epoch"]) == [False, True, True, False, False]
    assert counts["callbacks_without_rel"] == 2 and counts["folders_without_rel"] == 1
    assert counts["valid_absent"] == 0                   # absent = 6-column format only
    assert counts["rel_rows"] == 12


def test_rel_epoch_mismatch_counted_not_joined():
    """§3 #12: each stream reads Date.now() itself; > 1 ms off is counted, the join ignores it."""
    cb, counts = assemble(write(cbs(4), rel_shift={0: 1, 1: 2, 3: -476}))
    assert counts["rel_epoch_mismatch"] == 2 * 4          # rows 1 and 3, in each of 4 streams
    assert cb["gaze2_epoch"].tolist() == [EP + 1, EP + 80 + 2, EP + 160, EP + 240 - 476]


def test_offscreen_gaze_and_mouse_before_first_move():
    """§3 #26 kept as is and counted; §3 #27 (-1, -1) mouse becomes NaN."""
    c = cbs(4)
    c[0].gaze = (-227318.6, 10.0)
    c[1].gaze = (-5.0, -31920.0)
    c[0].mouse = c[1].mouse = (-1, -1)
    c[2].mouse = (-1, 5)
    cb, counts = assemble(write(c))
    assert cb["gaze_x"].tolist()[:2] == [-227318.6, -5.0]
    assert counts["gaze_x_offscreen"] == 2 and counts["gaze_y_offscreen"] == 1
    assert na(cb["mouse_x"]) == [True, True, False, False]
    assert cb["mouse_x"].iat[2] == -1 and cb["mouse_y"].iat[2] == 5
    assert counts["mouse_before_move"] == 2


def test_six_column_folder_has_no_valid():
    """§3 #28: valid absent in the 6-column format."""
    cb, counts = assemble(write(cbs(3), six=True, no_rel=(2,)))
    assert cb["valid"].isna().all()
    assert counts["valid_absent"] == 2 and counts["valid_zero"] == 0
    assert counts["folders_6col"] == 1 and counts["folders_7col"] == 0


def test_empty_folder_files():
    files = {s: b"" for s in PAIRWISE_STREAMS}
    cb, counts = assemble(files)
    assert len(cb) == 0
    check_schema(empty_callbacks())
    assert counts["callbacks"] == 0 and counts["folders"] == 1


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------

def test_unjoinable_rel_row():
    files = write(cbs(4))
    lines = files["rel_gaze_two"].splitlines(keepends=True)
    lines[2] = lines[2].replace(b",1160.0,", b",1161.5,")
    files["rel_gaze_two"] = b"".join(lines)
    with pytest.raises(IFLDataError, match="joins no abs_mouse callback") as e:
        assemble_callbacks(parse_all(files), FOLDER)
    assert e.value.path == f"{FOLDER}/rel_gaze_two.csv" and e.value.line == 3


def test_extra_occurrence_in_rel_is_unjoinable():
    """A rel row repeating a page_time more often than abs_mouse does has no callback."""
    files = write(cbs(3))
    files["rel_mouse_left"] += files["rel_mouse_left"].splitlines(keepends=True)[0]
    with pytest.raises(IFLDataError) as e:
        assemble_callbacks(parse_all(files), FOLDER)
    assert e.value.path == f"{FOLDER}/rel_mouse_left.csv" and e.value.line == 4


def test_callback_in_some_rel_streams_only():
    files = write(cbs(4))
    lines = files["rel_mouse_right"].splitlines(keepends=True)
    files["rel_mouse_right"] = b"".join(lines[:2] + lines[3:])
    with pytest.raises(IFLDataError, match="in rel_gaze_one but not in rel_mouse_right") as e:
        assemble_callbacks(parse_all(files), FOLDER)
    assert e.value.path == f"{FOLDER}/abs_mouse.csv" and e.value.line == 3


def test_gaze_row_without_callback_and_callback_without_gaze():
    files = write(cbs(4), gaze_doubled=False, mode="pointwise")
    lines = files["abs_gaze"].splitlines(keepends=True)
    missing = dict(files, abs_gaze=b"".join(lines[:3]))
    with pytest.raises(IFLDataError, match="no abs_gaze row") as e:
        assemble_callbacks(parse_all(missing), FOLDER)
    assert e.value.path == f"{FOLDER}/abs_mouse.csv" and e.value.line == 4
    extra = dict(files, abs_gaze=files["abs_gaze"] + b"1,2,99999,1763445794290\n")
    with pytest.raises(IFLDataError, match="no abs_mouse callback") as e:
        assemble_callbacks(parse_all(extra), FOLDER)
    assert e.value.path == f"{FOLDER}/abs_gaze.csv" and e.value.line == 5


def test_rel_formats_mixed_within_folder():
    six = write(cbs(3), six=True)
    files = dict(write(cbs(3)), rel_mouse_left=six["rel_mouse_left"])
    with pytest.raises(IFLDataError, match="mix the 7-column and 6-column") as e:
        assemble_callbacks(parse_all(files), FOLDER)
    assert e.value.path == FOLDER


@pytest.mark.parametrize("names", [
    PAIRWISE_STREAMS[:-1],                                    # a file missing
    POINTWISE_STREAMS + ("rel_gaze_one",),                    # mixed sets
    ("abs_gaze", "abs_mouse"),
])
def test_wrong_stream_set(names):
    streams = parse_all({s: b"" for s in names})
    with pytest.raises(IFLDataError, match="unexpected set of behaviour files") as e:
        assemble_callbacks(streams, FOLDER)
    assert e.value.path == FOLDER


# ---------------------------------------------------------------------------------------------
# parse_folder on disk
# ---------------------------------------------------------------------------------------------

def _on_disk(tmp_path: Path, files: dict[str, bytes]) -> Path:
    d = tmp_path / "user_behavior" / "worker_test" / "7"
    d.mkdir(parents=True)
    for s, b in files.items():
        (d / f"{s}.csv").write_bytes(b)
    return d


@pytest.mark.parametrize("mode", ["pairwise", "pointwise"])
def test_parse_folder(tmp_path, mode):
    files = write(cbs(6), mode=mode, batches=[4, 2])
    cb, counts, got = parse_folder(_on_disk(tmp_path, files), FOLDER)
    assert got == mode
    ref, ref_counts = assemble(files)
    pd.testing.assert_frame_equal(cb, ref)
    parse_counts = Counter()
    for s, b in files.items():
        parse_counts.update(parse_stream(b, s, s)[1])
    assert counts == ref_counts + parse_counts
    assert set(counts) <= set(DEFECT_KEYS)


@pytest.mark.parametrize("change", ["missing", "extra", "subfolder"])
def test_parse_folder_wrong_file_set(tmp_path, change):
    d = _on_disk(tmp_path, write(cbs(3)))
    if change == "missing":
        (d / "rel_gaze_two.csv").unlink()
    elif change == "extra":
        (d / "notes.txt").write_text("x")
    else:
        (d / "sub").mkdir()
    with pytest.raises(IFLDataError, match="unexpected set of behaviour files") as e:
        parse_folder(d, FOLDER)
    assert e.value.path == FOLDER
    assert "abs_mouse.csv" in str(e.value)
    if change != "missing":
        assert ("notes.txt" if change == "extra" else "'sub'") in str(e.value)


def test_parse_folder_reports_file_and_line(tmp_path):
    files = write(cbs(3))
    files["rel_mouse_right"] = files["rel_mouse_right"].replace(b",1080.0,", b",10x0.0,", 1)
    with pytest.raises(IFLDataError, match="page_time") as e:
        parse_folder(_on_disk(tmp_path, files), FOLDER)
    assert e.value.path == f"{FOLDER}/rel_mouse_right.csv" and e.value.line == 2


def test_defect_keys_are_documented():
    for key, (number, text) in DEFECT_KEYS.items():
        assert key == key.lower() and " " not in key
        assert number is None or 1 <= number <= 30
        assert text


# ---------------------------------------------------------------------------------------------
# the real release
# ---------------------------------------------------------------------------------------------

def _jobs(root: Path) -> list[tuple[Path, str]]:
    folders = sorted(p for p in (Path(root) / "user_behavior").glob("*/*") if p.is_dir())
    return [(p, p.relative_to(root).as_posix()) for p in folders]


@pytest.mark.realdata
def test_real_release_reference_counts(real_root):
    jobs = _jobs(real_root)
    total: Counter = Counter()
    modes = Counter()
    # spawn: the workers import ifl_utils afresh (no fork of a threaded parent)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        results = pool.map(parse_folder, [p for p, _ in jobs], [r for _, r in jobs], chunksize=8)
        for (path, rel), (cb, counts, mode) in zip(jobs, results):
            modes[mode] += 1
            total.update(counts)
            assert len(cb) == counts["callbacks"], rel
            assert list(cb.columns) == [c.name for c in CALLBACK_COLUMNS]
            ep = cb["epoch"].to_numpy()
            assert (ep[1:] >= ep[:-1]).all(), rel
            assert cb["has_rel"].sum() == counts["rel_rows"] // (4 if mode == "pairwise" else 2)

    assert modes == Counter({"pairwise": 257, "pointwise": 205})
    expected = {
        # §4 parser-level counts
        "files": 2362, "lines": 10_643_665,
        "lines_abs_gaze": 2_936_858, "lines_abs_mouse": 1_833_139,
        "lines_rel_gaze": 729_420, "lines_rel_mouse": 729_420,
        "lines_rel_gaze_one": 1_103_707, "lines_rel_gaze_two": 1_103_707,
        "lines_rel_mouse_left": 1_103_707, "lines_rel_mouse_right": 1_103_707,
        "folders": 462, "folders_pairwise": 257, "folders_pointwise": 205,
        "callbacks": 1_833_139, "callbacks_pairwise": 1_103_719, "callbacks_pointwise": 729_420,
        "rel_rows": 5_873_668,
        # §3
        "window_quote": 45_131, "window_comma": 210_935,                         # #2
        "rel_files_6col": 200, "rel_files_7col": 1238,                            # #4
        "folders_6col": 65, "folders_7col": 397,
        "window_unquoted": 579,                                                   # #5
        "csv_rewritten_files": 3, "csv_doubled_quotes": 564, "csv_trailing_quote": 11,  # #6
        "abs_gaze_duplicates": 1_103_719,                                         # #7
        "callbacks_without_rel": 12, "folders_without_rel": 2,                    # #8
        "backward_steps": 49, "folders_backward_steps": 20,                       # #9
        "repeated_page_time": 102, "folders_repeated_page_time": 24,              # #11
        "rel_epoch_mismatch": 49_059,                                             # #12
        "gaze_x_offscreen": 62_129, "gaze_y_offscreen": 48_109,                   # #26
        "mouse_before_move": 4_132,                                               # #27
        "valid_zero": 119_184, "valid_absent": 180_882,                           # #28
    }
    assert {k: total[k] for k in expected} == expected
    assert set(total) <= set(DEFECT_KEYS)


@pytest.mark.realdata
def test_real_folders_without_rel_rows(real_root):
    """§3 #8 names the two folders: worker_191ee47f/83 (5 callbacks) and /101 (7)."""
    for task, n in ((83, 5), (101, 7)):
        rel = f"user_behavior/worker_191ee47f/{task}"
        cb, counts, _ = parse_folder(Path(real_root) / rel, rel)
        assert counts["callbacks_without_rel"] == n
        assert (~cb["has_rel"]).sum() == n
        assert cb.loc[~cb["has_rel"], "gaze1_epoch"].isna().all()


# ---------------------------------------------------------------------------------------------
# the cache build's DataFrame-free path gives the same table as the pandas path
# ---------------------------------------------------------------------------------------------

def test_duplicate_rows_matches_pandas_duplicated():
    from ifl_utils.data.folder import _duplicate_rows

    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(0, 40))
        # few distinct values so that partial matches (same page_time, other x) are common
        cols = {"x": rng.integers(0, 3, n).astype(float), "y": rng.integers(0, 2, n) + 0.5,
                "page_time": rng.integers(0, 4, n) * 80.0, "epoch": rng.integers(0, 2, n) + EP}
        keys = ("x", "y", "page_time", "epoch")
        want = pd.DataFrame(cols).duplicated().to_numpy()
        np.testing.assert_array_equal(_duplicate_rows(cols, keys), want)


@pytest.mark.parametrize("kind", ["pairwise", "pointwise", "six", "no_rel"])
def test_callbacks_arrow_equals_from_pandas(tmp_path, kind):
    import pyarrow as pa

    from ifl_utils.data.folder import callbacks_arrow, callbacks_frame, parse_folder_columns

    mode = "pointwise" if kind == "pointwise" else "pairwise"
    files = write(cbs(9), mode=mode, batches=[4, 5], six=kind == "six",
                  no_rel=(3,) if kind == "no_rel" else ())
    cols, _, got_mode = parse_folder_columns(_on_disk(tmp_path, files), FOLDER)
    assert got_mode == mode
    names = [c.name for c in CALLBACK_COLUMNS]
    direct = callbacks_arrow(cols, names)
    via_pandas = pa.Table.from_pandas(callbacks_frame(cols), preserve_index=False)
    assert direct.schema.equals(via_pandas.schema.remove_metadata())
    for name in names:   # NaN != NaN in Arrow's equals: compare nulls and values separately
        a, b = direct[name], via_pandas[name]
        assert a.null_count == b.null_count, name
        assert a.to_pylist() == b.to_pylist(), name
