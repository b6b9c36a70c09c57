"""Training-time augmentation: small composable numpy functions, seeded by a Generator.

Every function takes and returns a batch `(images, labels)`: images (N, H, W, 1) float32 in
[0, 1], labels integer class indices of a task ('binary': 0 not left, 1 left; 'pose': index
into data.POSES). Only `flip` touches labels: a mirror image turns a face that looks left
into one that looks right, so for 'binary' a flipped "left" becomes "not left" and a flipped
"right" becomes "left"; for 'pose' left and right swap. A flip needs the poses, so the binary
labels alone are not enough: `flip` takes the poses and returns new ones.

    rng = np.random.default_rng(seed)
    x, poses = flip(x, poses, rng)           # half the batch mirrored, poses swapped
    x = compose(shift_scale(0.1, 0.1), gamma(0.6), contrast(0.5), erase(0.5))(x, rng)
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Transform = Callable[[np.ndarray, np.random.Generator], np.ndarray]

MIRRORED_POSE = {"left": "right", "right": "left", "straight": "straight", "up": "up"}


def mirror_pose(pose: str) -> str:
    """The pose a mirror image shows: left <-> right; straight and up stay."""
    return MIRRORED_POSE[pose]


def flip(images: np.ndarray, poses, rng: np.random.Generator, p: float = 0.5):
    """Mirror each image left-right with probability p; its pose is mirrored with it.

    Returns (images, poses): new arrays, the inputs untouched.
    """
    images, poses, _ = flip_with_mask(images, poses, rng, p)
    return images, poses


def flip_with_mask(images: np.ndarray, poses, rng: np.random.Generator, p: float = 0.5):
    """`flip`, drawing the same random numbers, and also which images it mirrored: (images, poses, mask)."""
    images, poses = np.array(images, copy=True), np.array(poses, copy=True)
    chosen = rng.random(len(images)) < p
    images[chosen] = images[chosen][:, :, ::-1]
    poses[chosen] = [mirror_pose(q) for q in poses[chosen]]
    return images, poses, chosen


def mirrored(images: np.ndarray, poses):
    """Every image mirrored, with its mirrored pose (a deterministic flip of the whole batch)."""
    return np.ascontiguousarray(np.asarray(images)[:, :, ::-1]), np.array([mirror_pose(q) for q in poses])


def mixup(images: np.ndarray, targets: list, weights: list, alpha: float, rng: np.random.Generator):
    """Mixup (Zhang et al. 2018): each picture blended with another of the batch, and its targets
    with theirs, by a weight drawn from Beta(alpha, alpha) (the larger share kept by the picture
    itself). targets: arrays (N, k), e.g. one-hot classes; weights: one (N,) array per target, where
    0 means "no target here" (a blend keeps a target only where both pictures have one).
    Returns (images, targets, weights): new arrays, the inputs untouched."""
    if alpha <= 0:
        raise ValueError(f"mixup's alpha must be > 0, got {alpha}")
    n = len(images)
    partner = rng.permutation(n)
    share = rng.beta(alpha, alpha, n)
    share = np.maximum(share, 1 - share).astype(np.float32)

    def blend(a):
        kept = share.reshape((n,) + (1,) * (a.ndim - 1))
        return kept * a + (1 - kept) * a[partner]

    images = blend(np.asarray(images, np.float32)).astype(np.float32)
    targets = [blend(np.asarray(t, np.float32)).astype(np.float32) for t in targets]
    weights = [np.where((np.asarray(w) > 0) & (np.asarray(w)[partner] > 0), blend(np.asarray(w, float)), 0.0)
               for w in weights]
    return images, targets, weights


def shift_scale(shift: float = 0.1, scale: float = 0.1, fill: str = "reflect", rotate: float = 0.0) -> Transform:
    """Zoom by a factor in [1 - scale, 1 + scale] about the centre, turn by up to `rotate`
    degrees in the picture plane, and shift by up to `shift` of the width and height; the
    uncovered border is filled by reflection."""
    import cv2

    border = {"reflect": cv2.BORDER_REFLECT_101, "edge": cv2.BORDER_REPLICATE}[fill]

    def apply(images, rng):
        out = np.empty_like(images)
        h, w = images.shape[1:3]
        for i, image in enumerate(images):
            s = 1 + rng.uniform(-scale, scale)
            dx, dy = rng.uniform(-shift, shift) * w, rng.uniform(-shift, shift) * h
            matrix = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-rotate, rotate) if rotate else 0.0, s)
            matrix[:, 2] += (dx, dy)
            out[i, ..., 0] = cv2.warpAffine(image[..., 0], matrix, (w, h), flags=cv2.INTER_LINEAR,
                                            borderMode=border)
        return out

    return apply


def gamma(spread: float = 0.5) -> Transform:
    """Raise each image to a power exp(u), u uniform in [-spread, spread] (darker or lighter
    mid-tones, same black and white)."""

    def apply(images, rng):
        powers = np.exp(rng.uniform(-spread, spread, len(images))).astype(np.float32)
        return np.clip(images, 0, 1) ** powers[:, None, None, None]

    return apply


def contrast(spread: float = 0.4) -> Transform:
    """Scale each image's deviation from its mean by a factor in [1 - spread, 1 + spread]."""

    def apply(images, rng):
        factor = rng.uniform(1 - spread, 1 + spread, len(images)).astype(np.float32)[:, None, None, None]
        mean = images.mean(axis=(1, 2, 3), keepdims=True)
        return np.clip(mean + (images - mean) * factor, 0, 1)

    return apply


def brightness(spread: float = 0.2) -> Transform:
    """Add an offset in [-spread, spread] to each image."""

    def apply(images, rng):
        offset = rng.uniform(-spread, spread, len(images)).astype(np.float32)[:, None, None, None]
        return np.clip(images + offset, 0, 1)

    return apply


def noise(sigma: float = 0.03) -> Transform:
    """Gaussian pixel noise with a standard deviation drawn in [0, sigma] per image."""

    def apply(images, rng):
        level = rng.uniform(0, sigma, len(images)).astype(np.float32)[:, None, None, None]
        return np.clip(images + level * rng.standard_normal(images.shape).astype(np.float32), 0, 1)

    return apply


def blur(p: float = 0.3, max_sigma: float = 1.2) -> Transform:
    """With probability p, a Gaussian blur of sigma up to max_sigma pixels (softer cameras)."""
    import cv2

    def apply(images, rng):
        out = images.copy()
        for i in np.flatnonzero(rng.random(len(images)) < p):
            out[i, ..., 0] = cv2.GaussianBlur(images[i, ..., 0], (0, 0), rng.uniform(0.3, max_sigma))
        return out

    return apply


def erase(p: float = 0.5, area: tuple[float, float] = (0.02, 0.15)) -> Transform:
    """Random erasing: with probability p, a rectangle of `area` (fraction of the image) is
    filled with uniform noise, so no single patch (of background or face) can be relied on."""

    def apply(images, rng):
        out = images.copy()
        h, w = images.shape[1:3]
        for i in np.flatnonzero(rng.random(len(images)) < p):
            a = rng.uniform(*area) * h * w
            aspect = np.exp(rng.uniform(np.log(0.5), np.log(2)))
            eh, ew = min(h, max(1, int(round(np.sqrt(a * aspect))))), min(w, max(1, int(round(np.sqrt(a / aspect)))))
            y, x = rng.integers(0, h - eh + 1), rng.integers(0, w - ew + 1)
            out[i, y:y + eh, x:x + ew, 0] = rng.random((eh, ew), dtype=np.float32)
        return out

    return apply


HEAD_CENTRE, HEAD_RADII = (0.47, 0.5), (0.34, 0.3)  # the head's oval in an upload's framing, in fractions of (h, w)


def head_mask(shape, centre=HEAD_CENTRE, radii=HEAD_RADII, shoulders: bool = True):
    """(h, w) in [0, 1]: 1 on the head's oval (and the neck and shoulders below its centre), 0 on the backdrop,
    the edge softened; centre and radii in fractions of height and width."""
    import cv2

    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx, ry, rx = centre[0] * h, centre[1] * w, radii[0] * h, radii[1] * w
    inside = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1).astype(np.float32)
    if shoulders:  # neck and shoulders stay
        inside[int(min(h - 1, cy)):, int(max(0, cx - rx)):int(min(w, cx + rx))] = 1
    return cv2.GaussianBlur(inside, (0, 0), 2.0)


def background(p: float = 0.5, centre=HEAD_CENTRE, radii=HEAD_RADII, jitter: float = 0.06,
               shoulders: bool = True) -> Transform:
    """With probability p, replace what lies outside an ellipse around the head with a random
    backdrop (a flat grey in [0.1, 0.9] plus a smooth random shade), edges softened.

    The upload framing puts the face at a known place (imaging.FACE_CENTRE_FROM_TOP, centred),
    so the ellipse (centre and radii as fractions of height and width, +-jitter) holds the head;
    the backdrop teaches the network that the wall behind it carries no signal (CMU's is a
    cluttered lab, Pointing'04's a plain light wall).
    """
    import cv2

    def apply(images, rng):
        out = images.copy()
        h, w = images.shape[1:3]
        for i in np.flatnonzero(rng.random(len(images)) < p):
            moved = (centre[0] + rng.uniform(-jitter, jitter), centre[1] + rng.uniform(-jitter, jitter))
            sized = (radii[0] + rng.uniform(-jitter, jitter), radii[1] + rng.uniform(-jitter, jitter))
            mask = head_mask((h, w), moved, sized, shoulders)
            shade = cv2.resize(rng.uniform(-0.15, 0.15, (3, 3)).astype(np.float32), (w, h),
                               interpolation=cv2.INTER_CUBIC)
            backdrop = np.clip(rng.uniform(0.1, 0.9) + shade, 0, 1)
            out[i, ..., 0] = mask * images[i, ..., 0] + (1 - mask) * backdrop
        return out

    return apply


def compose(*transforms: Transform) -> Transform:
    """Apply transforms in order."""

    def apply(images, rng):
        for transform in transforms:
            images = transform(images, rng)
        return images.astype(np.float32, copy=False)

    return apply


def standardise(images: np.ndarray) -> np.ndarray:
    """Per-image standardisation to mean 0.5, standard deviation 0.2, clipped to [0, 1]."""
    mean = images.mean(axis=(1, 2, 3), keepdims=True)
    std = images.std(axis=(1, 2, 3), keepdims=True) + 1e-6
    return np.clip(0.5 + 0.2 * (images - mean) / std, 0, 1).astype(np.float32)


RECIPES: dict[str, Transform] = {}


def recipe(name: str) -> Transform:
    """A named augmentation recipe (see RECIPES)."""
    if not RECIPES:
        RECIPES.update({
            # the quick experiment: scale and shift 10%, gamma, contrast, brightness, erasing
            "strong": compose(shift_scale(0.1, 0.1), gamma(0.5), contrast(0.4), brightness(0.15),
                              blur(0.3), noise(0.03), erase(0.5)),
            "none": compose(),  # mirror images only
            # wider geometry: framing jitter of another detector, camera or person, tilted heads
            "strong+geometry": compose(background(0.5), shift_scale(0.15, 0.2, rotate=10), gamma(0.5),
                                       contrast(0.4), brightness(0.15), blur(0.3), noise(0.03), erase(0.5)),
            # milder: for two studios, where the data already varies
            "mild": compose(shift_scale(0.08, 0.08), gamma(0.3), contrast(0.3), brightness(0.1), blur(0.2),
                            noise(0.02), erase(0.25)),
            "mild+backdrop": compose(background(0.4), shift_scale(0.08, 0.08), gamma(0.3), contrast(0.3),
                                     brightness(0.1), blur(0.2), noise(0.02), erase(0.25)),
            # the same, with the wall behind the head replaced half of the time
            "strong+backdrop": compose(background(0.5), shift_scale(0.1, 0.1), gamma(0.5), contrast(0.4),
                                       brightness(0.15), blur(0.3), noise(0.03), erase(0.5)),
            # strong+backdrop with wider photometric and geometric ranges: exposure (gamma up to
            # e^0.9), contrast +-60%, brightness +-0.25, blur, noise, turns of up to 8 degrees
            "strong+photometric": compose(background(0.5), shift_scale(0.12, 0.12, rotate=8), gamma(0.9),
                                          contrast(0.6), brightness(0.25), blur(0.4, 1.5), noise(0.05),
                                          erase(0.6)),
            # strong+photometric's ranges, with backdrops as in strong+head: the head alone must decide
            "strong+head+photometric": compose(background(0.35), background(0.35, shoulders=False),
                                               shift_scale(0.12, 0.12, rotate=8), gamma(0.9), contrast(0.6),
                                               brightness(0.25), blur(0.4, 1.5), noise(0.05), erase(0.6)),
            # ... and half of those backdrops hide the shoulders too: the head alone must decide
            "strong+head": compose(background(0.3), background(0.3, shoulders=False), shift_scale(0.1, 0.1),
                                   gamma(0.5), contrast(0.4), brightness(0.15), blur(0.3), noise(0.03),
                                   erase(0.5)),
        })
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(f"augmentation recipe must be one of {sorted(RECIPES)}, got {name!r}") from None
