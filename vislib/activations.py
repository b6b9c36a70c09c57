"""Every layer's response to an input, and the network's decision."""

from __future__ import annotations

from dataclasses import dataclass
from weakref import WeakKeyDictionary

import keras
import numpy as np

from vislib.settings import INPUT_SHAPE

_PROBES: WeakKeyDictionary = WeakKeyDictionary()


def _check_inputs(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[1:] != INPUT_SHAPE:
        raise ValueError(f"expected network input of shape {INPUT_SHAPE} or (N, *{INPUT_SHAPE}), got {x.shape}")
    return x


def shown_layers(model: keras.Model) -> list[str]:
    """Layers worth showing: everything but the input, the flatten and dropout (in use, a copy of its input)."""
    return [l.name for l in model.layers
            if not isinstance(l, (keras.layers.InputLayer, keras.layers.Flatten, keras.layers.Dropout))]


def layer_activations(model: keras.Model, x) -> dict[str, np.ndarray]:
    """Each shown layer's output for one input (60, 64, 1): (H, W, C) for conv/pool, (C,) for dense."""
    batch = _check_inputs(x)
    if model not in _PROBES:
        names = shown_layers(model)
        _PROBES[model] = (names, keras.Model(model.input, [model.get_layer(n).output for n in names]))
    names, probe = _PROBES[model]
    outs = probe(batch, training=False)
    return {n: keras.ops.convert_to_numpy(o)[0] for n, o in zip(names, outs)}


@dataclass
class Decision:
    classes: tuple
    scores: np.ndarray  # probabilities for softmax models, raw outputs otherwise
    probabilities: bool

    @property
    def label(self) -> str:
        return self.classes[int(np.argmax(self.scores))]

    @property
    def index(self) -> int:
        return int(np.argmax(self.scores))


def decide(model: keras.Model, x, classes) -> Decision:
    """The network's scores for one input and the class it picks."""
    scores = keras.ops.convert_to_numpy(model(_check_inputs(x), training=False))[0]
    softmax = getattr(model.layers[-1].activation, "__name__", "") == "softmax"
    return Decision(tuple(classes), scores, softmax)
