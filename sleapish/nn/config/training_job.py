"""The top-level training job config and JSON loading/saving.

A `TrainingJobConfig` is everything needed to train a model: data, model,
optimization and outputs. Its JSON form is SLEAP 1.4.1's `training_config.json`
(`initial_config.json` is the same before the trainer fills in inferred values).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Optional, Union

import attrs

from sleapish.errors import InputNotFoundError
from sleapish.io.files import atomic_write_text
from sleapish.nn.config.data import DataConfig
from sleapish.nn.config.model import ModelConfig
from sleapish.nn.config.optimization import OptimizationConfig
from sleapish.nn.config.outputs import OutputsConfig
from sleapish.nn.config.serialization import (
    ConfigError,
    parse_json_text,
    structure_config,
    to_json_text,
    unstructure_config,
)
from sleapish.version import SLEAP_COMPAT_VERSION

TRAINING_CONFIG_NAME = "training_config.json"
INITIAL_CONFIG_NAME = "initial_config.json"


@attrs.define(eq=True)
class TrainingJobConfig:
    """Configuration of a training job: data, model, optimization and outputs.

    Attributes:
        data: A :class:`~sleapish.nn.config.data.DataConfig`.
        model: A :class:`~sleapish.nn.config.model.ModelConfig`.
        optimization: An :class:`~sleapish.nn.config.optimization.OptimizationConfig`.
        outputs: An :class:`~sleapish.nn.config.outputs.OutputsConfig`.
        name: Optional name of the job.
        description: Optional description.
        sleap_version: Version of the SLEAP config layout this config follows
            (sleapish writes SLEAP's, "1.4.1", so SLEAP reads it as its own).
        filename: Path the config was loaded from (set by :meth:`load_json`).

    Example:
        >>> cfg = TrainingJobConfig.load_json("models/my_run")  # folder or .json
        >>> cfg.model.heads.which_oneof_attrib_name()
        'centroid'
        >>> TrainingJobConfig.from_json(cfg.to_json()) == cfg
        True
    """

    data: DataConfig = attrs.field(factory=DataConfig)
    model: ModelConfig = attrs.field(factory=ModelConfig)
    optimization: OptimizationConfig = attrs.field(factory=OptimizationConfig)
    outputs: OutputsConfig = attrs.field(factory=OutputsConfig)
    name: Optional[str] = ""
    description: Optional[str] = ""
    sleap_version: Optional[str] = SLEAP_COMPAT_VERSION
    filename: Optional[str] = ""

    # ------------------------------------------------------------------ reading
    @classmethod
    def from_json_dicts(cls, json_data_dicts: Dict[str, Any],
                        source: str = "config") -> TrainingJobConfig:
        """Build a config from parsed JSON dicts (as `json.load` returns them).

        Args:
            json_data_dicts: The parsed `training_config.json` content.
            source: Name of the origin, used in error messages.

        Raises:
            ConfigError: If a value is invalid (the message names the field and the
                value received).
        """
        return structure_config(json_data_dicts, cls, source=source)

    @classmethod
    def from_json(cls, json_data: str, source: str = "<string>") -> TrainingJobConfig:
        """Build a config from JSON text (`//` and `/* */` comments allowed).

        Raises:
            ConfigError: If the text is malformed JSON or a value is invalid.
        """
        return cls.from_json_dicts(parse_json_text(json_data, source), source=source)

    @classmethod
    def load_json(cls, filename: Union[str, os.PathLike],
                  load_training_config: bool = True) -> TrainingJobConfig:
        """Load a config from a JSON file or a model folder.

        Args:
            filename: A model folder (its `training_config.json` is read), a
                `training_config.json`, an `initial_config.json`, or any JSON file.
            load_training_config: If `True` and `filename` is an
                `initial_config.json` with a sibling `training_config.json`, the
                latter (with the trainer's inferred values) is loaded, as SLEAP does.

        Returns:
            The config, with `filename` set to the path actually read.

        Raises:
            FileNotFoundError: If no config file exists at the path; the message
                lists the paths tried.
            ConfigError: If the file is not valid JSON or holds invalid values.
        """
        path = resolve_config_path(filename, load_training_config)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigError(
                f"Config file {path} is not UTF-8 text. Received: binary data"
            ) from None
        cfg = cls.from_json(text, source=str(path))
        cfg.filename = str(path)
        return cfg

    # ------------------------------------------------------------------ writing
    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON-serializable dict in SLEAP's key layout."""
        return unstructure_config(self)

    def to_json(self) -> str:
        """JSON text in SLEAP's `training_config.json` layout."""
        return to_json_text(self.to_dict())

    def save_json(self, filename: Union[str, os.PathLike]) -> None:
        """Write the config as JSON; the file is replaced atomically."""
        atomic_write_text(filename, self.to_json())


def resolve_config_path(path: Union[str, os.PathLike],
                        load_training_config: bool = True) -> Path:
    """Find the config file for a model folder or config path.

    Args:
        path: Model folder or JSON file path.
        load_training_config: Prefer a sibling `training_config.json` over an
            `initial_config.json`.

    Returns:
        Path of the JSON file to read.

    Raises:
        FileNotFoundError: If nothing is found; the message lists the paths tried.
    """
    path = Path(path)
    tried = []
    if path.is_dir():
        candidates = [path / TRAINING_CONFIG_NAME, path / INITIAL_CONFIG_NAME]
    else:
        candidates = [path]
        if load_training_config and path.name == INITIAL_CONFIG_NAME:
            candidates.insert(0, path.with_name(TRAINING_CONFIG_NAME))
    for c in candidates:
        tried.append(str(c))
        if c.is_file():
            return c
    raise InputNotFoundError(
        f"No training config found for {path}. Tried: {tried}")


def load_config(path: Union[str, os.PathLike],
                load_training_config: bool = True) -> TrainingJobConfig:
    """Load a :class:`TrainingJobConfig` from a model folder or a JSON file.

    This is the one entry point for reading configs: a model folder (reads its
    `training_config.json`, else `initial_config.json`), a `training_config.json`,
    or an `initial_config.json` (a sibling `training_config.json` is preferred).

    Args:
        path: Model folder or JSON path.
        load_training_config: See :meth:`TrainingJobConfig.load_json`.

    Raises:
        FileNotFoundError: If no config file exists there.
        ConfigError: If the JSON is malformed or holds invalid values.
    """
    return TrainingJobConfig.load_json(path, load_training_config=load_training_config)


__all__ = ["TrainingJobConfig", "load_config", "resolve_config_path", "ConfigError"]
