"""The face prior: the space of the training faces (mean face + top principal components).

Fitted from a model's training images at training time and shipped beside the model as
`face_basis.npz`, so HappyMaps can optimise "in the space of faces" (eigenfaces):

    basis = fit(x_train)                  # x_train: (N, 60, 64, 1) in [0, 1]
    save(folder, basis); basis = load(folder)
    image = basis.mean + coefficients @ basis.components   # (3840,) flattened 60x64
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vislib.settings import INPUT_SHAPE, command, shown_path

BASIS_FILE = "face_basis.npz"
DEFAULT_COMPONENTS = 100


@dataclass(frozen=True)
class FaceBasis:
    """mean (H, W); components (K, H*W), orthonormal rows; scales (K,): the standard deviation
    of the training faces along each component (the square root of its eigenvalue)."""

    mean: np.ndarray
    components: np.ndarray
    scales: np.ndarray

    @property
    def size(self) -> int:
        return int(self.components.shape[0])

    def image(self, coefficients: np.ndarray) -> np.ndarray:
        """(..., K) coefficients -> (..., H, W) images (not clipped)."""
        flat = self.mean.reshape(-1) + np.asarray(coefficients, np.float32) @ self.components
        return flat.reshape(*flat.shape[:-1], *self.mean.shape)

    def coefficients(self, images: np.ndarray) -> np.ndarray:
        """(..., H, W) images -> (..., K): their projection on the basis."""
        images = np.asarray(images, np.float32)
        flat = images.reshape(*images.shape[:-2], -1) - self.mean.reshape(-1)
        return flat @ self.components.T


def fit(images: np.ndarray, components: int = DEFAULT_COMPONENTS) -> FaceBasis:
    """Principal components of training images, (N, H, W) or (N, H, W, 1) in [0, 1]."""
    images = np.asarray(images, np.float32)
    if images.ndim == 4:
        images = images[..., 0]
    if images.ndim != 3 or len(images) < 2:
        raise ValueError(f"expected at least 2 images of shape (N, H, W[, 1]), got {images.shape}")
    mean = images.mean(axis=0)
    centred = (images - mean).reshape(len(images), -1).astype(np.float64)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    k = min(components, len(images) - 1, vt.shape[0])
    scales = singular[:k] / np.sqrt(len(images) - 1)
    return FaceBasis(mean.astype(np.float32), vt[:k].astype(np.float32), scales.astype(np.float32))


def save(folder: Path, basis: FaceBasis) -> Path:
    """Write `face_basis.npz` into a model folder (components as float16: half the size)."""
    path = Path(folder) / BASIS_FILE
    np.savez_compressed(path, mean=basis.mean, components=basis.components.astype(np.float16),
                        scales=basis.scales)
    return path


class FaceBasisError(RuntimeError):
    """A face basis file is missing or damaged."""


def load(folder: Path) -> FaceBasis:
    """The face basis shipped in a model folder."""
    path = Path(folder) / BASIS_FILE
    variant = Path(folder).name
    rewrite = command(f"-m vislib.faceprior --variant {variant}")
    try:
        with np.load(path, allow_pickle=False) as f:
            basis = FaceBasis(f["mean"].astype(np.float32), f["components"].astype(np.float32),
                              f["scales"].astype(np.float32))
    except FileNotFoundError:
        raise FaceBasisError(f"{shown_path(path)} is missing. Write it with `{rewrite}`, or retrain the variant with "
                             f"`{command(f'-m vislib.train --variant {variant}')}`.") from None
    except (OSError, ValueError, KeyError, EOFError) as error:
        raise FaceBasisError(f"{shown_path(path)} is damaged ({type(error).__name__}); expected an .npz with "
                             f"mean, components and scales. Rewrite it with `{rewrite}`.") from None
    if basis.mean.shape != INPUT_SHAPE[:2] or basis.components.shape[1] != basis.mean.size:
        raise FaceBasisError(f"{path}: expected a {INPUT_SHAPE[:2]} mean and (K, {basis.mean.size}) components, "
                             f"got {basis.mean.shape} and {basis.components.shape}")
    return basis


def fit_variant(variant: str, root: Path | None = None, components: int = DEFAULT_COMPONENTS) -> FaceBasis:
    """The face basis of the original variants' training images: the CMU faces at
    data.split_indices(poses, seed=0)[0], as vislib.train split them (all seven share it).
    Variants trained on another split write their own basis at training time."""
    from vislib import data

    faces = data.load_cmu()
    train_idx, _ = data.split_indices(faces.poses, seed=0)
    return fit(faces.images[train_idx], components)


def main(argv=None) -> int:
    """`python -m vislib.faceprior`: write face_basis.npz for shipped variants that lack it."""
    import argparse
    import sys

    from vislib import data, zoo

    parser = argparse.ArgumentParser(prog="python -m vislib.faceprior", description=main.__doc__)
    parser.add_argument("--variant", action="append", choices=list(zoo.VARIANTS),
                        help="rewrite this variant's basis even when it has one (repeatable)")
    parser.add_argument("--components", type=int, default=DEFAULT_COMPONENTS)
    args = parser.parse_args(argv)
    chosen = args.variant or [v for v in zoo.shipped_variants() if not (zoo.model_dir(v) / BASIS_FILE).is_file()]
    try:
        for variant in chosen:
            path = save(zoo.model_dir(variant), fit_variant(variant, components=args.components))
            print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    except data.DataNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not chosen:
        print("every shipped variant has its face_basis.npz")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
