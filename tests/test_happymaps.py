"""vislib.happymaps, vislib.regularizers and vislib.objectives.

The regularisers and objectives are checked on tiny hand-built tensors against NumPy; the
engine on the shipped exp0 model, with two independent oracles:
  * the same run under each other Keras backend (JAX and PyTorch when this process runs
    TensorFlow), in subprocesses started with the first test so they overlap the others.
    Measured (exp0 conv2d_2, units 0-2, 16 steps, Table 1 row 3's regularisers on pixels, seed 0): max |image diff| 3.6e-7
    (JAX) and 6.0e-7 (PyTorch), relative value diff 2.7e-7 and 3.6e-7.
    Tolerance 1e-3 for both. Each then moves every slider and must reuse its compiled loop.
  * tf-keras-vis 0.8.7's ActivationMaximization, same objective, no regularisers, SGD with the
    same per-sample gradient normalisation, same gray start, 32 steps at learning rate 0.01.
    It minimises -score (`_calculate_regularization` negates the scores, then
    `optimizer.apply_gradients`), so a plain SGD optimiser ascends, as ours does. Measured
    ratio ours / theirs of the reached activations: 1.000 to 1.002 (it only clips to the input
    range on output, we clip every step, and our ReLU gradient leaks 1%). Tolerance: within 5%.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from dataclasses import replace

import keras
import numpy as np
import pytest
from keras import ops

from vislib import (atlas, autodiff, exemplars, happymaps, limits, objectives, preprocessing, regularizers, settings,
                    surgery, zoo)
from vislib.happymaps import Engine, FeatureExtractor, Settings

VARIANT = "exp0"
CONV, DENSE, DECISION = "conv2d_2", "dense_1", "dense_3"
UNITS = [0, 1, 2, 3]
BACKEND = keras.backend.backend()
OTHER_BACKENDS = [name for name in autodiff.SUPPORTED if name != BACKEND]
BACKEND_CASE = dict(layer=CONV, units=[0, 1, 2], preset="regularisers-3", steps=16, seed=0)
# the other two image parameterisations, a few steps each, on the same backends
IMAGE_CASES = [dict(layer=DECISION, units=[0, 1], preset="legible", steps=8, seed=0),
               dict(layer="conv2d_1", units=[0, 1], preset="fourier", steps=4, seed=0)]
IMAGE_TOLERANCE, VALUE_TOLERANCE = 1e-3, 1e-3  # backends; measured 3.6e-7 and 2.7e-7
ORACLE_TOLERANCE = 0.05  # ours / tf-keras-vis; measured 1.000 to 1.002

OTHER_BACKEND_SCRIPT = """
import sys
import numpy as np
from vislib import happymaps
case = {case!r}
engine = happymaps.engine_for({variant!r})
result = engine.layer(case["layer"], case["units"], happymaps.Settings.from_preset(
    case["preset"], steps=case["steps"], seed=case["seed"]), every=case["steps"])
# then every slider moved, and another step count: the compiled loop must be reused as it is
step_fn = next(iter(engine._compiled.values()))[0]
traces = step_fn._cache_size() if hasattr(step_fn, "_cache_size") else 0
compilations = engine.compilations
moved = happymaps.Settings(image="pixels", steps=case["steps"] + 3, learning_rate=0.3, decay=0.2, blur_sigma=2.0, blur_every=2,
                           norm_pct=30.0, contrib_pct=40.0, jitter=3, scale=0.2, rotate=15.0, tv_weight=0.5, seed=11,
                           start="mean")
again = engine.layer(case["layer"], case["units"], moved, every=4)
retraces = (step_fn._cache_size() if hasattr(step_fn, "_cache_size") else 0) - traces
recompiles = engine.compilations - compilations
others = [engine.layer(c["layer"], c["units"], happymaps.Settings.from_preset(c["preset"], steps=c["steps"], seed=c["seed"]),
                       every=c["steps"]) for c in {image_cases!r}]
if happymaps.autodiff.backend() == "jax":
    import jax
    import os
    full_float32 = jax.config.jax_default_matmul_precision == "highest"
    channels_first = "--xla_gpu_force_conv_nchw" in os.environ.get("XLA_FLAGS", "").split()
    gpu_shared = os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE") == "false"
else:
    import torch
    full_float32 = not (torch.backends.cudnn.allow_tf32 or torch.backends.cuda.matmul.allow_tf32)
    channels_first = True  # PyTorch picks its own layouts
    gpu_shared = True  # and allocates as it goes
np.savez(sys.argv[1], images=result.images, values=result.values, moved_finite=np.isfinite(again.images).all(),
         recompiles=recompiles, retraces=retraces, full_float32=full_float32, channels_first=channels_first,
         gpu_shared=gpu_shared,
         **{{f"images_{{i}}": r.images for i, r in enumerate(others)}}, **{{f"values_{{i}}": r.values for i, r in enumerate(others)}})
"""


def tensor(values):
    return ops.convert_to_tensor(np.asarray(values, np.float32))


def params(**values):
    """Run-time parameters as the engine passes them: float32 scalar tensors."""
    return {name: tensor(value) for name, value in values.items()}


def numpy(x):
    return autodiff.to_numpy(x)


def gray(engine, batch):
    """The 'gray' start image in network input space: the mean of the mean image everywhere."""
    return np.full((batch, *settings.INPUT_SHAPE), engine.offset, np.float32)


def trace_count(compiled) -> int:
    """How many times the backend has traced (compiled) a function made by autodiff.compile."""
    if BACKEND == "jax":
        return compiled._cache_size()
    if BACKEND == "torch":
        return 0  # runs eagerly: nothing is ever traced
    return compiled.experimental_get_tracing_count()


@pytest.fixture(scope="module")
def engine():
    return happymaps.engine_for(VARIANT)


@pytest.fixture(scope="module", autouse=True)
def other_backend_runs(tmp_path_factory):
    """Starts the other backends' runs at once, so that they overlap the tests before them."""
    runs = {}
    for name in OTHER_BACKENDS:
        folder = tmp_path_factory.mktemp(name)
        env = {**os.environ, "KERAS_BACKEND": name, "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": "",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(settings.REPO_ROOT), os.environ.get("PYTHONPATH")]))}
        log = open(folder / "log.txt", "w+")
        process = subprocess.Popen([sys.executable, "-c", OTHER_BACKEND_SCRIPT.format(case=BACKEND_CASE, variant=VARIANT,
                                                                                   image_cases=IMAGE_CASES),
                                    str(folder / "run.npz")], env=env, stdout=log, stderr=subprocess.STDOUT)
        runs[name] = (process, folder / "run.npz", log)
    yield runs
    for process, _, log in runs.values():
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


# ---- 1. regularisers, on tiny tensors


def test_l2_decay_multiplies_by_one_minus_theta():
    x = np.random.default_rng(0).normal(size=(2, 3, 5, 1)).astype(np.float32)
    for theta in (0.0, 0.25, 1.0):
        out = numpy(regularizers.l2_decay(params(decay=theta))(tensor(x), None, 1))
        np.testing.assert_allclose(out, x * (1.0 - theta), rtol=1e-6, atol=0)
    assert not numpy(regularizers.l2_decay(params(decay=1.0))(tensor(x), None, 1)).any()


@pytest.mark.parametrize("sigma, every", [(0.0, 4), (1.5, 0), (0.0, 0)])
def test_blur_is_the_identity_when_sigma_or_every_is_zero(sigma, every):
    x = np.random.default_rng(1).normal(size=(2, 21, 23, 1)).astype(np.float32)
    apply = regularizers.gaussian_blur(params(blur_sigma=sigma, blur_every=every))
    for step in range(1, 9):
        np.testing.assert_array_equal(numpy(apply(tensor(x), None, step)), x)


def test_blur_spreads_a_bright_pixel_symmetrically_and_keeps_its_sum():
    sigma, (h, w), (r, c) = 1.0, (37, 41), (18, 20)  # 9 taps of room on every side
    x = np.zeros((1, h, w, 1), np.float32)
    x[0, r, c, 0] = 1.0
    out = numpy(regularizers.gaussian_blur(params(blur_sigma=sigma, blur_every=4))(tensor(x), None, 4))[0, ..., 0]
    taps = np.exp(-0.5 * (np.arange(-9, 10) / sigma) ** 2)
    taps /= taps.sum()
    expected = np.zeros((h, w))
    expected[r - 9:r + 10, c - 9:c + 10] = np.outer(taps, taps)
    np.testing.assert_allclose(out, expected, atol=1e-7)
    patch = out[r - 9:r + 10, c - 9:c + 10]
    np.testing.assert_allclose(patch, patch[::-1, :], atol=1e-7)
    np.testing.assert_allclose(patch, patch[:, ::-1], atol=1e-7)
    np.testing.assert_allclose(patch, patch.T, atol=1e-7)
    assert out.sum() == pytest.approx(1.0, abs=1e-5)
    assert out[r, c] < 0.2 and out[r + 1, c] > 0.05  # spread, not kept


def test_blur_keeps_a_flat_image_flat_up_to_the_border_and_stops_at_nine_pixels():
    flat = np.full((1, *settings.INPUT_SHAPE), 0.7, np.float32)
    np.testing.assert_allclose(numpy(regularizers.blur(tensor(flat), 3.0)), flat, atol=1e-6)
    spot = np.zeros((1, *settings.INPUT_SHAPE), np.float32)
    spot[0, 30, 32, 0] = 1.0
    out = numpy(regularizers.blur(tensor(spot), 3.0))[0, ..., 0]
    assert out[30, 32 + 9] > 0 and out[30 + 9, 32] > 0
    assert out[30, 32 + 10] == 0 and out[30 + 10, 32] == 0 and out[30, 32 - 10] == 0


def test_blur_happens_only_on_multiples_of_blur_every():
    x = np.zeros((1, 25, 25, 1), np.float32)
    x[0, 12, 12, 0] = 1.0
    apply = regularizers.gaussian_blur(params(blur_sigma=0.8, blur_every=3))
    changed = [step for step in range(1, 11) if not np.array_equal(numpy(apply(tensor(x), None, step)), x)]
    assert changed == [3, 6, 9]


def _distinct_magnitudes(seed, shape, scales):
    """Values with no two equal magnitudes, a random sign, one scale per image."""
    rng = np.random.default_rng(seed)
    per_image = int(np.prod(shape[1:]))
    images = [rng.permutation(np.arange(1, per_image + 1)) * scale for scale in scales]
    signs = rng.choice([-1.0, 1.0], size=shape)
    return (np.stack(images).reshape(shape) * signs).astype(np.float32)


@pytest.mark.parametrize("pct", [10.0, 37.5, 50.0, 90.0])
def test_norm_clipping_zeroes_exactly_the_pixels_below_the_percentile_of_each_image(pct):
    x = _distinct_magnitudes(2, (2, 4, 5, 1), scales=(0.01, 1.0))  # one dim image, one bright
    out = numpy(regularizers.clip_small_norm(params(norm_pct=pct))(tensor(x), None, 1))
    for i in range(2):
        norm = np.abs(x[i])
        expected = np.where(norm < np.percentile(norm, pct), 0.0, x[i])
        np.testing.assert_array_equal(out[i], expected)
        assert (out[i] == 0).sum() == math.ceil(pct / 100 * (norm.size - 1))  # never ties here


def test_norm_clipping_takes_the_norm_over_channels_and_pct_zero_changes_nothing():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1, 4, 4, 2)).astype(np.float32)
    out = numpy(regularizers.clip_small_norm(params(norm_pct=50.0))(tensor(x), None, 1))
    norm = np.sqrt((x[0] ** 2).sum(-1))
    keep = norm >= np.percentile(norm, 50)
    np.testing.assert_array_equal(out[0], np.where(keep[..., None], x[0], 0.0))
    np.testing.assert_array_equal(numpy(regularizers.clip_small_norm(params(norm_pct=0.0))(tensor(x), None, 1)), x)
    np.testing.assert_array_equal(
        numpy(regularizers.clip_small_contribution(params(contrib_pct=0.0))(tensor(x), tensor(-x), 1)), x)


def test_contribution_clipping_ranks_pixels_by_x_times_grad_not_by_x():
    x = _distinct_magnitudes(4, (2, 4, 5, 1), scales=(1.0, 1.0))
    rng = np.random.default_rng(5)
    grad = (rng.uniform(0.1, 10.0, size=x.shape) * rng.choice([-1.0, 1.0], size=x.shape)).astype(np.float32)
    grad[1] *= 0.001  # a per-image percentile, whatever the scale
    pct = 50.0
    out = numpy(regularizers.clip_small_contribution(params(contrib_pct=pct))(tensor(x), tensor(grad), 1))
    by_norm = numpy(regularizers.clip_small_norm(params(norm_pct=pct))(tensor(x), None, 1))
    for i in range(2):
        contribution = np.abs(x[i] * grad[i])
        assert len(np.unique(contribution)) == contribution.size
        expected = np.where(contribution < np.percentile(contribution, pct), 0.0, x[i])
        np.testing.assert_array_equal(out[i], expected)
        assert not np.array_equal(out[i], by_norm[i])  # the rankings differ: it used the product


def test_contribution_clipping_sums_over_channels_before_the_absolute_value():
    x = np.array([[[[1.0, 1.0], [2.0, 0.0]], [[3.0, 0.0], [4.0, 0.0]]]], np.float32)
    grad = np.array([[[[5.0, -5.0], [1.0, 0.0]], [[1.0, 0.0], [1.0, 0.0]]]], np.float32)
    # contributions |sum_c x g|: 0 (channels cancel), 2, 3, 4; percentile 30 of them is 1.8
    out = numpy(regularizers.clip_small_contribution(params(contrib_pct=30.0))(tensor(x), tensor(grad), 1))
    expected = x.copy()
    expected[0, 0, 0] = 0.0
    np.testing.assert_array_equal(out, expected)


# ---- 2. presets


@pytest.mark.parametrize("name, table", [
    ("regularisers-1", (0.0, 0.5, 4, 50.0, 0.0)),
    ("regularisers-2", (0.3, 0.0, 0, 20.0, 0.0)),
    ("regularisers-3", (0.0001, 1.0, 4, 0.0, 0.0)),
    ("regularisers-4", (0.0, 0.5, 4, 0.0, 90.0)),
    ("none", (0.0, 0.0, 0, 0.0, 0.0)),
])
def test_presets_are_table_1_of_yosinski_2015(name, table):
    s = Settings.from_preset(name)
    assert (s.decay, s.blur_sigma, s.blur_every, s.norm_pct, s.contrib_pct) == table
    assert s.preset_name() == name
    assert Settings.from_preset(name, steps=7).steps == 7
    # on pixels, with our step and 128 steps: the label names the regularisers only, not the paper's own run
    assert s.image == "pixels" and s.steps == 128
    assert "regularisers" in happymaps.PRESETS[name].label or name == "none"


def test_the_default_is_the_legible_preset_in_face_space_and_every_image_has_a_default():
    assert Settings() == Settings.from_preset("legible") == Settings.from_preset()
    assert Settings().image == "faces" and Settings().preset_name() == "legible"
    assert set(happymaps.DEFAULT_FOR_IMAGE) == set(happymaps.IMAGES)
    for image, preset in happymaps.DEFAULT_FOR_IMAGE.items():
        assert Settings.from_preset(preset).image == image


def test_networks_that_see_only_local_contrast_are_offered_the_smoothed_preset():
    assert set(happymaps.SMOOTHED_FOR) <= set(preprocessing.KINDS)
    for kind in happymaps.SMOOTHED_FOR:
        smooth = Settings.from_preset(happymaps.suggested_preset(replace(zoo.variant("exp0"),
                                                                                     preprocess=kind)))
        assert smooth.image == "faces" and smooth.jitter > 0 and smooth.blur_every == 1 and smooth.blur_sigma > 0
        assert smooth.preset_name() == "legible-smooth"
    for kind in ("standardise", None):
        assert happymaps.suggested_preset(replace(zoo.variant("exp0"), preprocess=kind)) is None
    # the shipped local-contrast networks are the ones that get them, and the reason names their window
    suggested = {v: happymaps.suggested_preset(zoo.variant(v)) for v in zoo.VARIANTS}
    assert {v for v, p in suggested.items() if p == "legible-smooth"} == {"ex2-1", "ex2-3"}
    assert "about 4 pixels" in happymaps.why_suggested(zoo.variant("ex2-3"))
    assert happymaps.why_suggested(zoo.variant("exp0")) is None


def test_networks_that_also_learned_the_turn_are_offered_the_steady_preset():
    steady, default = Settings.from_preset("legible-steady"), Settings()
    assert steady.image == "faces" and steady.start == "mean" and steady.preset_name() == "legible-steady"
    # the default's reach (a step's size over the share forgotten each step), with smaller steps
    assert steady.learning_rate / steady.decay == pytest.approx(default.learning_rate / default.decay)
    assert steady.learning_rate < default.learning_rate and steady.decay < default.decay
    pan = replace(zoo.variant("ex2-2"), pan_output=1.0)
    assert happymaps.suggested_preset(pan) == "legible-steady" and "turned" in happymaps.why_suggested(pan)
    assert happymaps.suggested_preset(zoo.variant("ex2-2")) is None
    local_contrast_first = replace(zoo.variant("ex2-3"), pan_output=1.0)
    assert happymaps.suggested_preset(local_contrast_first) == "legible-smooth"
    assert {v for v in zoo.VARIANTS if happymaps.suggested_preset(zoo.variant(v)) == "legible-steady"} == {"ex2-4"}


def test_the_decay_slider_reaches_both_ends_of_the_papers_table():
    assert 0.0001 in limits.DECAY_STOPS and 0.3 in limits.DECAY_STOPS
    for preset in happymaps.PRESETS.values():
        low, high = limits.LIMITS["decay"]
        assert low <= preset.values["decay"] <= high


def test_unknown_preset_is_refused_with_the_list_of_presets():
    with pytest.raises(ValueError) as error:
        Settings.from_preset("yosinski-5")
    for name in ("'yosinski-5'", "none", "regularisers-1", "regularisers-2", "regularisers-3", "regularisers-4"):
        assert name in str(error.value)


# ---- 3. objectives compose


def test_objectives_compose_to_the_hand_computation():
    rng = np.random.default_rng(6)
    conv, dense, image = rng.normal(size=(2, 3, 3, 4)), rng.normal(size=(2, 5)), rng.normal(size=(2, 6, 7, 1))
    context = {"acts": {"a": tensor(conv), "d": tensor(dense), "d:pre": tensor(2 * dense)},
               "image": tensor(image), "units": tensor([3, 0])}
    objective = objectives.channel("a", 1) - 0.5 * objectives.l2()
    expected = conv[..., 1].mean(axis=(1, 2)) - 0.5 * (image ** 2).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(numpy(objective(context)), expected, rtol=1e-5)
    assert objective.layers == frozenset({"a"})

    tv = np.abs(np.diff(image, axis=1)).mean(axis=(1, 2, 3)) + np.abs(np.diff(image, axis=2)).mean(axis=(1, 2, 3))
    mixed = 2 * objectives.unit("d", 4) + objectives.channel("d", 2, pre_activation=True) - objectives.total_variation() + 1
    np.testing.assert_allclose(numpy(mixed(context)), 2 * dense[:, 4] + 2 * dense[:, 2] - tv + 1, rtol=1e-5)
    assert mixed.layers == frozenset({"d", "d:pre"})
    assert (objectives.channel("a", 0) + objectives.unit_batch("b", True)).layers == frozenset({"a", "b:pre:own"})
    assert objectives.parse_key("b:pre:own") == ("b", True, True) and objectives.parse_key("b") == ("b", False, False)
    np.testing.assert_allclose(numpy((1 - objectives.channel("a", 2))(context)), 1 - conv[..., 2].mean(axis=(1, 2)), rtol=1e-5)
    own = np.stack([conv[0, ..., 3:4], conv[1, ..., 0:1]])  # each item's own unit, as the engine supplies it
    np.testing.assert_allclose(numpy(objectives.unit_batch("a")({"acts": {"a:own": tensor(own)}})),
                               [conv[0, ..., 3].mean(), conv[1, ..., 0].mean()], rtol=1e-5)


def test_multiplying_two_objectives_is_refused():
    a, b = objectives.channel("a", 0), objectives.l2()
    with pytest.raises(TypeError):
        a * b
    with pytest.raises(TypeError):
        a + "b"


# ---- 4. optimisation raises its objective


@pytest.mark.parametrize("layer", [CONV, DENSE])
def test_optimisation_raises_the_objective_and_reports_the_true_activation(engine, layer):
    objective = objectives.unit_batch(layer)
    start = engine.activations(objective, gray(engine, len(UNITS)), UNITS)
    result = engine.layer(layer, UNITS, Settings.from_preset("regularisers-3", steps=32, start="gray"), every=32)
    assert result.images.shape == (len(UNITS), *settings.INPUT_SHAPE[:2])
    assert result.images.min() >= 0.0 and result.images.max() <= 1.0
    assert (result.values > start).all(), (start, result.values)
    # result.images is the network input (x + offset, in [0, 1]): the reported value is the
    # activation of exactly that picture
    recomputed = engine.activations(objective, result.images[..., None], UNITS)
    np.testing.assert_allclose(result.values, recomputed, atol=1e-3)
    if layer == DENSE:
        silent = start == 0.0  # measured: units 2 and 3 of exp0 dense_1 are silent on gray
        assert silent.any()
        assert (result.values[silent] > 0.0).all()


def test_the_leaky_gradient_reaches_a_silent_relu_unit(engine):
    x = tensor(gray(engine, 1))
    true = FeatureExtractor(engine.model, {DENSE})
    leaky = FeatureExtractor(engine.model, {DENSE}, leaky=True)
    act, leak = numpy(true(x)[DENSE])[0], numpy(leaky(x)[DENSE])[0]
    silent = act == 0.0
    assert silent.any()
    np.testing.assert_allclose(leak[~silent], act[~silent], rtol=1e-5)
    assert (leak[silent] < 0).all()  # 0.01 x the negative pre-activation
    unit = int(np.flatnonzero(silent)[0])
    for extractor, moves in ((true, False), (leaky, True)):
        _, grad = autodiff.value_and_grad(lambda z: ops.sum(extractor(z)[DENSE][:, unit]))(x)
        assert bool(np.abs(numpy(grad)).max() > 0) == moves


@pytest.mark.parametrize("native", [True, False])
def test_grouped_conv_convolves_each_group_with_its_own_kernel(monkeypatch, native):
    # TensorFlow's grouped kernel (oneDNN on), or the depthwise formulation used without oneDNN
    monkeypatch.setattr(autodiff, "_tf_grouped_conv_has_gradient", lambda: native)
    rng = np.random.default_rng(5)
    x, kernel = rng.normal(size=(2, 7, 9, 3 * 4)), rng.normal(size=(3, 3, 4, 3 * 2))  # 3 groups, 4 in, 2 out
    out = numpy(autodiff.grouped_conv(tensor(x), tensor(kernel)))
    for g in range(3):
        alone = ops.conv(tensor(x[..., 4 * g:4 * g + 4]), tensor(kernel[..., 2 * g:2 * g + 2]), padding="same")
        np.testing.assert_allclose(out[..., 2 * g:2 * g + 2], numpy(alone), atol=1e-5)


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("kernel_size", [(3, 3), (5, 3), (1, 1)])
def test_one_channel_conv_has_the_values_and_gradients_of_keras_conv(kernel_size, compiled):
    rng = np.random.default_rng(6)
    x, kernel = tensor(rng.normal(size=(2, 7, 9, 1))), tensor(rng.normal(size=(*kernel_size, 1, 4)))
    weights = tensor(rng.normal(size=(2, 7, 9, 4)))
    wrap = autodiff.compile if compiled else (lambda f: f)
    results = []
    for conv in (autodiff.one_channel_conv, lambda x, k: ops.conv(x, k, padding="same")):
        by_x = wrap(autodiff.value_and_grad(lambda x, k: ops.sum(conv(x, k) * weights)))(x, kernel)
        by_kernel = wrap(autodiff.value_and_grad(lambda k, x: ops.sum(conv(x, k) * weights)))(kernel, x)
        results.append([numpy(t) for t in (*by_x, by_kernel[1])])
    for ours, keras_conv in zip(*results):
        np.testing.assert_allclose(ours, keras_conv, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(3, 3, 2, 4), (2, 3, 1, 4)])
def test_one_channel_conv_refuses_other_kernels_saying_what_it_expected(shape):
    with pytest.raises(ValueError, match=r"expected a kernel \(odd, odd, 1, O\), got"):
        autodiff.one_channel_conv(tensor(np.zeros((1, 5, 5, shape[2]))), tensor(np.zeros(shape)))


def test_the_extractor_convolves_one_channel_images_the_fast_way_and_leaves_the_model_alone(engine):
    extractor = FeatureExtractor(engine.model, {CONV})
    assert type(extractor._model.get_layer("conv2d_1")) is surgery.OneChannelConv2D
    assert type(extractor._model.get_layer(CONV)) is keras.layers.Conv2D  # 16 input channels
    assert type(engine.model.get_layer("conv2d_1")) is keras.layers.Conv2D
    twin = surgery.fast_input_gradients(engine.model)
    assert twin is not engine.model and surgery.fast_input_gradients(twin) is twin  # cloned once
    plain = keras.Model(engine.model.input, engine.model.get_layer(CONV).output)
    x = tensor(np.random.default_rng(7).uniform(size=(3, *settings.INPUT_SHAPE)))
    (ours, our_grad), (theirs, their_grad) = (
        autodiff.compile(autodiff.value_and_grad(lambda z: ops.sum(ops.square(f(z)))))(x)
        for f in (lambda z: extractor(z)[CONV], plain))
    np.testing.assert_allclose(numpy(ours), numpy(theirs), rtol=1e-5)
    scale = float(np.abs(numpy(their_grad)).max())
    assert np.abs(numpy(our_grad) - numpy(their_grad)).max() <= 1e-5 * scale


@pytest.mark.parametrize("layer", ["conv2d_1", CONV, "conv2d_3", DENSE, DECISION])
@pytest.mark.parametrize("pre, leaky", [(False, False), (False, True), (True, False)])
def test_each_items_own_unit_equals_that_unit_of_the_whole_layer(engine, layer, pre, leaky):
    x = tensor(np.random.default_rng(3).uniform(size=(3, *settings.INPUT_SHAPE)))
    n_units = int(engine.model.get_layer(layer).output.shape[-1])
    units = np.array([n_units - 1, 0, 1], np.int32)
    whole, own = objectives.layer_key(layer, pre), objectives.layer_key(layer, pre, own_unit=True)
    extractor = FeatureExtractor(engine.model, {whole, own}, leaky=leaky)
    sliced = layer != DECISION or pre  # softmax mixes units: computed whole, then each item's unit taken
    assert (own not in extractor._own) == sliced
    unit_tensor = ops.convert_to_tensor(units)
    acts = extractor(x, unit_tensor)
    expected = np.take_along_axis(numpy(acts[whole]), units.reshape((-1,) + (1,) * (len(acts[whole].shape) - 1)), -1)
    np.testing.assert_allclose(numpy(acts[own]), expected, atol=1e-5)

    def own_score(z):  # what the engine maximises
        return ops.sum(objectives.unit_batch(layer, pre)({"acts": extractor(z, unit_tensor)}))

    def whole_score(z):
        per_unit = objectives._per_unit(extractor(z, unit_tensor)[whole])
        return ops.sum(ops.take_along_axis(per_unit, ops.convert_to_tensor(units[:, None]), axis=1))

    (_, own_grad), (_, whole_grad) = (autodiff.value_and_grad(f)(x) for f in (own_score, whole_score))
    scale = max(1e-12, float(np.abs(numpy(whole_grad)).max()))
    assert np.abs(numpy(own_grad) - numpy(whole_grad)).max() <= 1e-5 * scale


# ---- 5. no recompilation when a slider moves


def test_slider_changes_do_not_recompile_but_structure_changes_do(engine):
    fresh = Engine(engine.model, engine.mean_image)
    first = Settings.from_preset("regularisers-3", steps=8, seed=0)
    fresh.layer("conv2d_1", [0, 1], first)
    assert fresh.compilations == 1
    compiled = next(iter(fresh._compiled.values()))
    traces = [trace_count(f) for f in compiled]
    moved = Settings(image="pixels", steps=8, learning_rate=0.3, decay=0.2, blur_sigma=2.0, blur_every=2, norm_pct=30.0,
                     contrib_pct=40.0, jitter=3, tv_weight=0.5, seed=11, start="gray")
    fresh.layer("conv2d_1", [0, 1], moved)
    fresh.layer("conv2d_1", [5, 7], Settings.from_preset("regularisers-1", steps=8, seed=2, start="mean"))
    assert fresh.compilations == 1
    assert [trace_count(f) for f in compiled] == traces  # not even a retrace behind the counter
    fresh.layer("conv2d_1", [0, 1], replace(moved, steps=12))
    assert fresh.compilations == 1
    fresh.layer("conv2d_1", [0], first)  # another unit count
    assert fresh.compilations == 2
    fresh.layer("conv2d_1", [0, 1], replace(first, pre_activation=True))  # pre-activation
    assert fresh.compilations == 3
    fresh.layer("conv2d_2", [0, 1], first)  # another layer
    assert fresh.compilations == 4


def test_changing_the_step_count_does_not_retrace(engine):
    fresh = Engine(engine.model, engine.mean_image)
    fresh.layer("conv2d_1", [0], Settings.from_preset("regularisers-3", steps=4))
    step_fn = next(iter(fresh._compiled.values()))[0]
    traces = trace_count(step_fn)
    for steps in (5, 6):
        fresh.layer("conv2d_1", [0], Settings.from_preset("regularisers-3", steps=steps))
    assert trace_count(step_fn) == traces


@pytest.mark.skipif(BACKEND != "tensorflow", reason="about TensorFlow's graphs (CI runs this file on TensorFlow)")
def test_the_loops_gradient_is_a_function_of_its_own_never_inlined(engine):
    # In the loop's cyclic graph, oneDNN's pass rewrote the max-pool gradients to its fast kernel
    # in some processes only (autodiff.value_and_grad); in a function of their own, in all.
    fresh, s = Engine(engine.model, engine.mean_image), Settings.from_preset("regularisers-3", steps=2)
    fresh.layer("conv2d_3", [0, 1], s)
    step_fn = next(iter(fresh._compiled.values()))[0]
    runtime = params(**{name: getattr(s, name) for name in happymaps.RUNTIME_PARAMS})
    args = (tensor(fresh.image("pixels").parameters(fresh.start_pictures(s, 2))), ops.convert_to_tensor(np.int32(0)), ops.convert_to_tensor(np.int32(2)),
            ops.convert_to_tensor(np.array([0, 1], np.int32)), runtime, *(ops.convert_to_tensor(a) for a in fresh._moves(s)))
    graph = step_fn.get_concrete_function(*args).graph.as_graph_def()
    holders = [f for f in graph.library.function if any(n.op == "MaxPoolGrad" for n in f.node_def)]
    assert len(holders) == 1 and holders[0].attr["_noinline"].b
    assert sum(n.op == "MaxPoolGrad" for n in holders[0].node_def) == 2  # both pools of the path to conv2d_3


# ---- 6. progress and cancel


def test_progress_is_reported_every_few_steps_and_cancel_stops_early(engine):
    seen = []

    def watch(progress):
        seen.append(progress)

    s = Settings.from_preset("regularisers-3", steps=32)
    result = engine.layer(CONV, UNITS, s, on_progress=watch, every=8)
    assert [p.step for p in seen] == [8, 16, 24]
    for p in seen:
        assert p.steps == 32
        assert p.images.shape == (len(UNITS), *settings.INPUT_SHAPE[:2]) and np.isfinite(p.images).all()
        assert p.images.min() >= 0.0 and p.images.max() <= 1.0
        assert p.values.shape == (len(UNITS),) and np.isfinite(p.values).all()
    assert result.completed and result.steps_done == 32

    calls = []

    def cancel_at_second(progress):
        calls.append(progress)
        return False if len(calls) == 2 else None  # None carries on, False cancels

    stopped = engine.layer(CONV, UNITS, s, on_progress=cancel_at_second, every=8)
    assert [p.step for p in calls] == [8, 16]
    assert not stopped.completed and stopped.steps_done == 16 < s.steps
    assert np.isfinite(stopped.images).all()
    np.testing.assert_array_equal(stopped.images, calls[-1].images)  # the picture at the cancel
    np.testing.assert_allclose(stopped.values, calls[-1].values)


# ---- 7. extreme and invalid slider values


@pytest.mark.parametrize("overrides", [
    dict(decay=1.0), dict(blur_sigma=3.0, blur_every=1), dict(norm_pct=100.0), dict(contrib_pct=100.0),
    dict(learning_rate=100.0), dict(jitter=16), dict(scale=0.5, rotate=45.0), dict(tv_weight=100.0), dict(steps=1),
    dict(steps=1, decay=1.0, blur_sigma=3.0, blur_every=1, norm_pct=100.0, contrib_pct=100.0,
         learning_rate=100.0, jitter=16, tv_weight=100.0),
], ids=lambda o: ",".join(o))
def test_extreme_slider_values_give_finite_images(engine, overrides):
    result = engine.layer(CONV, UNITS, Settings.from_preset("regularisers-3", **{"steps": 3, **overrides}), every=1)
    assert np.isfinite(result.images).all() and np.isfinite(result.values).all()
    assert result.images.min() >= 0.0 and result.images.max() <= 1.0
    if overrides.get("decay") == 1.0:
        np.testing.assert_allclose(result.images, engine.offset, atol=1e-6)  # all pulled to gray


def test_scale_and_turn_move_the_picture_about_its_centre_and_the_gradient_comes_back_through_them(engine):
    pictures = np.random.default_rng(0).uniform(size=(2, 60, 64, 1)).astype(np.float32)
    same = happymaps.scaled_and_turned(tensor(pictures), tensor(1.0), tensor(0.0))
    np.testing.assert_allclose(autodiff.to_numpy(same), pictures, atol=1e-5)
    dot = np.zeros((1, 61, 65, 1), np.float32)  # odd sides: a pixel at the exact centre
    dot[0, 30, 32] = dot[0, 30, 40] = 1.0
    turned = autodiff.to_numpy(happymaps.scaled_and_turned(tensor(dot), tensor(1.0), tensor(90.0)))[0, ..., 0]
    assert turned[30, 32] == pytest.approx(1.0, abs=1e-4)  # the centre stays
    assert turned[30, 40] < 0.01 and max(turned[22, 32], turned[38, 32]) > 0.99  # 8 px right: now 8 px up or down
    grown = autodiff.to_numpy(happymaps.scaled_and_turned(tensor(dot), tensor(2.0), tensor(0.0)))[0, ..., 0]
    assert grown[30, 48] > 0.99  # twice as far from the centre
    # the moves are drawn from the seed; the jitter's shifts stay those of jitter alone
    base = Settings.from_preset("fourier", steps=16, scale=0.0, rotate=0.0)
    shifts, warps = engine._moves(base)
    np.testing.assert_array_equal(warps, np.tile([1.0, 0.0], (len(warps), 1)))
    moved_shifts, moved = engine._moves(replace(base, scale=0.1, rotate=10.0))
    np.testing.assert_array_equal(moved_shifts, shifts)
    assert np.all(np.abs(moved[:16, 0] - 1) <= 0.1) and np.all(np.abs(moved[:16, 1]) <= 10) and moved[:16, 1].std() > 1
    np.testing.assert_array_equal(moved[16:], warps[16:])
    plain = engine.layer(CONV, UNITS, base)
    robust = engine.layer(CONV, UNITS, replace(base, scale=0.1, rotate=10.0))
    assert np.isfinite(robust.images).all() and np.abs(robust.images - plain.images).max() > 0.01


@pytest.mark.parametrize("call, name, received", [
    (dict(settings=dict(decay=1.5)), "decay", "1.5"),
    (dict(settings=dict(steps=0)), "steps", "0"),
    (dict(settings=dict(steps=4097)), "steps", "4097"),
    (dict(settings=dict(learning_rate=float("nan"))), "learning_rate", "nan"),
    (dict(settings=dict(learning_rate=float("inf"))), "learning_rate", "inf"),
    (dict(settings=dict(blur_sigma=-0.5)), "blur_sigma", "-0.5"),
    (dict(settings=dict(jitter=17)), "jitter", "17"),
    (dict(settings=dict(scale=0.6)), "scale", "0.6"),
    (dict(settings=dict(rotate=-5.0)), "rotate", "-5.0"),
    (dict(settings=dict(norm_pct=100.5)), "norm_pct", "100.5"),
    (dict(settings=dict(steps="10")), "steps", "'10'"),
    (dict(settings=dict(start="banana")), "start", "'banana'"),
    (dict(units=[0, 32]), "units", "[0, 32]"),
    (dict(units=[-1]), "units", "[-1]"),
    (dict(units=[]), "units", "[]"),
    (dict(layer="nope"), "layer", "'nope'"),
])
def test_out_of_range_values_are_refused_naming_the_setting_and_the_value(engine, call, name, received):
    s = Settings.from_preset("regularisers-3", **{"steps": 2, **call.get("settings", {})})
    with pytest.raises(ValueError) as error:
        engine.layer(call.get("layer", CONV), call.get("units", UNITS), s)
    message = str(error.value)
    assert name in message and received in message, message


# ---- 8. pre-activation


def test_pre_activation_of_the_softmax_layer_is_a_logit_not_a_probability(engine):
    model = engine.model
    features = keras.Model(model.inputs, model.get_layer(DECISION).input)
    kernel, bias = model.get_layer(DECISION).get_weights()

    def logits(images):
        return numpy(features([tensor(images[..., None])])) @ kernel + bias

    s = Settings.from_preset("regularisers-3", steps=32, start="gray")
    pre = engine.layer(DECISION, [0, 1], replace(s, pre_activation=True))
    post = engine.layer(DECISION, [0, 1], replace(s, pre_activation=False))
    default = engine.layer(DECISION, [0, 1], s)  # pre_activation None: the decision layer on its logit
    assert default.reading == "logit" and pre.reading == "logit" and post.reading == "activation"
    np.testing.assert_allclose(default.values, pre.values, rtol=1e-5)
    assert pre.values.max() > 1.0  # measured 75 and 9
    np.testing.assert_allclose(pre.values, np.diag(logits(pre.images)), rtol=1e-3)
    assert ((post.values >= 0.0) & (post.values <= 1.0)).all()
    np.testing.assert_allclose(post.values, np.diag(numpy(ops.softmax(tensor(logits(post.images))))), atol=1e-4)
    start = logits(gray(engine, 1)[..., 0])[0]
    assert (pre.values > start).all()


# ---- 9. TensorFlow vs JAX vs PyTorch


@pytest.mark.parametrize("other", OTHER_BACKENDS)
def test_the_other_backends_give_the_same_happymaps(engine, other_backend_runs, other):
    process, path, log = other_backend_runs[other]
    case = BACKEND_CASE
    ours = engine.layer(case["layer"], case["units"], Settings.from_preset(
        case["preset"], steps=case["steps"], seed=case["seed"]), every=case["steps"])
    if process.wait(timeout=300) != 0:
        log.seek(0)
        pytest.fail(f"the {other} run failed:\n{log.read()[-3000:]}")
    theirs = np.load(path)
    assert np.abs(theirs["images"] - ours.images).max() < IMAGE_TOLERANCE
    np.testing.assert_allclose(theirs["values"], ours.values, rtol=VALUE_TOLERANCE)
    for i, case in enumerate(IMAGE_CASES):  # face space and the spectrum agree across backends too
        mine = engine.layer(case["layer"], case["units"], Settings.from_preset(
            case["preset"], steps=case["steps"], seed=case["seed"]), every=case["steps"])
        assert np.abs(theirs[f"images_{i}"] - mine.images).max() < IMAGE_TOLERANCE, case
        np.testing.assert_allclose(theirs[f"values_{i}"], mine.values, rtol=VALUE_TOLERANCE, atol=1e-4)
    # the GPU path (JAX, PyTorch) keeps the promise too: moving sliders recompiles nothing
    assert bool(theirs["moved_finite"])
    assert int(theirs["recompiles"]) == 0 and int(theirs["retraces"]) == 0
    # and computes in full float32 on a GPU, not TF32: an H200 drew maps 0.07 away from the CPU's without it
    assert bool(theirs["full_float32"])
    # with convolutions channels first there, the faster layout in full float32 (an H200: 37-41 ms against 57-79)
    assert bool(theirs["channels_first"])
    # and leaves GPU memory for the app's HappyMaps worker beside the server
    assert bool(theirs["gpu_shared"])


def test_jax_lays_out_gpu_convolutions_channels_first_keeping_the_users_flags(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/somewhere")
    monkeypatch.setattr(autodiff, "backend", lambda: "jax")
    autodiff.gpu_convolutions_channels_first()
    autodiff.gpu_convolutions_channels_first()  # once only
    assert os.environ["XLA_FLAGS"] == "--xla_dump_to=/somewhere --xla_gpu_force_conv_nchw"
    monkeypatch.setenv("XLA_FLAGS", "")
    monkeypatch.setattr(autodiff, "backend", lambda: "tensorflow")
    autodiff.gpu_convolutions_channels_first()
    assert os.environ["XLA_FLAGS"] == ""


def test_jax_lets_the_server_and_its_worker_share_one_gpu_keeping_the_users_setting(monkeypatch):
    monkeypatch.delenv("XLA_PYTHON_CLIENT_PREALLOCATE", raising=False)
    monkeypatch.setattr(autodiff, "backend", lambda: "jax")
    autodiff.share_the_gpu()
    assert os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    monkeypatch.setenv("XLA_PYTHON_CLIENT_PREALLOCATE", "true")
    autodiff.share_the_gpu()
    assert os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] == "true"
    monkeypatch.delenv("XLA_PYTHON_CLIENT_PREALLOCATE")
    monkeypatch.delenv("TF_FORCE_GPU_ALLOW_GROWTH", raising=False)
    monkeypatch.setattr(autodiff, "backend", lambda: "tensorflow")
    autodiff.share_the_gpu()
    assert "XLA_PYTHON_CLIENT_PREALLOCATE" not in os.environ and os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the other backends are checked in their runs above")
def test_tensorflow_computes_in_full_float32_on_a_gpu():
    import tensorflow as tf

    assert not tf.config.experimental.tensor_float_32_execution_enabled()


# ---- 10. tf-keras-vis as an oracle


def test_tf_keras_vis_reaches_the_same_activations(engine):
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.utils.model_modifiers import ExtractIntermediateLayer

    steps, lr = 32, 0.01
    objective = objectives.unit_batch(CONV)
    start = gray(engine, len(UNITS))
    chosen = ops.convert_to_tensor(np.asarray(UNITS, np.int32)[:, None])

    def score(output):  # batch item i: channel mean of unit UNITS[i]
        return ops.take_along_axis(ops.mean(output, axis=(1, 2)), chosen, axis=1)[:, 0]

    def normalise(grad):  # like the engine: each sample's step has mean |step| = lr
        return grad / (ops.mean(ops.abs(grad), axis=(1, 2, 3), keepdims=True) + 1e-12)

    am = ActivationMaximization(engine.model, model_modifier=ExtractIntermediateLayer(CONV), clone=True)
    theirs = am(score, seed_input=start.copy(), steps=steps, input_range=(0.0, 1.0), input_modifiers=[],
                regularizers=[], optimizer=keras.optimizers.SGD(lr), gradient_modifier=normalise)
    their_values = engine.activations(objective, np.asarray(theirs), UNITS)
    ours = engine.layer(CONV, UNITS, Settings.from_preset("none", steps=steps, learning_rate=lr, start="gray"),
                        every=steps)
    before = engine.activations(objective, start, UNITS)
    assert (their_values > before).all() and (ours.values > before).all()
    ratio = ours.values / their_values
    assert (np.abs(ratio - 1.0) < ORACLE_TOLERANCE).all(), ratio


# ---- 11. image parameterisations


@pytest.fixture(scope="module")
def images(engine):
    return {name: engine.image(name) for name in happymaps.IMAGES}


@pytest.mark.parametrize("name", happymaps.IMAGES)
def test_each_parameterisation_pulls_back_by_its_adjoint_and_projects_back_exactly(images, name):
    image = images[name]
    rng = np.random.default_rng(8)
    p = tensor(rng.normal(size=(3, *image.shape)))
    grad = tensor(rng.normal(size=(3, *settings.INPUT_SHAPE)))
    d = image.delta(p)
    assert tuple(d.shape) == (3, *settings.INPUT_SHAPE)
    # <delta(p), g> == <p, pullback(g)>: the loop's step follows the true gradient in p
    lhs, rhs = float(ops.sum(d * grad)), float(ops.sum(p * image.pullback(grad)))
    assert lhs == pytest.approx(rhs, rel=1e-4, abs=1e-3)
    # delta(project(d)) == d for a d in the range (what the regularisers hand back)
    np.testing.assert_allclose(numpy(image.delta(image.project(d))), numpy(d), atol=1e-3 * float(np.abs(numpy(d)).max()))
    # and autodiff agrees with the hand-written adjoint
    _, auto = autodiff.value_and_grad(lambda q: ops.sum(image.delta(q) * grad))(p)
    np.testing.assert_allclose(numpy(auto), numpy(image.pullback(grad)), rtol=1e-3, atol=1e-3)


def test_face_space_is_the_mean_face_at_zero_and_its_decay_is_a_prior_on_faces(engine, images):
    faces = images["faces"]
    np.testing.assert_allclose(faces.origin, engine.face_basis.mean)
    np.testing.assert_allclose(faces.picture(np.zeros((1, *faces.shape), np.float32))[0],
                               np.clip(engine.face_basis.mean, 0, 1), atol=1e-6)
    # whitened: p_i = coefficient_i / scale_i, so unit p moves the picture by one training-face standard deviation
    p = np.zeros((1, *faces.shape), np.float32)
    p[0, 0] = 1.0
    moved = faces.picture(p)[0] - np.clip(engine.face_basis.mean, 0, 1)
    expected = engine.face_basis.scales[0] * engine.face_basis.components[0].reshape(settings.INPUT_SHAPE[:2])
    unclipped = (engine.face_basis.mean + expected > 0) & (engine.face_basis.mean + expected < 1)
    np.testing.assert_allclose(moved[unclipped], expected[unclipped], atol=1e-3)
    assert faces.shape == (happymaps.FACE_COMPONENTS,)


@pytest.mark.parametrize("image", ["faces", "fourier"])
def test_other_parameterisations_raise_the_objective_and_report_the_shown_pictures_value(engine, image):
    preset = happymaps.DEFAULT_FOR_IMAGE[image]
    s = Settings.from_preset(preset, steps=16)
    objective = objectives.unit_batch(DENSE)
    start = engine.activations(objective, engine.start_pictures(s, len(UNITS))[..., None], UNITS)
    result = engine.layer(DENSE, UNITS, s, every=16)
    assert result.images.min() >= 0.0 and result.images.max() <= 1.0 and np.isfinite(result.images).all()
    assert result.values.mean() > start.mean()
    recomputed = engine.activations(objective, result.images[..., None], UNITS)
    np.testing.assert_allclose(result.values, recomputed, atol=1e-3)


def test_moving_sliders_in_face_space_does_not_recompile(engine):
    fresh = Engine(engine.model, engine.mean_image, engine.face_basis)
    fresh.layer("conv2d_1", [0, 1], Settings.from_preset("legible", steps=4))
    compiled = next(iter(fresh._compiled.values()))
    traces = [trace_count(f) for f in compiled]
    fresh.layer("conv2d_1", [2, 3], Settings.from_preset("legible", steps=6, decay=0.01, learning_rate=0.5,
                                                          blur_sigma=1.0, blur_every=2, norm_pct=10.0, jitter=2,
                                                          start="noise", seed=3))
    assert fresh.compilations == 1 and [trace_count(f) for f in compiled] == traces
    fresh.layer("conv2d_1", [0, 1], Settings.from_preset("regularisers-3", steps=4))  # another parameterisation
    assert fresh.compilations == 2


def test_face_space_without_a_basis_says_what_is_missing(engine):
    bare = Engine(engine.model, engine.mean_image)
    with pytest.raises(ValueError, match=r"face_basis\.npz.*got none"):
        bare.layer(CONV, [0], Settings.from_preset("legible", steps=2))
    assert bare.layer(CONV, [0], Settings.from_preset("regularisers-3", steps=2)).images.shape == (1, 60, 64)


# ---- 12. decision units: logit, class names


def test_decision_units_are_read_on_their_logit_and_named_by_their_class(engine):
    result = engine.layer(DECISION, settings=Settings.from_preset("legible", steps=8))
    assert result.reading == "logit"
    assert engine.layer(CONV, [0], Settings.from_preset("legible", steps=2)).reading == "activation"
    assert engine.unit_labels(DECISION, [0, 1]) == ["0 · not left", "1 · left"]
    assert engine.unit_labels(CONV, [0, 3]) == ["0", "3"]
    assert happymaps.engine_for("ex1-4").unit_labels("dense_3", [0, 1, 2, 3]) == [
        "0 · left", "1 · right", "2 · straight", "3 · up"]


# ---- 13. the sanity check: a randomised copy


def test_the_randomised_copy_has_fresh_weights_of_the_same_shapes_and_leaves_the_model_alone(engine):
    before = [w.copy() for w in engine.model.get_weights()]
    twin = surgery.randomized_copy(engine.model, seed=0)
    again = surgery.randomized_copy(engine.model, seed=0)
    for original, fresh, same in zip(before, twin.get_weights(), again.get_weights()):
        assert fresh.shape == original.shape
        np.testing.assert_array_equal(fresh, same)  # seeded
        if original.ndim > 1:  # kernels re-drawn from Glorot uniform (biases from their initialiser, zeros)
            assert not np.allclose(fresh, original)
            receptive = int(np.prod(original.shape[:-2]))
            limit = np.sqrt(6.0 / (receptive * (original.shape[-2] + original.shape[-1])))
            assert np.abs(fresh).max() <= limit * 1.0001
    for original, kept in zip(before, engine.model.get_weights()):
        np.testing.assert_array_equal(original, kept)
    randomized = engine.randomized()
    assert randomized is engine.randomized() and randomized.model is not engine.model
    other = engine.randomized(seed=1)  # another seed, another copy (it returned seed 0's)
    assert other is engine.randomized(1) and other is not randomized
    assert not np.allclose(other.model.get_weights()[0], randomized.model.get_weights()[0])
    result = randomized.layer(DECISION, settings=Settings.from_preset("legible", steps=4))
    assert result.reading == "logit" and np.isfinite(result.images).all()


def test_correlation_and_saturated_share_measure_what_they_say():
    rng = np.random.default_rng(9)
    a = rng.normal(size=(3, 6, 7))
    np.testing.assert_allclose(happymaps.correlation(a, a), 1.0)
    np.testing.assert_allclose(happymaps.correlation(a, -2 * a + 5), -1.0)
    np.testing.assert_allclose(happymaps.correlation(a[:1], np.zeros((6, 7))), 0.0)
    expected = np.corrcoef(a[1].ravel(), a[2].ravel())[0, 1]
    assert happymaps.correlation(a[1:2], a[2])[0] == pytest.approx(expected)
    pictures = np.array([[[0.0, 0.01, 0.5, 0.99]]])
    assert happymaps.saturated_share(pictures) == pytest.approx(0.75)


def test_spread_puts_each_computed_picture_in_its_units_place_and_fills_the_rest():
    images = np.stack([np.full((2, 3), v) for v in (0.1, 0.7)])
    fill = np.full((2, 3), 0.5)
    spread = happymaps.spread(images, [5, 2], [2, 3, 5], fill)
    np.testing.assert_allclose(spread[:, 0, 0], [0.7, 0.5, 0.1])
    result = happymaps.Result("dense_1", [5, 2], images, np.array([3.0, 4.0]), happymaps.Settings(), 1.0, "CPU")
    whole = happymaps.spread_result(result, [2, 3, 5], fill)
    assert whole.units == [2, 3, 5] and whole.layer == "dense_1"
    np.testing.assert_allclose(whole.values, [4.0, 0.0, 3.0])
    np.testing.assert_allclose(whole.images, spread)
    with pytest.raises(ValueError, match=r"\[7\] are not in \[2, 3\]"):
        happymaps.spread(images, [7, 2], [2, 3], fill)


# ---- 14. the atlas and the dataset-centric view


def _one_variant_models(tmp_path):
    folder = tmp_path / VARIANT
    folder.mkdir()
    (folder / "model.keras").write_bytes((settings.MODELS_DIR / VARIANT / "model.keras").read_bytes())
    return tmp_path


def test_a_missing_atlas_is_none_and_a_damaged_or_stale_one_says_how_to_rebuild_it(tmp_path):
    root = _one_variant_models(tmp_path)
    assert atlas.load(VARIANT, root) is None
    (root / VARIANT / atlas.ATLAS_FILE).write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(atlas.AtlasError) as error:
        atlas.load(VARIANT, root)
    assert "damaged" in str(error.value) and f"python -m vislib.atlas --variant {VARIANT}" in str(error.value)
    np.savez_compressed(root / VARIANT / atlas.ATLAS_FILE, model_sha1=np.array("0" * 40), settings=np.array("{}"))
    with pytest.raises(atlas.AtlasError, match="other weights"):
        atlas.load(VARIANT, root)


def test_an_atlas_stays_valid_when_the_same_weights_are_saved_again_and_not_once_they_change(tmp_path):
    root = _one_variant_models(tmp_path)
    for name in (atlas.ATLAS_FILE, "face_basis.npz"):
        (root / VARIANT / name).write_bytes((settings.MODELS_DIR / VARIANT / name).read_bytes())
    path = root / VARIANT / "model.keras"
    assert atlas.load(VARIANT, root) is not None
    before = path.read_bytes()
    model = keras.saving.load_model(path)
    model.save(path)  # a seeded retraining: the same weights, another date inside the file
    assert path.read_bytes() != before
    assert atlas.load(VARIANT, root) is not None
    model.weights[0].assign(model.weights[0] + 0.01)
    model.save(path)
    with pytest.raises(atlas.AtlasError, match="other weights"):
        atlas.load(VARIANT, root)


def test_the_shipped_atlas_holds_every_parameterisations_default_for_every_layer(engine):
    book = atlas.load(VARIANT)
    assert book is not None
    for image, preset in happymaps.DEFAULT_FOR_IMAGE.items():
        s = Settings.from_preset(preset)
        for layer in ("conv2d_1", DENSE, DECISION):
            found = book.lookup(layer, s)
            assert found is not None, (image, layer)
            n = int(engine.model.get_layer(layer).output.shape[-1])
            assert found[0].shape == (n, 60, 64) and found[1].shape == (n,)
    assert book.settings == Settings() and DECISION in book.images  # the default, by layer (the photo page)
    assert book.lookup(DECISION, Settings.from_preset("legible", decay=0.001)) is None


def test_top_faces_are_each_units_best_responses_in_order():
    responses = np.array([[0.1, 5.0], [0.9, 1.0], [0.5, 3.0], [0.7, 4.0]])
    order, values = exemplars.top_faces(responses, k=3)
    assert order.tolist() == [[1, 3, 2], [0, 3, 2]]
    np.testing.assert_allclose(values, [[0.9, 0.7, 0.5], [5.0, 4.0, 3.0]])


@pytest.mark.parametrize("name", happymaps.IMAGES)
def test_precondition_and_restrict_are_delta_of_pullback_and_of_project(images, name):
    image = images[name]
    rng = np.random.default_rng(10)
    grad = tensor(rng.normal(size=(2, *settings.INPUT_SHAPE)))
    slow = numpy(image.delta(image.pullback(grad)))
    np.testing.assert_allclose(numpy(image.precondition(grad)), slow, atol=1e-3 * np.abs(slow).max())
    np.testing.assert_allclose(numpy(image.restrict(grad)), numpy(image.delta(image.project(grad))),
                               atol=1e-3 * float(np.abs(numpy(grad)).max()))


# ---- 15. what a person sees: montage, stretch, diverging colours


def test_montage_says_dead_units_in_words_and_grows_its_labels_with_the_tiles():
    from vislib import plots

    images = np.full((3, 60, 64), 0.5, np.float32)
    # sheets as square as the tiles allow, with the fewest empty cells: four decision units in 2 x 2, not 3 + 1
    assert {n: plots.grid_columns(n) for n in (1, 2, 3, 4, 9, 16, 32, 36, 64)} == \
        {1: 1, 2: 2, 3: 3, 4: 2, 9: 3, 16: 4, 32: 8, 36: 6, 64: 8}
    small = plots.montage(images, ["0", "1", "2"], cols=3, scale=1)
    big = plots.montage(images, ["0", "1", "2"], cols=3, scale=3, words={1: "never fires"})
    assert big.shape[0] > 3 * 60 and big.shape[1] == 3 * (3 * 64 + 2) + 2
    assert small.shape[0] - 60 < big.shape[0] - 180  # a taller label row for bigger tiles
    tile = big[-3 * 60 - 2:-2, 3 * 64 + 4:2 * (3 * 64) + 4]
    assert len(np.unique(tile.reshape(-1, 3), axis=0)) > 2  # text, not a flat gray tile


def test_a_units_training_faces_are_those_its_network_trained_on_as_it_saw_them():
    from vislib import data, exemplars, train

    original, files = exemplars.training_faces(zoo.variant("exp0"))
    faces = data.load_cmu()
    kept = data.split_indices(faces.poses, seed=0)[0]  # the original study's split by image
    np.testing.assert_array_equal(original, faces.images[kept])
    assert files == tuple(faces.files[i] for i in kept)
    spec = zoo.variant("ex2-3")
    seen, files = exemplars.training_faces(spec)
    split = train.training_sets(spec)[2]
    # the people held out of its training are not its training faces (they were: CMU's split by image)
    assert split["test_people"] and {f.split("/")[0] for f in files}.isdisjoint(split["test_people"])
    assert len(seen) == len(files) == split["train"]


def test_the_training_faces_a_unit_does_not_answer_are_said_in_words_not_shown_as_its_best():
    from vislib import plots

    maps = np.full((2, 60, 64), 0.5, np.float32)
    faces = np.zeros((12, 60, 64), np.float32)  # black faces: a tile drawn as words is light gray
    order = np.tile(np.arange(9), (2, 1))
    responses = np.array([[3.0, 2.0, 1.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0],  # a live unit, its ninth face silent
                          np.zeros(9)])  # a dead unit: its "best" faces are the first files
    sheet = plots.exemplar_sheet(maps, ["0", "1"], {1: "never fires"}, faces, order, responses, scale=1)
    height, width = (sheet.shape[0] - 2) // 2, (sheet.shape[1] - 2) // 10

    def tile(row, col):  # the picture part of a tile, under its label
        return sheet[row * height + height - 60:(row + 1) * height, 2 + col * width:2 + col * width + 64]

    assert tile(0, 1).mean() < 10 and tile(0, 8).mean() < 10  # faces it answers: shown
    assert tile(0, 9).mean() > 180  # no response: words on gray
    assert all(tile(1, c).mean() > 180 for c in range(10))  # the dead unit: words, its map and every face


def test_stretch_spans_each_tile_and_diverging_is_white_at_zero_red_above_blue_below():
    from vislib import plots

    images = np.stack([np.linspace(0.4, 0.6, 60 * 64).reshape(60, 64), np.full((60, 64), 0.3)]).astype(np.float32)
    stretched = plots.stretch(images)
    assert stretched[0].min() == pytest.approx(0.0) and stretched[0].max() == pytest.approx(1.0)
    np.testing.assert_array_equal(stretched[1], images[1])  # a flat tile stays as it is
    rgb, limit = plots.diverging(np.array([[[-0.5, 0.0, 0.25, 0.5]]], np.float32))
    assert limit == pytest.approx(0.5)
    np.testing.assert_allclose(rgb[0, 0, 1], [1, 1, 1])
    assert rgb[0, 0, 3, 0] > rgb[0, 0, 3, 2] and rgb[0, 0, 0, 2] > rgb[0, 0, 0, 0]
    assert 0.5 < rgb[0, 0, 2, 1] < 1.0  # half way to red


# ---- 16. the face basis CLI


def test_the_face_basis_cli_writes_what_variants_lack_fitted_on_their_training_faces(tmp_path, monkeypatch, capsys):
    from vislib import data, faceprior

    folder = tmp_path / VARIANT
    folder.mkdir()
    (folder / "model.keras").write_bytes((settings.MODELS_DIR / VARIANT / "model.keras").read_bytes())
    monkeypatch.setattr(settings, "MODELS_DIR", tmp_path)
    assert faceprior.main([]) == 0
    path = folder / faceprior.BASIS_FILE
    assert path.is_file() and path.stat().st_size <= 800_000
    basis = faceprior.load(folder)
    faces = data.load_cmu()
    train = faces.images[data.split_indices(faces.poses, seed=0)[0]]
    np.testing.assert_allclose(basis.mean, train.mean(axis=0)[..., 0], atol=1e-5)
    assert basis.components.shape == (faceprior.DEFAULT_COMPONENTS, 60 * 64)
    assert np.all(np.diff(basis.scales) <= 0)  # largest variance first
    capsys.readouterr()
    assert faceprior.main([]) == 0 and "every shipped variant has its face_basis.npz" in capsys.readouterr().out
    shipped = faceprior.load(settings.REPO_ROOT / "models" / VARIANT)  # the committed one: the same fit
    np.testing.assert_allclose(shipped.mean, basis.mean, atol=1e-6)


def test_flat_tells_a_picture_a_person_sees_as_one_tone():
    rng = np.random.default_rng(0)
    face = rng.uniform(0.2, 0.8, (60, 64)).astype(np.float32)
    pictures = np.stack([face, np.full((60, 64), 0.5, np.float32), face * 0.0 + rng.normal(0, 0.004, (60, 64))])
    assert happymaps.flat(pictures).tolist() == [False, True, True]
    assert happymaps.flat(pictures[:1] - face).tolist() == [True], "a map that stayed the start adds nothing"


def test_a_zero_bar_keeps_its_label_outside_the_bar():
    """Plotly draws no label on a bar of height 0; "no left face found" is the figure that matters."""
    from vislib import plots

    fig = plots.honest_bars({"test": 1.0, "three_amigos": {"overall": 0.674, "left_recall": 0.0}})
    accuracy, recall = fig.data
    assert list(recall.text) == ["", "0%"] and list(recall.textposition)[1] == "outside"
    assert list(accuracy.textposition) == ["inside", "inside"]
    assert list(plots.honest_bars({"test": 0.995, "cmu_new_people": {"overall": 0.994}}).data[0].text) == \
        ["99.5%", "99%"], "99.5% is not drawn as 100%"
    # the legend above the bars and each name on short lines: below, the legend covered the names, which
    # Plotly turned sideways on a narrow screen
    every = plots.honest_bars({"test": 1.0, "cmu_new_people": {"overall": 0.95, "left_recall": 0.9},
                               "three_amigos": {"overall": 0.674, "left_recall": 0.0},
                               "three_amigos_full_frame": {"overall": 0.674, "left_recall": 0.0}})
    assert every.layout.legend.y >= 1 and every.layout.legend.yanchor == "bottom"
    assert all(len(line) <= 20 for name in every.data[0].x for line in name.split("<br>")), every.data[0].x
    paired = plots.matched_similarity_bars(["conv2d_1", "dense_3"], [0.9, 0.8], [0.5, 0.1])
    edited = plots.grouped_bars({"accuracy": {"as is": 0.7, "background hidden": 0.6}})  # Why it fails' edits
    for chart in (paired, edited):  # clear of the bars' names
        assert chart.layout.legend.y >= 1 and chart.layout.legend.yanchor == "bottom"
    bars = plots.probabilities(["not left", "left"], [1.0, 0.0]).data[0]
    assert list(bars.textposition) == ["inside", "outside"] and list(bars.text) == ["100.0%", "0.0%"]


def test_a_dense_layers_bar_chart_marks_dead_units_and_names_decision_units():
    from vislib import plots

    fig = plots.unit_strip([0.5, 0.0, 0.2], dead=[1])
    bars, crosses = fig.data
    assert list(crosses.x) == [1] and list(crosses.y) == [0.0], "a dead unit's bar has no height: it gets a cross"
    assert fig.layout.xaxis.dtick == 1 and fig.layout.yaxis.title.text == "response"
    decision = plots.unit_strip([0.1, 0.9], names=["not left", "left"])
    assert list(decision.data[0].x) == ["0 · not left", "1 · left"] and len(decision.data) == 1


def test_the_sanity_correlation_leaves_out_maps_that_stayed_their_start():
    rng = np.random.default_rng(1)
    mean = rng.uniform(0.3, 0.7, (60, 64)).astype(np.float32)
    moved = mean + rng.normal(0, 0.1, (60, 64)).astype(np.float32)
    r, comparable = happymaps.sanity_correlation(np.stack([moved, mean]), np.stack([moved, moved]), mean, "mean")
    assert r[0] == pytest.approx(1.0) and comparable.tolist() == [True, False]
    r, comparable = happymaps.sanity_correlation(np.zeros((0, 60, 64)), np.zeros((0, 60, 64)), mean, "noise")
    assert r.shape == comparable.shape == (0,)


def test_the_sanity_checks_figure_in_words_judges_the_figure_as_printed():
    assert happymaps.sanity_verdict(0.12).startswith("low, under 0.3: the pictures come mostly from what the network")
    assert happymaps.sanity_verdict(0.296).startswith("high")  # printed 0.30
    assert happymaps.sanity_verdict(0.69).startswith("high: part of what the pictures show comes from the method")
    assert happymaps.sanity_verdict(0.97).startswith("very high: a network with random weights draws nearly the same")
    assert happymaps.sanity_verdict(0.696).startswith("very high")  # printed 0.70


def test_a_map_is_mostly_black_and_white_only_when_over_half_its_pixels_are_at_the_ends():
    readable = np.full((60, 64, 1), 0.5, np.float32)
    harsh = readable.copy()
    harsh[:31] = 0.0  # 31 of 60 rows black: over half
    half = readable.copy()
    half[:30] = 1.0  # exactly half white: not over
    assert happymaps.mostly_black_and_white(np.stack([readable, harsh, half])).tolist() == [False, True, False]


def test_training_curves_give_accuracy_in_percent_as_every_other_figure():
    from vislib import plots

    history = {"epoch": [1, 2], "train": {"loss": [0.7, 0.3], "accuracy": [0.6, 0.9]},
               "test": {"loss": [0.8, 0.4], "accuracy": [0.5, 0.8]}}
    figure = plots.training_curves(history, "held-out people")
    assert figure.layout.yaxis2.tickformat == ".0%" and figure.layout.yaxis2.range == (0, 1.02)
    assert [trace.name for trace in figure.data[:2]] == ["train", "held-out people"]


def test_the_face_box_and_the_crop_box_are_drawn_in_two_colours():
    # both were red: "the red box is the face" on Why it fails, "what the network gets" on Your photo
    from vislib import plots

    gray, mask = np.full((20, 20), 0.5, np.float32), np.zeros((20, 20), bool)
    mask[5:15, 5:15] = True
    face = plots.outlined(gray, mask, 2).reshape(-1, 3)
    crop = plots.with_box(gray, (5, 5, 15, 15), min_side=20).reshape(-1, 3)
    face_colours = {tuple(c) for c in face} - {(127, 127, 127)}
    crop_colours = {tuple(c) for c in crop} - {(127, 127, 127)}
    assert face_colours == {plots.FACE_BOX_COLOR} and crop_colours and not face_colours & crop_colours
    assert all(r > 2 * b for r, _, b in crop_colours - {WHITE}) and all(b > 2 * r for r, _, b in face_colours)


WHITE = (255, 255, 255)


def test_the_crop_box_is_edged_in_white_so_it_shows_on_dark_photos_and_to_colour_blind_eyes():
    # red alone turned a dark olive under protanopia: 1.8:1 against the photo beside it
    from vislib import plots

    dark = plots.with_box(np.zeros((40, 40), np.float32), (10, 10, 30, 30), min_side=40)
    assert tuple(dark[20, 9]) == WHITE and tuple(dark[20, 10])[0] > 200  # white just outside, red on the edge
    assert tuple(dark[20, 20]) == (0, 0, 0)  # the photo inside is untouched


def test_dead_units_are_crossed_out_not_only_framed_in_red():
    # a dead unit's tile is black like a silent one: a red frame alone read as nothing to a protanope
    from vislib import plots

    sheet = plots.montage(np.zeros((2, 20, 20), np.float32), labels=None, scale=2, pad=0, marked=[1])
    live, dead = sheet[:, :40], sheet[:, 40:]
    assert {tuple(c) for c in live.reshape(-1, 3)} == {(0, 0, 0)}
    centre = {tuple(c) for c in dead[17:23, 17:23].reshape(-1, 3)}
    assert (220, 30, 30) in centre and WHITE in centre


def test_the_deletion_curves_differ_by_dash_and_marker_not_only_by_colour():
    from vislib import plots

    curve = {"fractions": [0.0, 0.5, 1.0], "attributed": [1.0, 0.5, 0.0], "random": [1.0, 0.8, 0.6]}
    methods = ["Saliency", "SmoothGrad", "Grad-CAM", "Grad-CAM++", "Occlusion"]
    figure = plots.deletion_curves({m: curve for m in methods})
    styles = [(t.line.dash, t.marker.symbol) for t in figure.data[:-1]]
    assert [t.name for t in figure.data] == methods + ["random order"]
    assert len(set(styles)) == len(methods) and len({t.line.color for t in figure.data}) == len(methods) + 1
    assert all(dash is not None and symbol is not None for dash, symbol in styles)
