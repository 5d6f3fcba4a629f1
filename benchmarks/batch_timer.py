"""Run a training command with a per-batch timer inside Keras' `fit`.

`python benchmarks/batch_timer.py OUT.json sleap-train CONFIG LABELS ...` runs the
console script `sleap-train` (or `sleapish-train`) of the running interpreter's
environment, as the user would, with one thing added: every `Model.fit` call gets a
callback that records when each training batch ends (`time.perf_counter`). The
interval between two consecutive batch ends of one epoch is what that batch cost:
input pipeline wait, training step and Keras' per-batch Python, with no start-up,
tracing (the first batch of each epoch is not an interval), validation or checkpoints.
Both tools train through Keras 2 `Model.fit` (SLEAP 1.4.1 on `keras` 2.15, sleapish
on `tf_keras`), so the same timer measures both.

Writes `OUT.json`: `{"epochs": [[interval_s, ...], ...]}`, one list per epoch, written
atomically when training ends.
"""

from __future__ import annotations

import json
import os
import sys
import time
from importlib.metadata import entry_points


def _keras_model_classes():
    """The Keras 2 `Model` classes importable here (tf_keras and/or keras 2.x)."""
    classes = []
    try:
        import tf_keras

        classes.append(tf_keras.Model)
    except ImportError:
        pass
    if not classes:
        import keras

        if not keras.__version__.startswith("2."):
            raise RuntimeError(f"No Keras 2 found (keras {keras.__version__}).")
        classes.append(keras.Model)
    return classes


def install(out_path: str) -> None:
    """Patch `Model.fit` so that every fit records batch-end times into `out_path`."""
    try:
        # sleapish chooses TensorFlow's settings (tf-keras, oneDNN) in its backend
        # module before TensorFlow is imported: import it first, as the tool does.
        import sleapish.nn._backend  # noqa: F401
    except ImportError:  # SLEAP's environment
        pass
    epochs = []

    def make_callback(base):
        class BatchTimer(base):
            def on_epoch_begin(self, epoch, logs=None):
                epochs.append([])
                self._last = None

            def on_train_batch_end(self, batch, logs=None):
                now = time.perf_counter()
                if self._last is not None:
                    epochs[-1].append(now - self._last)
                self._last = now

            def on_train_end(self, logs=None):
                tmp = out_path + ".tmp"
                with open(tmp, "w") as f:
                    json.dump({"epochs": epochs}, f)
                os.replace(tmp, out_path)

        return BatchTimer()

    for cls in _keras_model_classes():
        fit = cls.fit
        callback_base = sys.modules[cls.__module__.split(".")[0]].callbacks.Callback

        def patched(self, *args, _fit=fit, _base=callback_base, **kwargs):
            callbacks = list(kwargs.pop("callbacks", None) or [])
            kwargs["callbacks"] = callbacks + [make_callback(_base)]
            return _fit(self, *args, **kwargs)

        cls.fit = patched


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 2:
        print("usage: batch_timer.py OUT.json CONSOLE_SCRIPT [ARGS...]", file=sys.stderr)
        return 2
    out_path, script, args = argv[0], argv[1], argv[2:]
    found = [e for e in entry_points(group="console_scripts") if e.name == script]
    if not found:
        print(f"batch_timer.py: no console script {script!r} in this environment.",
              file=sys.stderr)
        return 2
    install(out_path)
    sys.argv = [script] + args
    result = found[0].load()()
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
