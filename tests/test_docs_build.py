"""The documentation site builds with `mkdocs build --strict`, API pages included."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from clean_env import clean_env

pytestmark = pytest.mark.slow  # trainings, subprocesses, notebooks, docs: see `make test-fast`

REPO = Path(__file__).resolve().parents[1]



@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    env = clean_env(NO_MKDOCS_2_WARNING="1")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                        "--site-dir", str(site)], cwd=REPO, capture_output=True,
                       text=True, timeout=600, env=env)
    assert r.returncode == 0, f"mkdocs build failed:\n{r.stderr}\n{r.stdout}"
    return site, r.stderr + r.stdout


def test_docs_build_strict_without_broken_links(built_site):
    _, log = built_site
    links = re.findall(r"Doc file '([^']+)' contains a link '([^']+)', but the "
                       r"target is not found", log)
    assert links == [], log
    nav = re.findall(r"A reference to '([^']+)' is included in the 'nav' "
                     r"configuration, which is not found", log)
    assert nav == [], log


def test_docs_pages_exist(built_site):
    site, _ = built_site
    for page in ["index.html", "quickstart/index.html", "configuration/index.html",
                 "training/index.html", "api/index.html"]:
        assert (site / page).is_file(), page
    api = {p.parent.name for p in (site / "api").glob("*/index.html")}
    assert {"sleapish", "io", "datasets", "config", "data", "architectures", "model",
            "heads", "peak_finding", "paf_grouping", "identity", "inference",
            "tracking", "render", "training", "evals"} <= api


def test_api_pages_are_generated_from_docstrings(built_site):
    site, _ = built_site

    def html(name):
        return (site / "api" / name / "index.html").read_text(encoding="utf-8")

    assert 'id="sleapish.load_model"' in html("sleapish")
    assert 'id="sleapish.nn.training.trainer.Trainer"' in html("training")
    assert 'id="sleapish.nn.evals.evaluate"' in html("evals")
    assert 'id="sleapish.nn.data.confidence_maps.make_confmaps"' in html("data")
    assert 'id="sleapish.nn.config.training_job.TrainingJobConfig"' in html("config")
    assert 'id="sleapish.render.render_frame"' in html("render")
    assert 'id="sleapish.nn.inference.loading_api.load_model"' in html("inference")
    # Google-style sections are parsed into parameter tables.
    assert "search_paths" in html("io") and "Parameters:" in html("io")
