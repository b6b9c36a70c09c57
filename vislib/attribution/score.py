"""The class score that attribution differentiates, and the cache of compiled functions.

For a softmax model the score is the decision layer's pre-activation (the logit), as
tf-keras-vis's `ReplaceToLinear` makes it; for a linear decision layer it is the output. The
model is never modified: a linear copy of the decision layer is applied to that layer's input.
"""

from __future__ import annotations

import weakref
from typing import Callable

import keras
from keras import ops

from vislib import zoo

_COMPILED: "weakref.WeakKeyDictionary[keras.Model, dict]" = weakref.WeakKeyDictionary()


def compiled(model: keras.Model, key: tuple, build: Callable[[], Callable]) -> Callable:
    """`build()` once per (model, key); later calls get the same compiled function."""
    per_model = _COMPILED.setdefault(model, {})
    if key not in per_model:
        per_model[key] = build()
    return per_model[key]


def _decision_layer(model: keras.Model):
    layer = model.layers[-1]
    if not hasattr(layer, "activation") or len(model.outputs) != 1:
        raise ValueError(f"attribution needs one decision layer with an activation last; "
                         f"{model.name!r} ends with {type(layer).__name__} {layer.name!r}")
    return layer


def logit_model(model: keras.Model, layer: str | None = None) -> tuple[Callable, Callable]:
    """(trunk, head): trunk maps the input to `layer`'s output (the input itself when None),
    head maps that to the class scores (B, classes)."""
    decision = _decision_layer(model)
    linear = zoo.linear_copy(decision, "_logits")
    if layer is None:
        features = keras.Model(model.input, decision.input)

        def identity(x):
            return x

        def scores_of_input(x):
            return linear(features(x))

        return identity, scores_of_input
    target = model.get_layer(layer).output
    trunk = keras.Model(model.input, target)
    features = keras.Model(target, decision.input)

    def scores_of_features(a):
        return linear(features(a))

    return trunk, scores_of_features


def select(scores, class_index):
    """The sum over the batch of the scores of class `class_index` (an int tensor)."""
    return ops.sum(scores * ops.one_hot(class_index, scores.shape[-1], dtype=scores.dtype))
