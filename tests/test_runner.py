"""The runner executes chapters in order, passes parameters, and stops at a failing cell."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ifl_utils import cli
from ifl_utils.runner import NotebookFailed, chapters, project_root, run_chapters

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


def test_run_passes_parameters_and_records(project):
    report = run_chapters(project, mode="quick", seed=7, progress=False)
    assert set(report.seconds) == {"01_ok"}
    data = json.loads((project / "results" / "01_ok.json").read_text())
    assert data["mode"] == "quick" and data["seed"] == 7
    assert data["numbers"]["demo/answer"]["value"] == 42
    assert (project / "book" / "executed" / "01_ok.ipynb").exists()


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
