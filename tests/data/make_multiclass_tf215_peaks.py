"""Regenerate `multiclass_clip_tf215_peaks.npz` (used by tests/nn/test_identity.py).

SLEAP 1.4.1 runs on TensorFlow 2.15; its class maps differ from TensorFlow 2.21's by
float noise (logits up to 5e-5 apart, and a different float32 sigmoid), which is
enough to flip ties between saturated class probabilities (1.0 vs 0.99999994). To
test sleapish's identity assignment against SLEAP's own output on clip.mp4, this
records, for frames 0-149, the local peaks sleapish finds with the shared
`min_tracks_2node.UNet.bottomup_multiclass` model and the class-map probabilities
TensorFlow 2.15 computes at those peaks.

Usage (two interpreters: sleapish's, and one with tensorflow-cpu==2.15.1):
    .venv/bin/python tests/data/make_multiclass_tf215_peaks.py --old-python /tmp/tf215/bin/python
"""

import argparse
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parents[1].parent / "shared" / "data"
MODEL = DATA / "models" / "min_tracks_2node.UNet.bottomup_multiclass"

OLD_TF = r"""
import sys, numpy as np, tensorflow as tf
m = tf.keras.models.load_model(sys.argv[1], compile=False)
x = np.load(sys.argv[2])
np.save(sys.argv[3], np.concatenate([m.predict(x[i:i + 10], verbose=0)[1]
                                     for i in range(0, len(x), 10)]))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old-python", required=True)
    args = ap.parse_args()
    import tensorflow as tf

    import sleapish

    pred = sleapish.load_model(str(MODEL))
    layer = pred.inference_model.inference_layer
    video = sleapish.load_video(DATA / "videos" / "clip.mp4")
    xs, rows = [], []
    for f0 in range(0, 150, 10):
        frames = tf.constant(sleapish.read_frames(video, range(f0, f0 + 10)))
        cms, _, offsets = layer.forward_pass(frames)
        peaks, vals, sample_inds, channel_inds = layer.find_peaks(cms, offsets)
        xs.append(layer.preprocess(frames).numpy())
        rows.append((peaks.numpy() / layer.class_maps_output_stride, vals.numpy(),
                     sample_inds.numpy() + f0, channel_inds.numpy()))
    with tempfile.TemporaryDirectory() as tmp:
        np.save(f"{tmp}/x.npy", np.concatenate(xs))
        subprocess.run([args.old_python, "-c", OLD_TF, str(MODEL / "best_model.h5"),
                        f"{tmp}/x.npy", f"{tmp}/cm.npy"], check=True)
        class_maps = np.load(f"{tmp}/cm.npy")
    points = np.concatenate([r[0] for r in rows]).astype(np.float32)
    sample_inds = np.concatenate([r[2] for r in rows]).astype(np.int32)
    rc = np.round(points[:, ::-1]).astype(int)
    np.savez_compressed(
        HERE / "multiclass_clip_tf215_peaks.npz", points=points,
        vals=np.concatenate([r[1] for r in rows]).astype(np.float32),
        sample_inds=sample_inds,
        channel_inds=np.concatenate([r[3] for r in rows]).astype(np.int32),
        class_probs=class_maps[sample_inds, rc[:, 0], rc[:, 1]].astype(np.float32),
        grid_hw=np.array(class_maps.shape[1:3], np.int32),
        input_scale=np.float32(layer.input_scale),
        stride=np.int32(layer.class_maps_output_stride))


if __name__ == "__main__":
    sys.exit(main())
