"""Test helper: constant and identity Keras models standing in for trained networks."""

from __future__ import annotations

import numpy as np

from sleapish.nn._backend import keras, tf
from sleapish.nn.data.confidence_maps import make_confmaps
from sleapish.nn.data.utils import make_grid_vectors


def cms_at(points, height, width, stride=1, sigma=1.0):
    """Confidence maps `(h / stride, w / stride, n)` peaking at full-res `points`."""
    xv, yv = make_grid_vectors(height, width, stride)
    return make_confmaps(np.asarray(points, np.float32), xv, yv, sigma).numpy()


def const_model(heads, input_shape):
    """A Keras model that ignores its input and returns fixed arrays, one per head."""
    x_in = keras.Input(input_shape)
    outs = []
    for name, arr in heads.items():
        c = tf.constant(np.asarray(arr, np.float32))
        rank = len(arr.shape)

        def fn(x, c=c, rank=rank):
            reps = tf.concat([tf.shape(x)[:1], tf.ones([rank], tf.int32)], 0)
            return tf.tile(c[None], reps) + 0.0 * tf.reduce_mean(x)

        out = keras.layers.Lambda(fn, name=name)(x_in)
        out.set_shape([None] + list(arr.shape))
        outs.append(out)
    return keras.Model(x_in, outs if len(outs) > 1 else outs[0])


def identity_model(input_shape, name, stride=1):
    """Returns its (float) input subsampled by `stride`, as the head `name`."""
    x_in = keras.Input(input_shape)
    out = keras.layers.Lambda(lambda x: x[:, ::stride, ::stride, :], name=name)(x_in)
    return keras.Model(x_in, out)


def frames(n=2, h=32, w=32):
    """uint8 frames whose pixel (y, x) holds x + 2 * y (+ 50 in frame 1)."""
    yy, xx = np.mgrid[:h, :w]
    return np.stack([(xx + 2 * yy + 50 * i) % 256 for i in range(n)]
                    ).astype(np.uint8)[..., None]


def centroid_model(h=32, w=32, stride=2):
    """Centroid maps with peaks (grid) at (4, 5) and (10, 3): image (8, 10), (20, 6)."""
    cms = np.maximum(cms_at([[8.0, 10.0]], h, w, stride),
                     0.8 * cms_at([[20.0, 6.0]], h, w, stride))
    return const_model({"CentroidConfmapsHead": cms}, [h, w, 1])


def instance_model(crop=8, stride=2, q=((1.0, 2.0), (3.0, 1.0))):
    """Centered-instance maps with node peaks at crop-grid points `q`."""
    q = np.asarray(q, np.float32)
    return const_model({"CenteredInstanceConfmapsHead":
                        cms_at(q * stride, crop, crop, stride)}, [crop, crop, 1]), q
