"""Image parameterisations, lucid style: what the HappyMaps loop optimises, and how it becomes a
picture. Each is a value the loop takes; each is linear:

    picture = origin + delta(p)

A gradient step in p, mapped to the picture, is `precondition(image gradient)` =
delta(pullback(g)) (pullback: the adjoint of delta). The loop keeps the picture's delta as its
state, so it never needs p itself: it steps along the preconditioned gradient, hands delta to
the regularisers, which see a picture as in the paper, and maps their result back into the
parameterisation's range with `restrict` = delta(project(.)) (the identity when every picture
is reachable, as with pixels and the spectrum).

    pixels(offset)            p is the picture minus a flat gray (the paper's)
    face_space(basis, k)      p: k whitened coefficients on the training faces' top principal
                              components (eigenfaces); the origin is the mean face
    fourier(offset)           p: a spectrum scaled by 1 / frequency (lucid's decorrelated image)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from keras import ops

from vislib.faceprior import FaceBasis
from vislib.settings import INPUT_SHAPE

H, W = INPUT_SHAPE[:2]


@dataclass(frozen=True, eq=False)
class Parameterization:
    name: str
    origin: np.ndarray  # (H, W): the picture at p = 0
    shape: tuple  # one item's parameters
    delta: Callable  # p (B, *shape) -> (B, H, W, 1)
    pullback: Callable  # d loss / d picture (B, H, W, 1) -> d loss / d p
    project: Callable  # (B, H, W, 1) -> p
    description: str = ""
    fast_precondition: Callable | None = None  # the same as delta(pullback(g)), computed faster
    full_range: bool = False  # every picture is reachable: restrict is the identity

    def precondition(self, grad):
        """The picture-space direction of a gradient step in p: delta(pullback(grad))."""
        return self.fast_precondition(grad) if self.fast_precondition else self.delta(self.pullback(grad))

    def restrict(self, d):
        """delta(project(d)): d's nearest picture in range (d itself when the range is full)."""
        return d if self.full_range else self.delta(self.project(d))

    def start_delta(self, pictures: np.ndarray) -> np.ndarray:
        """(B, H, W) pictures -> the loop's start state (B, H, W, 1), within range."""
        d = np.asarray(pictures, np.float32)[..., None] - self.origin[None, ..., None]
        return d if self.full_range else np.asarray(ops.convert_to_numpy(self.restrict(ops.convert_to_tensor(d))))

    def show(self, d) -> np.ndarray:
        """The loop's state -> (B, H, W) pictures in [0, 1]."""
        return np.clip(self.origin + ops.convert_to_numpy(d)[..., 0], 0.0, 1.0)

    @property
    def key(self) -> tuple:
        """What the compiled loop depends on."""
        return (self.name, self.shape)

    def parameters(self, pictures: np.ndarray) -> np.ndarray:
        """(B, H, W) pictures -> their parameters (projected where the range is smaller)."""
        d = np.asarray(pictures, np.float32)[..., None] - self.origin[None, ..., None]
        return np.asarray(ops.convert_to_numpy(self.project(ops.convert_to_tensor(d))), np.float32)

    def picture(self, p) -> np.ndarray:
        """Parameters -> (B, H, W) pictures in [0, 1]."""
        d = ops.convert_to_numpy(self.delta(ops.convert_to_tensor(np.asarray(p, np.float32))))[..., 0]
        return np.clip(self.origin + d, 0.0, 1.0)


def _identity(x):
    return x


def pixels(offset: float) -> Parameterization:
    """Every pixel free, around a flat gray (the average training pixel): the paper's."""
    return Parameterization("pixels", np.full((H, W), offset, np.float32), INPUT_SHAPE,
                            _identity, _identity, _identity, "every pixel free, as in the paper",
                            fast_precondition=_identity, full_range=True)


def face_space(basis: FaceBasis, components: int | None = None) -> Parameterization:
    """The picture as the mean training face plus a combination of the top `components`
    principal components of the training faces. p_i is coefficient i divided by the standard
    deviation of the training faces along it, so an L2 decay on p is a penalty on each
    coefficient divided by the square root of its eigenvalue (a Gaussian prior on faces)."""
    k = basis.size if components is None else min(int(components), basis.size)
    comps = ops.convert_to_tensor(basis.components[:k].astype(np.float32))  # (k, H*W)
    scales = ops.convert_to_tensor(basis.scales[:k].astype(np.float32))

    def delta(p):
        return ops.reshape(ops.matmul(p * scales, comps), (-1, H, W, 1))

    def pullback(grad):
        return ops.matmul(ops.reshape(grad, (-1, H * W)), ops.transpose(comps)) * scales

    def project(d):
        return ops.matmul(ops.reshape(d, (-1, H * W)), ops.transpose(comps)) / scales

    variances = scales * scales

    def precondition(grad):  # each component's share of the gradient, weighted by its variance
        coefficients = ops.matmul(ops.reshape(grad, (-1, H * W)), ops.transpose(comps))
        return ops.reshape(ops.matmul(coefficients * variances, comps), (-1, H, W, 1))

    return Parameterization("faces", np.asarray(basis.mean, np.float32), (k,), delta, pullback, project,
                            f"the mean face plus {k} eigenfaces of the training images", precondition)


def _fourier_matrices(n: int):
    angle = 2.0 * np.pi * np.outer(np.arange(n), np.arange(n)) / n
    return np.cos(angle).astype(np.float32), np.sin(angle).astype(np.float32)  # both symmetric


def fourier_scale(decay_power: float = 1.0) -> np.ndarray:
    """lucid's spectrum scale, 1 / max(frequency, 1 / max(H, W)), normalised to RMS 1."""
    fy, fx = np.fft.fftfreq(H)[:, None], np.fft.fftfreq(W)[None, :]
    scale = 1.0 / np.maximum(np.sqrt(fy ** 2 + fx ** 2), 1.0 / max(H, W)) ** decay_power
    return (scale / np.sqrt(np.mean(scale ** 2))).astype(np.float32)


def fourier(offset: float, decay_power: float = 1.0) -> Parameterization:
    """The picture's spectrum (real and imaginary parts, (2, H, W)) scaled by 1 / frequency,
    around a flat gray: equal steps in p favour smooth pictures (lucid's decorrelated image).
    Real 2-D DFTs written as products with cosine and sine matrices: cheap, on every backend."""
    ch, sh = (ops.convert_to_tensor(m) for m in _fourier_matrices(H))
    cw, sw = (ops.convert_to_tensor(m) for m in _fourier_matrices(W))
    scale = ops.convert_to_tensor(fourier_scale(decay_power))
    norm = float(1.0 / np.sqrt(H * W))

    def rows_cols(left, x, right):  # left @ x @ right for a batch x (B, H, W)
        return ops.matmul(ops.matmul(left, x), right)

    def spectrum(x):  # the orthonormal DFT of real pictures (B, H, W): (real, imaginary)
        real = rows_cols(ch, x, cw) - rows_cols(sh, x, sw)
        imag = -(rows_cols(sh, x, cw) + rows_cols(ch, x, sw))
        return real * norm, imag * norm

    def delta(p):
        a, b = p[:, 0] * scale, p[:, 1] * scale
        x = rows_cols(ch, a, cw) - rows_cols(sh, a, sw) - rows_cols(sh, b, cw) - rows_cols(ch, b, sw)
        return ops.expand_dims(x * norm, -1)

    def pullback(grad):
        real, imag = spectrum(grad[..., 0])
        return ops.stack([real * scale, imag * scale], axis=1)

    def project(d):
        real, imag = spectrum(d[..., 0])
        return ops.stack([real / scale, imag / scale], axis=1)

    power = ops.convert_to_tensor(fourier_scale(decay_power) ** 2)

    def precondition(grad):  # a filter: the spectrum weighted by scale², through two FFTs
        x = grad[..., 0]
        real, imag = ops.fft2((x, ops.zeros_like(x)))
        return ops.expand_dims(ops.ifft2((real * power, imag * power))[0], -1)

    return Parameterization("fourier", np.full((H, W), offset, np.float32), (2, H, W), delta, pullback, project,
                            "a spectrum scaled by 1 / frequency (decorrelated), around a flat gray",
                            precondition, full_range=True)
