"""Training visualizations: predicted vs target maps, saved as `viz/*.png`.

At the end of every epoch the model is run on one fixed training and one fixed
validation example (no augmentation) and a figure is saved per head:
the input image with the target (left) and predicted (right) maps overlaid as a
maximum projection over channels (PAFs: vector magnitude; class vectors: bars).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import numpy as np

from sleapish.io.files import atomic_output
from sleapish.nn import heads as H
from sleapish.nn._backend import keras


def _projection(maps: np.ndarray, head) -> np.ndarray:
    """`(h, w, c)` maps -> `(h, w)` image of the head's output."""
    if isinstance(head, H.PartAffinityFieldsHead):
        v = maps.reshape(maps.shape[0], maps.shape[1], -1, 2)
        return np.linalg.norm(v, axis=-1).max(axis=-1)
    if isinstance(head, H.OffsetRefinementHead):
        return np.abs(maps).max(axis=-1)
    return maps.max(axis=-1)


def plot_example(image: np.ndarray, targets: Dict[str, np.ndarray],
                 predictions: Dict[str, np.ndarray], heads: List, title: str = ""):
    """A matplotlib figure comparing targets and predictions for one example.

    Args:
        image: Input image, float32 `(height, width, channels)`.
        targets: Head name -> target `(h, w, c)` or `(n_classes,)`.
        predictions: Head name -> prediction, same shapes.
        heads: Heads in output order.
        title: Figure title.

    Returns:
        A `matplotlib.figure.Figure` with one row per head.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    img = image[..., 0] if image.shape[-1] == 1 else image
    # A Figure with its own Agg canvas: no pyplot, so the user's backend is untouched.
    fig = Figure(figsize=(8, 4 * len(heads)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(heads), 2, squeeze=False)
    for row, head in enumerate(heads):
        gt, pr = targets[head.name], predictions[head.name]
        for col, (arr, what) in enumerate([(gt, "target"), (pr, "predicted")]):
            ax = axes[row, col]
            if arr.ndim == 1:
                ax.bar(np.arange(len(arr)), arr)
                ax.set_ylim(0, 1)
            else:
                ax.imshow(img, cmap="gray" if img.ndim == 2 else None,
                          extent=(0, img.shape[1], img.shape[0], 0))
                ax.imshow(_projection(arr, head), alpha=0.5, cmap="magma",
                          extent=(0, img.shape[1], img.shape[0], 0))
                ax.axis("off")
            ax.set_title(f"{head.name} {what}", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


class VisualizationSaver(keras.callbacks.Callback):
    """Save a target-vs-prediction figure per example at the end of each epoch.

    Args:
        folder: The `viz` folder.
        examples: Name (e.g. `"train"`, `"validation"`) -> `(inputs, targets)` of one
            example as numpy (batch dimension of 1).
        heads: Model heads in output order.
    """

    def __init__(self, folder, examples: Dict[str, tuple], heads: List):
        super().__init__()
        self.folder = Path(folder)
        self.examples = examples
        self.heads = heads

    def on_epoch_end(self, epoch, logs=None):
        """Write `viz/<name>.<epoch:04d>.png` for every example."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, (inputs, targets) in self.examples.items():
            # A direct call runs on this process only (predict_on_batch would be a
            # collective under MultiWorkerMirroredStrategy, where only the chief
            # draws).
            preds = self.model(inputs, training=False)
            if not isinstance(preds, (list, tuple)):
                preds = [preds]
            pred = {n: np.asarray(p)[0] for n, p in zip(self.model.output_names, preds)}
            tgt = {n: np.asarray(t)[0] for n, t in targets.items()}
            img = np.asarray(next(iter(inputs.values())))[0]
            fig = plot_example(img, tgt, pred, [h for h in self.heads if h.name in pred],
                               title=f"{name} example, epoch {epoch + 1}")
            with atomic_output(self.folder / f"{name}.{epoch:04d}.png") as tmp:
                fig.savefig(tmp, format="png", dpi=72)


__all__ = ["plot_example", "VisualizationSaver"]
