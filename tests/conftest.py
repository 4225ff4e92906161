"""Shared fixtures. Real-data tests need ``IFLLM_DATA`` (a release folder or an archive of it)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def real_root() -> Path:
    """Root folder of the real IFLLM release (the folder holding ``query_logs_table.csv``)."""
    source = os.environ.get("IFLLM_DATA")
    if not source:
        pytest.skip("IFLLM_DATA is not set: real-data test needs the IFLLM release")
    from ifl_utils.data.locate import resolve_root

    return resolve_root(source)


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch) -> Path:
    """A private, empty cache root for one test (``IFLLM_CACHE``)."""
    d = tmp_path / "cache"
    monkeypatch.setenv("IFLLM_CACHE", str(d))
    return d
