"""Tests for sleapish.nn.data.augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from sleapish.nn._backend import tf
from sleapish.nn.config.optimization import AugmentationConfig
from sleapish.nn.data.augmentation import (
    ImgaugAugmenter,
    RandomCropper,
    RandomFlipper,
    affine_matrix,
    flip_instances_lr,
    flip_instances_ud,
)

H, W = 96, 80
# Four blobs ~20 px apart, <= 15 px from the image centre ((W-1)/2, (H-1)/2) =
# (39.5, 47.5), placed asymmetrically so that flips move them.
POINTS = np.array([[[28.0, 38.0], [48.0, 36.0]], [[31.0, 57.0], [51.0, 56.0]]],
                  np.float32)
SIGMA = 2.0


@pytest.fixture(autouse=True)
def _seed():
    tf.random.set_seed(1234)


def render_blobs(points, height=H, width=W, sigma=SIGMA, amp=200.0):
    """Float32 (height, width, 1) image with a Gaussian blob at each non-NaN point."""
    yy, xx = np.mgrid[:height, :width].astype(np.float32)
    img = np.zeros((height, width), np.float32)
    for x, y in points.reshape(-1, 2):
        if np.isfinite(x):
            img += amp * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma ** 2))
    return img[..., None]


def blob_centre(img, point, r=6):
    """Intensity-weighted centroid of `img` in a (2r+1)^2 window around `point`."""
    cx, cy = int(round(point[0])), int(round(point[1]))
    assert r <= cx < img.shape[1] - r and r <= cy < img.shape[0] - r, point
    win = img[cy - r:cy + r + 1, cx - r:cx + r + 1, 0].astype(np.float64)
    yy, xx = np.mgrid[cy - r:cy + r + 1, cx - r:cx + r + 1]
    return np.array([(win * xx).sum(), (win * yy).sum()]) / win.sum()


def make_ds(image, instances, repeat=1, **extra):
    ex = {"image": image, "instances": np.asarray(instances, np.float32), **extra}
    return tf.data.Dataset.from_tensors(ex).repeat(repeat)


def collect(ds):
    return [{k: v.numpy() for k, v in ex.items()} for ex in ds]


def first(ds):
    return collect(ds.take(1))[0]


GEOMETRIC = {
    "rotate": ImgaugAugmenter(rotate=True, rotation_min_angle=-180,
                              rotation_max_angle=180),
    "translate": ImgaugAugmenter(translate=True, translate_min=-10, translate_max=10),
    "scale": ImgaugAugmenter(scale=True, scale_min=0.7, scale_max=1.3),
    "combined": ImgaugAugmenter(
        rotate=True, rotation_min_angle=-180, rotation_max_angle=180, translate=True,
        translate_min=-6, translate_max=6, scale=True, scale_min=0.7, scale_max=1.3),
    "flip_lr": RandomFlipper(symmetric_inds=[[0, 1]], horizontal=True, probability=1.0),
    "flip_ud": RandomFlipper(symmetric_inds=[[0, 1]], horizontal=False, probability=1.0),
    "crop": RandomCropper(crop_height=80, crop_width=72),
}


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
@pytest.mark.parametrize("name", list(GEOMETRIC))
def test_points_follow_blobs(name, dtype):
    """Acceptance: blob centres in the transformed image sit on the transformed points."""
    img = render_blobs(POINTS)
    img = np.round(img).astype(dtype) if dtype == np.uint8 else img
    nan_inst = np.array([[[np.nan, np.nan], [np.nan, np.nan]]], np.float32)
    insts = np.concatenate([POINTS, nan_inst], 0)
    out = collect(GEOMETRIC[name].transform_dataset(make_ds(img, insts, repeat=6)))
    moved = 0.0
    for ex in out:
        assert ex["image"].dtype == dtype
        assert ex["instances"].shape == (3, 2, 2)
        assert np.isnan(ex["instances"][2]).all()
        pts = ex["instances"][:2].reshape(-1, 2)
        assert np.isfinite(pts).all()
        for p in pts:
            np.testing.assert_allclose(blob_centre(ex["image"], p), p, atol=0.5)
        moved += np.abs(pts - POINTS.reshape(-1, 2)).max()
    assert moved > 6.0  # the augmentation really moved the points


def test_rotation_180_and_90_exact():
    img = np.random.default_rng(0).integers(0, 256, (H, W, 2)).astype(np.uint8)
    aug = ImgaugAugmenter(rotate=True, rotation_min_angle=180, rotation_max_angle=180)
    ex = first(aug.transform_dataset(make_ds(img, POINTS)))
    np.testing.assert_array_equal(ex["image"], img[::-1, ::-1])
    expected = np.array([W - 1, H - 1], np.float32) - POINTS
    np.testing.assert_allclose(ex["instances"], expected, atol=1e-4)

    sq = img[:64, :64]
    aug90 = ImgaugAugmenter(rotate=True, rotation_min_angle=90, rotation_max_angle=90)
    ex = first(aug90.transform_dataset(make_ds(sq, [[[10.0, 3.0]]])))
    np.testing.assert_array_equal(ex["image"], np.rot90(sq, k=-1))  # clockwise
    np.testing.assert_allclose(ex["instances"], [[[63 - 3.0, 10.0]]], atol=1e-4)


def test_translation_and_scale_exact():
    img = np.random.default_rng(1).integers(1, 256, (H, W, 1)).astype(np.uint8)
    aug = ImgaugAugmenter(translate=True, translate_min=3, translate_max=3)
    ex = first(aug.transform_dataset(make_ds(img, POINTS)))
    np.testing.assert_array_equal(ex["image"][3:, 3:], img[:-3, :-3])
    assert (ex["image"][:3] == 0).all() and (ex["image"][:, :3] == 0).all()
    np.testing.assert_allclose(ex["instances"], POINTS + 3, atol=1e-5)

    aug = ImgaugAugmenter(scale=True, scale_min=2.0, scale_max=2.0)
    ex = first(aug.transform_dataset(make_ds(img, POINTS)))
    c = np.array([(W - 1) / 2, (H - 1) / 2], np.float32)
    np.testing.assert_allclose(ex["instances"], c + 2 * (POINTS - c), atol=1e-4)
    # Output pixel p samples the input bilinearly at c + (p - c) / 2.
    fimg = img.astype(np.float32)
    out = first(aug.transform_dataset(make_ds(fimg, POINTS)))["image"][..., 0]
    for xo, yo in [(39, 47), (30, 60), (45, 41)]:
        xi, yi = c + (np.array([xo, yo]) - c) / 2
        x0, y0, fx, fy = int(xi), int(yi), xi % 1, yi % 1
        patch = fimg[y0:y0 + 2, x0:x0 + 2, 0]
        expected = np.array([1 - fy, fy]) @ patch @ np.array([1 - fx, fx])
        np.testing.assert_allclose(out[yo, xo], expected, rtol=1e-4)


def test_affine_matrix_composition():
    m = affine_matrix(H, W, angle=90.0, translation=(2.0, -1.0), scale=1.5).numpy()
    c = np.array([(W - 1) / 2, (H - 1) / 2])
    p = np.array([10.0, 20.0])
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    expected = c + 1.5 * (rot @ (p - c) + np.array([2.0, -1.0]))
    np.testing.assert_allclose(m[:2, :2] @ p + m[:2, 2], expected, atol=1e-4)
    np.testing.assert_allclose(m[2], [0, 0, 1])


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_noop_is_exact_and_other_keys_pass(dtype):
    img = (np.random.default_rng(2).random((H, W, 3)) * 255).astype(dtype)
    insts = np.concatenate([POINTS, np.full((1, 2, 2), np.nan, np.float32)], 0)
    ds = make_ds(img, insts, frame_ind=np.int64(7))
    for aug in [ImgaugAugmenter(), ImgaugAugmenter.from_config(AugmentationConfig()),
                ImgaugAugmenter(rotate=True, rotation_min_angle=0, rotation_max_angle=0,
                                translate=True, translate_min=0, translate_max=0,
                                scale=True, scale_min=1, scale_max=1),
                RandomFlipper(probability=0.0)]:
        out = aug.transform_dataset(ds)
        assert out.element_spec == ds.element_spec
        ex = first(out)
        assert ex["image"].dtype == dtype
        np.testing.assert_array_equal(ex["image"], img)
        np.testing.assert_array_equal(ex["instances"], insts)  # NaN == NaN here
        assert ex["frame_ind"] == 7


def test_zero_instances_and_dynamic_shapes():
    def gen():
        yield {"image": np.zeros((64, 64, 1), np.uint8),
               "instances": np.zeros((0, 3, 2), np.float32)}
        yield {"image": np.zeros((48, 56, 1), np.uint8),
               "instances": np.array([[[1, 2], [3, 4], [np.nan, np.nan]]], np.float32)}

    ds = tf.data.Dataset.from_generator(gen, output_signature={
        "image": tf.TensorSpec((None, None, 1), tf.uint8),
        "instances": tf.TensorSpec((None, 3, 2), tf.float32)})
    augs = [ImgaugAugmenter.from_config(AugmentationConfig(
        rotate=True, translate=True, scale=True, uniform_noise=True, gaussian_noise=True,
        contrast=True, brightness=True)), RandomFlipper([[0, 1]], probability=1.0),
        RandomCropper(32, 40)]
    for aug in augs:
        out = collect(aug.transform_dataset(ds))
        assert out[0]["instances"].shape == (0, 3, 2)
        assert out[1]["instances"].shape == (1, 3, 2)
        assert np.isnan(out[1]["instances"][0, 2]).all()
        assert np.isfinite(out[1]["instances"][0, :2]).all()
        if isinstance(aug, RandomCropper):
            assert out[0]["image"].shape == out[1]["image"].shape == (32, 40, 1)
        else:
            assert out[0]["image"].shape == (64, 64, 1)
            assert out[1]["image"].shape == (48, 56, 1)


def _stats(aug, value=100, dtype=np.uint8, channels=1, n=1):
    img = np.full((64, 64, channels), value, dtype)
    return collect(aug.transform_dataset(make_ds(img, POINTS, repeat=n)))


def test_uniform_noise():
    exs = _stats(ImgaugAugmenter(uniform_noise=True, uniform_noise_min_val=10,
                                 uniform_noise_max_val=20), channels=3)
    im = exs[0]["image"].astype(float)
    assert exs[0]["image"].dtype == np.uint8
    assert 110 <= im.min() and im.max() <= 120
    assert abs(im.mean() - 115) < 0.5 and im.std() > 2.5
    np.testing.assert_array_equal(im[..., 0], im[..., 2])  # one sample per pixel
    np.testing.assert_array_equal(exs[0]["instances"], POINTS)


def test_gaussian_noise():
    im = _stats(ImgaugAugmenter(gaussian_noise=True, gaussian_noise_mean=5,
                                gaussian_noise_stddev=3), dtype=np.float32)[0]["image"]
    assert im.dtype == np.float32
    assert abs(im.mean() - 105) < 0.3 and abs(im.std() - 3) < 0.3


def test_contrast():
    for gamma, expected in [(2.0, 39), (0.5, 160)]:  # 255 * (100 / 255) ** gamma
        im = _stats(ImgaugAugmenter(contrast=True, contrast_min_gamma=gamma,
                                    contrast_max_gamma=gamma))[0]["image"]
        assert (im == expected).all()
    ims = [e["image"] for e in _stats(ImgaugAugmenter(contrast=True), n=20)]
    assert len({int(i[0, 0, 0]) for i in ims}) > 5  # one random gamma per image
    assert all(np.unique(i).size == 1 for i in ims)


def test_brightness_and_clipping():
    exs = _stats(ImgaugAugmenter(brightness=True, brightness_min_val=20,
                                 brightness_max_val=30), n=10)
    values = [np.unique(e["image"]) for e in exs]
    assert all(v.size == 1 and 120 <= v[0] <= 130 for v in values)
    assert len({int(v[0]) for v in values}) > 2
    plus20 = dict(brightness=True, brightness_min_val=20, brightness_max_val=20)
    for dtype in (np.uint8, np.float32):
        im = _stats(ImgaugAugmenter(**plus20), value=250, dtype=dtype)[0]["image"]
        assert im.dtype == dtype and (im == 255).all()
        aug = ImgaugAugmenter(**plus20, gaussian_noise=True, gaussian_noise_mean=-300,
                              gaussian_noise_stddev=1)
        im = _stats(aug, value=250, dtype=dtype)[0]["image"]
        assert (im == 20).all()  # noise clipped at 0 before brightness


def test_flip_instance_functions():
    pts = tf.constant([[[1.0, 2.0], [3.0, 4.0], [np.nan, np.nan]]])
    np.testing.assert_array_equal(flip_instances_lr(pts, 10, [[0, 1]]).numpy(),
                                  [[[6.0, 4.0], [8.0, 2.0], [np.nan, np.nan]]])
    np.testing.assert_array_equal(flip_instances_ud(pts, 10, np.array([[1, 0]])).numpy(),
                                  [[[3.0, 5.0], [1.0, 7.0], [np.nan, np.nan]]])
    np.testing.assert_array_equal(flip_instances_lr(pts, 10).numpy()[0, :2],
                                  [[8.0, 2.0], [6.0, 4.0]])
    assert flip_instances_lr(tf.zeros([0, 3, 2]), 10, [[0, 2]]).shape == (0, 3, 2)


def test_random_flipper_from_skeleton():
    skel = sio.Skeleton(["head", "left", "right"])
    skel.add_symmetry("left", "right")
    flipper = RandomFlipper.from_skeleton(skel, probability=1.0)
    assert flipper.symmetric_inds == ((1, 2),)
    assert RandomFlipper.from_skeleton(sio.Skeleton(["a", "b"])).symmetric_inds is None
    img = np.random.default_rng(3).integers(0, 256, (H, W, 1)).astype(np.uint8)
    pts = np.array([[[5.0, 6.0], [10.0, 11.0], [20.0, 21.0]]], np.float32)
    ex = first(flipper.transform_dataset(make_ds(img, pts)))
    np.testing.assert_array_equal(ex["image"], img[:, ::-1])
    np.testing.assert_array_equal(ex["instances"],
                                  [[[74.0, 6.0], [59.0, 21.0], [69.0, 11.0]]])
    ud = RandomFlipper.from_skeleton(skel, horizontal=False, probability=1.0)
    ex = first(ud.transform_dataset(make_ds(img, pts)))
    np.testing.assert_array_equal(ex["image"], img[::-1])
    np.testing.assert_array_equal(ex["instances"],
                                  [[[5.0, 89.0], [20.0, 74.0], [10.0, 84.0]]])


def test_random_flipper_probability():
    img = np.arange(8, dtype=np.uint8).reshape(1, 8, 1)
    out = collect(RandomFlipper(probability=0.5).transform_dataset(
        make_ds(img, [[[0.0, 0.0]]], repeat=200)))
    flipped = sum(int(e["image"][0, 0, 0] == 7) for e in out)
    assert 70 < flipped < 130
    assert all(e["instances"][0, 0, 0] == (7.0 if e["image"][0, 0, 0] == 7 else 0.0)
               for e in out)


def test_random_cropper_exact():
    img = np.random.default_rng(4).integers(0, 256, (H, W, 2)).astype(np.uint8)
    ds = make_ds(img, POINTS, repeat=20)
    out = collect(RandomCropper(40, 32).transform_dataset(ds))
    offsets = set()
    for ex in out:
        y1, x1, y2, x2 = ex["crop_bbox"][0]
        assert (y2 - y1, x2 - x1) == (39, 31)
        y1, x1 = int(y1), int(x1)
        assert 0 <= y1 <= H - 40 and 0 <= x1 <= W - 32
        np.testing.assert_array_equal(ex["image"], img[y1:y1 + 40, x1:x1 + 32])
        np.testing.assert_array_equal(ex["instances"], POINTS - [x1, y1])
        offsets.add((y1, x1))
    assert len(offsets) > 10
    full = first(RandomCropper(H, W).transform_dataset(make_ds(img, POINTS)))
    np.testing.assert_array_equal(full["image"], img)


def test_errors():
    batched = make_ds(np.zeros((2, 32, 32, 1), np.uint8), POINTS)
    for aug in [ImgaugAugmenter(rotate=True), RandomCropper(8, 8), RandomFlipper()]:
        with pytest.raises(ValueError, match="Received: shape"):
            aug.transform_dataset(batched)
        with pytest.raises(KeyError, match="missing"):
            aug.transform_dataset(tf.data.Dataset.from_tensors(
                {"image": np.zeros((8, 8, 1), np.uint8)}))
    with pytest.raises(ValueError, match=r"must fit.*Received"):
        RandomCropper(64, 100).transform_dataset(make_ds(np.zeros((64, 64, 1)), POINTS))
    dyn = tf.data.Dataset.from_generator(
        lambda: iter([{"image": np.zeros((16, 16, 1), np.uint8),
                       "instances": np.zeros((0, 2, 2), np.float32)}]),
        output_signature={"image": tf.TensorSpec((None, None, 1), tf.uint8),
                          "instances": tf.TensorSpec((None, 2, 2), tf.float32)})
    with pytest.raises(tf.errors.InvalidArgumentError, match="larger than the image"):
        collect(RandomCropper(32, 8).transform_dataset(dyn))
    with pytest.raises(ValueError, match="rotation_min_angle must be <= .*Received"):
        ImgaugAugmenter(rotation_min_angle=10, rotation_max_angle=0)
    with pytest.raises(ValueError, match="Received"):
        RandomFlipper(probability=1.5)
    with pytest.raises(ValueError, match="pairs"):
        RandomFlipper(symmetric_inds=[[0, 1, 2]])
    with pytest.raises(ValueError, match="Received"):
        RandomCropper(0, 8)


def test_from_config():
    cfg = AugmentationConfig(rotate=True, rotation_min_angle=-30, rotation_max_angle=45,
                             translate=True, translate_min=-2, translate_max=3,
                             gaussian_noise=True, gaussian_noise_stddev=2.5,
                             brightness=True, brightness_max_val=7.0)
    aug = ImgaugAugmenter.from_config(cfg, image_key="img", instances_key="pts")
    assert aug.config is cfg
    assert (aug.config.rotate, aug.config.rotation_min_angle) == (True, -30)
    keyword = ImgaugAugmenter(cfg, scale=True, scale_max=1.5)  # settings change a copy
    assert (keyword.config.scale, keyword.config.scale_max, keyword.config.rotate) == \
        (True, 1.5, True)
    assert cfg.scale is False
    with pytest.raises(TypeError, match="unexpected keyword argument 'rotation'"):
        ImgaugAugmenter(rotation=True)
    assert aug.input_keys == aug.output_keys == ["img", "pts"]
    assert RandomCropper(8, 8).output_keys == ["image", "instances", "crop_bbox"]
