"""Test helper: model folders of tiny random-weight UNets, as a trainer writes them."""

from __future__ import annotations

from pathlib import Path

from sleapish.nn.config import BackboneConfig, ModelConfig, TrainingJobConfig, UNetConfig
from sleapish.nn.model import Model


def _seeded_weights(km, seed: int):
    """Glorot-uniform kernels from a fixed seed: the same "random" model
    in every process (Keras's own initializers follow the global random state, which
    earlier tests move), so the tests' instance counts do not depend on test order."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for w in km.get_weights():
        if w.ndim < 2:  # biases (zeros), norm scales (ones): already fixed
            out.append(w)
            continue
        receptive = int(np.prod(w.shape[:-2]))
        limit = np.sqrt(6.0 / (receptive * (w.shape[-2] + w.shape[-1])))
        out.append(rng.uniform(-limit, limit, w.shape).astype(w.dtype))
    return out


def make_model_folder(path: Path, heads, labels, crop=None) -> Path:
    """Write `best_model.h5` and `training_config.json` of a tiny UNet to `path`.

    Args:
        path: The folder to create.
        heads: A `HeadsConfig`.
        labels: Labels whose skeleton names the parts.
        crop: Crop size for centered-instance models (the input is `crop` x `crop`),
            else a 128 x 128 input.

    Returns:
        `path`.
    """
    cfg = TrainingJobConfig()
    cfg.model = ModelConfig(backbone=BackboneConfig(unet=UNetConfig(
        max_stride=16, output_stride=2, filters=4, filters_rate=1.5)), heads=heads)
    cfg.data.labels.skeletons = [labels.skeleton]
    cfg.data.preprocessing.pad_to_stride = 16
    cfg.data.instance_cropping.crop_size = crop
    model = Model.from_config(cfg.model, skeleton=labels.skeleton, update_config=True)
    km = model.make_model((crop, crop, 1) if crop else (128, 128, 1))
    km.set_weights(_seeded_weights(km, seed=0))
    path.mkdir()
    km.save(str(path / "best_model.h5"), save_format="h5")
    cfg.save_json(path / "training_config.json")
    return path
