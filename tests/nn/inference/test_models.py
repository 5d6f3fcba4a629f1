"""Inference models (batching any data source, top-down coordinates, strict keyword
arguments; nn/inference/models.py)."""

from __future__ import annotations

import numpy as np
import pytest
from layer_models import centroid_model as _centroid_model
from layer_models import cms_at, const_model, identity_model
from layer_models import frames as _frames
from layer_models import instance_model as _instance_model
from numpy.testing import assert_allclose, assert_array_equal

from sleapish.nn._backend import tf
from sleapish.nn.inference import (
    CentroidCrop,
    CentroidInferenceModel,
    FindInstancePeaks,
    SingleInstanceInferenceLayer,
    SingleInstanceInferenceModel,
    TopDownInferenceModel,
)


def test_topdown_model_maps_back_with_c_minus_half_crop():
    model, q = _instance_model(crop=6, stride=2, q=((1.0, 2.0), (2.0, 0.0)))
    td = TopDownInferenceModel(CentroidCrop(_centroid_model(), crop_size=6,
                                            refinement=None),
                               FindInstancePeaks(model, refinement=None))
    out = td.predict(_frames(3), batch_size=2)
    assert_array_equal(out["n_valid"], [2, 2, 2])
    centroids = np.array([[20.0, 6.0], [8.0, 10.0]])
    for c, pk in zip(centroids, out["instance_peaks"][0]):
        # Boxes start at c - 2.5 but SLEAP maps back with c - 3 (0.5 px low).
        assert_allclose(pk, q * 2 + c - 3.0)
    assert_allclose(out["centroid_vals"][:, 1], 1.0, atol=1e-6)

    # Empty frames: NaN-padded to 0 instances.
    empty = const_model({"CentroidConfmapsHead": np.zeros([16, 16, 1])}, [32, 32, 1])
    td = TopDownInferenceModel(CentroidCrop(empty, crop_size=6), FindInstancePeaks(model))
    out = td.predict(np.zeros([2, 32, 32, 1], np.uint8))
    assert out["instance_peaks"].shape == (2, 0, 2, 2)
    assert_array_equal(out["n_valid"], [0, 0])


@pytest.mark.slow
def test_predict_input_types_and_batching():
    model, q = _instance_model(crop=8, stride=2)
    layer = SingleInstanceInferenceLayer(
        const_model({"SingleInstanceConfmapsHead": cms_at(q * 2, 8, 8, 2)}, [8, 8, 1]),
        refinement=None)
    sim = SingleInstanceInferenceModel(layer)
    frames = np.zeros([5, 8, 8, 3], np.uint8)  # RGB into a grayscale model
    expected = np.broadcast_to(q * 2, (5, 1, 2, 2))
    for data in (frames, tf.constant(frames), {"image": frames, "frame_ind": np.arange(5)},
                 tf.data.Dataset.from_tensor_slices(frames).batch(2),
                 tf.data.Dataset.from_tensor_slices(frames),
                 tf.data.Dataset.from_tensor_slices({"image": frames}).batch(3)):
        out = sim.predict(data, batch_size=2)
        assert_allclose(out["instance_peaks"], expected)
    # One traced step per input structure, whatever the batch sizes and channels.
    sim = SingleInstanceInferenceModel(layer)
    sim.predict(frames, batch_size=2)  # batches of 2, 2, 1
    assert sim._sleapish_predict_step.experimental_get_tracing_count() <= 2
    sim.predict(np.zeros([7, 8, 8, 1], np.uint8), batch_size=3)
    sim.predict(np.zeros([4, 16, 16, 3], np.uint8), batch_size=4)
    n_traces = sim._sleapish_predict_step.experimental_get_tracing_count()
    sim.predict(np.zeros([9, 8, 8, 1], np.uint8), batch_size=4)
    sim.predict(np.zeros([2, 24, 16, 3], np.uint8), batch_size=4)
    assert sim._sleapish_predict_step.experimental_get_tracing_count() == n_traces
    # Changing a layer attribute takes effect (the step is rebuilt).
    layer.peak_threshold = 1.5
    assert np.isnan(sim.predict(frames)["instance_peaks"]).all()
    layer.peak_threshold = 0.2
    single = sim.predict_on_batch(frames[0])
    assert tuple(single["instance_peaks"].shape) == (1, 1, 2, 2)

    td = TopDownInferenceModel(CentroidCrop(_centroid_model(), crop_size=8,
                                            refinement=None),
                               FindInstancePeaks(model, refinement=None))
    ragged = td.predict(_frames(3), numpy=False, batch_size=2)
    assert isinstance(ragged["instance_peaks"], tf.RaggedTensor)
    assert_array_equal(ragged["instance_peaks"].row_lengths(), [2, 2, 2])
    cm = CentroidInferenceModel(CentroidCrop(_centroid_model(), crop_size=8,
                                             return_crops=False))
    assert set(cm.predict(_frames(1))) == {"centroids", "centroid_vals", "n_valid"}
    with pytest.raises(TypeError, match="Received"):
        sim.predict("not an image")
    with pytest.raises(KeyError, match="image"):
        sim.predict({"frames": frames})


def test_inference_model_rejects_unknown_keyword_arguments():
    model = SingleInstanceInferenceModel(SingleInstanceInferenceLayer(
        identity_model([16, 16, 1], "SingleInstanceConfmapsHead"), refinement=None))
    frames = np.zeros([2, 16, 16, 1], np.uint8)
    out = model.predict(frames, verbose=0)  # Keras's predict options are accepted
    assert out["instance_peaks"].shape == (2, 1, 1, 2)
    with pytest.raises(TypeError, match="unexpected keyword argument 'batchsize'"):
        model.predict(frames, batchsize=2)
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        model.predict_on_batch(frames, numpy=True, batch_size=2)
