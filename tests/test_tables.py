"""Readers of the three relational tables (tiny synthetic CSVs) and the worker exclusions."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ifl_utils.data.exclusions import (EXCLUSIONS, PAPER_EXCLUDED_WORKERS, apply_exclusion,
                                       excluded_workers, quality_exclusions, worker_quality)
from ifl_utils.data.tables import (QUERY_LOG_COLUMNS, RECORD_INFO_COLUMNS, TASK_TABLE_COLUMNS,
                                   read_query_logs, read_record_info, read_task_table,
                                   utf16_len)
from ifl_utils.errors import IFLDataError

Q_HEADER = ["query_ID", "user_id", "task_id", "user_query", "llm_response_1", "llm_response_2",
            "llm_name_1", "llm_name_2", "likert_1", "likert_2", "preference", "adjustment",
            "query_timestamp"]
T_HEADER = ["user_id", "task_id", "copy_sentence", "summary", "feedback", "understand_before",
            "understand_after", "query_copy", "llm_response_copy", "accuracy", "finished",
            "domain"]
R_HEADER = ["user_id", "consent", "age", "location", "education", "race", "gender",
            "inserted_at"]

EMOJI = "\U0001F600"


def write_csv(path: Path, header: list[str], rows: list[dict]) -> Path:
    """Write ``rows`` (dicts; missing keys empty) as an RFC-4180 CSV like the release's."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow(["" if r.get(h) is None else r.get(h) for h in header])
    return path


def q_row(qid: int, worker: str = "worker_a", task: int = 1, query: str = "q?",
          r1: str = "left answer", r2: str | None = "right answer", m1: str = "gpt-4o-mini",
          m2: str | None = "gpt-4o-mini", l1: str | None = "4.0", l2: str | None = "3.0",
          pref: str | None = "1.0", adj: str = "0",
          ts: str = "2025-10-15 12:00:00") -> dict:
    if r2 is None:
        m2 = None
        l2 = None
    return {"query_ID": qid, "user_id": worker, "task_id": task, "user_query": query,
            "llm_response_1": r1, "llm_response_2": r2, "llm_name_1": m1, "llm_name_2": m2,
            "likert_1": l1, "likert_2": l2, "preference": pref, "adjustment": adj,
            "query_timestamp": ts}


def sample_rows() -> list[dict]:
    """Two conversations: pairwise a/1 (4 turns) and pointwise b/3 (odd id, 1 turn) and b/2."""
    return [
        # file order is not query order: turn numbers must follow query_ID
        q_row(12, query="  third  ", pref="2.0", r1="multi\r\nline", ts="2025-10-15 12:02:00"),
        q_row(10, query="first", r1=f"smile {EMOJI} done", ts="2025-10-15 12:00:00"),
        q_row(11, query="second", r2="AI Error. Please report to x", m2="deepseek-ai/\r\nDeepSeek-V3",
              l1=None, l2=None, pref=None, ts="2025-10-15 12:01:00"),
        q_row(13, query="third", pref="2.0", ts="2025-10-15 12:03:00"),
        q_row(20, worker="worker_b", task=3, r2=None, pref=None, adj="1",
              ts="0000-00-00 00:00:00"),
        q_row(30, worker="worker_b", task=2, r2=None, pref=None, ts="2025-10-16 10:00:00"),
        q_row(31, worker="worker_b", task=2, r2=None, pref="1.0", query="again",
              ts="2025-10-16 10:01:00"),
        q_row(32, worker="worker_b", task=2, r2=None, pref="0.0", query="again", l1=None,
              ts="2025-10-16 10:02:00"),
        q_row(33, worker="worker_b", task=2, r2=None, pref="0.0", query="again",
              ts="2025-10-16 10:03:00"),
    ]


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    write_csv(tmp_path / "query_logs_table.csv", Q_HEADER, sample_rows())
    return tmp_path


# --------------------------------------------------------------------------------------------
# query_logs_table.csv


def test_query_logs_columns_and_dtypes(root):
    df, counts = read_query_logs(root)
    assert list(df.columns) == list(QUERY_LOG_COLUMNS)
    assert df["query_id"].tolist() == [10, 11, 12, 13, 20, 30, 31, 32, 33]
    assert df["query_id"].dtype == np.int64
    assert str(df["likert_1"].dtype) == "Int8"
    assert str(df["right_preferred"].dtype) == "Int8"
    assert str(df["len_utf16_2"].dtype) == "Int32"
    assert counts["turns"] == 9 and counts["conversations"] == 3 and counts["workers"] == 2


def test_query_logs_repairs(root):
    df, counts = read_query_logs(root)
    by = df.set_index("query_id")
    assert by.at[12, "user_query"] == "third"                       # #30
    assert counts["question_whitespace"] == 1
    assert by.at[12, "llm_response_1"] == "multiline"               # #15
    assert counts["answers_crlf"] == 1
    assert by.at[11, "model_2"] == "deepseek-ai/DeepSeek-V3"        # #16
    assert counts["model_name_whitespace"] == 1
    assert by.at[10, "len_utf16_1"] == len("smile  done") + 2       # #17: emoji = 2 units
    assert utf16_len(f"a{EMOJI}") == 3
    assert counts["answers_non_bmp"] == 1
    assert by.at[11, "llm_error_2"] and by.at[11, "llm_error"] and not by.at[11, "llm_error_1"]
    assert counts["llm_error_turns"] == 1
    assert pd.isna(by.at[20, "time_raw_ms"]) and counts["invalid_timestamps"] == 1
    assert by.at[10, "time_raw_ms"] == int(pd.Timestamp("2025-10-15 12:00:00", tz="UTC")
                                           .timestamp() * 1000)


def test_query_logs_modes_and_labels(root):
    df, counts = read_query_logs(root)
    by = df.set_index("query_id")
    # mode from llm_response_2, not parity (#22): task 3 is odd but pointwise
    assert by.at[20, "mode"] == "pointwise" and by.at[10, "mode"] == "pairwise"
    assert counts["pointwise_odd_task_conversations"] == 1
    # pairwise preference 1 -> left (0), 2 -> right (1); pointwise codes kept apart
    assert by.at[10, "right_preferred"] == 0 and by.at[12, "right_preferred"] == 1
    assert pd.isna(by.at[11, "right_preferred"])
    assert by.at[31, "better_than_previous"] == 1 and by.at[33, "better_than_previous"] == 0
    assert pd.isna(by.at[31, "right_preferred"]) and pd.isna(by.at[10, "better_than_previous"])
    assert by["adjustment"].tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0]


def test_query_logs_turn_index_and_flags(root):
    df, counts = read_query_logs(root)
    by = df.set_index("query_id")
    assert by.loc[[10, 11, 12, 13], "turn"].tolist() == [1, 2, 3, 4]
    assert by.loc[[30, 31, 32, 33], "turn"].tolist() == [1, 2, 3, 4]
    assert by.at[20, "n_turns"] == 1 and by.at[20, "short_conversation"]
    assert not by.at[10, "short_conversation"] and counts["short_conversations"] == 1
    assert by.loc[[11, 32], "unrated"].all() and counts["unrated"] == 2
    # #19: 13 repeats 12 (after stripping), 32 and 33 repeat 31
    assert by.loc[by["repeated_submission"]].index.tolist() == [13, 32, 33]
    assert counts["repeated_submissions"] == 3
    assert counts["repeated_submission_conversations"] == 2
    assert counts["repeated_earlier_unrated"] == 1                   # 33 follows unrated 32
    # labels: the last rated copy of a run; a lone unrated turn has none
    assert by.loc[[31, 32, 33], "labels_from"].tolist() == [33, 33, 33]
    assert by.loc[[12, 13], "labels_from"].tolist() == [13, 13]
    assert pd.isna(by.at[11, "labels_from"]) and by.at[10, "labels_from"] == 10


def test_query_logs_missing_column(tmp_path):
    write_csv(tmp_path / "query_logs_table.csv", [h for h in Q_HEADER if h != "likert_2"],
              [q_row(1)])
    with pytest.raises(IFLDataError, match="likert_2") as exc:
        read_query_logs(tmp_path)
    assert exc.value.path == "query_logs_table.csv" and exc.value.line == 1


def test_query_logs_unparsable_number_names_physical_line(tmp_path):
    rows = [q_row(1, r1="line one\nline two\nline three"), q_row(2, l1="four")]
    write_csv(tmp_path / "query_logs_table.csv", Q_HEADER, rows)
    with pytest.raises(IFLDataError, match="likert_1.*'four'") as exc:
        read_query_logs(tmp_path)
    assert exc.value.line == 5  # header, 3 lines of record 1, then record 2


@pytest.mark.parametrize("row, pattern", [
    (q_row(1, l1="6.0"), "likert_1"),
    (q_row(1, pref="0.0"), "preference 0 in a pairwise"),
    (q_row(1, r2=None, pref="2.0"), "preference 2 in a pointwise"),
    (q_row(1, adj="2"), "adjustment"),
    (q_row(1, ts="2025-13-45 99:00:00"), "query_timestamp"),
    (q_row(1, ts=""), "query_timestamp"),
])
def test_query_logs_bad_values(tmp_path, row, pattern):
    write_csv(tmp_path / "query_logs_table.csv", Q_HEADER, [row])
    with pytest.raises(IFLDataError, match=pattern) as exc:
        read_query_logs(tmp_path)
    assert exc.value.line == 2


def test_query_logs_duplicate_id_and_mixed_modes(tmp_path):
    write_csv(tmp_path / "query_logs_table.csv", Q_HEADER, [q_row(1), q_row(1)])
    with pytest.raises(IFLDataError, match="twice") as exc:
        read_query_logs(tmp_path)
    assert exc.value.line == 3
    write_csv(tmp_path / "query_logs_table.csv", Q_HEADER, [q_row(1), q_row(2, r2=None)])
    with pytest.raises(IFLDataError, match="mixes pairwise and pointwise"):
        read_query_logs(tmp_path)


def test_missing_file(tmp_path):
    with pytest.raises(IFLDataError, match="not found"):
        read_query_logs(tmp_path)


# --------------------------------------------------------------------------------------------
# task_table.csv and record_info_table.csv


def t_row(worker: str, task: int, finished: str | None, **kw) -> dict:
    row = {"user_id": worker, "task_id": task, "copy_sentence": "a &quot;b&quot; c&#039;s",
           "summary": "s", "feedback": None, "understand_before": "3.0",
           "understand_after": "4.0", "query_copy": "q", "llm_response_copy": "x &amp; y",
           "accuracy": "80.0", "finished": finished, "domain": "Sport"}
    row.update(kw)
    return row


def test_task_table_dedupe_and_unescape(root):
    # conversation a/1 ends at 12:03:00; the duplicate 4 h later is the inconsistent copy (#24)
    rows = [t_row("worker_a", 1, "2025-10-15 16:03:30"), t_row("worker_a", 7, None),
            t_row("worker_a", 1, "2025-10-15 12:03:30", summary="kept")]
    write_csv(root / "task_table.csv", T_HEADER, rows)
    df, counts = read_task_table(root)
    assert list(df.columns) == list(TASK_TABLE_COLUMNS)
    assert len(df) == 2 and counts["duplicate_rows"] == 1
    kept = df[df["task_id"] == 1].iloc[0]
    assert kept["summary"] == "kept"
    assert kept["copy_sentence"] == 'a "b" c\'s' and kept["llm_response_copy"] == "x & y"
    assert counts["html_entities_copy_sentence"] == 3  # counted on the raw rows, as §3 does
    assert str(df["accuracy"].dtype) == "Float64" and str(df["understand_after"].dtype) == "Int8"
    assert pd.isna(df[df["task_id"] == 7]["finished_ms"].iloc[0])
    # with repaired display times (e.g. a +4 h shifted conversation) the other copy wins
    last = pd.DataFrame({"worker": ["worker_a"], "task_id": [1],
                         "last_display_ms": [int(pd.Timestamp("2025-10-15 16:00:00", tz="UTC")
                                                 .timestamp() * 1000)]})
    df2, _ = read_task_table(root, last)
    assert df2[df2["task_id"] == 1]["summary"].iloc[0] == "s"


def test_task_table_unresolvable_duplicate(root):
    rows = [t_row("worker_z", 1, "2025-10-15 16:03:30"), t_row("worker_z", 1, None)]
    write_csv(root / "task_table.csv", T_HEADER, rows)
    with pytest.raises(IFLDataError, match="worker_z") as exc:
        read_task_table(root)
    assert exc.value.line == 3


def test_task_table_bad_accuracy(tmp_path):
    write_csv(tmp_path / "task_table.csv", T_HEADER, [t_row("w", 1, None, accuracy="high")])
    with pytest.raises(IFLDataError, match="accuracy") as exc:
        read_task_table(tmp_path)
    assert exc.value.path == "task_table.csv" and exc.value.line == 2


def test_record_info_dedupe(tmp_path):
    base = {"user_id": "worker_a", "consent": "1", "age": "26.0", "location": "x",
            "education": "Bachelor", "race": "White,Asian", "gender": "Male"}
    rows = [dict(base, inserted_at="2026-01-17 04:08:52"),
            {"user_id": "worker_b", "consent": "0", "inserted_at": "2025-11-29 17:21:30"},
            dict(base, inserted_at="2026-01-16 21:41:49")]
    write_csv(tmp_path / "record_info_table.csv", R_HEADER, rows)
    df, counts = read_record_info(tmp_path)
    assert list(df.columns) == list(RECORD_INFO_COLUMNS)
    assert df["worker"].tolist() == ["worker_b", "worker_a"]
    assert df.set_index("worker").at["worker_a", "inserted_at"] == "2026-01-16 21:41:49"
    assert counts["duplicate_rows"] == 1 and str(df["age"].dtype) == "Int16"
    assert pd.isna(df.set_index("worker").at["worker_b", "age"])


def test_record_info_conflicting_duplicate(tmp_path):
    rows = [{"user_id": "worker_a", "consent": "1", "inserted_at": "2026-01-17 04:08:52"},
            {"user_id": "worker_a", "consent": "0", "inserted_at": "2026-01-17 04:08:52"}]
    write_csv(tmp_path / "record_info_table.csv", R_HEADER, rows)
    with pytest.raises(IFLDataError, match="more than inserted_at"):
        read_record_info(tmp_path)


# --------------------------------------------------------------------------------------------
# exclusions


def test_paper_list():
    assert len(PAPER_EXCLUDED_WORKERS) == 24 == len(set(PAPER_EXCLUDED_WORKERS))
    assert all(w.startswith("worker_") and len(w) == 15 for w in PAPER_EXCLUDED_WORKERS)


def test_apply_exclusion():
    df = pd.DataFrame({"worker": ["worker_9683ed92", "worker_1", "worker_2"], "x": [1, 2, 3]})
    assert apply_exclusion(df, "none").equals(df)
    assert apply_exclusion(df, "paper")["x"].tolist() == [2, 3]
    assert apply_exclusion(df, "quality", ["worker_2"])["x"].tolist() == [1, 2]
    q = pd.DataFrame({"reasons": ["r"]}, index=pd.Index(["worker_1"], name="worker"))
    assert apply_exclusion(df, "quality", q)["x"].tolist() == [1, 3]
    q2 = pd.DataFrame({"worker": ["worker_1"], "reasons": ["r"]})
    assert apply_exclusion(df, "quality", q2)["x"].tolist() == [1, 3]
    assert apply_exclusion(df.rename(columns={"worker": "user_id"}), "paper")["x"].tolist() \
        == [2, 3]
    with pytest.raises(ValueError, match="needs the quality"):
        apply_exclusion(df, "quality")
    with pytest.raises(ValueError, match="unknown exclusion"):
        apply_exclusion(df, "strict")
    assert excluded_workers("paper") == frozenset(PAPER_EXCLUDED_WORKERS)
    assert EXCLUSIONS == ("none", "paper", "quality")


def test_worker_quality_and_rule():
    # worker_fast: 20 Hz, all valid, gaze on the answer half the time
    # worker_slow: 4 Hz (every 250 ms), no valid flag (6-column format)
    n = 8
    fast = pd.DataFrame({"worker": "worker_fast", "task_id": 1, "session": 0,
                         "turn": [-1, -1, 5, 5, 5, 5, 6, 6], "page_time": np.arange(n) * 50.0,
                         "valid": pd.array([1] * n, dtype="Int8")})
    slow = pd.DataFrame({"worker": "worker_slow", "task_id": 2, "session": 0,
                         "turn": [7] * n, "page_time": np.arange(n) * 250.0,
                         "valid": pd.array([None] * n, dtype="Int8")})
    cb = pd.concat([fast, slow], ignore_index=True)
    checks = pd.DataFrame({
        "worker": ["worker_fast"] * 4 + ["worker_slow"] * 2, "task_id": [1] * 4 + [2] * 2,
        "row": [2, 3, 3, 6, 0, 1], "modality": ["gaze", "gaze", "gaze", "mouse", "gaze", "gaze"],
        "turn": [5, 5, 5, 6, 7, 7], "agree": [True, True, True, True, True, False]})
    m = worker_quality(cb, checks)
    assert m.at["worker_fast", "rate_hz"] == pytest.approx(20.0)
    assert m.at["worker_slow", "rate_hz"] == pytest.approx(4.0)
    assert m.at["worker_fast", "valid_share"] == 1.0 and np.isnan(m.at["worker_slow",
                                                                       "valid_share"])
    assert m.at["worker_fast", "gaze_text_share"] == pytest.approx(2 / 6)  # rows 2, 3
    assert m.at["worker_slow", "gaze_text_share"] == pytest.approx(1 / 8)
    assert m.at["worker_fast", "callbacks_per_turn"] == 3.0
    q = quality_exclusions(m)
    assert q.index.tolist() == ["worker_slow"]
    assert q["reasons"].iloc[0] == "rate_hz 4.0 < 5; gaze_text_share 0.12 < 0.2"


# --------------------------------------------------------------------------------------------
# real data (§4)


@pytest.fixture(scope="module")
def real_turns(real_root):
    return read_query_logs(real_root)


@pytest.mark.realdata
def test_real_query_logs_counts(real_turns):
    df, c = real_turns
    assert (c["turns"], c["conversations"], c["workers"]) == (1691, 512, 87)
    assert (c["pairwise_turns"], c["pointwise_turns"]) == (821, 870)
    assert (c["unrated"], c["llm_error_turns"], c["llm_error_answers"]) == (46, 14, 14)
    assert (c["repeated_submissions"], c["repeated_submission_conversations"],
            c["repeated_earlier_unrated"]) == (33, 27, 22)
    assert (c["question_whitespace"], c["answers_crlf"], c["answers_non_bmp"]) == (71, 28, 33)
    assert (c["model_name_whitespace"], c["short_conversations"]) == (1, 3)
    assert c["pointwise_odd_task_conversations"] == 2 and c["invalid_timestamps"] == 1
    models = set(df["model_1"]) | set(df["model_2"].dropna())
    assert len(models) == 5
    assert df["right_preferred"].value_counts().to_dict() == {0: 400, 1: 387}
    assert df["better_than_previous"].value_counts().to_dict() == {1: 451, 0: 148}
    conv = df.groupby(["worker", "task_id"])["mode"].first().value_counts().to_dict()
    assert conv == {"pairwise": 255, "pointwise": 257}
    assert int(df["adjustment"].sum()) == 799


@pytest.mark.realdata
def test_real_paper_exclusion(real_root, real_turns):
    df, _ = real_turns
    kept = apply_exclusion(df, "paper")
    assert len(kept) == 1536
    assert (kept["mode"] == "pairwise").sum() == 721 and (kept["mode"] == "pointwise").sum() == 815
    assert kept.groupby(["worker", "task_id"]).ngroups == 465
    assert kept["worker"].nunique() == 64
    assert int(kept["unrated"].sum()) == 36
    assert int(kept["right_preferred"].notna().sum()) == 694
    assert len(set(PAPER_EXCLUDED_WORKERS) & set(df["worker"])) == 23
    task, _ = read_task_table(real_root)
    info, _ = read_record_info(real_root)
    assert len(apply_exclusion(task, "paper")) == 1207 - 1  # §4 counts the duplicated row too
    assert apply_exclusion(info, "paper")["worker"].nunique() == 233


@pytest.mark.realdata
def test_real_task_and_record_tables(real_root):
    task, tc = read_task_table(real_root)
    assert len(task) == 1335 and tc["duplicate_rows"] == 1
    assert tc["html_entities_copy_sentence"] == 3 and tc["html_entities_llm_response_copy"] == 4
    kept = task[(task["worker"] == "worker_6129fc84") & (task["task_id"] == 23)]
    assert kept["finished"].tolist() == ["2025-04-23 19:39:24"]
    assert task["worker"].nunique() == 211 and int(task["finished_ms"].notna().sum()) == 562
    info, ic = read_record_info(real_root)
    assert len(info) == 257 and ic["duplicate_rows"] == 1
    assert int((info["consent"] == 0).sum()) == 45
