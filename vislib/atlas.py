"""The atlas: the default-preset HappyMaps of every unit of every layer, precomputed.

`python -m vislib.atlas` writes models/<variant>/atlas.npz for each shipped variant, so the
HappyMaps page paints at once; regeneration happens only when the user asks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vislib import happymaps, zoo

ATLAS_FILE = "atlas.npz"


@dataclass
class Atlas:
    settings: happymaps.Settings
    images: dict  # layer -> (N, H, W) float32 in [0, 1]
    values: dict  # layer -> (N,) activation reached


def build(variant: str, settings: happymaps.Settings | None = None, root: Path | None = None,
          log=print) -> Path:
    """Compute and save the atlas of one shipped variant; returns its path."""
    settings = settings or happymaps.Settings.from_preset()
    engine = happymaps.engine_for(variant, root)
    arrays = {"settings": np.array(json.dumps(asdict(settings))), "model_sha1": np.array(model_digest(variant, root))}
    for layer in zoo.unit_layers(engine.model):
        started = time.perf_counter()
        result = engine.layer(layer, settings=settings, every=settings.steps)
        arrays[f"{layer}/images"] = np.round(result.images * 255).astype(np.uint8)
        arrays[f"{layer}/values"] = result.values.astype(np.float32)
        log(f"{variant} {layer}: {len(result.units)} units in {time.perf_counter() - started:.1f} s")
    path = zoo.model_dir(variant, root) / ATLAS_FILE
    np.savez_compressed(path, **arrays)
    return path


def model_digest(variant: str, root: Path | None = None) -> str:
    """SHA-1 of the model file an atlas was computed from."""
    return hashlib.sha1((zoo.model_dir(variant, root) / "model.keras").read_bytes()).hexdigest()


def load(variant: str, root: Path | None = None) -> Atlas | None:
    """The saved atlas of a variant, or None when there is none, it cannot be read, or it was
    computed from another model file than the one in models/ (retrained since)."""
    path = zoo.model_dir(variant, root) / ATLAS_FILE
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["model_sha1"]) != model_digest(variant, root):
                return None
            settings = happymaps.Settings(**json.loads(str(f["settings"])))
            layers = sorted({k.split("/")[0] for k in f.files if "/" in k})
            return Atlas(settings,
                         {l: f[f"{l}/images"].astype(np.float32) / 255.0 for l in layers},
                         {l: f[f"{l}/values"] for l in layers})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vislib.atlas", description=__doc__)
    parser.add_argument("--variant", action="append", choices=list(zoo.VARIANTS))
    parser.add_argument("--steps", type=int, default=happymaps.Settings().steps)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    for variant in args.variant or zoo.shipped_variants():
        path = build(variant, happymaps.Settings.from_preset(steps=args.steps))
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)", flush=True)
    print(f"atlas done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
