"""Outputs configuration: run folder naming, checkpoints, logs and monitoring.

Mirrors `sleap.nn.config.outputs` of SLEAP 1.4.1 (fields, defaults, JSON keys).
"""

from __future__ import annotations

import os
from typing import List, Optional

import attrs

from sleapish.errors import InvalidValueError
from sleapish.nn.config.utils import one_of, positive


@attrs.define(eq=True)
class CheckpointingConfig:
    """Which model checkpoints are saved in the run folder.

    Attributes:
        initial_model: Save `initial_model.h5` before training.
        best_model: Save `best_model.h5` whenever the validation loss improves.
        every_epoch: Save `model.epochNNNN.h5` after every epoch.
        latest_model: Save `latest_model.h5` after every epoch (overwritten).
        final_model: Save `final_model.h5` when training ends.
    """

    initial_model: bool = False
    best_model: bool = True
    every_epoch: bool = False
    latest_model: bool = False
    final_model: bool = False


@attrs.define(eq=True)
class TensorBoardConfig:
    """TensorBoard logging.

    Attributes:
        write_logs: If `True`, write TensorBoard logs to the run folder.
        loss_frequency: `"epoch"` or `"batch"`: how often losses are logged.
        architecture_graph: If `True`, log the model graph.
        profile_graph: If `True`, profile a batch.
        visualizations: If `True`, log prediction visualizations as images.
    """

    write_logs: bool = False
    loss_frequency: str = attrs.field(
        default="epoch", validator=one_of(["epoch", "batch"]))
    architecture_graph: bool = False
    profile_graph: bool = False
    visualizations: bool = True


@attrs.define(eq=True)
class ZMQConfig:
    """ZeroMQ messaging with a GUI controller (kept for config compatibility).

    Attributes:
        subscribe_to_controller: If `True`, listen for stop/LR commands.
        controller_address: Address of the controller.
        controller_polling_timeout: Polling timeout in milliseconds.
        publish_updates: If `True`, publish training progress.
        publish_address: Address progress is published on.
    """

    subscribe_to_controller: bool = False
    controller_address: str = "tcp://127.0.0.1:9000"
    controller_polling_timeout: int = attrs.field(default=10, validator=positive)
    publish_updates: bool = False
    publish_address: str = "tcp://127.0.0.1:9001"


@attrs.define(eq=True)
class OutputsConfig:
    """Where and what training writes.

    Attributes:
        save_outputs: If `False`, nothing is written to disk.
        run_name: Name of the run folder; a timestamped name is made when `None`.
        run_name_prefix: Prepended to the run name.
        run_name_suffix: Appended to the run name.
        runs_folder: Parent folder of run folders.
        tags: Free-form tags.
        save_visualizations: If `True`, save prediction visualizations each epoch.
        keep_viz_images: If `True`, keep the visualization images after training.
        zip_outputs: If `True`, zip the run folder after training.
        log_to_csv: If `True`, write `training_log.csv`.
        checkpointing: A :class:`CheckpointingConfig`.
        tensorboard: A :class:`TensorBoardConfig`.
        zmq: A :class:`ZMQConfig`.
    """

    save_outputs: bool = True
    run_name: Optional[str] = None
    run_name_prefix: str = ""
    run_name_suffix: Optional[str] = None
    runs_folder: str = "models"
    tags: List[str] = attrs.field(factory=list)
    save_visualizations: bool = True
    keep_viz_images: bool = False
    zip_outputs: bool = False
    log_to_csv: bool = True
    checkpointing: CheckpointingConfig = attrs.field(factory=CheckpointingConfig)
    tensorboard: TensorBoardConfig = attrs.field(factory=TensorBoardConfig)
    zmq: ZMQConfig = attrs.field(factory=ZMQConfig)

    @property
    def run_path(self) -> str:
        """Path of the run folder: `runs_folder/prefix + run_name + suffix`.

        Raises:
            ValueError: If `run_name` is not set (the trainer sets it first).
        """
        if self.run_name is None:
            raise InvalidValueError(
                "OutputsConfig.run_path needs run_name to be set. Received: None"
            )
        name = (self.run_name_prefix or "") + self.run_name + (self.run_name_suffix or "")
        return os.path.join(self.runs_folder, name)
