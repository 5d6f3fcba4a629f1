"""oneof classes (nn/config/utils.py)."""

from __future__ import annotations

import pytest

from sleapish.nn.config import (
    CentroidsHeadConfig,
    HeadsConfig,
    MultiInstanceConfig,
)


def test_oneof_tells_which_and_rejects_two():
    heads = HeadsConfig(multi_instance=MultiInstanceConfig())
    assert heads.which_oneof_attrib_name() == "multi_instance"
    assert isinstance(heads.which_oneof(), MultiInstanceConfig)
    assert HeadsConfig().which_oneof_attrib_name() is None
    with pytest.raises(ValueError, match=r"centroid.*multi_instance"):
        HeadsConfig(centroid=CentroidsHeadConfig(), multi_instance=MultiInstanceConfig())
