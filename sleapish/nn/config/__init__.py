"""SLEAP-compatible training configuration (`sleap.nn.config`).

Every class, field, default and JSON key is SLEAP 1.4.1's, so `training_config.json`
files move between SLEAP and sleapish unchanged.
"""

from sleapish.nn.config.data import (
    DataConfig,
    InstanceCroppingConfig,
    LabelsConfig,
    PreprocessingConfig,
)
from sleapish.nn.config.model import (
    PRETRAINED_ENCODER_NAMES,
    BackboneConfig,
    CenteredInstanceConfmapsHeadConfig,
    CentroidsHeadConfig,
    ClassMapsHeadConfig,
    ClassVectorsHeadConfig,
    HeadsConfig,
    HourglassConfig,
    LEAPConfig,
    ModelConfig,
    MultiClassBottomUpConfig,
    MultiClassTopDownConfig,
    MultiInstanceConfig,
    MultiInstanceConfmapsHeadConfig,
    PartAffinityFieldsHeadConfig,
    PretrainedEncoderConfig,
    ResNetConfig,
    SingleInstanceConfmapsHeadConfig,
    UNetConfig,
    UpsamplingConfig,
)
from sleapish.nn.config.optimization import (
    AugmentationConfig,
    EarlyStoppingConfig,
    HardKeypointMiningConfig,
    LearningRateScheduleConfig,
    OptimizationConfig,
)
from sleapish.nn.config.outputs import (
    CheckpointingConfig,
    OutputsConfig,
    TensorBoardConfig,
    ZMQConfig,
)
from sleapish.nn.config.serialization import ConfigError
from sleapish.nn.config.training_job import (
    TrainingJobConfig,
    load_config,
    resolve_config_path,
)
from sleapish.nn.config.utils import oneof

__all__ = [name for name in dir() if not name.startswith("_")]
