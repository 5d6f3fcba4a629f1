"""sleapish's stack (TF 2.21 + tf-keras) vs SLEAP 1.4's (TF 2.12 + tf.keras) on this machine.

SLEAP's published times per batch come from another machine. To compare like with
like, this builds the two reference networks (clip centered instance: UNet 1.95M, crop
160, batch 8; clip bottom-up: UNet 1.92M, 512x512, batch 4), saves them with
sleapish's SLEAP-compatible HDF5 writer, and times the same training step (Adam with
AMSGrad, MSE) in this environment and in an old-TensorFlow interpreter given by
`--old-python` (or `$SLEAPISH_OLD_TF_PYTHON`), e.g. a venv with
`pip install tensorflow-cpu==2.12.1 "numpy<1.24" h5py`. The old interpreter also
loads the files and checks that its outputs equal sleapish's, which is the Keras
2.7-2.15 compatibility of `best_model.h5` tested for real.

Usage:
    python benchmarks/bench_sleap_stack.py --old-python /tmp/tf212/bin/python
Writes benchmarks/reports/sleap_stack.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
REFS = REPO.parent / "shared" / "reference_runs"
REPORT = REPO / "benchmarks" / "reports" / "sleap_stack.md"

# Runs in either interpreter: load the .h5 with that stack's Keras 2, check outputs,
# time training steps on fixed random data.
STEP_SCRIPT = r"""
import json, sys, time
import numpy as np
path, shape, bs, steps, inputs_npy = sys.argv[1:6]
shape, bs, steps = tuple(int(s) for s in shape.split(",")), int(bs), int(steps)
try:
    import tf_keras as keras
except ImportError:
    from tensorflow import keras
import tensorflow as tf
km = keras.models.load_model(path, compile=False)
x = np.load(inputs_npy)
outs = km.predict(x[:1], verbose=0)
outs = outs if isinstance(outs, list) else [outs]
rng = np.random.default_rng(0)
xb = rng.random((bs,) + shape, dtype=np.float32)
ys = tuple(rng.random((bs,) + tuple(o.shape[1:]), dtype=np.float32) * 0.1
           for o in km.outputs)
km.compile(optimizer=keras.optimizers.Adam(1e-4, amsgrad=True), loss="mse")
ds = tf.data.Dataset.from_tensors((xb, ys)).repeat()
km.fit(ds, epochs=1, steps_per_epoch=3, verbose=0)
times = []
for _ in range(3):
    t0 = time.perf_counter()
    km.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0)
    times.append((time.perf_counter() - t0) / steps)
np.save(inputs_npy + ".out.npy", np.concatenate([o.ravel() for o in outs]))
print("RESULT" + json.dumps({"tf": tf.__version__, "keras": keras.__version__,
                             "s_per_step": min(times)}))
"""

CASES = [
    ("centered instance (clip, crop 160, batch 8)", "clip_centered_instance",
     (160, 160, 1), 8, 10),
    ("bottom-up (clip, 512x512, batch 4)", "clip_bottomup", (512, 512, 1), 4, 4),
]


def _run(python: str, h5: Path, shape, bs: int, steps: int, x_path: Path) -> dict:
    r = subprocess.run([python, "-c", STEP_SCRIPT, str(h5), ",".join(map(str, shape)),
                        str(bs), str(steps), str(x_path)], capture_output=True,
                       text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"{python} failed on {h5.name}:\n{r.stderr[-3000:]}")
    res = json.loads(r.stdout.split("RESULT", 1)[1])
    res["outputs"] = np.load(str(x_path) + ".out.npy")
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old-python", default=os.environ.get("SLEAPISH_OLD_TF_PYTHON"),
                    help="python of an environment with TensorFlow <= 2.15")
    args = ap.parse_args(argv)
    if not args.old_python:
        print("bench_sleap_stack: give --old-python or SLEAPISH_OLD_TF_PYTHON",
              file=sys.stderr)
        return 2
    from sleapish.nn.config import TrainingJobConfig
    from sleapish.nn.model import Model
    from sleapish.nn.training.saving import save_model_h5

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for title, name, shape, bs, steps in CASES:
            cfg = TrainingJobConfig.load_json(REFS / f"{name}.training_config.json")
            km = Model.from_config(cfg.model, skeleton=cfg.data.labels.skeletons[0]) \
                .make_model(shape)
            h5 = tmp / f"{name}.h5"
            save_model_h5(km, h5)
            x_path = tmp / f"{name}.x.npy"
            np.save(x_path, np.random.default_rng(1).random((1,) + shape,
                                                            dtype=np.float32))
            new = _run(sys.executable, h5, shape, bs, steps, x_path)
            old = _run(args.old_python, h5, shape, bs, steps, x_path)
            diff = float(np.max(np.abs(new["outputs"] - old["outputs"])))
            rows.append((title, km.count_params(), old, new, diff))
            print(f"{title}: TF {old['tf']} {old['s_per_step']:.3f} s/step, "
                  f"TF {new['tf']} {new['s_per_step']:.3f} s/step, outputs differ by "
                  f"{diff:.2e}")
    lines = ["# sleapish's stack vs SLEAP 1.4's on this machine", "",
             "Same network (built by sleapish from SLEAP's reference configs, saved with "
             "`save_model_h5`), same training step (Adam with AMSGrad, MSE, fixed "
             "random batch), best of 3 timings; the old stack loads sleapish's file "
             "with its own Keras.", "",
             "| network | params | SLEAP's stack s/step | sleapish's stack s/step | "
             "speed-up | max output difference |", "|---|---|---|---|---|---|"]
    for title, params, old, new, diff in rows:
        lines.append(
            f"| {title} | {params:,} | {old['s_per_step']:.3f} (TF {old['tf']}, Keras "
            f"{old['keras']}) | {new['s_per_step']:.3f} (TF {new['tf']}, tf-keras "
            f"{new['keras']}) | {old['s_per_step'] / new['s_per_step']:.2f}x | "
            f"{diff:.1e} |")
    REPORT.write_text("\n".join(lines) + "\n")
    print(f"wrote {REPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
