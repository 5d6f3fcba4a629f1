"""Helpers shared by the training tests (imported as a plain module)."""

from __future__ import annotations

#: Packaged profile per model type.
PROFILES = {
    "single_instance": "baseline_medium_rf.single",
    "centroid": "baseline.centroid",
    "centered_instance": "baseline_medium_rf.topdown",
    "multi_instance": "baseline_medium_rf.bottomup",
    "multi_class_bottomup": "baseline_medium_rf.multi_class_bottomup",
    "multi_class_topdown": "baseline_medium_rf.multi_class_topdown",
}


def tiny_config(kind: str, runs_folder, run_name: str = None, epochs: int = 2,
                batches: int = 2):
    """A packaged profile shrunk to a few-thousand-parameter UNet and a few batches."""
    from sleapish.nn.config import TrainingJobConfig
    from sleapish.nn.training.profiles import find_profile

    cfg = TrainingJobConfig.load_json(find_profile(PROFILES[kind]))
    unet = cfg.model.backbone.unet
    unet.filters, unet.filters_rate = 4, 1.5
    unet.max_stride = min(unet.max_stride, 16)
    opt = cfg.optimization
    opt.epochs, opt.batches_per_epoch, opt.val_batches_per_epoch = epochs, batches, 1
    opt.batch_size = 2
    opt.preload_data = False
    cfg.outputs.runs_folder = str(runs_folder)
    cfg.outputs.run_name = run_name or kind
    cfg.outputs.save_visualizations = False
    return cfg
