"""HappyMaps: activation maximisation with the regularisers of Yosinski et al. 2015, over an
image parameterisation (pixels, the space of training faces, or a decorrelated spectrum).

All requested units of a layer are optimised together, one batch item a unit, in one compiled
loop whose slider values are run-time arguments: moving a slider never recompiles.

    engine = engine_for("exp0")
    result = engine.layer("dense_3", settings=Settings.from_preset("legible"))
    check = engine.randomized().layer("dense_3", settings=result.settings)   # the sanity check

The engine's helpers live beside it: `limits` (accepted ranges), `surgery` (model copies and
one-unit heads), `features` (activations), `parameterizations` (what is optimised).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable, Sequence

import keras
import numpy as np
from keras import ops

from vislib import (autodiff, faceprior, limits, objectives, parameterizations, preprocessing, regularizers,
                    surgery, zoo)
from vislib.features import FeatureExtractor
from vislib.limits import LIMITS
from vislib.settings import INPUT_SHAPE

__all__ = ["Engine", "FeatureExtractor", "Settings", "Result", "Progress", "engine_for", "PRESETS", "LIMITS"]

START_IMAGES = ("noise", "gray", "mean")
IMAGES = ("faces", "pixels", "fourier")  # the image parameterisations, by name
RUNTIME_PARAMS = ("learning_rate", "decay", "blur_sigma", "blur_every", "norm_pct", "contrib_pct", "tv_weight")
FACE_COMPONENTS = 30  # measured: 30 gave the legibility goal; 50 and 100 let the randomised copy look as "left"
FLAT_SPAN = 0.03  # a picture whose 1st-99th percentile span is under this (of the gray range) shows nothing


@dataclass(frozen=True)
class Settings:
    """Everything a user can set for one HappyMaps run. The defaults are the "legible" preset.

    pre_activation: None reads the decision layer on its logit (before softmax) and every other
    layer on its activation; True or False force one reading on every layer."""

    image: str = "faces"
    steps: int = 128
    learning_rate: float = 0.02
    decay: float = 0.2
    blur_sigma: float = 0.0
    blur_every: int = 0
    norm_pct: float = 0.0
    contrib_pct: float = 0.0
    jitter: int = 0
    scale: float = 0.0
    rotate: float = 0.0
    tv_weight: float = 0.0
    seed: int = 0
    start: str = "mean"
    pre_activation: bool | None = None

    @classmethod
    def from_preset(cls, name: str | None = None, **overrides) -> "Settings":
        """A preset's settings (see PRESETS), plus any overrides."""
        name = DEFAULT_PRESET if name is None else name
        if name not in PRESETS:
            raise ValueError(f"preset must be one of {list(PRESETS)}, got {name!r}")
        return cls(**{**PRESETS[name].values, **overrides})

    def validated(self) -> "Settings":
        for name in LIMITS:
            limits.check(name, getattr(self, name))
        if self.start not in START_IMAGES:
            raise ValueError(f"start must be one of {START_IMAGES}, got {self.start!r}")
        if self.image not in IMAGES:
            raise ValueError(f"image must be one of {IMAGES}, got {self.image!r}")
        if self.pre_activation not in (None, True, False):
            raise ValueError(f"pre_activation must be None (logit for the decision layer), True or False, "
                             f"got {self.pre_activation!r}")
        return self

    def preset_name(self) -> str | None:
        """The preset these settings are (seed and reading aside), or None."""
        for name, preset in PRESETS.items():
            if all(getattr(self, k) == v for k, v in preset.values.items()):
                return name
        return None


@dataclass(frozen=True)
class Preset:
    label: str
    values: dict


def _preset(label: str, image: str, learning_rate: float, decay: float, blur_sigma: float, blur_every: int,
            norm_pct: float, contrib_pct: float, jitter: int = 0, start: str = "noise", steps: int = 128,
            scale: float = 0.0, rotate: float = 0.0) -> Preset:
    return Preset(label, dict(image=image, steps=steps, learning_rate=learning_rate, decay=decay,
                              blur_sigma=blur_sigma, blur_every=blur_every, norm_pct=norm_pct,
                              contrib_pct=contrib_pct, jitter=jitter, scale=scale, rotate=rotate, tv_weight=0.0,
                              start=start))


# "legible" was chosen by measurement (python -m vislib.bench legibility). The four
# "regularisers-N" presets are the regulariser values of Table 1 of Yosinski et al. 2015, row N,
# on pixels, with our normalised step and 128 steps: NOT the paper's runs, which took 500 to 1000
# steps at learning rate 100 on 0-255 pixels of a 227x227 ImageNet network.
# Labels stay short enough to show whole in the sidebar's closed picker (tests/test_browser.py).
PRESETS = {
    "legible": _preset("Legible: faces (the default)", "faces", 0.02, 0.2, 0.0, 0, 0.0, 0.0,
                       start="mean"),
    # for networks that see only local contrast (SMOOTHED_FOR): there the face-space optimiser draws
    # the edges of a turned head and none of its shading; jitter and blur at every step make it draw
    # broad shading too (python -m vislib.bench legibility --variant ex2-3 --preset legible-smooth)
    "legible-smooth": _preset("Legible, smoothed (jitter, blur)", "faces", 0.02, 0.2, 1.0, 1, 0.0, 0.0,
                              jitter=6, start="mean"),
    # for networks that also learned how far the head is turned (zoo.Variant.pan_output), whose default map
    # keeps moving: the default's reach (learning rate / decay) with steps about seven times smaller and a
    # memory as much longer (python -m vislib.bench legibility --variant ex2-4 --preset legible-steady;
    # BENCHMARKS.md, tenth and eleventh rounds)
    "legible-steady": _preset("Legible, steady (small steps)", "faces", 0.003, 0.03, 0.0, 0, 0.0, 0.0,
                              start="mean"),
    # lucid's transformation robustness: jitter, and since the sixteenth look a random scale and turn at every
    # step (its own ranges, not tuned; tools/fourier_robustness.py, BENCHMARKS.md)
    "fourier": _preset("Smooth spectrum (lucid's)", "fourier", 0.01, 0.1, 0.0, 0, 0.0, 0.0,
                       jitter=2, scale=0.1, rotate=10.0, start="gray"),
    "regularisers-1": _preset("Yosinski row 1's regularisers", "pixels", 0.05, 0.0, 0.5, 4, 50.0, 0.0),
    "regularisers-2": _preset("Yosinski row 2's regularisers", "pixels", 0.05, 0.3, 0.0, 0, 20.0, 0.0),
    "regularisers-3": _preset("Yosinski row 3's regularisers", "pixels", 0.05, 0.0001, 1.0, 4, 0.0, 0.0),
    "regularisers-4": _preset("Yosinski row 4's regularisers", "pixels", 0.05, 0.0, 0.5, 4, 0.0, 90.0),
    "none": _preset("No regulariser (pixels)", "pixels", 0.05, 0.0, 0.0, 0, 0.0, 0.0),
}
DEFAULT_PRESET = "legible"
DEFAULT_FOR_IMAGE = {"faces": "legible", "pixels": "regularisers-3", "fourier": "fourier"}  # the atlas holds these
SMOOTHED_FOR = tuple(preprocessing.LOCAL_CONTRAST_SIGMAS)  # the input normalisations blind to slow shading


def suggested_preset(spec: zoo.Variant) -> str | None:
    """The preset that draws a variant's HappyMaps best, where it is not the default (measured by
    `python -m vislib.bench legibility`): "legible-smooth" for networks that see only local
    contrast, "legible-steady" for networks that also learned how far the head is turned, else None."""
    if spec.preprocess in SMOOTHED_FOR:
        return "legible-smooth"
    return "legible-steady" if spec.pan_output else None


def why_suggested(spec: zoo.Variant) -> str | None:
    """One plain paragraph on why the page offers `suggested_preset(spec)`, or None."""
    preset = suggested_preset(spec)
    if preset is None:
        return None
    label = PRESETS[preset].label
    if preset == "legible-smooth":
        return (f"{preprocessing.how_maps_read(spec.preprocess)} The **{label}** preset moves and blurs the picture "
                "a little at every step, so the optimiser draws that shading too.")
    default, steady = Settings(), Settings.from_preset(preset)
    return ("This network also learned how far each head is turned. At the default settings, each step forgets "
            f"{default.decay:.0%} of what the optimiser added to the mean face, so its maps hold only the last few "
            "steps, and its decision maps keep changing. "
            f"The **{label}** preset takes steps about {default.learning_rate / steady.learning_rate:.0f} times "
            f"smaller and forgets about {default.decay / steady.decay:.0f} times slower: the picture holds more of "
            "what the network asks for at every step, every layer's maps excite their units more, and its \"left\" "
            "map looks more like a face turned left.")


@dataclass
class Progress:
    """A snapshot handed to `on_progress` every few steps."""

    step: int
    steps: int
    images: np.ndarray  # (B, H, W) in [0, 1], ready to show
    values: np.ndarray  # the objective of each batch item


@dataclass
class Result:
    """Finished HappyMaps: one image and one reached activation per unit."""

    layer: str
    units: list[int]
    images: np.ndarray  # (B, H, W) in [0, 1]
    values: np.ndarray
    settings: Settings
    seconds: float
    device: str
    completed: bool = True
    steps_done: int = 0
    compiled: bool = False  # this run compiled its loop (the first run of a layer and unit count)
    reading: str = "activation"  # "activation" or "logit" (before the activation)


def spread(images: np.ndarray, computed: Sequence[int], units: Sequence[int], fill: np.ndarray) -> np.ndarray:
    """Pictures for `units` from those of `computed` (a subset of them), `fill` for the others:
    units skipped because they can show nothing (e.g. never firing) keep their place in a sheet."""
    where = {int(u): i for i, u in enumerate(computed)}
    wanted = {int(u) for u in units}
    missing = [u for u in where if u not in wanted]
    if missing:
        raise ValueError(f"computed units must be among the units shown; {missing} are not in {list(units)}")
    images = np.asarray(images)
    return np.stack([images[where[int(u)]] if int(u) in where else np.asarray(fill, images.dtype)
                     for u in units]) if len(units) else images[:0]


def spread_result(result: Result, units: Sequence[int], fill: np.ndarray) -> Result:
    """`result` with a place for every unit in `units` (see `spread`); skipped units reach 0."""
    values = spread(np.asarray(result.values)[:, None, None], result.units, units, np.zeros((1, 1)))[:, 0, 0]
    return replace(result, units=[int(u) for u in units], images=spread(result.images, result.units, units, fill),
                   values=values)


def correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each pair of pictures a[i], b[i] (or b broadcast): (N,)."""
    a = np.asarray(a, np.float64).reshape(len(a), -1)
    b = np.broadcast_to(np.asarray(b, np.float64).reshape(-1, a.shape[1]), a.shape)
    a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
    denominator = np.sqrt((a * a).sum(1) * (b * b).sum(1))
    return np.where(denominator > 0, (a * b).sum(1) / np.where(denominator > 0, denominator, 1), 0.0)


def flat(images: np.ndarray, span: float = FLAT_SPAN) -> np.ndarray:
    """(N,) bool: the (N, H, W) pictures (or differences) whose 1st-99th percentile span is under
    `span`, i.e. that a person sees as one flat tone."""
    images = np.asarray(images, np.float32)
    return (np.percentile(images, 99, axis=(1, 2)) - np.percentile(images, 1, axis=(1, 2))) < span


def built(images: np.ndarray, mean_face: np.ndarray, start: str) -> np.ndarray:
    """What the optimiser built: the maps minus the mean face when they started from it (what the
    network adds), else the maps themselves (a noise or gray start holds nothing to subtract)."""
    images = np.asarray(images, np.float32)
    return images - np.asarray(mean_face, np.float32) if start == "mean" else images


def sanity_correlation(images, check_images, mean_face, start: str) -> tuple[np.ndarray, np.ndarray]:
    """The model-randomisation check (Adebayo et al. 2018) per map: (r, comparable). r correlates what
    was built here with what the same settings built on the randomised copy; `comparable` is False
    where either is flat (a map that stayed its start), whose r means nothing. Pass optimised maps
    only: a unit filled in with the mean face (never fires) is no map."""
    if len(images) == 0:
        return np.zeros(0), np.zeros(0, bool)
    here, there = built(images, mean_face, start), built(check_images, mean_face, start)
    return correlation(here, there), ~flat(here) & ~flat(there)


LEARNED_BELOW = 0.3  # a median |r| under this: the maps owe little to the method alone
METHOD_FROM = 0.7  # from this on, a random network draws nearly the same pictures


def sanity_verdict(resemblance: float) -> str:
    """The sanity check's median |r| in words, judged on the figure as printed (two decimals)."""
    printed = round(float(resemblance), 2)
    if printed < LEARNED_BELOW:
        return f"low, under {LEARNED_BELOW:g}: the pictures come mostly from what the network learned"
    if printed < METHOD_FROM:
        return "high: part of what the pictures show comes from the method, not from training"
    return ("very high: a network with random weights draws nearly the same pictures, so they show the method "
            "more than what this network learned")


def saturated_share(images: np.ndarray, margin: float = 0.02) -> float:
    """The share of pixels within `margin` of black or white (clipped, unreadable)."""
    images = np.asarray(images)
    return float(((images <= margin) | (images >= 1 - margin)).mean())


def mostly_black_and_white(images: np.ndarray, margin: float = 0.02, share: float = 0.5) -> np.ndarray:
    """Per map (N, H, W[, 1]): True where more than `share` of its pixels lie within `margin` of black
    or white: steps too large for the picture, which a person reads as blobs."""
    return np.array([saturated_share(image, margin) > share for image in images], bool)


class Engine:
    """HappyMaps for one model; caches its compiled loops across runs.

    mean_image: the average training picture (the 'mean' start; gray is its average).
    face_basis: the training faces' principal components (faceprior.FaceBasis), for image='faces'.
    classes: the decision layer's class names, for labels."""

    def __init__(self, model: keras.Model, mean_image: np.ndarray | None = None,
                 face_basis: faceprior.FaceBasis | None = None, classes: Sequence[str] = (),
                 transforms: Sequence[Callable] = regularizers.YOSINSKI):
        self.model = model
        self.mean_image = (np.full(INPUT_SHAPE[:2], 0.5, np.float32) if mean_image is None
                           else np.asarray(mean_image, np.float32).reshape(INPUT_SHAPE[:2]))
        self.offset = float(self.mean_image.mean())
        self.face_basis = face_basis
        self.classes = tuple(classes)
        self.transforms = tuple(transforms)
        self.decision_layer = model.layers[-1].name
        self._compiled: dict = {}
        self._images: dict = {}
        self._fast_model = surgery.fast_input_gradients(model)  # cloned once, not once per loop
        self._randomized: dict[int, Engine] = {}
        self.compilations = 0

    # ---- public

    def refresh_weights(self) -> None:
        """Take the model's current weights (after training steps): the engine computes with a twin
        of the model that holds its own copy of them."""
        if self._fast_model is not self.model:
            self._fast_model.set_weights(self.model.get_weights())

    def image(self, name: str) -> parameterizations.Parameterization:
        """The image parameterisation called `name` (one of IMAGES), built once."""
        if name not in self._images:
            if name == "pixels":
                self._images[name] = parameterizations.pixels(self.offset)
            elif name == "fourier":
                self._images[name] = parameterizations.fourier(self.offset)
            elif name == "faces":
                if self.face_basis is None:
                    raise ValueError("image 'faces' needs this network's face basis (face_basis.npz, written "
                                     "by `python -m vislib.faceprior`); got none: choose 'pixels' or 'fourier'")
                self._images[name] = parameterizations.face_space(self.face_basis, FACE_COMPONENTS)
            else:
                raise ValueError(f"image must be one of {IMAGES}, got {name!r}")
        return self._images[name]

    def reads_logit(self, layer: str, settings: Settings) -> bool:
        """Whether `layer` is read before its activation: the decision layer on its logit by
        default (a softmax probability saturates at 1 and can rise by lowering the other class)."""
        return layer == self.decision_layer if settings.pre_activation is None else settings.pre_activation

    def unit_labels(self, layer: str, units: Sequence[int]) -> list[str]:
        """'1 · left' for a decision unit when the class names are known, else '1'."""
        if layer == self.decision_layer and self.classes:
            return [f"{u} · {self.classes[u]}" if u < len(self.classes) else str(u) for u in units]
        return [str(u) for u in units]

    def layer(self, layer: str, units: Sequence[int] | None = None, settings: Settings | None = None,
              on_progress: Callable[[Progress], bool | None] | None = None, every: int = 16) -> Result:
        """HappyMaps of the chosen units of a layer (all when `units` is None), in one batch."""
        settings = (settings or Settings()).validated()
        n_units = int(surgery.get_layer(self.model, layer).output.shape[-1])
        units = list(range(n_units)) if units is None else [int(u) for u in units]
        if not units or any(not 0 <= u < n_units for u in units):
            raise ValueError(f"units must be a non-empty list of indices in [0, {n_units}), got {units}")
        pre = self.reads_logit(layer, settings)
        result = self.run(objectives.unit_batch(layer, pre), units, settings, self.image(settings.image),
                          on_progress, every)
        result.layer, result.reading = layer, "logit" if pre else "activation"
        return result

    def randomized(self, seed: int = 0) -> "Engine":
        """The same engine on a copy of the network with re-randomised weights (Adebayo et al.
        2018): run the same settings there to see what the method draws without the network."""
        if seed not in self._randomized:  # one copy a seed, built once
            self._randomized[seed] = Engine(surgery.randomized_copy(self.model, seed), self.mean_image,
                                            self.face_basis, self.classes, self.transforms)
        return self._randomized[seed]

    def run(self, objective: objectives.Objective, units: Sequence[int], settings: Settings,
            image: parameterizations.Parameterization | None = None,
            on_progress: Callable[[Progress], bool | None] | None = None, every: int = 16) -> Result:
        """Maximise `objective` for a batch of len(units) images (units feed `unit_batch`)."""
        settings = settings.validated()
        image = image or self.image(settings.image)
        started = time.perf_counter()
        batch = len(units)
        compilations = self.compilations
        step_fn, values_fn = self._loop(objective, image, batch)
        d = ops.convert_to_tensor(image.start_delta(self.start_pictures(settings, batch)))
        unit_tensor = ops.convert_to_tensor(np.asarray(units, np.int32))
        params = {k: ops.convert_to_tensor(np.float32(getattr(settings, k))) for k in RUNTIME_PARAMS}
        shifts, warps = (ops.convert_to_tensor(a) for a in self._moves(settings))
        every = max(1, int(every))
        done, completed = 0, True
        while done < settings.steps:
            stop = min(done + every, settings.steps)
            d = step_fn(d, ops.convert_to_tensor(np.int32(done)), ops.convert_to_tensor(np.int32(stop)),
                        unit_tensor, params, shifts, warps)
            done = stop
            if on_progress is not None and done < settings.steps:
                snapshot = Progress(done, settings.steps, image.show(d), autodiff.to_numpy(values_fn(d, unit_tensor)))
                if on_progress(snapshot) is False:
                    completed = False
                    break
        values = autodiff.to_numpy(values_fn(d, unit_tensor))
        return Result(layer="", units=list(units), images=image.show(d), values=values, settings=settings,
                      seconds=time.perf_counter() - started, device=autodiff.device_name(),
                      completed=completed, steps_done=done, compiled=self.compilations > compilations)

    def activations(self, objective: objectives.Objective, images: np.ndarray, units: Sequence[int]) -> np.ndarray:
        """The objective's value on given network inputs (N, 60, 64, 1) in [0, 1]."""
        extractor = FeatureExtractor(self._fast_model, objective.layers)
        x = ops.convert_to_tensor(np.asarray(images, np.float32))
        unit_tensor = ops.convert_to_tensor(np.asarray(units, np.int32))
        context = {"acts": extractor(x, unit_tensor), "image": x - self.offset, "units": unit_tensor}
        return autodiff.to_numpy(objective(context))

    def start_pictures(self, settings: Settings, batch: int) -> np.ndarray:
        """The pictures a run starts from, (B, H, W) in [0, 1]: gray noise, flat gray, or the mean face."""
        shape = (batch, *INPUT_SHAPE[:2])
        if settings.start == "gray":
            x = np.full(shape, self.offset, np.float32)
        elif settings.start == "mean":
            x = np.broadcast_to(self.mean_image, shape).copy()
        else:
            x = self.offset + np.random.default_rng(settings.seed).normal(0.0, 0.1, (*shape, 1)).astype(np.float32)[..., 0]
        return np.clip(x, 0.0, 1.0)

    # ---- internals

    def _moves(self, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
        """Each step's random move of the picture (lucid's transformation robustness): a shift of up to
        `jitter` pixels (rows, columns), and a scale factor and a turn in degrees within `scale` and
        `rotate` of none. One shape for every step count: no retrace."""
        rng = np.random.default_rng(settings.seed + 1)
        j = settings.jitter
        shifts = np.zeros((LIMITS["steps"][1], 2), np.int32)
        shifts[: settings.steps] = rng.integers(-j, j + 1, size=(settings.steps, 2))
        warps = np.tile(np.array([1.0, 0.0], np.float32), (LIMITS["steps"][1], 1))
        if settings.scale or settings.rotate:  # drawn apart: the shifts stay those of jitter alone
            turns = np.random.default_rng(settings.seed + 2)
            warps[: settings.steps, 0] = 1.0 + turns.uniform(-settings.scale, settings.scale, settings.steps)
            warps[: settings.steps, 1] = turns.uniform(-settings.rotate, settings.rotate, settings.steps)
        return shifts, warps

    def _loop(self, objective: objectives.Objective, image: parameterizations.Parameterization, batch: int):
        key = (objective.name, objective.layers, image.key, batch)  # the structure, not the slider values
        if key not in self._compiled:
            self._compiled[key] = self._build(objective, image)
        return self._compiled[key]

    def _build(self, objective: objectives.Objective, image: parameterizations.Parameterization):
        extractor = FeatureExtractor(self._fast_model, objective.layers)
        leaky_extractor = FeatureExtractor(self._fast_model, objective.layers, leaky=True)
        offset, transforms = self.offset, self.transforms
        origin = ops.convert_to_tensor(image.origin[None, ..., None])
        low, high = -origin, 1.0 - origin  # delta's range: the picture in [0, 1]
        tv = objectives.total_variation()

        def score(picture, units, tv_weight, warp):
            # scaled and turned inside the differentiated function: the gradient comes back through the move
            picture = ops.cond(ops.logical_or(warp[0] != 1.0, warp[1] != 0.0),
                               lambda: scaled_and_turned(picture, warp[0], warp[1]), lambda: picture)
            context = {"acts": leaky_extractor(picture, units), "image": picture - offset, "units": units}
            value = ops.sum(objective(context))
            # behind a run-time branch: at weight 0 (the default) the penalty and its gradient
            # would still cost about a third of a CPU step
            penalty = ops.cond(tv_weight > 0, lambda: tv_weight * ops.sum(tv(context)), lambda: ops.zeros_like(value))
            return value - penalty

        gradient = autodiff.value_and_grad(score)

        def steps(d, start, stop, units, params, shifts, warps):
            regularize = [make(params) for make in transforms]  # built once, outside the loop body

            def body(step, delta):  # the state: the picture minus the parameterisation's origin
                dy, dx = shifts[step, 0], shifts[step, 1]
                moved = ops.logical_or(dy != 0, dx != 0)
                picture = origin + delta
                shifted = ops.cond(moved, lambda: ops.roll(ops.roll(picture, dy, axis=1), dx, axis=2), lambda: picture)
                _, grad = gradient(shifted, units, params["tv_weight"], warps[step])
                grad = ops.cond(moved, lambda: ops.roll(ops.roll(grad, -dy, axis=1), -dx, axis=2), lambda: grad)
                # a gradient step in the parameters, seen in the picture; normalised so that each
                # step moves the picture by `learning_rate` per pixel on average
                direction = image.precondition(grad)
                size = ops.mean(ops.abs(direction), axis=(1, 2, 3), keepdims=True) + 1e-12
                delta = delta + params["learning_rate"] * direction / size
                for apply in regularize:
                    delta = apply(delta, grad, step + 1)
                return image.restrict(ops.minimum(ops.maximum(delta, low), high))

            return ops.fori_loop(start, stop, body, d)

        def values(d, units):
            picture = ops.clip(origin + d, 0.0, 1.0)  # exactly the picture shown
            return objective({"acts": extractor(picture, units), "image": picture - offset, "units": units})

        self.compilations += 1
        return autodiff.compile(steps), autodiff.compile(values)


def scaled_and_turned(pictures, scale, degrees):
    """(B, H, W, 1) pictures scaled by `scale` and turned by `degrees` about their centre, bilinear, the
    border mirrored in. Sampled with gathers, not `ops.image.affine_transform`: TensorFlow's gradient of
    that transform is an approximation (the inverse transform of the gradient), so the maps differed
    from JAX's and PyTorch's; a gather's gradient is exact on every backend."""
    _, height, width, _ = pictures.shape
    angle = degrees * (np.pi / 180.0)
    cos, sin = ops.cos(angle) / scale, ops.sin(angle) / scale
    cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
    rows, columns = np.meshgrid(np.arange(height) - cy, np.arange(width) - cx, indexing="ij")
    rows, columns = (ops.convert_to_tensor(a.astype(np.float32).ravel()) for a in (rows, columns))
    # each output pixel reads the input where the inverse move takes it
    x = _mirrored(cos * columns - sin * rows + cx, width)
    y = _mirrored(sin * columns + cos * rows + cy, height)
    x0, y0 = ops.floor(x), ops.floor(y)
    wx, wy = x - x0, y - y0
    x0, y0 = ops.cast(x0, "int32"), ops.cast(y0, "int32")
    x1, y1 = ops.minimum(x0 + 1, width - 1), ops.minimum(y0 + 1, height - 1)
    flat = ops.reshape(pictures, (-1, height * width))

    def at(yy, xx):
        return ops.take(flat, yy * width + xx, axis=1)

    top = at(y0, x0) * (1.0 - wx) + at(y0, x1) * wx
    bottom = at(y1, x0) * (1.0 - wx) + at(y1, x1) * wx
    return ops.reshape(top * (1.0 - wy) + bottom * wy, ops.shape(pictures))


def _mirrored(position, size: int):
    """A pixel position mirrored back into [0, size - 1] about the picture's edges (d c b a | a b c d)."""
    period = 2.0 * size
    folded = ops.mod(position + 0.5, period)
    return ops.clip(ops.where(folded < size, folded, period - folded) - 0.5, 0.0, size - 1.0)


@lru_cache(maxsize=None)
def _engine(variant: str, root: str | None) -> Engine:
    from pathlib import Path

    folder = zoo.model_dir(variant, Path(root) if root else None)
    try:
        basis = faceprior.load(folder)
    except faceprior.FaceBasisError:
        basis = None  # 'faces' then says what is missing; 'pixels' and 'fourier' still work
    return Engine(zoo.load(variant, Path(root) if root else None),
                  zoo.read_array(variant, "mean_image.npy", Path(root) if root else None),
                  basis, zoo.variant(variant).classes)


def engine_for(variant: str, root=None) -> Engine:
    """The engine of a shipped variant (model, mean image, face basis and class names from
    models/<variant>/): the one registry of engines, shared by the app, the atlas and the bench."""
    return _engine(variant, str(root) if root else None)


def face_basis_problem(variant: str, root=None) -> str | None:
    """Why a variant's face basis cannot be used (missing or damaged, and how to rebuild it), or None."""
    try:
        faceprior.load(zoo.model_dir(variant, root))
        return None
    except faceprior.FaceBasisError as error:
        return str(error)
