"""Results plumbing: names, paper values, atomic JSON, reading back."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ifl_utils import results
from ifl_utils.paper import PAPER


def test_record_writes_schema_and_paper_value(tmp_path):
    rec = results.start("01_dataset", mode="quick", seed=3, results_dir=tmp_path)
    rec.record("dataset/workers", np.int64(87), n=87)
    rec.record("demo/model/accuracy", 0.61, ci=(np.float64(0.58), 0.64), n=46, protocol="paper")
    data = json.loads((tmp_path / "01_dataset.json").read_text())
    assert data["notebook"] == "01_dataset" and data["mode"] == "quick" and data["seed"] == 3
    w = data["numbers"]["dataset/workers"]
    assert w == {"value": 87, "ci": None, "n": 87, "protocol": None,
                 "paper": PAPER["dataset/workers"].value, "paper_source": PAPER["dataset/workers"].source}
    acc = data["numbers"]["demo/model/accuracy"]
    assert acc["ci"] == [0.58, 0.64] and acc["protocol"] == "paper" and acc["paper"] is None


def test_module_level_record_and_read_back(tmp_path):
    results.start("02_x", mode="full", results_dir=tmp_path)
    results.record("a/b", float("nan"))
    results.record("a/c", 1.5)
    assert results.value("02_x", "a/c", results_dir=tmp_path) == 1.5
    assert results.value("02_x", "a/b", results_dir=tmp_path) is None  # NaN is stored as null
    with pytest.raises(KeyError, match="no result 'a/d'"):
        results.value("02_x", "a/d", results_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="run the chapter"):
        results.load("09_missing", results_dir=tmp_path)


@pytest.mark.parametrize("bad", ["", "/lead", "has space"])
def test_bad_names_rejected(tmp_path, bad):
    rec = results.Recorder("x", results_dir=tmp_path)
    with pytest.raises(ValueError):
        rec.record(bad, 1)


def test_mode_validated(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        results.Recorder("x", mode="fast", results_dir=tmp_path)


def test_every_paper_value_has_a_source():
    for name, ref in PAPER.items():
        assert ref.source and "/" in name
