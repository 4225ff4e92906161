# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# (ch-validity)=
# # Is it the eyes or the mouse?
#
# WebGazer, as the release runs it, keeps training its gaze model on the cursor while people read
# (its mouse listeners stay on). This chapter measures how much of the recorded "gaze" is the cursor
# seen through the tracker. It is being written (issue #20); until then it holds no results.
#
# Downloads: {download}`executed notebook <03_validity.ipynb>` · {download}`results (JSON) <../../results/03_validity.json>` · source: `notebooks/03_validity.py`

# %% tags=["parameters"]
mode = "full"  # "quick" (CI) or "full" (the book)
seed = 0
data = None  # release folder or archive; None -> $IFLLM_DATA, else the pinned download
results_dir = "results"

# %% tags=["hide-input"]
from ifl_utils.notebook import setup

ch = setup("03_validity", mode=mode, seed=seed, results_dir=results_dir, data=data)
