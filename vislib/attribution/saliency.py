"""Vanilla gradient saliency and SmoothGrad (tf-keras-vis 0.8.7 `Saliency` semantics).

tf-keras-vis takes |gradient| of each noisy copy (its default `gradient_modifier`), averages
those over the copies, then takes the max over channels; so does this module.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from vislib import autodiff
from vislib.attribution import score

MAX_SAMPLES = 1000


def _build(model: keras.Model):
    _, head = score.logit_model(model)

    def class_score(x, class_index):
        return score.select(head(x), class_index)

    gradient = autodiff.value_and_grad(class_score)

    def run(x, class_index):
        _, grad = gradient(x, class_index)
        return ops.max(ops.mean(ops.abs(grad), axis=0), axis=-1)

    return autodiff.compile(run)


def _mean_abs_gradient(model: keras.Model, x: np.ndarray, class_index: int) -> np.ndarray:
    run = score.compiled(model, ("saliency",), lambda: _build(model))
    return autodiff.to_numpy(run(ops.convert_to_tensor(x), ops.convert_to_tensor(np.int32(class_index))))


def saliency(model: keras.Model, x: np.ndarray, class_index: int) -> np.ndarray:
    """|d score / d x|, max over channels: (H, W), not normalised. `x` is (1, H, W, C) float32."""
    return _mean_abs_gradient(model, x, class_index)


def smoothgrad(model: keras.Model, x: np.ndarray, class_index: int,
               samples: int = 20, noise_level: float = 0.2, seed: int = 0) -> np.ndarray:
    """Mean of |gradient| over `samples` noisy copies of `x`, noise std noise_level * (max - min).

    The noise is drawn like tf-keras-vis draws it (legacy `np.random.normal`, one (H, W, C)
    block per copy, in order), so `np.random.seed(seed)` before tf-keras-vis gives the same copies.
    """
    for name, value, low, high in (("samples", samples, 1, MAX_SAMPLES), ("seed", seed, 0, 2**32 - 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
            raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    if isinstance(noise_level, bool) or not isinstance(noise_level, (int, float, np.floating)) \
            or not np.isfinite(noise_level) or noise_level < 0:
        raise ValueError(f"noise_level must be a finite number >= 0, got {noise_level!r}")
    sigma = float(noise_level) * float(x.max() - x.min())
    noise = np.random.RandomState(int(seed)).normal(0.0, sigma, (int(samples), *x.shape[1:]))
    return _mean_abs_gradient(model, (x + noise).astype(np.float32), class_index)
