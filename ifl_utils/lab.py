"""JupyterLab on the chapters: ``make lab`` (``python -m ifl_utils.lab``).

Starts the pinned JupyterLab from the project's virtual environment on 127.0.0.1 with the
repository's Jupyter configuration (``.jupyter/jupyter_server_config.py``): the chapters
``notebooks/NN_*.py`` open as notebooks through jupytext, the kernel is the environment's Python,
a save writes back to the ``.py`` (autosave is off), and one Ctrl-C stops the server. Jupyter's
writable state goes to ``.jupyter/state/`` instead of the user's home.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

#: The repository's Jupyter configuration folder, relative to the root.
CONFIG_DIR = ".jupyter"
#: Where Jupyter writes while running, relative to the root (git-ignored).
STATE_DIR = ".jupyter/state"


def lab_env(root: str | os.PathLike[str], state: str | os.PathLike[str] | None = None,
            base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment JupyterLab runs in: ``base`` (default: this process's) plus the Jupyter
    folders (configuration from ``<root>/.jupyter``, state under ``state``, default
    ``<root>/.jupyter/state``) and ``PYTHONPATH`` starting with ``root``, so that the kernel
    imports this checkout's ``ifl_utils``."""
    root = Path(root).resolve()
    state = Path(state) if state is not None else root / STATE_DIR
    env = dict(os.environ if base is None else base)
    env.update({
        "JUPYTER_CONFIG_DIR": str(root / CONFIG_DIR),
        "JUPYTER_DATA_DIR": str(state / "data"),
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(state / "user-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
        "IPYTHONDIR": str(state / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
    })
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    return env


def lab_command(port: int = 8888, root_dir: str | os.PathLike[str] | None = None,
                extra: tuple[str, ...] = ()) -> list[str]:
    """The command line: this Python's ``jupyter lab`` on ``port`` (127.0.0.1, no browser),
    serving ``root_dir`` (default: the working directory); ``--allow-root`` when run as root."""
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")   # containers and CI machines run as root; Jupyter refuses else
    if root_dir is not None:
        cmd.append(f"--ServerApp.root_dir={Path(root_dir).resolve()}")
    return [*cmd, *extra]


def main(argv: list[str] | None = None) -> int:
    """Replace this process with JupyterLab (Ctrl-C then reaches JupyterLab directly)."""
    from .runner import project_root

    ap = argparse.ArgumentParser(prog="python -m ifl_utils.lab", description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8888,
                    help="port on 127.0.0.1 (default 8888; JupyterLab takes the next free one)")
    args = ap.parse_args(argv)
    root = project_root()
    cmd = lab_command(args.port, root_dir=root)
    print(f"JupyterLab on {root.name}/ (notebooks/ holds the chapters; open one, set mode = \"quick\" "
          "for a fast run). Open the URL with the token printed below; Ctrl-C stops the server.",
          file=sys.stderr, flush=True)
    os.execve(cmd[0], cmd, lab_env(root))
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
