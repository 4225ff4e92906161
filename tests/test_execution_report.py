"""The execution report's tables (ifl_utils.execution_report) and the clean-clone CI timing
(ifl_utils.ci_time), on records built in code."""
from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from ifl_utils import ci_time
from ifl_utils import execution_report as er


def _record(chapter, wall, peak, data="warm", emb="unused", dpo="unused", commit="abc1234",
            torch="2.13.0+cpu"):
    def st(s):
        return {"state": s, "new": 2 if s == "cold" else 0, "read": 1, "present_before": 1}

    return {"chapter": chapter, "mode": "quick", "seed": 0, "executed_at": "2026-12-06T21:55:03Z",
            "wall_s": wall, "peak_rss_mb": peak, "commit": commit,
            "cache": {"data": st(data), "embeddings": st(emb), "dpo": st(dpo)},
            "packages": {"torch": torch, "transformers": "5.24.0", "scikit-learn": "1.9.1",
                         "pandas": "3.1.1"},
            "machine": {"cpu_model": "CPU X", "cpus": 2, "memory_gb": 23.5,
                        "platform": "Linux-6", "python": "3.11.7"}}


def test_formats():
    assert er.fmt_seconds(4.24) == "4.2 s"
    assert er.fmt_seconds(185) == "3 min 05 s"
    assert er.fmt_seconds(3720) == "1 h 02 min"
    assert er.fmt_seconds(None) == "—"
    assert er.fmt_mb(812.4) == "812 MB" and er.fmt_mb(5530) == "5.4 GB"
    assert er.fmt_when("2026-12-06T21:55:03Z") == "2026-12-06 21:55 UTC"
    assert er.fmt_cache({"state": "cold", "new": 3}) == "cold (3 new)"


def test_chapter_table_rows_follow_the_chapters_and_show_missing_ones():
    records = {"02_b": _record("02_b", 192.3, 5530, emb="cold"), "01_a": _record("01_a", 55.6, 1235.7),
               "04_d": {"chapter": "04_d", "mode": "quick", "error": "04_d.json: bad"}}
    table = er.chapter_table(records, ["01_a", "02_b", "03_c", "04_d"])
    assert list(table.index) == ["01_a", "02_b", "03_c", "04_d"]
    assert table.loc["02_b", "wall time"] == "3 min 12 s"
    assert table.loc["02_b", "peak memory"] == "5.4 GB"
    assert er.CACHE_COLUMN == "cache: data · embeddings · model fits · DPO runs"
    # records made before the model-fits kind existed show a dash there
    assert table.loc["02_b", er.CACHE_COLUMN] == "warm · cold (2 new) · — · unused"
    assert table.loc["01_a", er.CACHE_COLUMN] == "warm · unused · — · unused"
    assert table.loc["01_a", "executed at (UTC)"] == "2026-12-06 21:55"
    assert table.loc["03_c", "executed at (UTC)"] == er.NOT_RUN
    assert "bad" in table.loc["04_d", "executed at (UTC)"]
    assert er.shared(records) == {"seed": 0, "commit": "abc1234"}
    narrow = er.chapter_table(records, ["01_a", "02_b"], drop_shared=True)
    assert "seed" not in narrow.columns and "commit" not in narrow.columns
    records["01_a"] = {**records["01_a"], "commit": "fff0000"}
    assert er.shared(records) == {"seed": 0}
    assert "commit" in er.chapter_table(records, ["01_a"], drop_shared=True).columns
    tot = er.totals(records)
    assert tot == {"chapters": 2, "wall_s": 247.9, "max_peak_mb": 5530}


def test_latest_record():
    a, b = _record("01_a", 1, 1), _record("02_b", 1, 1, commit="def5678")
    b["executed_at"] = "2026-12-07T08:00:00Z"
    assert er.latest({"01_a": a, "02_b": b}) is b
    assert er.latest({"04_d": {"chapter": "04_d", "error": "bad"}}) is None


def test_environment_table_groups_chapters_by_environment():
    records = {"01_a": _record("01_a", 1, 1), "02_b": _record("02_b", 1, 1),
               "03_c": _record("03_c", 1, 1, torch="2.12.0")}
    env = er.environment_table(records)
    assert list(env.columns) == ["environment 1", "environment 2"]
    assert list(env.loc["chapters"]) == ["01_a, 02_b", "03_c"]
    assert list(env.loc["torch"]) == ["2.13.0+cpu", "2.12.0"]
    assert env.loc["machine", "environment 1"] == "CPU X, 2 cores, 23.5 GB memory, Linux-6"
    one = er.environment_table({"01_a": records["01_a"]})
    assert list(one.columns) == ["all chapters"] and one.loc["chapters", "all chapters"] == "all"


def test_step_times_from_make_echo():
    together = (".venv/bin/python -m ifl_utils.together \"unit tests=.venv/bin/python -m pytest tests -q "
                "--ignore=tests/browser\" \"chapters=.venv/bin/ifl run --mode quick\"")
    lines = [(1.0, "rm -rf .venv"), (2.0, "python3 -m venv .venv"),
             (100.0, together),
             (150.0, "[unit tests] ........ [100%]"),
             (480.0, "[together] unit tests: exit 0 after 250.5 s"),
             (480.0, "[together] chapters: exit 0 after 380.0 s"),
             (500.0, ".venv/bin/python -m pytest --nbval book/executed --nbval-sanitize-with x -q"),
             (640.0, "bash tests/browser/ensure_chromium.sh"),
             (641.0, ".venv/bin/python -m pytest tests/browser -q -p no:randomly --tb=short")]
    steps = ci_time.step_times(lines, start=0.0, end=700.0)
    assert steps == {"install": 100.0, "unit tests ‖ quick chapters + book": 400.0,
                     "nbval": 140.0, "browser tests": 60.0}
    assert ci_time.side_times(lines) == {"unit tests": 250.5, "chapters": 380.0}
    # a run that failed in the side-by-side step never reaches the later steps
    assert ci_time.step_times(lines[:4], 0.0, 160.0) == {"install": 100.0,
                                                        "unit tests ‖ quick chapters + book": 60.0}
    assert ci_time.side_times(lines[:4]) == {}
    # the unit tests' own command line (`make unit`) is not the side-by-side step
    assert ci_time.step_times([(5.0, ".venv/bin/python -m pytest tests -q --ignore=tests/browser")],
                              0.0, 9.0) == {"install": 9.0}


def test_ci_table_has_steps_total_and_targets():
    ci = {"command": "make test", "total_s": 700.0, "chapters_total_s": 250.0,
          "steps_s": {"install": 100.0, "unit tests": 103.0}, "targets_s": {"total": 600, "chapters": 180},
          "side_by_side_s": {"unit tests": 95.0, "chapters": 240.0}}
    table = er.ci_table(ci)
    assert table.loc["of which, side by side: chapters", "time"] == "4 min 00 s"
    assert table.loc["of which, side by side: unit tests", "share"] == "—"
    assert "of which, side by side: x" not in er.ci_table({**ci, "side_by_side_s": {}}).index
    assert table.loc["total (make test)", "time"] == "11 min 40 s"
    assert table.loc["total (make test)", "target"] == "≤ 10 min 00 s"
    assert table.loc["of which: executing the chapters", "target"] == "≤ 3 min 00 s"
    assert table.loc["install", "share"] == "14%"


def test_ci_table_lists_steps_in_run_order_with_the_side_by_side_rows_under_their_step():
    """ci.json is written with sorted keys; the table restores the order make test runs them in."""
    side = "unit tests ‖ quick chapters + book"
    ci = {"command": "make test", "total_s": 700.0, "chapters_total_s": 300.0,
          "steps_s": {"browser tests": 40.0, "install": 150.0, "nbval": 160.0, side: 350.0},
          "side_by_side_s": {"chapters": 350.0, "unit tests": 260.0}}
    assert list(er.ci_table(ci).index) == [
        "install", side, "of which, side by side: chapters", "of which, side by side: unit tests",
        "of which: executing the chapters", "nbval", "browser tests", "total (make test)"]
    # a record of the earlier layout (no side-by-side step): steps in run order, then the chapters
    old = {"command": "make test", "total_s": 900.0, "chapters_total_s": 330.0,
           "steps_s": {"browser tests": 38.0, "install": 167.0, "nbval": 167.0,
                       "quick chapters + book": 342.0, "unit tests": 253.0}}
    assert list(er.ci_table(old).index) == [
        "install", "unit tests", "quick chapters + book", "nbval", "browser tests",
        "of which: executing the chapters", "total (make test)"]


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
                        "PATH": "/usr/bin:/bin", "HOME": str(cwd)})


def test_time_clean_clone_times_the_committed_tree(tmp_path):
    """A fake project whose `make test` echoes the real step commands: the clone runs only what
    was committed, the steps are timed, the chapters' records are read, and ci.json round-trips."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Makefile").write_text(textwrap.dedent("""\
        test:
        \ttrue .venv/bin/python -m ifl_utils.together "unit tests=pytest" "chapters=.venv/bin/ifl run --mode quick"
        \tsleep 0.3
        \techo "[together] unit tests: exit 0 after 0.2 s"
        \tmkdir -p results/execution/quick
        \techo '{"chapter": "01_x", "mode": "quick", "wall_s": 12.5}' > results/execution/quick/01_x.json
        \ttrue .venv/bin/python -m pytest --nbval book/executed
        \ttrue bash tests/browser/ensure_chromium.sh
        \ttest ! -e uncommitted.txt
        """))
    _git(repo, "init", "-q")
    _git(repo, "add", "Makefile")
    _git(repo, "commit", "-qm", "fake project")
    (repo / "uncommitted.txt").write_text("not in the clone")
    work = tmp_path / "work"
    record = ci_time.time_clean_clone(repo, work)
    assert record["returncode"] == 0, (work / "make-test.log").read_text()
    assert list(record["steps_s"]) == ["install", "unit tests ‖ quick chapters + book", "nbval",
                                       "browser tests"]
    assert record["steps_s"]["unit tests ‖ quick chapters + book"] >= 0.3
    assert record["side_by_side_s"] == {"unit tests": 0.2}
    assert record["chapters_s"] == {"01_x": 12.5} and record["chapters_total_s"] == 12.5
    assert record["commit"] and "+dirty" not in record["commit"]
    assert "pip cache" in record["clean"]
    assert (work / "clone" / "Makefile").exists() and (work / "make-test.log").exists()
    with pytest.raises(FileExistsError):
        ci_time.time_clean_clone(repo, work)
    assert ci_time.load(tmp_path) is None
    path = ci_time.save(record, tmp_path)
    assert path == tmp_path / "benchmarks" / "records" / "ci.json"
    assert ci_time.load(tmp_path) == json.loads(path.read_text())
    path.write_text('{"total_s": 1}')
    with pytest.raises(ValueError, match="steps_s"):
        ci_time.load(tmp_path)


def _outputs(ipynb: Path) -> str:
    nb = json.loads(ipynb.read_text())
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            data = out.get("data", {})
            parts.append("".join(data.get("text/html", "")) + "".join(data.get("text/plain", ""))
                         + "".join(data.get("text/markdown", "")))
    return "\n".join(parts)


@pytest.mark.parametrize("mode", ["quick", "full"])
def test_report_page_renders_the_runner_records_of_both_modes(tmp_path, mode):
    """The real page (notebooks/09_execution.py), executed by the runner in a small project whose
    results hold records of both modes: it shows this mode's records first, the other mode's
    after, and the clean-clone CI timing."""
    from ifl_utils import execution
    from ifl_utils.runner import run_chapters

    root = Path(__file__).resolve().parents[1]
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (tmp_path / "notebooks").mkdir()
    page = sorted((root / "notebooks").glob("[0-9][0-9]_execution.py"))[0]
    shutil.copy2(page, tmp_path / "notebooks" / page.name)
    (tmp_path / "notebooks" / "01_a.py").write_text("# %%\nx = 1\n")
    (tmp_path / "notebooks" / "02_b.py").write_text("# %%\nx = 2\n")
    walls = {"quick": {"01_a": 61.5, "02_b": 3.25}, "full": {"01_a": 1234.0}}
    for m, chapters in walls.items():
        for name, wall in chapters.items():
            execution.write_record(tmp_path / "results", {**_record(name, wall, 900.0), "mode": m})
    ci_time.save({"command": "make test", "commit": "abc1234", "measured_at": "2026-12-06T20:00:00Z",
                  "total_s": 755.0, "steps_s": {"install": 120.0, "unit tests": 103.0},
                  "chapters_total_s": 353.0, "targets_s": {"total": 600, "chapters": 180},
                  "clean": ["clone", "pip cache"], "returncode": 0}, tmp_path)

    run_chapters(tmp_path, mode=mode, only=page.stem[:2], progress=False)
    text = _outputs(tmp_path / "book" / "executed" / f"{page.stem}.ipynb")
    assert f"mode: {mode}" in text
    if mode == "quick":
        assert "1 min 02 s" in text and "3.2 s" in text          # this mode: both chapters
        assert "full mode: 1 chapters" in text and "20 min 34 s" in text   # the other mode
    else:
        assert "20 min 34 s" in text and er.NOT_RUN in text      # 02_b never ran in full mode
        assert "quick mode: 2 chapters" in text
    assert "12 min 35 s" in text and "≤ 10 min 00 s" in text     # the clean-clone timing
    assert "measured 2026-12-06 20:00 UTC on commit `abc1234`" in text
    # the page's own record, written after it ran
    assert (tmp_path / "results" / "execution" / mode / f"{page.stem}.json").is_file()
