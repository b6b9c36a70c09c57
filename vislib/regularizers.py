"""The four regularisers of Yosinski et al. 2015, "Understanding Neural Networks Through Deep
Visualization" (ICML Deep Learning Workshop), section 3, plus lucid's jitter.

Each is a small factory `params -> (x, grad, step) -> x`, applied after every gradient step
(the paper's r_theta), in the order given. `params` holds run-time tensors, so moving a
slider changes numbers, not the compiled program. Images are centred: 0 is the data mean.
"""

from __future__ import annotations

from dataclasses import dataclass

from keras import ops

BLUR_RADIUS = 6  # kernel taps each side; covers sigma up to ~3 pixels


def l2_decay(params):
    """x <- (1 - theta_decay) * x: pulls every pixel toward the mean image (gray)."""
    keep = 1.0 - params["decay"]
    return lambda x, grad, step: x * keep


def gaussian_kernel(sigma, radius: int = BLUR_RADIUS):
    """Normalised 1-D Gaussian taps for a run-time width; sigma 0 gives the identity."""
    taps = ops.cast(ops.arange(-radius, radius + 1), "float32")
    sigma = ops.maximum(ops.cast(sigma, "float32"), 1e-3)
    weights = ops.exp(-0.5 * ops.square(taps / sigma))
    return weights / ops.sum(weights)


def blur(x, sigma):
    """Separable Gaussian blur of a (B, H, W, C) batch, zero (mean) padded."""
    k = gaussian_kernel(sigma)
    channels = x.shape[-1]
    kernel_y = ops.tile(ops.reshape(k, (-1, 1, 1, 1)), (1, 1, channels, 1))
    kernel_x = ops.tile(ops.reshape(k, (1, -1, 1, 1)), (1, 1, channels, 1))
    x = ops.depthwise_conv(x, kernel_y, padding="same")
    return ops.depthwise_conv(x, kernel_x, padding="same")


def gaussian_blur(params):
    """Every `blur_every` steps, blur with width `blur_sigma` (0 for either: never)."""
    sigma, every = params["blur_sigma"], ops.cast(params["blur_every"], "int32")

    def apply(x, grad, step):
        due = ops.logical_and(every > 0, ops.equal(ops.mod(step, ops.maximum(every, 1)), 0))
        due = ops.logical_and(due, sigma > 0)
        return ops.where(due, blur(x, sigma), x)

    return apply


def _zero_below_percentile(x, score, pct):
    """Zero the pixels whose score is below the pct-th percentile of their own image."""
    flat = ops.reshape(score, (score.shape[0], -1))
    threshold = ops.quantile(flat, ops.clip(pct, 0.0, 100.0) / 100.0, axis=1)
    threshold = ops.reshape(threshold, (-1, 1, 1, 1))
    return ops.where(ops.logical_and(score < threshold, pct > 0), ops.zeros_like(x), x)


def clip_small_norm(params):
    """Zero pixels whose norm (over channels) is below the `norm_pct`-th percentile."""
    pct = params["norm_pct"]
    return lambda x, grad, step: _zero_below_percentile(
        x, ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True)), pct
    )


def clip_small_contribution(params):
    """Zero pixels whose contribution |sum_c x * grad| is below the `contrib_pct`-th percentile:
    the first-order change in the objective if the pixel were set to the mean."""
    pct = params["contrib_pct"]
    return lambda x, grad, step: _zero_below_percentile(
        x, ops.abs(ops.sum(x * grad, axis=-1, keepdims=True)), pct
    )


YOSINSKI = (l2_decay, gaussian_blur, clip_small_norm, clip_small_contribution)


@dataclass(frozen=True)
class Preset:
    decay: float
    blur_sigma: float
    blur_every: int
    norm_pct: float
    contrib_pct: float


# Table 1 of Yosinski et al. 2015 (columns theta_decay, theta_b_width, theta_b_every,
# theta_n_pct, theta_c_pct), "four hyperparameter combinations found by random search".
# These are the values as we read the table; the paper's text names the same four
# regularisers and says each combination gives a different, complementary view of a unit.
PRESETS = {
    "none": Preset(0.0, 0.0, 0, 0.0, 0.0),
    "yosinski-1": Preset(0.0, 0.5, 4, 50.0, 0.0),
    "yosinski-2": Preset(0.3, 0.0, 0, 20.0, 0.0),
    "yosinski-3": Preset(0.0001, 1.0, 4, 0.0, 0.0),
    "yosinski-4": Preset(0.0, 0.5, 4, 0.0, 90.0),
}
