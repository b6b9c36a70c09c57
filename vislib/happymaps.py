"""HappyMaps: activation maximisation with the regularisers of Yosinski et al. 2015.

All requested units of a layer are optimised together, one batch item a unit, in one compiled
loop whose slider values are run-time arguments: moving a slider never recompiles.

    engine = Engine(model, mean_image)
    result = engine.layer("conv2d_2", units=[0, 3], settings=Settings.from_preset("yosinski-3"))
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Callable, Iterable, Sequence

import keras
import numpy as np
from keras import ops

from vislib import autodiff, objectives, regularizers, zoo
from vislib.settings import INPUT_SHAPE

START_IMAGES = ("noise", "gray", "mean")
DEFAULT_PRESET = "yosinski-3"

# Each slider's accepted range: values outside are refused with a message, never clipped silently.
LIMITS = {
    "steps": (1, 4096),
    "learning_rate": (0.0, 100.0),
    "decay": (0.0, 1.0),
    "blur_sigma": (0.0, 3.0),
    "blur_every": (0, 10_000),
    "norm_pct": (0.0, 100.0),
    "contrib_pct": (0.0, 100.0),
    "jitter": (0, 16),
    "tv_weight": (0.0, 100.0),
    "seed": (0, 2**31 - 1),
}
RUNTIME_PARAMS = ("learning_rate", "decay", "blur_sigma", "blur_every", "norm_pct", "contrib_pct", "tv_weight")


@dataclass(frozen=True)
class Settings:
    """Everything a user can set for one HappyMaps run."""

    steps: int = 128
    learning_rate: float = 0.05
    decay: float = 0.0001
    blur_sigma: float = 1.0
    blur_every: int = 4
    norm_pct: float = 0.0
    contrib_pct: float = 0.0
    jitter: int = 0
    tv_weight: float = 0.0
    seed: int = 0
    start: str = "noise"
    pre_activation: bool = False

    @classmethod
    def from_preset(cls, name: str = DEFAULT_PRESET, **overrides) -> "Settings":
        """The paper's hyper-parameters for the four regularisers, plus any overrides."""
        if name not in regularizers.PRESETS:
            raise ValueError(f"preset must be one of {list(regularizers.PRESETS)}, got {name!r}")
        return cls(**{**asdict(regularizers.PRESETS[name]), **overrides})

    def validated(self) -> "Settings":
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
            if not low <= value <= high:
                raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")
        if self.start not in START_IMAGES:
            raise ValueError(f"start must be one of {START_IMAGES}, got {self.start!r}")
        return self

    def preset_name(self) -> str | None:
        for name, preset in regularizers.PRESETS.items():
            if all(getattr(self, k) == v for k, v in asdict(preset).items()):
                return name
        return None


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


LEAK = 0.01


def _leaky(pre):
    return ops.relu(pre) + LEAK * ops.minimum(pre, 0.0)


class _Activation:
    """A layer's activation read on its own (pre-activation) output: true, leaky or none."""

    def __init__(self, layer, pre: bool, leaky: bool):
        name = getattr(getattr(layer, "activation", None), "__name__", "linear")
        self.fn = (None if pre or name == "linear" else _leaky if leaky and name == "relu"
                   else layer.activation)
        self.elementwise = self.fn is None or name not in ("softmax", "log_softmax")  # one unit at a time

    def __call__(self, z):
        return z if self.fn is None else self.fn(z)


class _PreActivation:
    def __init__(self, linear, activation: _Activation):
        self.linear, self.activation = linear, activation

    def __call__(self, inputs, units):
        return self.activation(self.linear(inputs))


def _plain_same_conv(layer) -> bool:
    """A Conv2D with stride 1, no dilation, no groups, 'same' padding, channels last."""
    return (isinstance(layer, keras.layers.Conv2D) and layer.padding == "same" and layer.groups == 1
            and tuple(layer.strides) == (1, 1) and tuple(layer.dilation_rate) == (1, 1)
            and layer.data_format == "channels_last")


class _OwnUnit:
    """Batch item i's own unit `units[i]` of a Conv2D or Dense layer, (B, H, W, 1) or (B, 1),
    computed from that unit's weights alone: a grouped convolution with one group per batch
    item, or one dot product per item. A fraction of the cost of the whole layer."""

    def __init__(self, layer, activation: _Activation):
        self.layer, self.activation = layer, activation
        self.conv = isinstance(layer, keras.layers.Conv2D)

    @staticmethod
    def supports(layer) -> bool:
        return isinstance(layer, keras.layers.Dense) or _plain_same_conv(layer)

    def __call__(self, inputs, units):
        kernel = ops.take(self.layer.kernel, units, axis=-1)
        if self.conv:
            _, h, w, _ = inputs.shape
            stacked = ops.reshape(ops.transpose(inputs, (1, 2, 0, 3)), (1, h, w, -1))  # items side by side
            z = ops.expand_dims(ops.transpose(autodiff.grouped_conv(stacked, kernel)[0], (2, 0, 1)), -1)
        else:
            z = ops.sum(inputs * ops.transpose(kernel), axis=-1, keepdims=True)
        if self.layer.use_bias:
            z = z + ops.reshape(ops.take(self.layer.bias, units, axis=0), (-1,) + (1,) * (len(z.shape) - 1))
        return self.activation(z)


class _OneChannelConv2D(keras.layers.Conv2D):
    """A Conv2D of one-channel images through `autodiff.one_channel_conv`: the same values, and
    an input gradient twice as fast on TensorFlow's CPU."""

    def convolution_op(self, inputs, kernel):
        return autodiff.one_channel_conv(inputs, kernel)

    @staticmethod
    def supports(layer) -> bool:
        return (type(layer) is keras.layers.Conv2D and _plain_same_conv(layer)
                and all(k % 2 for k in layer.kernel_size) and layer.input.shape[-1] == 1)


def _fast_input_gradients(model: keras.Model) -> keras.Model:
    """A copy of `model` (same weights, nothing shared) whose convolutions of one-channel images
    are `_OneChannelConv2D`s; the model itself when it has none."""
    if not any(_OneChannelConv2D.supports(layer) for layer in model.layers):
        return model

    def clone(layer):
        kind = _OneChannelConv2D if _OneChannelConv2D.supports(layer) else type(layer)
        return kind.from_config(layer.get_config())

    twin = keras.models.clone_model(model, clone_function=clone)
    twin.set_weights(model.get_weights())
    return twin


def _own(activation, units):
    """(B, ..., C) -> (B, ..., 1): each item's own unit of a whole layer's output."""
    index = ops.reshape(ops.cast(units, "int32"), (-1,) + (1,) * (len(activation.shape) - 1))
    return ops.take_along_axis(activation, index, axis=-1)


class FeatureExtractor:
    """Maps an input batch to the activations (or pre-activations) of layer keys (see objectives).

    With `leaky=True`, a ReLU layer's activation is read as relu(z) + 0.01 min(z, 0): a unit
    that is silent on the start image still gets a gradient (lucid's "redirected ReLU" idea);
    the small leak barely moves what maximises the unit. Reported values use the true activation.
    """

    def __init__(self, model: keras.Model, keys: Iterable[str], leaky: bool = False):
        model = _fast_input_gradients(model)
        self.keys = tuple(sorted(keys))
        outputs, self._heads, self._own = [], {}, set()
        for key in self.keys:
            name, pre, own = objectives.parse_key(key)
            layer = _get_layer(model, name)
            activation = _Activation(layer, pre, leaky)
            if own and activation.elementwise and _OwnUnit.supports(layer):
                self._heads[key] = _OwnUnit(layer, activation)
            elif pre or activation.fn is _leaky:
                self._heads[key] = _PreActivation(zoo.linear_copy(layer), activation)
            if own and not isinstance(self._heads.get(key), _OwnUnit):
                self._own.add(key)  # the whole layer, then each item's own unit
            outputs.append(layer.input if key in self._heads else layer.output)
        self._model = keras.Model(model.input, outputs) if outputs else None

    def __call__(self, x, units=None) -> dict:
        """`units` (one per batch item) is needed for ":own" keys only."""
        if self._model is None:
            return {}
        outs = self._model(x)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        acts = {}
        for key, out in zip(self.keys, outs):
            out = self._heads[key](out, units) if key in self._heads else out
            acts[key] = _own(out, units) if key in self._own else out
        return acts


def _get_layer(model, name: str):
    try:
        return model.get_layer(name)
    except ValueError:
        raise ValueError(f"layer must be one of {[l.name for l in model.layers]}, got {name!r}") from None


class Engine:
    """HappyMaps for one model; caches its compiled loops across runs."""

    def __init__(self, model: keras.Model, mean_image: np.ndarray | None = None,
                 transforms: Sequence[Callable] = regularizers.YOSINSKI):
        self.model = model
        self.mean_image = (np.full(INPUT_SHAPE[:2], 0.5, np.float32) if mean_image is None
                           else np.asarray(mean_image, np.float32).reshape(INPUT_SHAPE[:2]))
        self.offset = float(self.mean_image.mean())
        self.transforms = tuple(transforms)
        self._compiled: dict = {}
        self.compilations = 0

    # ---- public

    def layer(self, layer: str, units: Sequence[int] | None = None, settings: Settings | None = None,
              on_progress: Callable[[Progress], bool | None] | None = None, every: int = 16) -> Result:
        """HappyMaps of the chosen units of a layer (all when `units` is None), in one batch."""
        settings = (settings or Settings.from_preset()).validated()
        n_units = int(_get_layer(self.model, layer).output.shape[-1])
        units = list(range(n_units)) if units is None else [int(u) for u in units]
        if not units or any(not 0 <= u < n_units for u in units):
            raise ValueError(f"units must be a non-empty list of indices in [0, {n_units}), got {units}")
        objective = objectives.unit_batch(layer, settings.pre_activation)
        result = self.run(objective, units, settings, on_progress, every)
        result.layer = layer
        return result

    def run(self, objective: objectives.Objective, units: Sequence[int], settings: Settings,
            on_progress: Callable[[Progress], bool | None] | None = None, every: int = 16) -> Result:
        """Maximise `objective` for a batch of len(units) images (units feed `unit_batch`)."""
        settings = settings.validated()
        started = time.perf_counter()
        batch = len(units)
        compilations = self.compilations
        step_fn, values_fn = self._loop(objective, batch)
        x = ops.convert_to_tensor(self._start(settings, batch))
        unit_tensor = ops.convert_to_tensor(np.asarray(units, np.int32))
        params = {k: ops.convert_to_tensor(np.float32(getattr(settings, k))) for k in RUNTIME_PARAMS}
        shifts = ops.convert_to_tensor(self._shifts(settings))
        every = max(1, int(every))
        done, completed = 0, True
        while done < settings.steps:
            stop = min(done + every, settings.steps)
            x = step_fn(x, ops.convert_to_tensor(np.int32(done)), ops.convert_to_tensor(np.int32(stop)),
                        unit_tensor, params, shifts)
            done = stop
            if on_progress is not None and done < settings.steps:
                snapshot = Progress(done, settings.steps, self._display(x), autodiff.to_numpy(values_fn(x, unit_tensor)))
                if on_progress(snapshot) is False:
                    completed = False
                    break
        values = autodiff.to_numpy(values_fn(x, unit_tensor))
        return Result(layer="", units=list(units), images=self._display(x), values=values, settings=settings,
                      seconds=time.perf_counter() - started, device=autodiff.device_name(),
                      completed=completed, steps_done=done, compiled=self.compilations > compilations)

    def activations(self, objective: objectives.Objective, images: np.ndarray, units: Sequence[int]) -> np.ndarray:
        """The objective's value on given network inputs (N, 60, 64, 1) in [0, 1]."""
        extractor = FeatureExtractor(self._fast_model, objective.layers)
        x = ops.convert_to_tensor(np.asarray(images, np.float32))
        unit_tensor = ops.convert_to_tensor(np.asarray(units, np.int32))
        context = {"acts": extractor(x, unit_tensor), "image": x - self.offset, "units": unit_tensor}
        return autodiff.to_numpy(objective(context))

    # ---- internals

    @cached_property
    def _fast_model(self) -> keras.Model:
        return _fast_input_gradients(self.model)  # cloned once, not once per compiled loop

    def _start(self, settings: Settings, batch: int) -> np.ndarray:
        shape = (batch, *INPUT_SHAPE)
        if settings.start == "gray":
            x = np.zeros(shape, np.float32)
        elif settings.start == "mean":
            x = np.broadcast_to((self.mean_image - self.offset)[None, ..., None], shape).copy()
        else:
            x = np.random.default_rng(settings.seed).normal(0.0, 0.1, shape).astype(np.float32)
        return np.clip(x, -self.offset, 1.0 - self.offset)

    def _shifts(self, settings: Settings) -> np.ndarray:
        rng = np.random.default_rng(settings.seed + 1)
        j = settings.jitter
        shifts = np.zeros((LIMITS["steps"][1], 2), np.int32)  # one shape for every step count: no retrace
        shifts[: settings.steps] = rng.integers(-j, j + 1, size=(settings.steps, 2))
        return shifts

    def _display(self, x) -> np.ndarray:
        return np.clip(autodiff.to_numpy(x)[..., 0] + self.offset, 0.0, 1.0)

    def _loop(self, objective: objectives.Objective, batch: int):
        key = (objective.name, objective.layers, batch)  # the structure, not the slider values
        if key not in self._compiled:
            self._compiled[key] = self._build(objective)
        return self._compiled[key]

    def _build(self, objective: objectives.Objective):
        extractor = FeatureExtractor(self._fast_model, objective.layers)
        leaky_extractor = FeatureExtractor(self._fast_model, objective.layers, leaky=True)
        offset, transforms = self.offset, self.transforms
        low, high = -offset, 1.0 - offset
        tv = objectives.total_variation()

        def score(z, units, tv_weight):
            context = {"acts": leaky_extractor(z + offset, units), "image": z, "units": units}
            value = ops.sum(objective(context))
            # behind a run-time branch: at weight 0 (the default) the penalty and its gradient
            # would still cost about a third of a CPU step
            penalty = ops.cond(tv_weight > 0, lambda: tv_weight * ops.sum(tv(context)), lambda: ops.zeros_like(value))
            return value - penalty

        gradient = autodiff.value_and_grad(score)

        def steps(x, start, stop, units, params, shifts):
            def body(step, x):
                dy, dx = shifts[step, 0], shifts[step, 1]
                moved = ops.logical_or(dy != 0, dx != 0)
                shifted = ops.cond(moved, lambda: ops.roll(ops.roll(x, dy, axis=1), dx, axis=2), lambda: x)
                _, grad = gradient(shifted, units, params["tv_weight"])
                grad = ops.cond(moved, lambda: ops.roll(ops.roll(grad, -dy, axis=1), -dx, axis=2), lambda: grad)
                scale = ops.mean(ops.abs(grad), axis=(1, 2, 3), keepdims=True) + 1e-12
                x = x + params["learning_rate"] * grad / scale
                for make in transforms:
                    x = make(params)(x, grad, step + 1)
                return ops.clip(x, low, high)

            return ops.fori_loop(start, stop, body, x)

        def values(x, units):
            return objective({"acts": extractor(x + offset, units), "image": x, "units": units})

        self.compilations += 1
        return autodiff.compile(steps), autodiff.compile(values)


_ENGINES: dict = {}


def engine_for(variant: str, root=None) -> Engine:
    """The engine of a shipped variant (model and mean image from models/<variant>/)."""
    key = (variant, str(root))
    if key not in _ENGINES:
        _ENGINES[key] = Engine(zoo.load(variant, root), zoo.read_array(variant, "mean_image.npy", root))
    return _ENGINES[key]
