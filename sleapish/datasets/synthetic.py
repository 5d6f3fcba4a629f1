"""A deterministic synthetic multi-animal dataset: video plus ground-truth labels.

Each animal is a rigid four-part body (head, thorax, abdomen, tail tip) that walks
with smooth random turns inside the arena. Parts are drawn as Gaussian blobs of
distinct sizes and brightness over a dimmer body, so they are learnable; with
`identity_marks=True` animal *k* carries a bright spot pattern of its own, so
identity models can learn it. Everything is a pure function of the seed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Tuple, Union

import numpy as np

from sleapish.errors import InvalidValueError

#: Node names, body-frame offsets (pixels along the heading) and blob (sigma, amp).
_NODES = ("head", "thorax", "abdomen", "tail")
_OFFSETS = np.array([9.0, 0.0, -9.0, -18.0], dtype=np.float64)
_BLOBS = np.array([[2.2, 200.0], [3.0, 150.0], [3.6, 110.0], [1.6, 170.0]])
_EDGES = (("thorax", "head"), ("thorax", "abdomen"), ("abdomen", "tail"))


def synthetic_skeleton():
    """The synthetic animals' skeleton: 4 nodes, 3 edges, rooted at the thorax.

    Returns:
        A `sleap_io.Skeleton` named "synthetic".
    """
    import sleap_io as sio

    return sio.Skeleton(list(_NODES), edges=list(_EDGES), name="synthetic")


def simulate_trajectories(n_frames: int, n_animals: int, height: int, width: int,
                          seed: int = 0) -> np.ndarray:
    """Simulate body-part positions.

    Args:
        n_frames: Number of frames.
        n_animals: Number of animals.
        height: Arena height in pixels.
        width: Arena width in pixels.
        seed: Random seed.

    Returns:
        `float64` array of shape `(n_frames, n_animals, 4, 2)`: (x, y) of head,
        thorax, abdomen and tail per animal and frame, all inside the image.
    """
    if n_frames < 1 or n_animals < 1:
        raise InvalidValueError(
            f"n_frames and n_animals must be >= 1. Received: {n_frames}, {n_animals}")
    margin = 24.0
    if min(height, width) <= 2 * margin + 8:
        raise InvalidValueError(f"Arena too small for the animals. Received: {height}x{width}")
    rng = np.random.default_rng(seed)
    pos = np.stack([rng.uniform(margin, width - margin, n_animals),
                    rng.uniform(margin, height - margin, n_animals)], axis=-1)
    heading = rng.uniform(-np.pi, np.pi, n_animals)
    speed = rng.uniform(1.0, 2.5, n_animals)
    out = np.zeros((n_frames, n_animals, len(_NODES), 2))
    for t in range(n_frames):
        heading = heading + rng.normal(0.0, 0.15, n_animals)
        step = speed[:, None] * np.stack([np.cos(heading), np.sin(heading)], -1)
        nxt = pos + step
        # Bounce off the walls: turn around instead of leaving the arena.
        hit_x = (nxt[:, 0] < margin) | (nxt[:, 0] > width - margin)
        hit_y = (nxt[:, 1] < margin) | (nxt[:, 1] > height - margin)
        heading = np.where(hit_x, np.pi - heading, heading)
        heading = np.where(hit_y, -heading, heading)
        step = speed[:, None] * np.stack([np.cos(heading), np.sin(heading)], -1)
        pos = np.clip(pos + step, margin, [width - margin, height - margin])
        direction = np.stack([np.cos(heading), np.sin(heading)], -1)
        out[t] = pos[:, None, :] + _OFFSETS[None, :, None] * direction[:, None, :]
    return out


def render_frames(points: np.ndarray, height: int, width: int,
                  identity_marks: bool = True, seed: int = 0) -> np.ndarray:
    """Render grayscale frames of the animals.

    Args:
        points: `(n_frames, n_animals, 4, 2)` positions from
            :func:`simulate_trajectories`.
        height: Image height.
        width: Image width.
        identity_marks: If `True`, draw a per-animal spot pattern beside the thorax.
        seed: Seed of the background texture.

    Returns:
        `uint8` array `(n_frames, height, width, 1)`.
    """
    rng = np.random.default_rng(seed + 1)
    background = 30.0 + 6.0 * rng.standard_normal((height, width))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    frames = np.empty((len(points), height, width, 1), dtype=np.uint8)

    def blob(img, x, y, sigma, amp):
        r = int(np.ceil(3 * sigma))
        x0, x1 = max(int(x) - r, 0), min(int(x) + r + 2, width)
        y0, y1 = max(int(y) - r, 0), min(int(y) + r + 2, height)
        d2 = (xx[y0:y1, x0:x1] - x) ** 2 + (yy[y0:y1, x0:x1] - y) ** 2
        img[y0:y1, x0:x1] = np.maximum(img[y0:y1, x0:x1],
                                       amp * np.exp(-d2 / (2 * sigma**2)))

    for t, frame_pts in enumerate(points):
        img = np.zeros((height, width))
        for k, pts in enumerate(frame_pts):
            # Dim body along the spine.
            for a, b in zip(pts[:-1], pts[1:]):
                for s in np.linspace(0, 1, 6):
                    p = a + s * (b - a)
                    blob(img, p[0], p[1], 4.5, 70.0)
            for (x, y), (sigma, amp) in zip(pts, _BLOBS):
                blob(img, x, y, sigma, amp)
            if identity_marks:
                d = pts[0] - pts[1]
                d = d / (np.linalg.norm(d) + 1e-9)
                normal = np.array([-d[1], d[0]])
                side = 1.0 if k % 2 == 0 else -1.0
                for j in range(k // 2 + 1):
                    p = pts[1] + side * 6.0 * normal - 3.5 * j * d
                    blob(img, p[0], p[1], 1.3, 255.0)
        frames[t, ..., 0] = np.clip(background + img, 0, 255).astype(np.uint8)
    return frames


@dataclass(frozen=True)
class SyntheticDataset:
    """Paths and ground truth of a generated dataset.

    Attributes:
        labels_path: The `.slp` labels file.
        video_path: The `.mp4` video.
        points: `(n_frames, n_animals, 4, 2)` ground-truth positions (float64).
    """

    labels_path: Path
    video_path: Path
    points: np.ndarray


def make_synthetic_dataset(out_dir: Union[str, os.PathLike], n_frames: int = 64,
                           n_animals: int = 2, image_size: Tuple[int, int] = (128, 128),
                           identity_marks: bool = True, seed: int = 0,
                           name: str = "synthetic") -> SyntheticDataset:
    """Write a synthetic video and its ground-truth labels with tracks.

    Args:
        out_dir: Folder to write into (created if missing).
        n_frames: Number of frames (all labeled).
        n_animals: Number of animals; each gets a track `animal_<k>`.
        image_size: `(height, width)` of the video.
        identity_marks: Draw per-animal markings (for identity models).
        seed: Random seed; the same seed gives the same data.
        name: Base name of the files (`<name>.mp4`, `<name>.slp`).

    Returns:
        A :class:`SyntheticDataset`.
    """
    import sleap_io as sio

    from sleapish.io.files import atomic_output
    from sleapish.io.labels import save_file

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    height, width = image_size
    points = simulate_trajectories(n_frames, n_animals, height, width, seed=seed)
    frames = render_frames(points, height, width, identity_marks=identity_marks,
                           seed=seed)
    video_path = out_dir / f"{name}.mp4"
    with atomic_output(video_path) as tmp:
        # Near-lossless H.264 so the rendered parts survive compression.
        sio.save_video(np.repeat(frames, 3, axis=-1), tmp, fps=30, crf=10)
    video = sio.load_video(str(video_path), grayscale=True, plugin="opencv")
    skeleton = synthetic_skeleton()
    tracks = [sio.Track(f"animal_{k}") for k in range(n_animals)]
    lfs = []
    for t in range(n_frames):
        insts = [sio.Instance.from_numpy(points[t, k].astype(np.float64), skeleton,
                                         track=tracks[k]) for k in range(n_animals)]
        lfs.append(sio.LabeledFrame(video=video, frame_idx=t, instances=insts))
    labels = sio.Labels(labeled_frames=lfs, videos=[video], skeletons=[skeleton],
                        tracks=tracks)
    labels_path = out_dir / f"{name}.slp"
    save_file(labels, labels_path)
    return SyntheticDataset(labels_path=labels_path, video_path=video_path,
                            points=points)
