"""The JupyterLab path of the README (`make lab`), in headless Chromium.

Starts JupyterLab exactly as `make lab` does (ifl_utils.lab: the repository's .jupyter/
configuration, the project's kernel) on a free port of 127.0.0.1, serving a throwaway folder that
holds a copy of the first chapter (`notebooks/01_*.py`) and `_toc.yml`. In the browser it opens
the chapter as a notebook (jupytext), sets `mode = "quick"` in the parameters cell by typing, runs
the first cells with Shift+Enter (parameters, setup, the first table), and checks that the setup
cell reports quick mode, the table appears, and no cell shows an error or stderr output. Then it
stops the server with Ctrl-C (SIGINT), and checks that the chapter's `.py` is byte-identical to
the repository's (nothing saved: autosave is off, and the test never saves) and that nothing but
JupyterLab's git-ignored checkpoint folder was written beside it. The test must finish in 60 s. Every wait is on a condition (the server's status, DOM state), bounded.
"""
from __future__ import annotations

import json
import os
import pty
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from chromium import chromium

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from ifl_utils import execution  # noqa: E402
from ifl_utils.lab import lab_command, lab_env  # noqa: E402

CHAPTER = sorted((ROOT / "notebooks").glob("01_*.py"))[0]
SHOTS = ROOT / "_build" / "screenshots"
BUDGET_S = 60          # the whole test: server start, kernel, three cells, shutdown
SETUP_TIMEOUT_S = 45   # parameters + setup + first table, from the first Shift+Enter


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, log: Path, timeout: float = 40) -> dict:
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited with {proc.returncode} before it served; log:\n"
                        + log.read_text()[-3000:])
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return json.loads(r.read())
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"JupyterLab did not answer {url.split('?')[0]} within {timeout} s; log:\n"
                + log.read_text()[-3000:])


@pytest.fixture()
def lab(tmp_path):
    """A JupyterLab server as `make lab` starts it, on a copy of the first chapter."""
    site = tmp_path / "site"
    (site / "notebooks").mkdir(parents=True)
    shutil.copy2(ROOT / "_toc.yml", site / "_toc.yml")
    shutil.copy2(CHAPTER, site / "notebooks" / CHAPTER.name)
    started = time.monotonic()
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp_path / "jupyterlab.log"
    env = lab_env(ROOT, state=tmp_path / "state")
    cmd = lab_command(port, root_dir=site, extra=(f"--IdentityProvider.token={token}",
                                                  "--ServerApp.port_retries=0"))
    # stdin is a terminal, as for `make lab` typed in a shell: Jupyter then installs its SIGINT
    # handler (one Ctrl-C stops it, since .jupyter sets answer_yes). Without a terminal, SIGINT is
    # a bare KeyboardInterrupt that lands wherever the server happens to be and may be swallowed.
    tty_master, tty_slave = pty.openpty()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=site, env=env, stdin=tty_slave, stdout=fh, stderr=subprocess.STDOUT)
    os.close(tty_slave)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(f"{base}/api/status?token={token}", proc, log)
        yield {"base": base, "token": token, "proc": proc, "site": site, "log": log,
               "started": started}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(tty_master)


def _api(lab, path: str) -> dict:
    with urllib.request.urlopen(f"{lab['base']}{path}?token={lab['token']}", timeout=10) as r:
        return json.loads(r.read())


# What the notebook shows, read in the page: each cell's kind, source, prompt and outputs.
CELLS = r"""
return Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')).map(c => ({
  code: c.classList.contains('jp-CodeCell'),
  source: (c.querySelector('.cm-content') || {}).innerText || '',
  prompt: ((c.querySelector('.jp-InputPrompt') || {}).innerText || '').trim(),
  text: Array.from(c.querySelectorAll('.jp-OutputArea-output')).map(o => o.innerText).join('\n'),
  markdown: c.classList.contains('jp-MarkdownCell') ? (c.innerText || '') : '',
  tables: c.querySelectorAll('.jp-OutputArea-output table').length,
  errors: Array.from(c.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"],' +
      ' .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]'))
    .map(o => o.innerText.slice(0, 300)),
}));
"""


def test_jupyterlab_opens_and_runs_the_first_chapter(lab):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    original = CHAPTER.read_bytes()
    copy = lab["site"] / "notebooks" / CHAPTER.name

    # the server side of `make lab`: the project's kernel only, .py opens as a notebook, no autosave
    specs = _api(lab, "/api/kernelspecs")
    assert specs["default"] == "python3" and set(specs["kernelspecs"]) == {"python3"}, specs
    docs = _api(lab, "/lab/api/settings/@jupyterlab/docmanager-extension:plugin")["schema"]["properties"]
    assert docs["autosave"]["default"] is False
    assert docs["defaultViewers"]["default"] == {"python": "Jupytext Notebook"}

    with chromium(1280, 1000) as driver:
        driver.get(f"{lab['base']}/lab/tree/notebooks/{CHAPTER.name}?token={lab['token']}")
        config = json.loads(driver.find_element(By.ID, "jupyter-config-data").get_attribute("textContent"))
        from importlib.metadata import version
        assert config["appVersion"] == version("jupyterlab"), config["appVersion"]
        wait = WebDriverWait(driver, 30, poll_frequency=0.2)
        cells = wait.until(lambda d: (c := d.execute_script(CELLS)) and len(c) > 5 and c)
        code = [i for i, c in enumerate(cells) if c["code"]]
        params, setup, table = code[0], code[1], code[2]
        assert cells[params]["source"].startswith('mode = "full"'), cells[params]["source"][:200]
        assert "setup(" in cells[setup]["source"]
        assert all(not c["prompt"].strip("[]: ") for c in cells), "cells ran before we ran them"
        # jupyterlab-myst renders the chapters' MyST: no raw label or role left in the opening prose
        intro = wait.until(lambda d: d.execute_script(CELLS)[0]["markdown"])
        assert "(ch-" not in intro and "{cite:t}" not in intro, intro[:300]
        assert "chang2026mouse" in intro or "Chang" in intro, intro[:300]

        # type quick mode into the parameters cell, as a reader would
        cell_nodes = driver.find_elements(
            By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
        editor = cell_nodes[params].find_element(By.CSS_SELECTOR, ".cm-content")
        editor.click()
        chord = Keys.COMMAND if sys.platform == "darwin" else Keys.CONTROL
        (ActionChains(driver).key_down(chord).send_keys(Keys.HOME).key_up(chord)
         .key_down(Keys.SHIFT).send_keys(Keys.END).key_up(Keys.SHIFT)
         .send_keys('mode = "quick"').perform())
        wait.until(lambda d: d.execute_script(CELLS)[params]["source"].startswith('mode = "quick"'))

        # Shift+Enter through parameters, setup, (markdown,) first table
        presses = table - params + 1
        for _ in range(presses):
            ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()

        def done(d):
            c = d.execute_script(CELLS)
            if any(x["errors"] for x in c):
                return c
            ran = all(c[i]["prompt"].strip("[]: ").isdigit() for i in (params, setup, table))
            return c if ran and c[table]["tables"] else False

        cells = WebDriverWait(driver, SETUP_TIMEOUT_S, poll_frequency=0.3).until(done)
        SHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SHOTS / "jupyterlab-01.png"))

    errors = {i: c["errors"] for i, c in enumerate(cells) if c["errors"]}
    assert not errors, f"error or stderr output in cells {errors}"
    assert "| mode quick |" in cells[setup]["text"], cells[setup]["text"][:500]
    assert cells[table]["tables"] >= 1 and "workers" in cells[table]["text"]

    # the kernel is the project's Python
    kernels = [p for p in execution._children(lab["proc"].pid)
               if "ipykernel" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")]
    if kernels:   # /proc exists (Linux)
        argv0 = Path(f"/proc/{kernels[0]}/cmdline").read_text().split("\0")[0]
        assert Path(argv0).parent == Path(sys.executable).parent, argv0

    # Ctrl-C stops the server; nothing was written to the chapter or beside it
    lab["proc"].send_signal(signal.SIGINT)
    try:
        lab["proc"].wait(15)
    except subprocess.TimeoutExpired:
        pytest.fail("JupyterLab did not stop within 15 s of Ctrl-C (SIGINT); its log ends:\n"
                    + lab["log"].read_text(errors="replace")[-3000:])
    assert copy.read_bytes() == original, "the chapter's .py changed although nothing was saved"
    # JupyterLab keeps a checkpoint copy when it opens a file; the repository ignores that folder
    beside = sorted(p.name for p in copy.parent.iterdir() if p.name != "__pycache__")
    assert set(beside) <= {CHAPTER.name, ".ipynb_checkpoints"}, f"files written beside the chapter: {beside}"
    ignored = subprocess.run(["git", "check-ignore", "-q", "notebooks/.ipynb_checkpoints/x.py"],
                             cwd=ROOT, check=False).returncode
    assert ignored == 0, "notebooks/.ipynb_checkpoints/ is not git-ignored"
    took = time.monotonic() - lab["started"]
    assert took < BUDGET_S, f"the JupyterLab test took {took:.0f} s (budget {BUDGET_S} s)"
