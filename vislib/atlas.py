"""The atlas: every unit's HappyMap of every layer, precomputed with the default settings of
each image parameterisation (happymaps.DEFAULT_FOR_IMAGE).

Pictures are stored as 8-bit gray, except those made in face space: their coefficients on the
variant's face basis (a few numbers a unit instead of 3840 pixels), turned back into pictures
on loading.

`python -m vislib.atlas` writes models/<variant>/atlas.npz for each shipped variant, so the
HappyMaps page paints at once; regeneration happens only when the user asks.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vislib import faceprior, happymaps, zoo
from vislib.settings import command, shown_path

ATLAS_FILE = "atlas.npz"


class AtlasError(RuntimeError):
    """An atlas file exists but cannot be used (damaged, or computed from another model)."""


@dataclass
class Atlas:
    by_image: dict  # image parameterisation -> happymaps.Settings used
    maps: dict  # (image, layer) -> (N, H, W) float32 in [0, 1]
    reached: dict  # (image, layer) -> (N,) objective reached

    @property
    def settings(self) -> happymaps.Settings | None:
        """The default settings (happymaps.DEFAULT_PRESET), whose maps `images` holds."""
        return self.by_image.get(happymaps.Settings().image)

    @property
    def images(self) -> dict:
        """layer -> the default settings' maps (N, H, W)."""
        return {layer: m for (image, layer), m in self.maps.items() if image == happymaps.Settings().image}

    @property
    def values(self) -> dict:
        return {layer: v for (image, layer), v in self.reached.items() if image == happymaps.Settings().image}

    def lookup(self, layer: str, settings: happymaps.Settings):
        """(images, values) of a layer computed with exactly these settings, or None."""
        if self.by_image.get(settings.image) != settings or (settings.image, layer) not in self.maps:
            return None
        return self.maps[settings.image, layer], self.reached[settings.image, layer]


def rebuild_command(variant: str) -> str:
    return command(f"-m vislib.atlas --variant {variant}")


def build(variant: str, root: Path | None = None, log=print, steps: int | None = None) -> Path:
    """Compute and save the atlas of one shipped variant; returns its path."""
    engine = happymaps.engine_for(variant, root)
    arrays = {"model_sha1": np.array(model_digest(variant, root))}
    chosen = {}
    for image, preset in happymaps.DEFAULT_FOR_IMAGE.items():
        if image == "faces" and engine.face_basis is None:
            log(f"{variant}: no face basis, so no 'faces' maps (python -m vislib.faceprior)")
            continue
        settings = happymaps.Settings.from_preset(preset, **({"steps": steps} if steps else {}))
        chosen[image] = asdict(settings)
        for layer in zoo.unit_layers(engine.model):
            started = time.perf_counter()
            result = engine.layer(layer, settings=settings, every=settings.steps)
            if image == "faces":
                arrays[f"{image}/{layer}/coefficients"] = engine.image(image).parameters(result.images)
            else:
                arrays[f"{image}/{layer}/images"] = np.round(result.images * 255).astype(np.uint8)
            arrays[f"{image}/{layer}/values"] = result.values.astype(np.float32)
            log(f"{variant} {image} {layer}: {len(result.units)} units in {time.perf_counter() - started:.1f} s")
    arrays["settings"] = np.array(json.dumps(chosen))
    path = zoo.model_dir(variant, root) / ATLAS_FILE
    np.savez_compressed(path, **arrays)
    return path


def model_digest(variant: str, root: Path | None = None) -> str:
    """SHA-1 of the weights an atlas was computed from (zoo.weights_digest)."""
    return zoo.weights_digest(zoo.model_dir(variant, root) / "model.keras")


def load(variant: str, root: Path | None = None) -> Atlas | None:
    """The saved atlas of a variant, or None when there is none. Raises AtlasError, saying how
    to rebuild it, when the file is damaged or was computed from other weights."""
    path = zoo.model_dir(variant, root) / ATLAS_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            digest = str(f["model_sha1"])
            settings = {image: happymaps.Settings(**values) for image, values in json.loads(str(f["settings"])).items()}
            keys = {tuple(k.split("/")[:2]) for k in f.files if k.count("/") == 2}
            images = {k: f[f"{k[0]}/{k[1]}/images"].astype(np.float32) / 255.0 for k in keys
                      if f"{k[0]}/{k[1]}/images" in f.files}
            coefficients = {k: f[f"{k[0]}/{k[1]}/coefficients"] for k in keys if k not in images}
            values = {k: f[f"{k[0]}/{k[1]}/values"] for k in keys}
    except Exception as error:  # numpy raises OSError, ValueError, KeyError, EOFError, BadZipFile...
        raise AtlasError(f"The atlas {shown_path(path)} is damaged ({type(error).__name__}); expected an .npz written by "
                         f"vislib.atlas. Rebuild it with `{rebuild_command(variant)}`.") from None
    if digest != model_digest(variant, root):
        raise AtlasError(f"The atlas {shown_path(path)} was computed from other weights than {variant}'s model.keras "
                         f"(retrained since). Rebuild it with `{rebuild_command(variant)}`.")
    if coefficients:
        try:
            basis = faceprior.load(zoo.model_dir(variant, root))
        except faceprior.FaceBasisError as error:
            raise AtlasError(f"The atlas {path} holds face-space maps, but {error}") from None
        for (image, layer), coefs in coefficients.items():
            images[image, layer] = _face_pictures(basis, np.asarray(coefs, np.float32))
    return Atlas(settings, images, values)


def _face_pictures(basis: faceprior.FaceBasis, whitened: np.ndarray) -> np.ndarray:
    """Whitened coefficients (N, k) on a face basis -> pictures (N, H, W) in [0, 1]."""
    k = whitened.shape[1]
    if k > basis.size:
        raise AtlasError(f"expected at most {basis.size} coefficients a map, got {k}")
    return np.clip(basis.image(whitened * basis.scales[:k] @ np.eye(k, basis.size)), 0.0, 1.0).astype(np.float32)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vislib.atlas", description=__doc__)
    parser.add_argument("--variant", action="append", choices=list(zoo.VARIANTS))
    parser.add_argument("--steps", type=int, default=None, help="override every default's step count")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    for variant in args.variant or zoo.shipped_variants():
        path = build(variant, steps=args.steps)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)", flush=True)
    print(f"atlas done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
