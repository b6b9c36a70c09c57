"""Attribution: which pixels drove a model's decision, one module per method.

    result = attribute(model, image, "gradcam++")      # image (60, 64, 1) or (60, 64) in [0, 1]
    result.heatmap                                     # (60, 64) float32 in [0, 1]

Inputs are checked here, at the public edge; the method modules trust what they get.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from vislib import autodiff
from vislib.attribution import gradcam, occlusion, saliency, score

METHODS = {
    "saliency": saliency.saliency,
    "smoothgrad": saliency.smoothgrad,
    "gradcam": gradcam.gradcam,
    "gradcam++": gradcam.gradcam_plus_plus,
    "occlusion": occlusion.occlusion,
}
LAYER_METHODS = ("gradcam", "gradcam++")
LABELS = {"saliency": "Saliency", "smoothgrad": "SmoothGrad", "gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++",
          "occlusion": "Occlusion"}
# What to show instead when a method's map is empty: occlusion needs no gradient.
FALLBACK = {"gradcam": "occlusion", "gradcam++": "occlusion", "saliency": "occlusion", "smoothgrad": "occlusion"}
EPSILON = 1e-7  # tf-keras-vis's normalisation epsilon (keras.backend.epsilon())

__all__ = ["METHODS", "LAYER_METHODS", "LABELS", "FALLBACK", "Attribution", "attribute", "conv_layers", "normalize"]


@dataclass(frozen=True)
class Attribution:
    """A heatmap (H, W) in [0, 1] and what it explains: the class, its score, the method."""

    heatmap: np.ndarray
    class_index: int
    method: str
    layer: str | None
    score: float


def normalize(values: np.ndarray) -> np.ndarray:
    """(v - min) / (max - min + 1e-7), as tf-keras-vis normalises its maps, in float32."""
    values = np.asarray(values, np.float32)
    low, high = values.min(), values.max()
    return ((values - low) / (high - low + EPSILON)).astype(np.float32)


NEARLY_EMPTY_SHARE = 0.01  # less than this share of a map reaching a twentieth of its peak: it shows nothing


def shows_something(heatmap: np.ndarray) -> bool:
    """Whether a person sees anything in a heatmap: at least 1% of it reaches a twentieth of its peak. A
    Grad-CAM map that is zero but for one cell at the corner is read as "the network looks at the corner"."""
    heatmap = np.asarray(heatmap)
    peak = float(heatmap.max()) if heatmap.size else 0.0
    return peak > 0 and float((heatmap >= 0.05 * peak).mean()) >= NEARLY_EMPTY_SHARE


def conv_layers(model: keras.Model) -> list[str]:
    """Names of the model's Conv2D layers, in order: the layers Grad-CAM accepts."""
    return [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def attribute(model: keras.Model, image, method: str, class_index: int | None = None,
              layer: str | None = None, **options) -> Attribution:
    """Attribute `model`'s score for `class_index` (None: the predicted class) to the pixels.

    `image` is one (H, W, C) or, for one channel, (H, W) float array in [0, 1]. `method` is a
    key of METHODS; `layer` (Grad-CAM methods only) names a Conv2D layer, the last by default.
    The score is the decision layer's pre-activation (the logit) for softmax models.
    Options: smoothgrad takes samples=20, noise_level=0.2, seed=0; occlusion takes patch=12, stride=4.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    accepted = [p for p in inspect.signature(METHODS[method]).parameters
                if p not in ("model", "x", "class_index", "layer")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"{method} accepts the options {accepted}, got {unknown}")
    x = _validated_image(model, image)
    scores = autodiff.to_numpy(_scores(model)(ops.convert_to_tensor(x)))[0]
    class_index = int(np.argmax(scores)) if class_index is None else _validated_class(class_index, len(scores))
    if method in LAYER_METHODS:
        layer = _validated_layer(model, layer)
        raw = METHODS[method](model, x, class_index, layer, **options)
    else:
        if layer is not None:
            raise ValueError(f"layer applies only to {list(LAYER_METHODS)}; {method} takes no layer, got {layer!r}")
        raw = METHODS[method](model, x, class_index, **options)
    return Attribution(normalize(raw), class_index, method, layer, float(scores[class_index]))


def _scores(model: keras.Model):
    def build():
        _, head = score.logit_model(model)
        return autodiff.compile(head)

    return score.compiled(model, ("scores",), build)


def _validated_image(model: keras.Model, image) -> np.ndarray:
    shape = tuple(int(d) for d in model.input.shape[1:])
    shapes = [shape] + ([shape[:2]] if shape[-1] == 1 else [])
    expected = " or ".join(str(s) for s in shapes)
    try:
        array = np.asarray(image)
    except Exception:
        raise ValueError(f"image must be a float array of shape {expected}, got {type(image).__name__}") from None
    if array.shape not in shapes:
        raise ValueError(f"image must have shape {expected}, got {array.shape}")
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"image must be a float array with values in [0, 1], got dtype {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise ValueError("image must be finite, got NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(f"image values must be in [0, 1], got range [{low:g}, {high:g}]")
    return array.reshape((1, *shape)).astype(np.float32)


def _validated_class(class_index, n_classes: int) -> int:
    if isinstance(class_index, bool) or not isinstance(class_index, (int, np.integer)) \
            or not 0 <= class_index < n_classes:
        raise ValueError(f"class_index must be None or an integer in [0, {n_classes}) for this model, "
                         f"got {class_index!r}")
    return int(class_index)


def _validated_layer(model: keras.Model, layer) -> str:
    names = conv_layers(model)
    if not names:
        raise ValueError(f"Grad-CAM needs a Conv2D layer; {model.name!r} has none")
    if layer is None:
        return names[-1]
    if layer not in names:
        raise ValueError(f"layer must be the name of a Conv2D layer, one of {names}, got {layer!r}")
    return layer
