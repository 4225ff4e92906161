"""Tests of the behaviour-file parser (:mod:`ifl_utils.data.parse`).

Unit tests run on tiny files built here as bytes literals, one per repair of the data reference
(§3 #2-#6) and one per error path; a randomised test compares the vectorised parser with a plain
line-by-line reference. The ``realdata`` tests parse every file of the release.
"""
from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ifl_utils.data.parse import (CSV_REWRITE_MIN, DEFECT_KEYS, empty_rows, parse_columns,
                                  parse_stream, rows_frame)
from ifl_utils.data.schema import ABS_ROWS, ABS_STREAMS, REL_ROWS, REL_STREAMS
from ifl_utils.errors import IFLDataError

PATH = "user_behavior/worker_test/1/rel_gaze.csv"
EP = 1760851870278


def check_schema(df: pd.DataFrame, columns) -> None:
    assert list(df.columns) == [c.name for c in columns]
    for c in columns:
        assert str(df[c.name].dtype) == c.dtype, (c.name, df[c.name].dtype)
        assert df[c.name].dtype == pd.Series([], dtype=c.dtype).dtype


def parse(data: bytes, stream: str = "rel_gaze") -> tuple[pd.DataFrame, Counter]:
    df, counts = parse_stream(data, stream, PATH)
    check_schema(df, ABS_ROWS if stream in ABS_STREAMS else REL_ROWS)
    assert df["line"].tolist() == list(range(1, len(df) + 1))
    assert set(counts) <= set(DEFECT_KEYS)
    return df, counts


def windows(df: pd.DataFrame) -> list:
    return [None if v is pd.NA else v for v in df["window"].tolist()]


# ---------------------------------------------------------------------------------------------
# well-formed files
# ---------------------------------------------------------------------------------------------

def test_abs_rows_keep_file_order_and_values():
    data = (b"499.77653683557,499.86817280947,14905.299999714,1765701338882\n"
            b"-227318.6,-31920,14598,1765701338575\n"
            b"-1,-1,15203.3,1765701339180\n")
    df, counts = parse(data, "abs_mouse")
    assert df["x"].tolist() == [499.77653683557, -227318.6, -1.0]   # abs keeps -1 and negatives
    assert df["y"].tolist() == [499.86817280947, -31920.0, -1.0]
    assert df["page_time"].tolist() == [14905.299999714, 14598.0, 15203.3]
    assert df["epoch"].tolist() == [1765701338882, 1765701338575, 1765701339180]
    assert counts == Counter({"files": 1, "files_abs_mouse": 1, "lines": 3, "lines_abs_mouse": 3})


def test_rel_7col_fields():
    data = (b'479.78,136.47,"ish generating their",105,14598,0,1765701338576\n'
            b"-1,-1,,,14905.299999714,1,1765701338882\n"
            b'12.5,0,"",7,15203.3,1,1765701339180\n'
            b'0,3,"caf\xc3\xa9 \xf0\x9f\x98\x80",9,15300,1,1765701339280\n')
    df, counts = parse(data)
    assert windows(df) == ["ish generating their", None, "", "café 😀"]
    assert df["char_idx"].tolist() == [105, pd.NA, 7, 9]
    assert np.isnan(df["x"].iat[1]) and np.isnan(df["y"].iat[1])      # (-1, -1) -> NaN
    assert df["x"].tolist()[2:] == [12.5, 0.0] and df["y"].tolist()[2:] == [0.0, 3.0]
    assert df["valid"].tolist() == [0, 1, 1, 1]
    assert df["page_time"].tolist() == [14598.0, 14905.299999714, 15203.3, 15300.0]
    assert df["epoch"].tolist() == [1765701338576, 1765701338882, 1765701339180, 1765701339280]
    assert counts["rel_files_7col"] == 1 and counts["rel_files_6col"] == 0
    assert counts["rel_windows"] == 3 and counts["lines_rel_gaze"] == 4


def test_rel_6col_has_no_valid():
    """§3 #4: the 6-column format (September 2025) has no valid column."""
    data = (b'480.04,164.92,"ase wait patiently.",43,5667.4,1757475475170\n'
            b"-1,-1,,,5770,1757475475270\n")
    df, counts = parse(data, "rel_mouse_left")
    assert df["valid"].isna().all()
    assert windows(df) == ["ase wait patiently.", None]
    assert df["page_time"].tolist() == [5667.4, 5770.0]
    assert counts["rel_files_6col"] == 1 and counts["rel_files_7col"] == 0


def test_format_detected_per_file_not_fooled_by_window():
    """§3 #4: the 2nd-to-last field decides; a window ending in ``,0`` or ``,1`` does not."""
    six = b'1,2,"a,1",5,100.5,1757475475170\n3,4,"b,0",6,0.5,1757475475171\n'
    df, counts = parse(six)
    assert counts["rel_files_6col"] == 1 and windows(df) == ["a,1", "b,0"]
    assert df["page_time"].tolist() == [100.5, 0.5]
    seven = b'1,2,"x,0,1",5,100.5,1,1757475475170\n'
    df, counts = parse(seven)
    assert counts["rel_files_7col"] == 1 and windows(df) == ["x,0,1"]


def test_inner_quotes_and_commas():
    """§3 #2: the window is not escaped; split 2 fields from the left, 4/3 from the right."""
    data = (b'283.15,776.69,"s "Astroworld" tour,",1191,132043.2,1,1760851870278\n'
            b'1,2,",,,",3,4,1,1760851870279\n'
            b'1,2,"plain",3,5,1,1760851870280\n')
    df, counts = parse(data)
    assert windows(df) == ['s "Astroworld" tour,', ",,,", "plain"]
    assert df["char_idx"].tolist() == [1191, 3, 3]
    assert df["page_time"].tolist() == [132043.2, 4.0, 5.0]
    assert counts["window_quote"] == 1 and counts["window_comma"] == 2
    six = b'5,6,"a, "b", c",10,20.5,1757475475170\n'
    df, counts = parse(six)
    assert windows(df) == ['a, "b", c'] and counts["window_quote"] == counts["window_comma"] == 1


def test_window_ending_in_quote_does_not_swallow_lines():
    """§3 #3: ``"lways On""`` opens a quoted field for a CSV reader; here it is one line."""
    data = (b'622.41,406.98,"lways On"",1919,93671.2,1,1765701477457\n'
            b'622.41,406.98,"next",1920,93700,1,1765701477500\n'
            b'1,1,""",5,93800,1,1765701477600\n')
    df, counts = parse(data)
    assert len(df) == 3
    assert windows(df) == ['lways On"', "next", '"']
    assert counts["window_quote_end"] == 2 and counts["window_quote"] == 2


def test_unquoted_window_taken_as_is():
    """§3 #5: a window without its enclosing quotes is taken as is."""
    data = (b"473.63,274.62,20240620},161,14975,1,1763139971381\n"
            b'691.01,811.82,"How You Like That",,604,106297.19999999,1,1763445809988\n'
            b'1,2,",3,100,1,1763445809999\n')
    df, counts = parse(data)
    assert windows(df) == ["20240620}", '"How You Like That",', '"']
    assert df["char_idx"].tolist() == [161, 604, 3]
    assert counts["window_unquoted"] == 3


def _csv_rewritten(n_doubled: int) -> bytes:
    lines = [f'{i},{i},"girl crush"" c{i}""",{i},{90000 + i},1,{EP + i}\n'.encode()
             for i in range(n_doubled)]
    lines.append(b'373.72,679.08,"hip-hop, EDM with "",443,92907.8,1,1763445796598"\n')
    lines.append(b'1,2,"",4,92999,0,1763445796700\n')
    return b"".join(lines)


def test_csv_rewritten_file_is_repaired():
    """§3 #6: >= 10 windows with ``""`` inside -> ``""`` -> ``"`` in the window text, and the
    stray quote after the epoch is dropped."""
    df, counts = parse(_csv_rewritten(CSV_REWRITE_MIN))
    assert len(df) == CSV_REWRITE_MIN + 2
    assert windows(df)[0] == 'girl crush" c0"'
    assert windows(df)[CSV_REWRITE_MIN] == 'hip-hop, EDM with "'
    assert windows(df)[-1] == ""                # the empty window '""' is not a doubled quote
    assert df["epoch"].iat[CSV_REWRITE_MIN] == 1763445796598
    assert counts["csv_rewritten_files"] == 1
    assert counts["csv_doubled_quotes"] == CSV_REWRITE_MIN
    assert counts["csv_trailing_quote"] == 1


def test_few_doubled_quotes_are_left_alone():
    """Below the threshold ``""`` is window text (one release file has one such window)."""
    data = b'1,2,"say ""hi"" now",3,4,1,1763445796598\n'
    df, counts = parse(data)
    assert windows(df) == ['say ""hi"" now']
    assert counts["csv_rewritten_files"] == 0 and counts["csv_doubled_quotes"] == 0
    # and a stray quote after the epoch is corruption outside such a file
    with pytest.raises(IFLDataError, match="epoch") as e:
        parse_stream(_csv_rewritten(CSV_REWRITE_MIN - 1), "rel_gaze", PATH)
    assert e.value.line == CSV_REWRITE_MIN


@pytest.mark.parametrize("stream", ABS_STREAMS + REL_STREAMS)
def test_empty_file(stream):
    df, counts = parse(b"", stream)
    assert len(df) == 0
    check_schema(empty_rows(stream), ABS_ROWS if stream in ABS_STREAMS else REL_ROWS)
    assert counts == Counter({"files": 1, f"files_{stream}": 1, "empty_files": 1})


def test_parse_columns_matches_parse_stream():
    data = b'1,2,"a",3,4,1,1763445796598\n-1,-1,,,5,0,1763445796599\n'
    cols, c1 = parse_columns(data, "rel_gaze_two", PATH)
    df, c2 = parse_stream(data, "rel_gaze_two", PATH)
    pd.testing.assert_frame_equal(rows_frame(cols), df)
    assert c1 == c2


# ---------------------------------------------------------------------------------------------
# unknown corruption: IFLDataError with path, line and what was expected
# ---------------------------------------------------------------------------------------------

GOOD7 = b'1,2,"a",3,4,1,1763445796598\n'
GOOD6 = b'1,2,"a",3,4.5,1763445796598\n'
GOOD_ABS = b"1.5,2.5,3.5,1763445796598\n"

ERRORS = [
    # (id, stream, data, line, words in the message)
    ("abs-non-numeric-x", "abs_gaze", GOOD_ABS + b"abc,2,3,1763445796598\n", 2, ["'x'", "abc", "number"]),
    ("abs-non-numeric-time", "abs_mouse", GOOD_ABS * 3 + b"1,2,12:00,1763445796598\n", 4, ["page_time"]),
    ("abs-empty-field", "abs_gaze", GOOD_ABS + b"1,,3,1763445796598\n", 2, ["'y'"]),
    ("abs-nan", "abs_gaze", GOOD_ABS + b"nan,2,3,1763445796598\n", 2, ["finite"]),
    ("abs-inf", "abs_gaze", GOOD_ABS + b"1,2,inf,1763445796598\n", 2, ["finite"]),
    ("abs-truncated", "abs_mouse", GOOD_ABS + b"1,2,3\n" + GOOD_ABS, 2, ["3 comma-separated", "expected 4"]),
    ("abs-extra-field", "abs_mouse", GOOD_ABS + b"1,2,3,4,5\n", 2, ["5 comma-separated"]),
    ("abs-fractional-epoch", "abs_gaze", GOOD_ABS + b"1,2,3,1763445796598.5\n", 2, ["epoch", "integer"]),
    ("abs-blank-line", "abs_gaze", GOOD_ABS + b"\n" + GOOD_ABS, 2, ["1 comma-separated"]),
    ("rel-non-numeric-x", "rel_gaze", GOOD7 + b'x1,2,"a",3,4,1,1763445796598\n', 2, ["'x'", "x1"]),
    ("rel-non-numeric-time", "rel_gaze", GOOD7 * 2 + b'1,2,"a",3,4s,1,1763445796598\n', 3, ["page_time"]),
    ("rel-non-numeric-epoch-6col", "rel_gaze", GOOD6 + b'1,2,"a",3,4,17634457965x8\n', 2, ["epoch"]),
    ("rel-truncated", "rel_mouse", GOOD7 + b'1,2,"a",3\n', 2, ["4 comma-separated", "at least 6"]),
    ("rel-truncated-7col", "rel_mouse", GOOD7 + b'1,2,"a",3,1,1763445796598\n', 2, ["7-column"]),
    ("rel-half-minus-one", "rel_gaze", GOOD7 + b"-1,5,,,4,1,1763445796598\n", 2, ["both -1"]),
    ("rel-half-minus-one-y", "rel_gaze", GOOD7 + b"5,-1,,,4,1,1763445796598\n", 2, ["both -1"]),
    ("rel-negative", "rel_gaze", GOOD7 + b'-3,5,"a",3,4,1,1763445796598\n', 2, ["both -1"]),
    ("rel-mixed-format", "rel_gaze", GOOD7 * 2 + GOOD6, 3, ["mixed", "6-column"]),
    ("rel-mixed-format-6-first", "rel_gaze", GOOD6 + GOOD7, 2, ["mixed"]),
    ("rel-window-without-char", "rel_gaze", GOOD7 + b'1,2,"a",,4,1,1763445796598\n', 2, ["char_idx"]),
    ("rel-char-without-window", "rel_gaze", GOOD7 + b"1,2,,3,4,1,1763445796598\n", 2, ["char_idx"]),
    ("rel-fractional-char", "rel_gaze", GOOD7 + b'1,2,"a",3.5,4,1,1763445796598\n', 2, ["char_idx", "integer"]),
    ("rel-stray-quote", "rel_gaze", GOOD7 + b'1,2,"a",3,4,1,1763445796598"\n', 2, ["epoch"]),
    ("bad-utf8", "rel_gaze", GOOD7 + b'1,2,"caf\xe9",3,4,1,1763445796598\n', 2, ["UTF-8"]),
    ("bad-utf8-abs", "abs_gaze", GOOD_ABS * 2 + b"1\xff,2,3,4\n", 3, ["UTF-8"]),
    ("crlf", "abs_gaze", b"1,2,3,1763445796598\r\n", 1, ["CR"]),
    ("crlf-second-line", "rel_gaze", GOOD7 + GOOD7.replace(b"\n", b"\r\n"), 2, ["CR"]),
    ("no-final-newline", "abs_gaze", GOOD_ABS + b"1,2,3,17634", 2, ["line feed"]),
]


@pytest.mark.parametrize("stream,data,line,words", [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_unknown_corruption_raises(stream, data, line, words):
    with pytest.raises(IFLDataError) as e:
        parse_stream(data, stream, PATH)
    assert e.value.path == PATH
    assert e.value.line == line
    msg = str(e.value)
    assert msg.startswith(f"{PATH}, line {line}: ")
    for w in words:
        assert w in msg


def test_unknown_stream():
    with pytest.raises(IFLDataError, match="unknown behaviour stream"):
        parse_stream(GOOD_ABS, "abs_keyboard", PATH)


def test_defect_keys_are_documented():
    for key, (number, text) in DEFECT_KEYS.items():
        assert key == key.lower() and " " not in key
        assert number is None or 1 <= number <= 30
        assert isinstance(text, str) and text


# ---------------------------------------------------------------------------------------------
# randomised comparison with a line-by-line reference parser
# ---------------------------------------------------------------------------------------------

def reference_parse(data: bytes, stream: str, unescape: bool = False) -> dict[str, list]:
    """The data reference's recipe, one line at a time (slow, obviously right)."""
    lines = data.decode("utf-8").split("\n")[:-1]
    if stream in ABS_STREAMS:
        rows = [[float(v) for v in ln.split(",")] for ln in lines]
        return {"x": [r[0] for r in rows], "y": [r[1] for r in rows],
                "page_time": [r[2] for r in rows], "epoch": [int(r[3]) for r in rows]}
    seven = all(ln.rsplit(",", 2)[1] in ("0", "1") for ln in lines)
    k = 4 if seven else 3
    out: dict[str, list] = {c: [] for c in ("x", "y", "window", "char_idx", "page_time",
                                            "valid", "epoch")}
    for ln in lines:
        x, y, rest = ln.split(",", 2)
        w, *right = rest.rsplit(",", k)
        if len(w) >= 2 and w[0] == w[-1] == '"':
            w = w[1:-1]
        if unescape:
            w = w.replace('""', '"')
        outside = x == "-1" and y == "-1"
        out["x"].append(None if outside else float(x))
        out["y"].append(None if outside else float(y))
        out["window"].append(w if (w or rest.rsplit(",", k)[0]) else None)
        out["char_idx"].append(int(right[0]) if right[0] else None)
        out["page_time"].append(float(right[1]))
        out["valid"].append(int(right[2]) if seven else None)
        out["epoch"].append(int(right[-1]))
    return out


def _random_window(rng: random.Random) -> str:
    alphabet = 'abc XYZ,,"\'é😀—{}*-.0123456789'
    kind = rng.random()
    if kind < 0.3:
        return ""
    if kind < 0.35:
        return '""'
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 21))).replace('""', '"a')
    return text if kind < 0.38 and text and not text.startswith('"') else f'"{text}"'


@pytest.mark.parametrize("seed", range(6))
def test_random_files_match_reference(seed):
    rng = random.Random(seed)
    seven = seed % 2 == 0
    lines = []
    for i in range(rng.randint(1, 300)):
        w = _random_window(rng)
        x, y = ("-1", "-1") if not w and rng.random() < 0.8 else (
            f"{rng.uniform(0, 2000):.2f}", str(rng.randint(0, 900)))
        ci = str(rng.randint(0, 5000)) if w else ""
        fields = [x, y, w, ci, repr(rng.uniform(0, 1e6))]
        if seven:
            fields.append(str(rng.randint(0, 1)))
        fields.append(str(1757475475170 + i))
        lines.append(",".join(fields) + "\n")
    data = "".join(lines).encode()
    df, counts = parse(data, "rel_gaze_one")
    ref = reference_parse(data, "rel_gaze_one")
    assert counts["rel_files_7col" if seven else "rel_files_6col"] == 1
    for col, values in ref.items():
        got = [None if v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v
               for v in df[col].tolist()]
        assert got == values, col


# ---------------------------------------------------------------------------------------------
# the real release
# ---------------------------------------------------------------------------------------------

#: Files with §3 #5/#6 defects: compared line by line with the reference recipe.
DEFECT_FILES = [
    "worker_61e55ed0/208/rel_gaze.csv", "worker_61e55ed0/208/rel_mouse.csv",
    "worker_91a679fb/208/rel_gaze.csv", "worker_baa3f9fa/159/rel_gaze_two.csv",
    "worker_4e81fa4e/134/rel_mouse.csv", "worker_baa3f9fa/196/rel_gaze.csv",
]


@pytest.mark.realdata
def test_real_release_every_file(real_root):
    files = sorted((Path(real_root) / "user_behavior").glob("*/*/*.csv"))
    total: Counter = Counter()
    for f in files:
        data = f.read_bytes()
        df, counts = parse_stream(data, f.stem, f.relative_to(real_root).as_posix())
        assert len(df) == data.count(b"\n"), f          # one row per line, never a skipped one
        total.update(counts)
    assert total["files"] == 2362
    assert {s: total[f"files_{s}"] for s in ABS_STREAMS + REL_STREAMS} == {
        "abs_gaze": 462, "abs_mouse": 462, "rel_gaze": 205, "rel_mouse": 205,
        "rel_gaze_one": 257, "rel_gaze_two": 257, "rel_mouse_left": 257, "rel_mouse_right": 257}
    assert {s: total[f"lines_{s}"] for s in ABS_STREAMS + REL_STREAMS} == {
        "abs_gaze": 2_936_858, "abs_mouse": 1_833_139, "rel_gaze": 729_420,
        "rel_mouse": 729_420, "rel_gaze_one": 1_103_707, "rel_gaze_two": 1_103_707,
        "rel_mouse_left": 1_103_707, "rel_mouse_right": 1_103_707}
    assert total["lines"] == 10_643_665
    assert (total["rel_files_6col"], total["rel_files_7col"]) == (200, 1238)
    assert (total["window_quote"], total["window_comma"]) == (45_131, 210_935)
    assert total["window_unquoted"] == 579
    assert (total["csv_rewritten_files"], total["csv_doubled_quotes"],
            total["csv_trailing_quote"]) == (3, 564, 11)
    assert total["empty_files"] == 0


@pytest.mark.realdata
@pytest.mark.parametrize("rel", DEFECT_FILES)
def test_real_defect_files_match_reference(real_root, rel):
    f = Path(real_root) / "user_behavior" / rel
    data = f.read_bytes()
    df, counts = parse_stream(data, f.stem, rel)
    rewritten = bool(counts["csv_rewritten_files"])
    if rewritten:
        data = data.replace(b'"\n', b"\n")
    ref = reference_parse(data, f.stem, unescape=rewritten)
    for col, values in ref.items():
        got = [None if v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v
               for v in df[col].tolist()]
        assert got == values, col
