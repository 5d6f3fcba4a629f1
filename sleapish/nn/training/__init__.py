"""Training (SLEAP's `sleap.nn.training`): trainers, losses, callbacks, outputs.

Example:
    >>> from sleapish.nn.config import TrainingJobConfig
    >>> from sleapish.nn.training import Trainer
    >>> cfg = TrainingJobConfig.load_json("baseline.centroid.json")
    >>> trainer = Trainer.from_config(cfg, training_labels="labels.slp")
    >>> trainer.train()
"""

from sleapish.nn.training.data_readers import (
    DataReaders,
    TrainingSetupError,
    check_config_fits_labels,
)
from sleapish.nn.training.losses import OHKMLoss, PartLoss, compute_ohkm_loss
from sleapish.nn.training.saving import legacy_model_config, save_model_h5
from sleapish.nn.training.trainer import (
    TRAINERS,
    BottomUpModelTrainer,
    BottomUpMultiClassModelTrainer,
    CentroidConfmapsModelTrainer,
    SingleInstanceModelTrainer,
    TopDownMultiClassModelTrainer,
    TopdownConfmapsModelTrainer,
    Trainer,
    resume,
)

__all__ = [
    "DataReaders", "TrainingSetupError", "check_config_fits_labels",
    "OHKMLoss", "PartLoss", "compute_ohkm_loss",
    "legacy_model_config", "save_model_h5",
    "TRAINERS", "Trainer", "SingleInstanceModelTrainer",
    "CentroidConfmapsModelTrainer", "TopdownConfmapsModelTrainer",
    "BottomUpModelTrainer", "BottomUpMultiClassModelTrainer",
    "TopDownMultiClassModelTrainer", "resume",
]
