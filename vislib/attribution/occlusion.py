"""Occlusion (Zeiler & Fergus 2014): hide one patch at a time and measure how the class score falls.

It needs no gradient, so it explains a decision even where gradient methods go blank (a
saturated score, or a Grad-CAM whose channel weights are all negative where features fire).
All patches are scored in one batch.
"""

from __future__ import annotations

import numpy as np

from vislib import autodiff
from vislib.attribution import score

PATCH = 12
STRIDE = 4


def occluded_batch(x: np.ndarray, patch: int, stride: int, fill: float) -> tuple[np.ndarray, list]:
    """(1, H, W, C) -> (N, H, W, C) copies, each with one patch set to `fill`, and the patches' slices."""
    _, h, w, _ = x.shape
    tops = sorted({*range(0, max(h - patch, 0) + 1, stride), max(h - patch, 0)})
    lefts = sorted({*range(0, max(w - patch, 0) + 1, stride), max(w - patch, 0)})
    windows = [(slice(t, t + patch), slice(l, l + patch)) for t in tops for l in lefts]
    batch = np.repeat(x, len(windows), axis=0)
    for item, (rows, cols) in zip(batch, windows):
        item[rows, cols, :] = fill
    return batch, windows


def occlusion(model, x, class_index: int, patch: int = PATCH, stride: int = STRIDE) -> np.ndarray:
    """(H, W) mean drop of the class score (the logit) when a patch covering each pixel is hidden
    behind the image's mean gray; negative drops (hiding raised the score) are kept at 0."""
    x = np.asarray(x, np.float32)
    scores = score.compiled(model, ("occlusion",), lambda: autodiff.compile(score.logit_model(model)[1]))
    batch, windows = occluded_batch(x, patch, stride, float(x.mean()))
    base = float(autodiff.to_numpy(scores(x))[0, class_index])
    hidden = autodiff.to_numpy(scores(batch))[:, class_index]
    total = np.zeros(x.shape[1:3], np.float32)
    count = np.zeros(x.shape[1:3], np.float32)
    for (rows, cols), value in zip(windows, hidden):
        total[rows, cols] += base - value
        count[rows, cols] += 1
    return np.maximum(total / np.maximum(count, 1), 0.0)
