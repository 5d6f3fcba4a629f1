"""sleapish.frame_spec: the one `--frames` rule of sleapish-track and sleapish-render."""

from __future__ import annotations

import pytest

from sleapish.frame_spec import parse_frames


def test_ranges_lists_and_sleaps_legacy_form():
    assert parse_frames("0-2, 5,1", 10) == [0, 1, 2, 5]
    assert parse_frames("1,-3") == [1, 2, 3]  # SLEAP's legacy "1,-3" = "1-3"
    assert parse_frames("7") == [7]
    assert parse_frames(None) is None and parse_frames("  ") is None


@pytest.mark.parametrize("text", ["3-1", "a", "1-", "-", "1,,2", "0-2-4"])
def test_malformed_or_backwards_is_one_clear_error(text):
    with pytest.raises(ValueError, match=r"--frames must look like '0-10,15'.*Received"):
        parse_frames(text, 10)


def test_out_of_range_names_the_video_length_and_option():
    with pytest.raises(ValueError, match="--start out of range for a video of 10 frames"):
        parse_frames("8-12", 10, option="--start")
    assert parse_frames("8-12") == [8, 9, 10, 11, 12]  # no length: not checked
