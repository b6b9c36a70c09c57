"""The input normalisation layers of Experiment 2 (vislib/preprocessing.py)."""

import keras
import numpy as np
import pytest

from vislib import preprocessing, zoo


def faces(seed=0, n=3):
    rng = np.random.default_rng(seed)
    smooth = rng.random((n, 15, 16, 1)).astype(np.float32).repeat(4, axis=1).repeat(4, axis=2)
    return (0.2 + 0.6 * smooth).astype(np.float32)


def test_standardise_ignores_exposure_and_contrast():
    x = faces()
    layer = preprocessing.Standardise(floor=1e-6)
    plain = keras.ops.convert_to_numpy(layer(x))
    darker = keras.ops.convert_to_numpy(layer(0.5 * x + 0.1))
    np.testing.assert_allclose(plain, darker, atol=1e-3)
    assert abs(plain.mean()) < 1e-4 and abs(plain.std() - 1) < 1e-3


def test_standardise_keeps_a_flat_image_finite():
    out = keras.ops.convert_to_numpy(preprocessing.Standardise()(np.full((1, 60, 64, 1), 0.7, np.float32)))
    # ~0, not 0: a backend's float32 mean of 0.7s may miss 0.7 by 1e-5 (JAX: 1.4e-4 out); no floor gives ~1
    assert np.isfinite(out).all() and np.abs(out).max() < 1e-3


def test_local_contrast_ignores_a_slow_shade_and_keeps_edges():
    x = np.zeros((1, 120, 128, 1), np.float32)  # larger than an input, to stay clear of the padding
    x[:, :, 64:] = 0.5  # an edge
    ramp = np.linspace(0, 0.2, 128, dtype=np.float32)[None, None, :, None]  # light falling from one side
    layer = preprocessing.LocalContrast(sigma=8.0)
    plain = keras.ops.convert_to_numpy(layer(x + 0.2))
    shaded = keras.ops.convert_to_numpy(layer(x + 0.2 + ramp))
    inner = (slice(None), slice(30, 90), slice(30, 98))
    assert np.abs(plain[inner]).max() > 1  # the edge is still there, stretched
    np.testing.assert_allclose(shaded[inner], plain[inner], atol=0.3)
    assert np.abs(plain[:, 30:90, 30:36]).max() < 0.05  # flat areas are flat
    assert np.abs(shaded[:, 30:90, 30:36]).max() < 0.2  # ... shaded or not


def test_gaussian_kernel_is_normalised_and_validated():
    k = preprocessing.gaussian_kernel(2.0)
    assert k.shape == (13,) and abs(k.sum() - 1) < 1e-5 and k.argmax() == 6
    with pytest.raises(ValueError, match="sigma"):
        preprocessing.gaussian_kernel(0)


def test_local_contrast_blurs_as_one_2d_gaussian():
    layer = preprocessing.LocalContrast(sigma=3.0)
    x = faces(2, 1)
    g = preprocessing.gaussian_kernel(3.0)
    full = keras.ops.conv(x, (g[:, None] * g[None, :])[:, :, None, None], padding="same")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer._blur(x)), keras.ops.convert_to_numpy(full), atol=1e-5)


def test_unknown_kind_names_the_choices():
    with pytest.raises(ValueError, match="standardise"):
        preprocessing.layer("whiten")


@pytest.mark.parametrize("name", zoo.EXPERIMENT_2)
def test_experiment_2_models_normalise_first_and_survive_a_save(name, tmp_path):
    model = zoo.build(name)
    assert model.layers[1].name == "preprocess"
    assert isinstance(model.layers[1], (preprocessing.Standardise, preprocessing.LocalContrast))
    assert zoo.unit_layers(model)[0] == "conv2d_1"
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    x = faces(1, 2)
    np.testing.assert_allclose(model.predict(x, verbose=0), loaded.predict(x, verbose=0), atol=1e-6)
    assert type(loaded.layers[1]) is type(model.layers[1])


def test_originals_have_no_preprocess_layer():
    assert "preprocess" not in [layer.name for layer in zoo.build("exp0").layers]


def test_every_normalisation_says_how_its_happymaps_read_and_an_unknown_one_is_refused():
    notes = {kind: preprocessing.how_maps_read(kind) for kind in preprocessing.KINDS}
    assert "about 8 pixels" in notes["local_contrast"] and "about 4 pixels" in notes["local_contrast_fine"]
    assert "brightness" in notes["standardise"]
    with pytest.raises(ValueError, match="preprocess must be one of"):
        preprocessing.how_maps_read("sharpen")


def test_the_first_step_is_what_the_network_hands_its_layers_and_nothing_without_one():
    faces = np.random.default_rng(0).uniform(size=(3, 60, 64)).astype(np.float32)
    model = zoo.load("ex2-3")
    expected = preprocessing.layer("local_contrast_fine")(faces[..., None])
    np.testing.assert_allclose(preprocessing.first_step(model, faces), np.asarray(expected)[..., 0], atol=1e-5)
    assert preprocessing.first_step(zoo.load("exp0"), faces) is None
    assert set(preprocessing.SEEN_NOTES) == set(preprocessing.KINDS)

