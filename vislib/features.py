"""Feature extraction for HappyMaps: a batch of images -> the activations an objective reads."""

from __future__ import annotations

from typing import Iterable

import keras

from vislib import objectives, surgery, zoo


class FeatureExtractor:
    """Maps an input batch to the activations (or pre-activations) of layer keys (see objectives).

    With `leaky=True`, a ReLU layer's activation is read as relu(z) + 0.01 min(z, 0): a unit
    that is silent on the start image still gets a gradient (lucid's "redirected ReLU" idea);
    the small leak barely moves what maximises the unit. Reported values use the true activation.
    """

    def __init__(self, model: keras.Model, keys: Iterable[str], leaky: bool = False):
        model = surgery.fast_input_gradients(model)
        self.keys = tuple(sorted(keys))
        outputs, self._heads, self._own = [], {}, set()
        for key in self.keys:
            name, pre, own = objectives.parse_key(key)
            layer = surgery.get_layer(model, name)
            activation = surgery.Activation(layer, pre, leaky)
            if own and activation.elementwise and surgery.OwnUnit.supports(layer):
                self._heads[key] = surgery.OwnUnit(layer, activation)
            elif pre or activation.fn is surgery.leaky_relu:
                self._heads[key] = surgery.PreActivation(zoo.linear_copy(layer), activation)
            if own and not isinstance(self._heads.get(key), surgery.OwnUnit):
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
            acts[key] = surgery.own(out, units) if key in self._own else out
        return acts
