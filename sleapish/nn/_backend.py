"""The one place sleapish imports TensorFlow and Keras 2 (tf-keras).

`tf.keras` is Keras 3 on TensorFlow >= 2.16 and cannot load SLEAP's `.h5` models or
return ragged tensors from layers, so sleapish always uses `tf_keras`. Import both
from here::

    from sleapish.nn._backend import tf, keras

TensorFlow 2.21 writes INFO lines (oneDNN notice, "Could not find cuda drivers",
cuInit failures) straight to the process's stderr before its log level applies.
Unless the user asks for them (`SLEAPISH_TF_LOGS=1`, or their own
`TF_CPP_MIN_LOG_LEVEL`), this module captures that start-up output and discards it;
if the import itself fails, the captured text is re-emitted so nothing is hidden.

`TF_USE_LEGACY_KERAS=1` is set unless the environment already sets it: TensorFlow
then binds `tf.keras` to tf-keras instead of importing Keras 3 (with pandas and
matplotlib) at start-up, which takes ~1.2 s and ~45 MiB off every process here, and
`tf.keras` is the same Keras as sleapish's. It has no effect when TensorFlow was
imported before sleapish.

`TF_ENABLE_ONEDNN_OPTS=1` is set on x86-64 unless the environment already sets it:
TensorFlow's own default depends on the CPU (on an AMD EPYC with AVX2 and no AVX-512,
TensorFlow 2.15 and 2.21 leave oneDNN off) and then runs convolutions and their
gradients on its slower Eigen kernels. Measured on that CPU (docs/benchmarks.md),
oneDNN makes a UNet training step and forward pass ~1.3x faster and bottom-up
prediction ~1.9x. Results differ from Eigen's by float round-off (summation order).
`TF_ENABLE_ONEDNN_OPTS=0` restores TensorFlow's choice. Like the Keras switch, it
must be set before TensorFlow is imported.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile

#: Machines where sleapish turns TensorFlow's oneDNN kernels on unless told otherwise.
ONEDNN_MACHINES = ("x86_64", "amd64", "x64")


def _quiet_import():
    """Import tensorflow and tf_keras with start-up C++ logs captured."""
    want_logs = os.environ.get("SLEAPISH_TF_LOGS", "") not in ("", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    if platform.machine().lower() in ONEDNN_MACHINES:
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # e.g. a notebook's stderr
        fd = 2
    if want_logs:
        import tensorflow as tf_mod
        import tf_keras as keras_mod

        return tf_mod, keras_mod
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), fd)
        try:
            import tensorflow as tf_mod
            import tf_keras as keras_mod

            # Platform initialization (and its CUDA probe messages) happens here.
            tf_mod.config.list_physical_devices()
        except BaseException:
            os.dup2(saved, fd)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, fd)
            os.close(saved)
    tf_mod.get_logger().setLevel("ERROR")
    return tf_mod, keras_mod


tf, keras = _quiet_import()


def enable_memory_growth(gpus=None) -> None:
    """Let TensorFlow grow GPU memory as needed instead of taking it all up front
    (SLEAP's `disable_preallocation`), on `gpus` (default: every visible GPU).

    Devices that TensorFlow has already initialized in this process keep their setting.
    """
    for gpu in tf.config.list_physical_devices("GPU") if gpus is None else gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialized
            pass


__all__ = ["tf", "keras", "enable_memory_growth"]
