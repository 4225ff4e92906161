"""The pinned environment is described once: environment.yml must repeat requirements.txt exactly."""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _requirements(name: str) -> list[str]:
    lines = (ROOT / name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def test_environment_yml_matches_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert sorted(pip_section) == sorted(_requirements("requirements.txt"))


def test_every_requirement_is_an_exact_pin():
    for name in ("requirements.txt", "requirements-nodeps.txt"):
        for req in _requirements(name):
            assert "==" in req and not any(op in req for op in (">", "<", "~", "*")), (name, req)


def test_torch_pinned_to_the_cpu_wheel_version():
    # A range or another version pulls a 5 GB CUDA build on Linux (see README, Environment).
    assert "torch==2.13.0" in _requirements("requirements.txt")
