"""OutputsConfig run paths (nn/config/outputs.py)."""

from __future__ import annotations

import pytest

from sleapish.nn.config import (
    OutputsConfig,
)


def test_run_path():
    out = OutputsConfig(run_name="centroid", run_name_prefix="exp1_",
                        run_name_suffix=".v2", runs_folder="models")
    assert out.run_path.replace("\\", "/") == "models/exp1_centroid.v2"
    with pytest.raises(ValueError, match="run_name"):
        _ = OutputsConfig().run_path
