"""vislib.augment: every transform keeps the batch's shape and range, is seeded, and only the
mirror image changes labels: a mirrored left face is labelled right, a mirrored right face left."""

import numpy as np
import pytest

from vislib import augment, data


def faces(n=8, seed=0):
    """A batch with a bright blob on the left half: easy to see where a mirror puts it."""
    x = np.zeros((n, 60, 64, 1), np.float32)
    x[:, 20:40, 5:20] = 1.0
    x += np.random.default_rng(seed).random(x.shape).astype(np.float32) * 0.1
    return np.clip(x, 0, 1)


POSES = np.array(["left", "right", "straight", "up"] * 2)


def test_mirror_pose_swaps_left_and_right_only():
    assert [augment.mirror_pose(p) for p in data.POSES] == ["right", "left", "straight", "up"]


def test_mirrored_left_faces_are_labelled_right_and_right_faces_left():
    x = faces()
    flipped, poses = augment.mirrored(x, POSES)
    np.testing.assert_array_equal(flipped, x[:, :, ::-1])
    assert poses.tolist() == ["right", "left", "straight", "up"] * 2
    # binary task: a flipped "left" is "not left"; a flipped "right" is "left"
    assert data.task_labels(POSES, "binary").tolist() == [1, 0, 0, 0] * 2
    assert data.task_labels(poses, "binary").tolist() == [0, 1, 0, 0] * 2
    # four poses: left <-> right, straight and up stay
    assert np.array(data.POSES)[data.task_labels(poses, "pose")].tolist() == poses.tolist()


def test_random_flip_moves_the_label_with_the_picture():
    x = faces(400)
    poses = np.array(["left", "right", "straight", "up"] * 100)
    out, new = augment.flip(x, poses, np.random.default_rng(3))
    was_flipped = out[:, 30, 10:15, 0].mean(axis=1) < 0.5  # the blob left the left half
    assert 100 < was_flipped.sum() < 300  # about half
    np.testing.assert_array_equal(out[was_flipped], x[was_flipped][:, :, ::-1])
    np.testing.assert_array_equal(out[~was_flipped], x[~was_flipped])
    expected = np.where(was_flipped, [augment.mirror_pose(p) for p in poses], poses)
    assert new.tolist() == expected.tolist()
    assert poses.tolist() == ["left", "right", "straight", "up"] * 100  # inputs untouched


TRANSFORMS = {
    "shift_scale": augment.shift_scale(0.1, 0.1),
    "gamma": augment.gamma(0.5),
    "contrast": augment.contrast(0.4),
    "brightness": augment.brightness(0.2),
    "noise": augment.noise(0.05),
    "blur": augment.blur(1.0),
    "erase": augment.erase(1.0),
    "strong": augment.recipe("strong"),
    "strong+head+photometric": augment.recipe("strong+head+photometric"),
}


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_transforms_keep_shape_and_range_change_pixels_and_are_seeded(name):
    x = faces()
    before = x.copy()
    out = TRANSFORMS[name](x, np.random.default_rng(5))
    assert out.shape == x.shape and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1
    assert not np.allclose(out, x)
    np.testing.assert_array_equal(x, before)  # the input is never changed in place
    np.testing.assert_array_equal(out, TRANSFORMS[name](x, np.random.default_rng(5)))
    assert not np.array_equal(out, TRANSFORMS[name](x, np.random.default_rng(6)))


def test_no_transform_but_flip_moves_a_face_across_the_middle():
    """Geometry stays small: after shift and scale the blob is still on the left half, so the
    label 'left'/'right' stays right without swapping."""
    x = faces(50)
    out = augment.shift_scale(0.1, 0.1)(x, np.random.default_rng(0))
    assert (out[:, :, :32].mean(axis=(1, 2, 3)) > out[:, :, 32:].mean(axis=(1, 2, 3))).all()


def test_unknown_recipe_is_refused():
    with pytest.raises(ValueError, match="strong"):
        augment.recipe("wild")


def test_standardise():
    x = faces() * 0.3
    out = augment.standardise(x)
    assert np.allclose(out.mean(axis=(1, 2, 3)), 0.5, atol=0.03)


def test_flip_with_mask_mirrors_as_flip_does_and_says_which():
    images = np.random.default_rng(0).random((12, 60, 64, 1)).astype(np.float32)
    poses = np.array(["left", "right", "straight", "up"] * 3)
    flipped, flipped_poses = augment.flip(images, poses, np.random.default_rng(7))
    again, again_poses, mirrored = augment.flip_with_mask(images, poses, np.random.default_rng(7))
    np.testing.assert_array_equal(flipped, again)  # the same random numbers: the shipped runs are unchanged
    assert list(flipped_poses) == list(again_poses) and 0 < mirrored.sum() < len(images)
    np.testing.assert_array_equal(again[mirrored], images[mirrored][:, :, ::-1])
    np.testing.assert_array_equal(again[~mirrored], images[~mirrored])



def test_mixup_blends_each_picture_and_its_targets_by_the_same_share_and_drops_a_target_half_missing():
    x = np.repeat(np.arange(8, dtype=np.float32) / 10, 60 * 64).reshape(8, 60, 64, 1)  # picture i: all i / 10
    y = np.eye(2, dtype=np.float32)[[0, 1] * 4]
    turn = np.arange(8, dtype=np.float32)[:, None] / 10  # the same numbers as the pictures
    known = np.array([1, 1, 1, 1, 0, 0, 1, 1], float)  # two pictures without an angle (CMU)
    before = (x.copy(), y.copy(), turn.copy(), known.copy())
    mixed, (my, mturn), (wy, wturn) = augment.mixup(x, [y, turn], [np.ones(8), known], 0.4, np.random.default_rng(3))
    for got, original in zip((x, y, turn, known), before):  # the inputs are untouched
        np.testing.assert_array_equal(got, original)
    assert mixed.shape == x.shape and mixed.dtype == np.float32
    assert not np.allclose(mixed, x)
    # picture and turn are blended with the same partner by the same share
    np.testing.assert_allclose(mixed.reshape(8, -1), np.repeat(mturn, 60 * 64, axis=1), atol=1e-6)
    # a class target stays a distribution, the picture's own class keeping at least half
    np.testing.assert_allclose(my.sum(axis=1), 1, atol=1e-6)
    assert (my[np.arange(8), [0, 1] * 4] >= 0.5 - 1e-6).all()
    np.testing.assert_allclose(wy, 1)
    # a blend with a picture that has no angle has no turn target
    assert (wturn[known == 0] == 0).all() and set(np.unique(wturn)) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="alpha must be > 0, got 0"):
        augment.mixup(x, [y], [np.ones(8)], 0, np.random.default_rng(0))
