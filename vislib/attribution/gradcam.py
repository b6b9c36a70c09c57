"""Grad-CAM and Grad-CAM++ on a Conv2D layer (tf-keras-vis 0.8.7 `Gradcam`, `GradcamPlusPlus`).

The map is upsampled to the input size by bilinear interpolation with corners aligned, which
is what tf-keras-vis's `scipy.ndimage.zoom(order=1)` does (half-pixel resizing such as
`keras.ops.image.resize` moves the map by up to a third of its range at the borders).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from vislib import autodiff
from vislib.attribution import score


def _interpolation(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix of linear interpolation with the end points aligned."""
    matrix = np.zeros((n_out, n_in), np.float32)
    if n_in == 1 or n_out == 1:
        matrix[:, 0] = 1.0
        return matrix
    position = np.arange(n_out) * (n_in - 1) / (n_out - 1)
    low = np.minimum(np.floor(position).astype(int), n_in - 2)
    weight = position - low
    matrix[np.arange(n_out), low] = 1.0 - weight
    matrix[np.arange(n_out), low + 1] = weight
    return matrix


def _gradcam_weights(a, grad, value):
    return ops.mean(grad, axis=(1, 2), keepdims=True)


def _gradcam_plus_plus_weights(a, grad, value):
    # tf-keras-vis's operations in its order: the alphas are ill-conditioned where
    # 2 + g * sum(A) is near 0, so a different rounding would change the map visibly there.
    # exp(score) is a positive factor that normalisation removes; clipping the score keeps it
    # finite (tf-keras-vis gives NaN above 88) and changes nothing below 80.
    first = ops.exp(ops.clip(value, -80.0, 80.0)) * grad
    second = first * grad
    third = second * grad
    global_sum = ops.sum(a, axis=(1, 2), keepdims=True)
    denominator = second * 2.0 + third * global_sum
    alphas = second / (denominator + ops.cast(ops.equal(second, 0.0), second.dtype))
    total = ops.sum(alphas, axis=(1, 2), keepdims=True)
    alphas = alphas / (total + ops.cast(ops.equal(total, 0.0), total.dtype))
    return ops.sum(ops.relu(first) * alphas, axis=(1, 2), keepdims=True)


def _build(model: keras.Model, layer: str, weights):
    trunk, head = score.logit_model(model, layer)

    def class_score(a, class_index):
        return score.select(head(a), class_index)

    gradient = autodiff.value_and_grad(class_score)
    _, h, w, _ = model.get_layer(layer).output.shape
    height, width = model.input.shape[1:3]
    rows = ops.convert_to_tensor(_interpolation(h, height))
    cols = ops.convert_to_tensor(_interpolation(w, width).T)

    def run(x, class_index):
        a = trunk(x)
        value, grad = gradient(a, class_index)
        cam = ops.relu(ops.sum(a * weights(a, grad, value), axis=-1))[0]
        return ops.matmul(ops.matmul(rows, cam), cols)

    return autodiff.compile(run)


def _cam(model, x, class_index, layer, name, weights) -> np.ndarray:
    run = score.compiled(model, (name, layer), lambda: _build(model, layer, weights))
    return autodiff.to_numpy(run(ops.convert_to_tensor(x), ops.convert_to_tensor(np.int32(class_index))))


def gradcam(model: keras.Model, x: np.ndarray, class_index: int, layer: str) -> np.ndarray:
    """ReLU(sum_k mean(dS/dA_k) A_k) on Conv2D `layer`, upsampled to (H, W), not normalised."""
    return _cam(model, x, class_index, layer, "gradcam", _gradcam_weights)


def gradcam_plus_plus(model: keras.Model, x: np.ndarray, class_index: int, layer: str) -> np.ndarray:
    """Grad-CAM++ (Chattopadhyay et al. 2018) on Conv2D `layer`, upsampled to (H, W), not normalised."""
    return _cam(model, x, class_index, layer, "gradcam++", _gradcam_plus_plus_weights)


def layer_gradient(model: keras.Model, x: np.ndarray, class_index: int, layer: str) -> tuple[np.ndarray, np.ndarray]:
    """(activations, gradient of the class score) at Conv2D `layer`, each (h, w, channels): what
    Grad-CAM averages into one weight per channel."""
    def build():
        trunk, head = score.logit_model(model, layer)
        gradient = autodiff.value_and_grad(lambda a, c: score.select(head(a), c))

        def run(x, class_index):
            a = trunk(x)
            return a, gradient(a, class_index)[1]

        return autodiff.compile(run)

    run = score.compiled(model, ("layer_gradient", layer), build)
    a, grad = run(ops.convert_to_tensor(x), ops.convert_to_tensor(np.int32(class_index)))
    return autodiff.to_numpy(a)[0], autodiff.to_numpy(grad)[0]


def before_averaging(model: keras.Model, x: np.ndarray, class_index: int, layer: str) -> np.ndarray:
    """ReLU(sum_k A_k dS/dA_k) place by place on Conv2D `layer`, upsampled to (H, W): Grad-CAM before
    it averages each feature's gradient over the picture (not normalised)."""
    a, grad = layer_gradient(model, x, class_index, layer)
    height, width = model.input.shape[1:3]
    place = np.maximum((a * grad).sum(axis=-1), 0.0)
    return _interpolation(a.shape[0], height) @ place @ _interpolation(a.shape[1], width).T
