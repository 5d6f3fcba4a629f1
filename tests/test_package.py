"""Package-level promises: version, re-exports, quiet and light import."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest
import sleap_io as sio
from clean_env import clean_env

import sleapish
from sleapish.nn._backend import ONEDNN_MACHINES


def test_version_and_reexports():
    assert sleapish.__version__ == "0.1.0"
    assert sleapish.SLEAP_COMPAT_VERSION == "1.4.1"
    for name in ["Labels", "Video", "Skeleton", "Instance", "PredictedInstance", "Track"]:
        assert getattr(sleapish, name) is getattr(sio, name)
    assert callable(sleapish.load_file) and callable(sleapish.load_video)
    assert callable(sleapish.save_file)


def test_import_is_quiet_and_does_not_load_tensorflow():
    code = ("import sys, sleapish, sleapish.nn.config; "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=clean_env())
    assert out.stdout.strip() == "False"
    assert out.stderr == ""


def _tf_messages(stderr: str) -> list:
    """TensorFlow's log messages without their timestamp and thread-id prefix."""
    return sorted(line.split("] ", 1)[-1] for line in stderr.splitlines() if line.strip())


@pytest.mark.slow
def test_backend_import_prints_no_tensorflow_logs():
    code = ("from sleapish.nn._backend import tf, keras; "
            "m = keras.Sequential([keras.layers.Dense(2)]); "
            "print(m(tf.zeros((1, 3))).shape, keras.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=clean_env())
    assert out.stdout.split() == ["(1,", "2)", "tf_keras"]
    # TF 2.21 prints oneDNN/CUDA INFO lines at start-up (which ones depends on the
    # CPU and GPU); they are captured.
    assert out.stderr == "", out.stderr
    # Asked for, they are exactly what a bare TensorFlow import prints here (at the
    # log level and oneDNN setting sleapish sets by default).
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env=clean_env(SLEAPISH_TF_LOGS="1"))
    onednn = ({"TF_ENABLE_ONEDNN_OPTS": "1"}
              if platform.machine().lower() in ONEDNN_MACHINES else {})
    bare = subprocess.run(
        [sys.executable, "-c", "import tensorflow as tf, tf_keras; "
         "tf.config.list_physical_devices(); "
         "m = tf_keras.Sequential([tf_keras.layers.Dense(2)]); m(tf.zeros((1, 3)))"],
        capture_output=True, text=True, check=True,
        env=clean_env(TF_CPP_MIN_LOG_LEVEL="2", **onednn))
    assert _tf_messages(shown.stderr) == _tf_messages(bare.stderr)


_ONEDNN_PROBE = ("import sleapish.nn._backend; "
                 "from tensorflow.python.util import _pywrap_util_port as p; "
                 "print(p.IsMklEnabled())")


@pytest.mark.slow
@pytest.mark.skipif(platform.machine().lower() not in ONEDNN_MACHINES,
                    reason="sleapish turns oneDNN on only on x86-64")
def test_onednn_kernels_are_on_unless_the_user_turns_them_off():
    def probe(**env):
        return subprocess.run([sys.executable, "-c", _ONEDNN_PROBE], capture_output=True,
                              text=True, check=True, env=clean_env(**env)).stdout.strip()

    assert probe() == "True"  # whatever TensorFlow's default for this CPU is
    assert probe(TF_ENABLE_ONEDNN_OPTS="0") == "False"


def test_load_model_shows_its_real_signature():
    import inspect

    import sleapish
    from sleapish.nn.inference.loading_api import load_model

    assert sleapish.load_model is load_model
    params = inspect.signature(sleapish.load_model).parameters
    assert list(params)[:3] == ["model_path", "batch_size", "peak_threshold"]
    assert params["batch_size"].default == 4 and "tracker" in params
    assert "load_model" in dir(sleapish)
