"""The four regularisers of Yosinski et al. 2015, "Understanding Neural Networks Through Deep
Visualization" (ICML Deep Learning Workshop), section 3, plus lucid's jitter.

Each is a small factory `params -> (x, grad, step) -> x`, applied after every gradient step
(the paper's r_theta), in the order given. `params` holds run-time tensors, so moving a
slider changes numbers, not the compiled program. Images are centred on the image
parameterisation's origin (a flat gray, or the mean face): decay pulls toward it, clipping sets
pixels to it.
"""

from __future__ import annotations

from keras import ops

BLUR_RADIUS = 9  # taps each side: 3 sigma at the widest slider setting


def l2_decay(params):
    """x <- (1 - theta_decay) * x: pulls every pixel toward the origin (gray, or the mean face)."""
    keep = 1.0 - params["decay"]
    return lambda x, grad, step: x * keep


def gaussian_matrix(size: int, sigma):
    """(size, size) matrix whose product with a signal blurs it with a Gaussian of width sigma.

    Rows are renormalised, so the border is not darkened; sigma 0 gives the identity.
    """
    positions = ops.cast(ops.arange(size), "float32")
    distance = positions[:, None] - positions[None, :]
    sigma = ops.maximum(ops.cast(sigma, "float32"), 1e-3)
    weights = ops.exp(-0.5 * ops.square(distance / sigma))
    weights = ops.where(ops.abs(distance) <= BLUR_RADIUS, weights, 0.0)
    return weights / ops.sum(weights, axis=1, keepdims=True)


def blur(x, sigma):
    """Separable Gaussian blur of a (B, H, W, C) batch: two small matrix products, cheap on CPU."""
    rows = gaussian_matrix(x.shape[1], sigma)
    cols = gaussian_matrix(x.shape[2], sigma)
    planes = ops.transpose(x, (0, 3, 1, 2))  # (B, C, H, W): both products are plain batched matmuls
    planes = ops.matmul(ops.matmul(rows, planes), ops.transpose(cols))
    return ops.transpose(planes, (0, 2, 3, 1))


def gaussian_blur(params):
    """Every `blur_every` steps, blur with width `blur_sigma` (0 for either: never)."""
    sigma, every = params["blur_sigma"], ops.cast(params["blur_every"], "int32")

    def apply(x, grad, step):
        due = ops.logical_and(every > 0, ops.equal(ops.mod(step, ops.maximum(every, 1)), 0))
        due = ops.logical_and(due, sigma > 0)
        return ops.cond(due, lambda: blur(x, sigma), lambda: x)

    return apply


def _zero_below_percentile(x, score, pct):
    """Zero the pixels whose score is below the pct-th percentile of their own image."""
    flat = ops.reshape(score, (score.shape[0], -1))
    threshold = ops.quantile(flat, ops.clip(pct, 0.0, 100.0) / 100.0, axis=1)
    threshold = ops.reshape(threshold, (-1, 1, 1, 1))
    return ops.where(score < threshold, ops.zeros_like(x), x)


def _when_positive(pct, x, clip):
    return ops.cond(pct > 0, clip, lambda: x)


def clip_small_norm(params):
    """Zero pixels whose norm (over channels) is below the `norm_pct`-th percentile."""
    pct = params["norm_pct"]
    return lambda x, grad, step: _when_positive(pct, x, lambda: _zero_below_percentile(
        x, ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True)), pct))


def clip_small_contribution(params):
    """Zero pixels whose contribution |sum_c x * grad| is below the `contrib_pct`-th percentile:
    the first-order change in the objective if the pixel were set to the mean."""
    pct = params["contrib_pct"]
    return lambda x, grad, step: _when_positive(pct, x, lambda: _zero_below_percentile(
        x, ops.abs(ops.sum(x * grad, axis=-1, keepdims=True)), pct))


YOSINSKI = (l2_decay, gaussian_blur, clip_small_norm, clip_small_contribution)
