"""Training (SLEAP's `sleap.nn.training`): trainers, losses, callbacks, outputs.

Example:
    >>> from sleapish.nn.config import TrainingJobConfig
    >>> from sleapish.nn.training import Trainer
    >>> cfg = TrainingJobConfig.load_json("baseline.centroid.json")
    >>> trainer = Trainer.from_config(cfg, training_labels="labels.slp")
    >>> trainer.train()

Every public name is imported from its module on first use, so importing a
submodule (`sleapish.nn.training.profiles`) does not import TensorFlow.
"""

from sleapish._lazy import lazy_exports as _lazy_exports

#: Public name -> the module defining it.
_ORIGINS = {
    "DataReaders": "sleapish.nn.training.data_readers",
    "TrainingSetupError": "sleapish.nn.training.data_readers",
    "check_config_fits_labels": "sleapish.nn.training.data_readers",
    "OHKMLoss": "sleapish.nn.training.losses",
    "PartLoss": "sleapish.nn.training.losses",
    "compute_ohkm_loss": "sleapish.nn.training.losses",
    "legacy_model_config": "sleapish.nn.training.saving",
    "save_model_h5": "sleapish.nn.training.saving",
    "TRAINERS": "sleapish.nn.training.trainer",
    "BottomUpModelTrainer": "sleapish.nn.training.trainer",
    "BottomUpMultiClassModelTrainer": "sleapish.nn.training.trainer",
    "CentroidConfmapsModelTrainer": "sleapish.nn.training.trainer",
    "SingleInstanceModelTrainer": "sleapish.nn.training.trainer",
    "TopDownMultiClassModelTrainer": "sleapish.nn.training.trainer",
    "TopdownConfmapsModelTrainer": "sleapish.nn.training.trainer",
    "Trainer": "sleapish.nn.training.trainer",
    "resume": "sleapish.nn.training.trainer",
}

__all__ = [
    "DataReaders",
    "TrainingSetupError",
    "check_config_fits_labels",
    "OHKMLoss",
    "PartLoss",
    "compute_ohkm_loss",
    "legacy_model_config",
    "save_model_h5",
    "TRAINERS",
    "Trainer",
    "SingleInstanceModelTrainer",
    "CentroidConfmapsModelTrainer",
    "TopdownConfmapsModelTrainer",
    "BottomUpModelTrainer",
    "BottomUpMultiClassModelTrainer",
    "TopDownMultiClassModelTrainer",
    "resume",
]


__getattr__, __dir__ = _lazy_exports(__name__, _ORIGINS)
