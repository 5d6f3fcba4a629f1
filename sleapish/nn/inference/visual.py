"""`VisualPredictor`: raw model outputs (confidence maps, PAFs, class maps) for
visualization (SLEAP's `VisualPredictor`)."""

from __future__ import annotations

from typing import Any

import attrs

from sleapish.nn.data.dataset_ops import Batcher, Prefetcher
from sleapish.nn.data.pipelines import Pipeline
from sleapish.nn.inference.predictors import make_provider
from sleapish.nn.inference.results import ProgressReporter


@attrs.define
class VisualPredictor:
    """Raw model outputs (confidence maps, PAFs, class maps) for visualization.

    Attributes:
        config: The model's `TrainingJobConfig`.
        model: The Keras model (any input size).
        batch_size: Frames per batch.
        verbosity: Progress reporting ("rich", "json", "none").
        report_rate: Seconds between JSON reports.
        model_paths: Folders the model came from.
    """

    config: Any
    model: Any
    batch_size: int = 4
    verbosity: str = "rich"
    report_rate: float = 2.0
    model_paths: list = attrs.field(factory=list)

    @classmethod
    def from_trained_models(cls, model_path) -> VisualPredictor:
        """Load one model folder (input layer resized to any frame size)."""
        from sleapish.nn.config import load_config
        from sleapish.nn.inference.loading import load_keras_model, reset_input_layer

        return cls(config=load_config(model_path),
                   model=reset_input_layer(load_keras_model(model_path)),
                   model_paths=[str(model_path)])

    def make_pipeline(self, data_provider=None) -> Pipeline:
        """Provider -> batch -> prefetch."""
        return (Pipeline(data_provider) | Batcher(batch_size=self.batch_size)
                | Prefetcher())

    def predict(self, data) -> list:
        """Per batch: `"image"`, `"frame_ind"`, `"video_ind"` and one array per head
        (keyed by head name), e.g. `"CentroidConfmapsHead"` `(n, h/s, w/s, 1)`.

        Frames are normalized, converted to the model's channels and scaled and padded
        as in training.
        """
        from sleapish.nn.inference.layers import InferenceLayer

        pre = self.config.data.preprocessing
        layer = InferenceLayer(self.model, input_scale=pre.input_scaling,
                               pad_to_stride=pre.pad_to_stride or 1)
        provider = make_provider(data)
        reporter = ProgressReporter(len(provider), self.verbosity, self.report_rate)
        results = []
        for batch in self.make_pipeline(provider).make_dataset():
            outs = self.model(layer.preprocess(batch["image"]), training=False)
            outs = outs if isinstance(outs, (list, tuple)) else [outs]
            names = [n[:-2] if n.endswith("_0") else n for n in self.model.output_names]
            res = {n: o.numpy() for n, o in zip(names, outs)}
            res.update(image=batch["image"].numpy(), frame_ind=batch["frame_ind"].numpy(),
                       video_ind=batch["video_ind"].numpy())
            results.append(res)
            reporter.update(len(res["frame_ind"]))
        reporter.close()
        return results


__all__ = ["VisualPredictor"]
