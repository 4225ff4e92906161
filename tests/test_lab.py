"""`make lab` (ifl_utils.lab and .jupyter/): the environment, the command line, the repository's
Jupyter configuration, and that a save in JupyterLab writes the chapter back to its .py.
The browser test tests/browser/test_jupyterlab.py runs the whole path in Chromium."""
from __future__ import annotations

import asyncio
import difflib
import json
import shutil
import sys
from pathlib import Path

from traitlets.config import Config

from ifl_utils.lab import lab_command, lab_env

ROOT = Path(__file__).resolve().parents[1]


def test_env_keeps_jupyter_state_out_of_home(tmp_path):
    env = lab_env(ROOT, state=tmp_path / "state", base={"PATH": "/usr/bin", "PYTHONPATH": "/x"})
    assert env["JUPYTER_CONFIG_DIR"] == str(ROOT / ".jupyter")
    for key in ("JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR"):
        assert Path(env[key]).is_relative_to(tmp_path / "state"), key
    assert env["PYTHONPATH"].split(":") == [str(ROOT), "/x"] and env["PATH"] == "/usr/bin"
    default = lab_env(ROOT, base={})
    assert Path(default["JUPYTER_RUNTIME_DIR"]).is_relative_to(ROOT / ".jupyter" / "state")
    ignored = (ROOT / ".jupyter" / ".gitignore").read_text().split()
    assert "state/" in ignored


def test_command_is_loopback_without_browser(tmp_path):
    cmd = lab_command(8899, root_dir=tmp_path, extra=("--x=1",))
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--ip=127.0.0.1" in cmd and "--no-browser" in cmd and "--port=8899" in cmd
    assert f"--ServerApp.root_dir={tmp_path.resolve()}" in cmd and cmd[-1] == "--x=1"


def test_repository_config():
    c = Config()
    path = ROOT / ".jupyter" / "jupyter_server_config.py"
    exec(compile(path.read_text(), str(path), "exec"), {"get_config": lambda: c, "__file__": str(path)})
    assert c.ServerApp.ip == "127.0.0.1" and c.ServerApp.open_browser is False
    assert c.ServerApp.answer_yes is True
    module, _, name = c.ServerApp.contents_manager_class.rpartition(".")
    cls = getattr(__import__(module, fromlist=[name]), name)
    assert hasattr(cls, "formats"), "not jupytext's contents manager"
    assert c.KernelSpecManager.allowed_kernelspecs == {"python3"}
    assert c.LabApp.news_url is None and c.LabApp.extension_manager == "readonly"
    settings = Path(c.LabApp.app_settings_dir)
    assert settings == ROOT / ".jupyter" / "lab" / "settings"
    overrides = json.loads((settings / "overrides.json").read_text())
    docs = overrides["@jupyterlab/docmanager-extension:plugin"]
    assert docs == {"defaultViewers": {"python": "Jupytext Notebook"}, "autosave": False}
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"


def test_jupyterlab_and_myst_are_pinned():
    pins = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    from importlib.metadata import version

    for package in ("jupyterlab", "jupyterlab-myst", "jupytext"):
        assert package in pins, f"{package} is not pinned in requirements.txt"
        assert version(package) == pins[package].split(";")[0].strip()


def test_a_save_writes_the_chapter_back_to_its_py(tmp_path):
    """What JupyterLab's save does through jupytext's contents manager (the class the config
    names): the inputs go back to the percent .py; nothing else changes but jupytext's version
    lines in the header; no .ipynb is written."""
    from jupytext import AsyncTextFileContentsManager

    chapter = sorted((ROOT / "notebooks").glob("01_*.py"))[0]
    shutil.copy2(chapter, tmp_path / chapter.name)
    cm = AsyncTextFileContentsManager(root_dir=str(tmp_path))

    async def edit_and_save():
        model = await cm.get(chapter.name, content=True, type="notebook")
        cells = model["content"]["cells"]
        params = next(c for c in cells if "parameters" in c["metadata"].get("tags", []))
        params["source"] = params["source"].replace('mode = "full"', 'mode = "quick"')
        params["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "not kept\n"}]
        await cm.save({"type": "notebook", "format": "json", "content": model["content"]}, chapter.name)

    asyncio.run(edit_and_save())
    before = chapter.read_text().splitlines()
    after = (tmp_path / chapter.name).read_text().splitlines()
    changed = [line for line in difflib.unified_diff(before, after, lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert '+mode = "quick"  # "quick" (CI) or "full" (the book)' in changed
    assert '-mode = "full"  # "quick" (CI) or "full" (the book)' in changed
    others = [c for c in changed if "mode = " not in c]
    assert all("format_version" in c or "jupytext_version" in c for c in others), others
    assert "not kept" not in (tmp_path / chapter.name).read_text()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [chapter.name]
