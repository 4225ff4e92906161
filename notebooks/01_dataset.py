# ---
# jupyter:
#   jupytext:
#     formats: py:percent,ipynb
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The IFLLM dataset
#
# What the release holds, read from the raw files of the pinned commit.

# %% tags=["parameters"]
mode = "full"  # "quick" (CI) or "full" (the book)
seed = 0
data = None  # release folder or archive; None -> $IFLLM_DATA, else the pinned download
results_dir = "results"

# %% tags=["hide-input"]
import pandas as pd
import seaborn as sns
import matplotlib.pyplot as plt

from ifl_utils.notebook import setup
from ifl_utils.data.locate import resolve_root

ch = setup("01_dataset", mode=mode, seed=seed, results_dir=results_dir, data=data)
root = resolve_root(ch.data, progress=False)
ql = pd.read_csv(root / "query_logs_table.csv")
n_queries = ch.record("dataset/queries", int(len(ql)), n=int(ql["user_id"].nunique()))

# %% [markdown]
# The query log holds {glue:text}`dataset.queries` questions.

# %% tags=["hide-input"]
fig, ax = plt.subplots()
sns.histplot(ql["likert_1"].dropna(), discrete=True, ax=ax)
ax.set_xlabel("Likert rating of the left / only answer (1-5)")
ax.set_ylabel("answers (count)")
ax.set_title("Most answers are rated 4 or 5")
ch.save_figure(fig, "likert")
plt.show()
