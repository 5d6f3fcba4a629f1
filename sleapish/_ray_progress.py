"""A tiny Ray actor counting frames done (kept out of `sleapish.nn` so that the actor's
process does not import TensorFlow)."""

from __future__ import annotations


class FrameCounter:
    """Frames done across workers: workers `add`, the driver `get`s."""

    def __init__(self):
        self.done = 0

    def add(self, n: int) -> None:
        """Count `n` more frames."""
        self.done += int(n)

    def get(self) -> int:
        """Frames counted so far."""
        return self.done
