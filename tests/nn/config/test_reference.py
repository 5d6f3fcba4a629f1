"""The configuration reference documents every field and is up to date."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import attrs

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "configuration.md"
_spec = importlib.util.spec_from_file_location("config_reference",
                                               REPO / "tools" / "config_reference.py")
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)


def test_every_field_is_documented():
    missing = []
    n_fields = 0
    for _, classes in reference._SECTIONS:
        for cls in classes:
            docs = reference.attribute_docs(cls)
            for a in attrs.fields(cls):
                n_fields += 1
                if not docs.get(a.name):
                    missing.append(f"{cls.__name__}.{a.name}")
    assert missing == []
    assert n_fields > 150


def test_committed_reference_is_current():
    assert DOC.read_text() == reference.render(), (
        "docs/configuration.md is stale: run "
        "`python tools/config_reference.py docs/configuration.md`")
    assert "| `max_stride` | `16` |" in DOC.read_text()
