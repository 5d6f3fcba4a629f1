"""Small datasets sleapish makes itself (no downloads)."""

from sleapish.datasets.synthetic import (
    SyntheticDataset,
    make_synthetic_dataset,
    render_frames,
    simulate_trajectories,
    synthetic_skeleton,
)

__all__ = [
    "SyntheticDataset",
    "make_synthetic_dataset",
    "render_frames",
    "simulate_trajectories",
    "synthetic_skeleton",
]
