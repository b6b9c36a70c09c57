"""vislib.attribution on the trained exp0 model, with tf-keras-vis 0.8.7 as the oracle.

Tolerances, on maps normalised to [0, 1] (measured on CMU test faces, both classes):
  saliency, SmoothGrad, Grad-CAM: max |ours - theirs| < 1e-5 (measured <= 4.2e-7)
  Grad-CAM++: max < 1e-3 (measured <= 1.2e-4), Pearson r > 0.999 (measured > 0.9999999);
    its alphas divide by 2 + g * sum(A), which nears 0 for some negative gradients, so
    float rounding is amplified there.
  JAX backend vs TensorFlow: the same tolerances (measured <= 3.6e-7; Grad-CAM++ <= 3.1e-4).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

from vislib import data, settings, zoo
from vislib.attribution import METHODS, Attribution, attribute, score

TOLERANCE = {"saliency": 1e-5, "smoothgrad": 1e-5, "gradcam": 1e-5, "gradcam++": 1e-3}
CASES = [("saliency", None), ("smoothgrad", None), ("gradcam", "conv2d_3"), ("gradcam", "conv2d_2"),
         ("gradcam++", "conv2d_3"), ("gradcam++", "conv2d_1")]



@pytest.fixture(scope="module")
def model():
    return zoo.load("exp0")


@pytest.fixture(scope="module")
def face():
    """The first CMU test face looking right (exp0 predicts 'not left', class 0)."""
    faces = data.load_cmu()
    _, test = data.split_indices(faces.poses, seed=0)
    return faces.images[next(i for i in test if faces.poses[i] == "right")]


def assert_agrees(ours, theirs, tolerance):
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() < tolerance
    if theirs.std() > 0:
        assert np.corrcoef(ours.ravel(), theirs.ravel())[0, 1] > 0.999


# ---- (1) shape and range


@pytest.mark.parametrize("method", list(METHODS))
def test_each_method_returns_a_finite_map_in_unit_range(model, face, method):
    result = attribute(model, face, method)
    assert isinstance(result, Attribution)
    assert result.heatmap.shape == (60, 64) and result.heatmap.dtype == np.float32
    assert np.all(np.isfinite(result.heatmap))
    assert result.heatmap.min() >= 0.0 and result.heatmap.max() <= 1.0
    assert result.method == method and result.class_index == 0
    assert result.layer == ("conv2d_3" if method.startswith("gradcam") else None)


def test_a_two_dimensional_image_gives_the_same_map(model, face):
    np.testing.assert_array_equal(attribute(model, face[..., 0], "saliency").heatmap,
                                  attribute(model, face, "saliency").heatmap)


def test_score_is_the_logit_and_the_model_is_untouched(model, face):
    logits = np.array([attribute(model, face, "saliency", c).score for c in (0, 1)])
    probabilities = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(probabilities, keras.ops.convert_to_numpy(model(face[None]))[0], atol=1e-6)
    assert model.layers[-1].activation.__name__ == "softmax"


def test_compiled_functions_are_reused(model, face):
    attribute(model, face, "gradcam++", 0)
    cached = dict(score._COMPILED[model])
    for class_index in (0, 1):
        attribute(model, face, "gradcam++", class_index)
    assert score._COMPILED[model] == cached


def test_one_compiled_function_per_network_leaves_no_retracing_warning_in_the_log(face):
    """The pages compile a function per network shown (and per randomised copy); TensorFlow
    counts traces per source function and, from the fifth network on, warned of retracing."""
    import logging

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    tf_logger = logging.getLogger("tensorflow")
    tf_logger.addHandler(handler)
    try:
        for variant in ("exp0", "ex1-1", "ex1-2", "ex1-3", "ex1-5", "ex1-6", "exp0"):
            attribute(zoo.build(variant), face, "saliency", 1)
    finally:
        tf_logger.removeHandler(handler)
    assert not [r.getMessage() for r in records if "retracing" in r.getMessage()]


def test_a_linear_decision_layer_is_scored_by_its_output(face):
    linear = zoo.build("ex1-6")
    result = attribute(linear, face, "saliency", 1)
    np.testing.assert_allclose(result.score, keras.ops.convert_to_numpy(linear(face[None]))[0, 1], rtol=1e-5)


# ---- (2) bad inputs


@pytest.mark.parametrize("image, message", [
    (np.zeros((60, 64, 3), np.float32), re.escape("shape (60, 64, 1) or (60, 64), got (60, 64, 3)")),
    (np.zeros((64, 60), np.float32), re.escape("got (64, 60)")),
    (np.zeros((1, 60, 64, 1), np.float32), re.escape("got (1, 60, 64, 1)")),
    (np.zeros((60, 64), np.uint8), "float array"),
    (np.full((60, 64), 255.0, np.float32), r"in \[0, 1\], got range \[255, 255\]"),
    (np.full((60, 64), np.nan, np.float32), "finite"),
])
def test_bad_images_are_refused(model, image, message):
    with pytest.raises(ValueError, match=message):
        attribute(model, image, "saliency")


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "lime"}, "method must be one of"),
    ({"method": "gradcam", "layer": "dense_1"}, r"Conv2D layer, one of \['conv2d_1', 'conv2d_2', 'conv2d_3'\], got 'dense_1'"),
    ({"method": "gradcam++", "layer": "no_such_layer"}, "Conv2D layer"),
    ({"method": "saliency", "layer": "conv2d_1"}, "takes no layer"),
    ({"method": "saliency", "class_index": 2}, r"class_index must be None or an integer in \[0, 2\)"),
    ({"method": "gradcam", "class_index": -1}, "class_index"),
    ({"method": "gradcam", "class_index": 1.0}, "class_index"),
    ({"method": "saliency", "class_index": True}, "class_index"),
    ({"method": "saliency", "samples": 5}, r"saliency accepts the options \[\], got \['samples'\]"),
    ({"method": "smoothgrad", "samples": 0}, r"samples must be an integer in \[1, 1000\]"),
    ({"method": "smoothgrad", "noise_level": -0.1}, "noise_level"),
])
def test_bad_arguments_are_refused(model, face, kwargs, message):
    with pytest.raises(ValueError, match=message):
        attribute(model, face, **kwargs)


# ---- (3) oracle: tf-keras-vis 0.8.7


@pytest.mark.filterwarnings("ignore:The structure of `inputs`", "ignore::DeprecationWarning")
def test_agrees_with_tf_keras_vis(model, face):
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    # ReplaceToLinear works on Keras 3.15 (clone, then the output layer's activation is set to
    # linear); the clone's output must be the logits our score uses.
    tools = {name: cls(model, model_modifier=ReplaceToLinear(), clone=True)
             for name, cls in (("saliency", Saliency), ("gradcam", Gradcam), ("gradcam++", GradcamPlusPlus))}
    logits = keras.ops.convert_to_numpy(tools["saliency"].model(face[None]))[0]
    np.testing.assert_allclose(logits, [attribute(model, face, "saliency", c).score for c in (0, 1)], rtol=1e-5)

    for class_index in (0, 1):
        target = CategoricalScore([class_index])
        for method, layer in CASES:
            ours = attribute(model, face, method, class_index, layer=layer).heatmap
            if method == "saliency":
                theirs = tools["saliency"](target, face)
            elif method == "smoothgrad":
                np.random.seed(0)
                theirs = tools["saliency"](target, face, smooth_samples=20, smooth_noise=0.2)
            else:
                theirs = tools[method](target, face, penultimate_layer=layer)
            assert_agrees(ours, theirs[0], TOLERANCE[method])


# ---- (4) sanity


def test_saliency_is_concentrated_on_the_face(model, face):
    heatmap = attribute(model, face, "saliency").heatmap
    assert heatmap.std() > 0.01
    top_tenth = np.sort(heatmap.ravel())[::-1][: heatmap.size // 10]
    assert top_tenth.sum() > 0.25 * heatmap.sum()  # 0.1 if it were uniform; measured about 0.44
    edges = np.hypot(*np.gradient(face[..., 0]))
    assert np.corrcoef(heatmap.ravel(), edges.ravel())[0, 1] > 0.05  # measured about 0.2


@pytest.mark.parametrize("method, layer", [("gradcam", "conv2d_2"), ("gradcam++", None)])
def test_gradcam_differs_between_classes(model, face, method, layer):
    first, second = (attribute(model, face, method, c, layer=layer).heatmap for c in (0, 1))
    assert np.abs(first - second).max() > 0.2
    assert np.corrcoef(first.ravel(), second.ravel())[0, 1] < 0.95


# ---- the JAX and PyTorch backends


OTHER_BACKEND_SCRIPT = """
import sys
import numpy as np
from vislib import autodiff, zoo
from vislib.attribution import attribute
assert autodiff.backend() == sys.argv[3], autodiff.backend()
face = np.load(sys.argv[1])
cases = {cases!r}
maps = {{f"{{m}}:{{l}}:{{c}}": attribute(zoo.load("exp0"), face, m, c, layer=l).heatmap
        for m, l in cases for c in (0, 1)}}
np.savez(sys.argv[2], **maps)
"""


@pytest.mark.parametrize("other", ["jax", "torch"])
def test_other_backends_agree_with_tensorflow(model, face, tmp_path, other):
    cases = [("saliency", None), ("smoothgrad", None), ("gradcam", "conv2d_3"), ("gradcam++", "conv2d_3")]
    np.save(tmp_path / "face.npy", face)
    env = {**os.environ, "KERAS_BACKEND": other, "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": "",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(settings.REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", OTHER_BACKEND_SCRIPT.format(cases=cases), str(tmp_path / "face.npy"),
                           str(tmp_path / "maps.npz"), other], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    their_maps = np.load(tmp_path / "maps.npz")
    for method, layer in cases:
        for class_index in (0, 1):
            tf_map = attribute(model, face, method, class_index, layer=layer).heatmap
            assert_agrees(their_maps[f"{method}:{layer}:{class_index}"], tf_map, TOLERANCE[method])


# ---- occlusion: the method that needs no gradient


def test_occlusion_finds_the_only_region_a_model_reads():
    import keras

    inputs = keras.Input(settings.INPUT_SHAPE)
    corner = keras.layers.Cropping2D(((0, 40), (0, 44)))(inputs)  # rows 0-19, columns 0-19 only
    logits = keras.layers.Dense(2)(keras.layers.Flatten()(corner))
    model = keras.Model(inputs, keras.layers.Activation("softmax")(logits))
    model.layers[-2].set_weights([np.stack([-np.ones(400), np.ones(400)], axis=1).astype(np.float32),
                                  np.zeros(2, np.float32)])
    face = np.full((60, 64, 1), 0.2, np.float32)
    face[:20, :20] = 0.9  # bright where the model looks: hiding it lowers the "class 1" score
    heat = attribute(model, face, "occlusion", class_index=1).heatmap
    assert heat[:20, :20].mean() > 5 * max(heat[30:, 30:].mean(), 1e-6)
    assert heat[40:, 40:].max() == 0.0


def test_occlusion_explains_cmu_left_faces_where_gradcam_is_empty(model):
    faces = data.load_cmu()
    _, test = data.split_indices(faces.poses, seed=0)
    empty = [i for i in test if faces.poses[i] == "left"
             and not attribute(model, faces.images[i], "gradcam", class_index=1).heatmap.any()]
    assert empty, "exp0 has CMU 'left' faces whose Grad-CAM at conv2d_3 is empty (the case the page falls back on)"
    for i in empty[:3]:
        heat = attribute(model, faces.images[i], "occlusion", class_index=1).heatmap
        assert heat.max() == pytest.approx(1.0, abs=1e-5) and (heat > 0.5).mean() > 0.01


def test_a_map_shows_something_only_where_a_person_would_see_it():
    from vislib.attribution import shows_something

    speck = np.zeros((60, 64), np.float32)
    speck[:2, :2] = 1.0  # one hot cell in a corner: 0.1% of the map
    blob = np.zeros((60, 64), np.float32)
    blob[20:30, 20:30] = 0.5  # 2.6% of the map
    assert not shows_something(np.zeros((60, 64))) and not shows_something(speck)
    assert shows_something(blob)
