"""Input normalisation layers a variant can put in front of its network (Experiment 2).

Each one is the first layer after the input, inside the saved model, so the upload path, the
HappyMaps optimiser and attribution all see the same network on the same [0, 1] image, and
the normalisation can never be forgotten at use time.

- `Standardise`: each image minus its mean, divided by its standard deviation. A brighter,
  darker or flatter photograph gives the same numbers: global exposure carries no signal.
- `LocalContrast`: local contrast normalisation (each pixel minus a Gaussian-weighted local
  mean, divided by the local standard deviation). Also removes slow shading across the face
  and the backdrop's brightness, keeping edges and features.
- `local_contrast_fine`: the same over a 4-pixel window instead of 8: what is left is closer to
  the edges of the eyes, nose and mouth, and the shading of a studio's light goes with the rest.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

KINDS = ("standardise", "local_contrast", "local_contrast_fine")


@keras.saving.register_keras_serializable(package="happymaps")
class Standardise(keras.layers.Layer):
    """(x - mean(x)) / (std(x) + floor), per image; `floor` keeps a flat image finite."""

    def __init__(self, floor: float = 0.05, **kwargs):
        super().__init__(**kwargs)
        self.floor = float(floor)

    def call(self, x):
        mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
        std = ops.std(x, axis=(1, 2, 3), keepdims=True)
        return (x - mean) / (std + self.floor)

    def get_config(self):
        return {**super().get_config(), "floor": self.floor}


def gaussian_kernel(sigma: float) -> np.ndarray:
    """A normalised 1-D Gaussian of k = 2 * ceil(3 sigma) + 1 taps (the 2-D one is separable)."""
    if not sigma > 0:
        raise ValueError(f"sigma must be a positive number of pixels, got {sigma!r}")
    radius = int(np.ceil(3 * sigma))
    t = np.arange(-radius, radius + 1, dtype=np.float32)
    g = np.exp(-t ** 2 / (2 * sigma ** 2))
    return (g / g.sum()).astype(np.float32)


@keras.saving.register_keras_serializable(package="happymaps")
class LocalContrast(keras.layers.Layer):
    """(x - local mean) / sqrt(local variance + eps), Gaussian window of `sigma` pixels."""

    def __init__(self, sigma: float = 8.0, eps: float = 0.01, **kwargs):
        super().__init__(**kwargs)
        self.sigma, self.eps = float(sigma), float(eps)
        g = gaussian_kernel(self.sigma)
        self._rows, self._columns = g[:, None, None, None], g[None, :, None, None]

    def _blur(self, x):  # a Gaussian blur with zero padding, as two 1-D passes
        rows = ops.convert_to_tensor(self._rows, dtype=x.dtype)
        columns = ops.convert_to_tensor(self._columns, dtype=x.dtype)
        return ops.conv(ops.conv(x, rows, padding="same"), columns, padding="same")

    def call(self, x):
        centred = x - self._blur(x)
        return centred / ops.sqrt(self._blur(centred * centred) + self.eps)

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma, "eps": self.eps}


LOCAL_CONTRAST_SIGMAS = {"local_contrast": 8.0, "local_contrast_fine": 4.0}  # the window, in pixels

_LOCAL_CONTRAST_MAPS = ("This network first keeps only the local contrast of each picture (over about {px:.0f} "
                        "pixels): it is blind to slow light and shadow, so its HappyMaps draw edges (the outline of the "
                        "head, of the eyes and brows) rather than the broad shading of a face.")
MAP_NOTES = {
    "standardise": "This network first standardises each picture (its overall brightness and contrast are taken "
                   "away), so a HappyMap's overall brightness means nothing to it: read its shapes.",
    **{kind: _LOCAL_CONTRAST_MAPS.format(px=sigma) for kind, sigma in LOCAL_CONTRAST_SIGMAS.items()},
}


def how_maps_read(kind: str) -> str:
    """One plain sentence on what a network with this input normalisation can show in its HappyMaps."""
    if kind not in MAP_NOTES:
        raise ValueError(f"preprocess must be one of {KINDS}, got {kind!r}")
    return MAP_NOTES[kind]


SEEN_NOTES = {  # what a network's first step keeps of a picture
    "standardise": "each picture with its overall brightness and contrast taken away",
    **{kind: f"only the local contrast of each picture, over about {sigma:.0f} pixels: slow light and shadow are gone"
       for kind, sigma in LOCAL_CONTRAST_SIGMAS.items()},
}


def first_step(model: keras.Model, inputs: np.ndarray) -> np.ndarray | None:
    """(N, H, W) inputs as the network's own first step ("preprocess") hands them to the layers after
    it, or None for a network without one."""
    if "preprocess" not in [layer.name for layer in model.layers]:
        return None
    step = model.get_layer("preprocess")
    return ops.convert_to_numpy(step(np.asarray(inputs, np.float32)[..., None]))[..., 0]


def layer(kind: str) -> keras.layers.Layer:
    """The named normalisation as a layer called "preprocess"."""
    if kind == "standardise":
        return Standardise(name="preprocess")
    if kind in LOCAL_CONTRAST_SIGMAS:
        return LocalContrast(sigma=LOCAL_CONTRAST_SIGMAS[kind], name="preprocess")
    raise ValueError(f"preprocess must be one of {KINDS} or None, got {kind!r}")
