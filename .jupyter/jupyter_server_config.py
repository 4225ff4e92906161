# JupyterLab on the chapters (`make lab`, `python -m ifl_utils.lab`). ifl_utils.lab points
# JUPYTER_CONFIG_DIR here, and Jupyter's writable state (runtime files, kernel history, settings
# changed in the UI, workspaces) to .jupyter/state/ (git-ignored), so nothing in the user's home
# is read or written. The browser test tests/browser/test_jupyterlab.py starts JupyterLab the same way.
import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
here = os.path.dirname(os.path.abspath(__file__))

c.ServerApp.ip = "127.0.0.1"          # this machine only
c.ServerApp.open_browser = False      # the URL with its token is printed instead
c.ServerApp.answer_yes = True         # one Ctrl-C stops the server (no "Shut down? y/n" prompt)
# The chapters are jupytext percent files: jupytext's contents manager opens notebooks/NN_*.py as
# notebooks and writes a save back to the .py (outputs are not stored; nothing else is written).
c.ServerApp.contents_manager_class = "jupytext.AsyncTextFileContentsManager"
c.ServerApp.jpserver_extensions = {"jupyterlab_jupytext": True, "jupyterlab": True}
# The project's kernel only: `python3` is the Python that runs JupyterLab, i.e. the project's .venv.
c.KernelSpecManager.allowed_kernelspecs = {"python3"}
c.MultiKernelManager.default_kernel_name = "python3"
# Settings shipped with the repository: open .py files as notebooks, no autosave (lab/settings/).
c.LabApp.app_settings_dir = os.path.join(here, "lab", "settings")
# Offline and pinned: no news feed, no update check, no extension installs from the UI (the
# environment is requirements.txt; the extension manager would pip-install into it).
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.handlers.announcements.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"
