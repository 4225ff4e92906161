"""The runner executes chapters in order, passes parameters, and stops at a failing cell."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ifl_utils import cli
import nbformat

from ifl_utils import execution
from ifl_utils.runner import (NotebookFailed, chapters, project_root, run_chapters, setup_cell_index,
                              tag_executed_opening, tag_opening_cells)

OK = '''# %% [markdown]
# # OK chapter

# %% tags=["parameters"]
mode = "full"
seed = 0
results_dir = "results"

# %%
from ifl_utils.notebook import setup
ch = setup("01_ok", mode=mode, seed=seed, results_dir=results_dir)
ch.record("demo/answer", 42, glue=False)
'''

# Reads an existing entry of the data cache, creates one in the embeddings cache, leaves DPO alone.
CACHE_CELL = '''
# %%
import os
from ifl_utils.data.locate import cache_root
croot = cache_root()
(croot / "embeddings").mkdir(parents=True, exist_ok=True)
(croot / "embeddings" / ".tmp-new").write_bytes(b"x")           # written atomically:
os.replace(croot / "embeddings" / ".tmp-new", croot / "embeddings" / "new.npy")   # tmp + rename
ballast = bytearray(300 * 1024 * 1024)   # the kernel's peak memory must show it
print(len((croot / "parsed" / "old-v1" / "t.parquet").read_bytes()))
del ballast
'''

BROKEN = '''# %% tags=["parameters"]
mode = "full"
seed = 0
results_dir = "results"

# %%
x = 1

# %%
raise ValueError("deliberately broken cell")
'''


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_ok.py").write_text(OK)
    return tmp_path


def test_chapters_order_and_selection(project):
    (project / "notebooks" / "02_broken.py").write_text(BROKEN)
    assert [p.stem for p in chapters(project)] == ["01_ok", "02_broken"]
    assert [p.stem for p in chapters(project, "02")] == ["02_broken"]
    assert [p.stem for p in chapters(project, "ok")] == ["01_ok"]
    with pytest.raises(ValueError, match="matches no chapter"):
        chapters(project, "07")


def test_project_root_found_from_subfolder(project):
    sub = project / "book" / "executed"
    sub.mkdir(parents=True)
    assert project_root(sub) == project.resolve()


def test_run_passes_parameters_and_records(project, cache_dir):
    (project / "notebooks" / "01_ok.py").write_text(OK + CACHE_CELL)
    (cache_dir / "parsed" / "old-v1").mkdir(parents=True)
    (cache_dir / "parsed" / "old-v1" / "t.parquet").write_bytes(b"12345")
    (cache_dir / "dpo" / "run-a").mkdir(parents=True)     # present but not read: unused
    report = run_chapters(project, mode="quick", seed=7, progress=False)
    assert set(report.seconds) == {"01_ok"}
    data = json.loads((project / "results" / "01_ok.json").read_text())
    assert data["mode"] == "quick" and data["seed"] == 7
    assert data["numbers"]["demo/answer"]["value"] == 42
    assert (project / "book" / "executed" / "01_ok.ipynb").exists()

    # the execution report's record
    rec = json.loads((project / "results" / "execution" / "quick" / "01_ok.json").read_text())
    assert rec["chapter"] == "01_ok" and rec["mode"] == "quick" and rec["seed"] == 7
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rec["executed_at"])
    assert rec["wall_s"] == report.seconds["01_ok"] > 0
    assert rec["peak_memory_method"].startswith("VmHWM")
    assert 300 < rec["peak_rss_mb"] < 4000, rec["peak_rss_mb"]   # the 300 MB ballast, not the runner
    assert rec["cache_reads_observed"] is True
    assert {k: v["state"] for k, v in rec["cache"].items()} == {
        "data": "warm", "embeddings": "cold", "fits": "unused", "dpo": "unused"}
    assert rec["cache"]["embeddings"]["new"] == 1 and rec["cache"]["data"]["read"] == 1
    assert set(rec["packages"]) == set(execution.REPORT_PACKAGES)
    assert rec["packages"]["pandas"]
    assert rec["machine"]["cpus"] >= 1 and rec["machine"]["platform"]
    assert execution.load_records(project / "results", "quick") == {"01_ok": rec}

    # parameters and papermill's injected parameters are off the page; the setup cell ends in
    # `ch.record(...)`, whose value (42) is a visible result: its code goes, the result stays
    nb = nbformat.read(project / "book" / "executed" / "01_ok.ipynb", as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert [t for t in tags if "remove-cell" in t] == [["parameters", "remove-cell"],
                                                       ["injected-parameters", "remove-cell"]]
    setup_at = setup_cell_index(nb)
    assert tags[setup_at] == ["remove-input"]
    assert nb.cells[setup_at].outputs[-1]["data"]["text/plain"] == "42"
    assert nb.cells[0].cell_type == "markdown"


def test_broken_cell_stops_the_run_and_is_reported(project, capsys, monkeypatch):
    (project / "notebooks" / "02_broken.py").write_text(BROKEN)
    (project / "notebooks" / "03_after.py").write_text(OK.replace("01_ok", "03_after"))
    with pytest.raises(NotebookFailed) as info:
        run_chapters(project, mode="quick", progress=False)
    err = info.value
    assert err.notebook == "02_broken"
    assert 'raise ValueError("deliberately broken cell")' in err.source
    assert "deliberately broken cell" in err.traceback
    assert not (project / "book" / "executed" / "03_after.ipynb").exists()  # stopped at the failure
    # the command line prints the cell and exits non-zero
    monkeypatch.chdir(project)
    rc = cli.main(["run", "--mode", "quick", "--no-build"])
    assert rc == 1
    assert 'raise ValueError("deliberately broken cell")' in capsys.readouterr().err


# --- the opening cells: parameters and setup off the rendered page ------------------------------

def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    for kind, source, tags in cells:
        make = nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
        cell = make(source)
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    return nb


def test_setup_cell_is_the_first_code_cell_calling_setup():
    nb = _nb(("md", "we call setup( here in prose", ()),
             ("code", "# ch = setup('x') is commented out", ()),
             ("code", "obj.setup(1)\nself_setup(2)", ()),
             ("code", "import x\nch = setup('01_x', mode=mode)", ("hide-input",)),
             ("code", "setup('again')", ()))
    assert setup_cell_index(nb) == 3
    assert setup_cell_index(_nb(("code", "x = 1", ()))) is None


def test_opening_cells_are_removed_and_lose_their_toggles():
    nb = _nb(("md", "# Title\n\nProse first.", ()),
             ("code", "mode = 'full'", ("parameters",)),
             ("code", "ch = setup('01_x')", ("hide-input",)),
             ("code", "table()", ("hide-input",)))
    assert tag_opening_cells(nb) == [1, 2]
    assert nb.cells[1].metadata["tags"] == ["parameters", "remove-cell"]
    assert nb.cells[2].metadata["tags"] == ["remove-cell"]
    assert nb.cells[3].metadata["tags"] == ["hide-input"]      # other cells untouched
    assert tag_opening_cells(nb) == [1, 2]                       # idempotent
    assert nb.cells[1].metadata["tags"] == ["parameters", "remove-cell"]


def _setup_with(*outputs):
    nb = _nb(("md", "Prose.", ()), ("code", "mode = 'quick'", ("injected-parameters",)),
             ("code", "ch = setup('01_x')", ("hide-input",)))
    nb.cells[2].outputs = list(outputs)
    tag_executed_opening(nb)
    return nb


def test_executed_setup_cell_keeps_a_visible_result_without_its_code():
    banner = nbformat.v4.new_output("stream", name="stdout", text="ifl_utils 0.1.0 | mode quick\n")
    glued = nbformat.v4.new_output("display_data", data={
        "application/papermill.record/text/plain": "0.55"}, metadata={"scrapbook": {"name": "x"}})
    table = nbformat.v4.new_output("execute_result", data={"text/html": "<table/>"},
                                   execution_count=1)
    warning = nbformat.v4.new_output("stream", name="stderr", text="UserWarning: careful\n")
    nb = _setup_with(banner, glued)
    assert nb.cells[1].metadata["tags"] == ["injected-parameters", "remove-cell"]
    assert nb.cells[2].metadata["tags"] == ["remove-cell"]           # banner and glue only: removed
    assert _setup_with(banner, table).cells[2].metadata["tags"] == ["remove-input"]
    assert _setup_with(warning).cells[2].metadata["tags"] == ["remove-input"]


def test_cache_state_rules():
    before = {"data": {"parsed/a"}, "embeddings": {"embeddings/x.npy"}, "dpo": set()}
    after = {"data": {"parsed/a"}, "embeddings": {"embeddings/x.npy", "embeddings/y.npy"}, "dpo": set()}
    state = execution.cache_state(before, after, used={"parsed/a", "embeddings/x.npy", "embeddings/y.npy"})
    assert {k: v["state"] for k, v in state.items()} == {"data": "warm", "embeddings": "cold",
                                                         "fits": "unused", "dpo": "unused"}
    assert state["embeddings"] == {"state": "cold", "new": 1, "read": 1, "present_before": 1}
    # an entry that another process created meanwhile is not the chapter's
    crowded = dict(after, dpo={"dpo/other-run"})
    assert execution.cache_state(before, crowded, used={"parsed/a"})["dpo"]["state"] == "unused"
    # reads not observed: an untouched kind with entries can only be called warm
    blind = execution.cache_state(before, before, used=None)
    assert blind["data"]["state"] == "warm" and blind["dpo"]["state"] == "unused"
    assert blind["data"]["read"] is None


def test_cache_snapshot_and_log(tmp_path):
    (tmp_path / "parsed" / "k-v8").mkdir(parents=True)
    (tmp_path / "parsed" / "k-v8.checks.lock").write_text("")
    (tmp_path / "parsed" / ".tmp-partial").mkdir()
    (tmp_path / "embeddings").mkdir()
    (tmp_path / "embeddings" / "h.npy").write_bytes(b"")
    (tmp_path / "reward" / "space").mkdir(parents=True)          # a nested kind folder
    (tmp_path / "reward" / "space" / "cell-1.parquet").write_bytes(b"")
    (tmp_path / "reward" / "space" / ".cell-2.parquet.x.tmp").write_bytes(b"")
    snap = execution.cache_snapshot(tmp_path)
    assert snap == {"data": {"parsed/k-v8"}, "embeddings": {"embeddings/h.npy"},
                    "fits": {"reward/space/cell-1.parquet"}, "dpo": set()}
    log = tmp_path / "log.txt"
    log.write_text(f"{tmp_path}/parsed/k-v8/workers.parquet\n{tmp_path}/parsed\n"
                   f"{tmp_path}/embeddings/h.npy\n/elsewhere/file\n"
                   f"{tmp_path}/reward/space/cell-1.parquet\n{tmp_path}/reward/space\n"
                   f"{tmp_path}/reward/space/.cell-2.parquet.x.tmp\n")
    used = execution.read_cache_log(log, tmp_path)
    assert used == {"parsed/k-v8", "embeddings/h.npy", "reward/space/cell-1.parquet"}
    # a new cell file makes the fits cold, a read one warm: entries are files, not the folder
    after = {**snap, "fits": snap["fits"] | {"reward/space/cell-3.parquet"}}
    state = execution.cache_state(snap, after, used | {"reward/space/cell-3.parquet"})
    assert state["fits"]["state"] == "cold" and state["fits"]["new"] == 1 and state["fits"]["read"] == 1
    assert execution.cache_state(snap, snap, used)["fits"]["state"] == "warm"


def test_write_record_is_atomic_and_needs_its_keys(tmp_path):
    with pytest.raises(ValueError, match="'mode'"):
        execution.write_record(tmp_path, {"chapter": "01_x"})
    path = execution.write_record(tmp_path, {"chapter": "01_x", "mode": "full", "wall_s": 1.5})
    assert path == tmp_path / "execution" / "full" / "01_x.json"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]
    (path.parent / "02_bad.json").write_text("{not json")
    loaded = execution.load_records(tmp_path, "full")
    assert loaded["01_x"]["wall_s"] == 1.5 and "error" in loaded["02_bad"]
    assert execution.load_records(tmp_path, "quick") == {}
