"""CITATION.cff is valid Citation File Format 1.2.0, names the paper and the dataset, and the
intro page's "How to cite" block agrees with it."""
from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "tests" / "data" / "cff-1.2.0-subset-schema.json").read_text())


def _load_cff(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))

    def dates_as_text(x):   # CFF: YAML dates are validated as strings
        if isinstance(x, dict):
            return {k: dates_as_text(v) for k, v in x.items()}
        if isinstance(x, list):
            return [dates_as_text(v) for v in x]
        return x.isoformat() if isinstance(x, dt.date) else x

    return dates_as_text(data)


def _errors(data: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in validator.iter_errors(data)]


@pytest.fixture(scope="module")
def cff() -> dict:
    return _load_cff(ROOT / "CITATION.cff")


def test_schema_is_a_valid_draft7_schema():
    jsonschema.Draft7Validator.check_schema(SCHEMA)


def test_citation_cff_validates(cff):
    assert not _errors(cff), "CITATION.cff is not valid CFF 1.2.0:\n" + "\n".join(_errors(cff))


def test_citation_names_the_paper_and_the_dataset(cff):
    refs = {r["type"]: r for r in cff["references"]}
    paper, data = refs["article"], refs["data"]
    assert "Your Mouse and Eyes Secretly Leak Your Preference" in paper["title"]
    assert any(i["value"] == "arXiv:2606.20482" for i in paper["identifiers"])
    assert data["commit"].startswith("923bac0") and data["license"] == "Apache-2.0"
    assert cff["license"] == "Apache-2.0"
    # the companion's version is the package's
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(rf'^version = "{re.escape(cff["version"])}"', pyproject, re.M)


@pytest.mark.parametrize("break_it, where", [
    (lambda d: d.pop("message"), "'message' is a required property"),
    (lambda d: d.update({"cff-version": "1.1.0"}), "cff-version"),
    (lambda d: d.update({"unknown-key": "x"}), "unknown-key"),
    (lambda d: d["references"][0].pop("type"), "'type' is a required property"),
    (lambda d: d["references"][1].update({"repository-code": "github.com/x"}), "repository-code"),
    (lambda d: d.update({"license": "Apache 2"}), "license"),
    (lambda d: d.update({"date-released": "2026-13-01"}), "date-released"),
    (lambda d: d["authors"].append({"nickname": "x"}), "authors"),
])
def test_schema_rejects_broken_files(cff, break_it, where):
    broken = copy.deepcopy(cff)
    break_it(broken)
    errors = _errors(broken)
    assert errors and any(where in e for e in errors), errors


def test_intro_shows_how_to_cite(cff):
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    assert re.search(r"^## How to cite", intro, re.M), "book/intro.md has no 'How to cite' section"
    block = intro.split("## How to cite", 1)[1]
    assert cff["title"] in block and f"version = {{{cff['version']}}}" in block
    # one author line everywhere: the book's configuration, CITATION.cff, the BibTeX block
    book_author = yaml.safe_load((ROOT / "_config.yml").read_text())["author"]
    assert cff["authors"] == [{"name": book_author}]
    assert f"author  = {{{{{book_author}}}}}" in block
    assert "CITATION.cff" in block and "{cite:t}`chang2026mouse`" in block
    assert "Apache-2.0" in block and "923bac0" in block
