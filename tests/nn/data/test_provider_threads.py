"""Readers of one video in several threads (training + validation) must not crash.

FFmpeg aborts the whole process when two threads decode through one capture; this
ran into that before reads were locked per video object.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from clean_env import clean_env

SCRIPT = r"""
import sys, threading
from sleapish.io.labels import load_file
from sleapish.nn.data.providers import LabelsReader
from sleapish.nn.data.training import split_labels_by_inds
labels = load_file(sys.argv[1], search_paths=[sys.argv[2]])
readers = [LabelsReader(split_labels_by_inds(labels, range(k, 120, 2))) for k in (0, 1)]
counts = []
def run(r):
    counts.append(sum(1 for _ in r.make_dataset()))
ts = [threading.Thread(target=run, args=(r,)) for r in readers]
[t.start() for t in ts]; [t.join() for t in ts]
print("COUNTS", sorted(counts))
"""


@pytest.mark.slow
@pytest.mark.shared_data
def test_two_readers_of_one_video_in_two_threads(shared_data):
    r = subprocess.run([sys.executable, "-c", SCRIPT,
                        str(shared_data / "labels" / "clip.slp"),
                        str(shared_data / "videos")],
                       capture_output=True, text=True, timeout=300, env=clean_env())
    assert r.returncode == 0, r.stderr[-2000:]
    assert "COUNTS [60, 60]" in r.stdout
