"""How the Experiment 2 recipes were chosen: train candidate recipes for several seeds and score
them on people the three amigos are not (BENCHMARKS.md, "Experiment 2", has the figures).

Selection data only: the CMU people of a held-out fold, and the nine pointing04_train people
(never trained on by a CMU-only recipe; a two-studio recipe holds out persons 06 and 13). The
three amigos are never read here, except with --amigos, which the chosen recipes got once,
after the choice.

    python tools/recipe_sweep.py cache                       # frame the data once (needs the data)
    python tools/recipe_sweep.py run c_lcn_photo,t_long_std_mild --seeds 1234,1,2 --folds 0

`run` needs only the cache (`.sweep/cache.npz`, git-ignored), so it can run on a machine without
the data sets: it ran on the lent GPU machine with KERAS_BACKEND=jax, 15 processes at once.
Each finished run is one JSON line on stdout and in $OUT/sweep.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = ROOT / ".sweep" / "cache.npz"
AMIGOS = ROOT / ".sweep" / "amigos.npz"


def make_cache() -> None:
    from vislib import data, train

    cmu = train.cmu_examples("detector")
    parts = {"cmu": cmu, "p04d": train.pointing04_examples("detected"), "p04f": train.pointing04_examples("face")}
    CACHE.parent.mkdir(exist_ok=True)
    np.savez_compressed(CACHE, **{f"{k}_{f}": getattr(e, attr) for k, e in parts.items()
                                  for f, attr in (("x", "x"), ("poses", "poses"), ("people", "people"))})
    photos = data.load_three_amigos()
    np.savez_compressed(AMIGOS, x=data.amigo_inputs(photos, "detected"), xf=data.amigo_inputs(photos, "face"),
                        poses=np.array([p.pose for p in photos]), people=np.array([p.person for p in photos]))


def candidates() -> dict:
    """name -> Variant. c_*: CMU only (ex2-1's family); t_*: two studios (ex2-2's family)."""
    from vislib import augment as A, zoo

    A.recipe("none")  # fills the registry
    heavy_photo = [A.shift_scale(0.12, 0.12, rotate=8), A.gamma(0.9), A.contrast(0.6), A.brightness(0.25),
                   A.blur(0.4, 1.5), A.noise(0.05), A.erase(0.6)]
    strong = [A.shift_scale(0.1, 0.1), A.gamma(0.5), A.contrast(0.4), A.brightness(0.15), A.blur(0.3),
              A.noise(0.03), A.erase(0.5)]

    def invert(p):
        def apply(x, rng):
            x = x.copy()
            chosen = rng.random(len(x)) < p
            x[chosen] = 1 - x[chosen]
            return x
        return apply

    A.RECIPES.update({
        "sweep:backdrop0.8": A.compose(A.background(0.8), *strong),
        "sweep:invert": A.compose(A.background(0.5), *strong, invert(0.25)),
        "sweep:heavy": A.compose(A.background(0.5), *heavy_photo, invert(0.15)),
        "sweep:wide": A.compose(A.background(0.5), A.shift_scale(0.15, 0.15, rotate=12), *heavy_photo[1:]),
    })
    old1, old2 = zoo.VARIANTS["ex2-1"], zoo.VARIANTS["ex2-2"]
    base1 = replace(old1, augment="strong+backdrop", preprocess=None)  # ex2-1 as shipped before
    base2 = replace(old2, augment="strong", preprocess=None, epochs=40, average_from=20)  # ex2-2 before
    long = dict(epochs=80, average_from=40)
    return {
        "c_base": base1,
        "c_head": replace(base1, augment="strong+head"),
        "c_geo": replace(base1, augment="strong+geometry"),
        "c_sb8": replace(base1, augment="sweep:backdrop0.8"),
        "c_inv": replace(base1, augment="sweep:invert"),
        "c_photo": replace(base1, augment="strong+photometric"),
        "c_heavy": replace(base1, augment="sweep:heavy"),
        "c_long": replace(base1, **long),
        "c_bal": replace(base1, balance=True),
        "c_std": replace(base1, preprocess="standardise"),
        "c_lcn": replace(base1, preprocess="local_contrast"),
        "c_std_photo": replace(base1, preprocess="standardise", augment="strong+photometric"),
        "c_lcn_photo": replace(base1, preprocess="local_contrast", augment="strong+photometric"),
        "c_lcn_photo_long": replace(base1, preprocess="local_contrast", augment="strong+photometric", **long),
        "c_lcn_wide": replace(base1, preprocess="local_contrast", augment="sweep:wide"),
        # second search (ex2-3): the head alone on backdrops, finer local contrast
        "c_head_photo": replace(base1, preprocess="local_contrast", augment="strong+head+photometric"),
        "c_head_photo_fine": replace(base1, preprocess="local_contrast_fine", augment="strong+head+photometric"),
        "t_base": base2,
        "t_sb": replace(base2, augment="strong+backdrop"),
        "t_mild": replace(base2, augment="mild"),
        "t_long": replace(base2, **long),
        "t_bal": replace(base2, balance=True),
        "t_std": replace(base2, preprocess="standardise"),
        "t_long_std": replace(base2, preprocess="standardise", **long),
        "t_long_std_mild": replace(base2, preprocess="standardise", augment="mild", **long),
        "t_long_lcn": replace(base2, preprocess="local_contrast", **long),
        # third search (two studios, around ex2-2 = t_long_std_mild)
        "t_vlong_std_mild": replace(base2, preprocess="standardise", augment="mild", epochs=120, average_from=60),
        "t_long_std_mildbg": replace(base2, preprocess="standardise", augment="mild+backdrop", **long),
        "t_long_lcn_mild": replace(base2, preprocess="local_contrast", augment="mild", **long),
        "t_long_lcnf_mild": replace(base2, preprocess="local_contrast_fine", augment="mild", **long),
        "t_long_std_mild_wd": replace(base2, preprocess="standardise", augment="mild", weight_decay=1e-4, **long),
        "t_long_std_mild_wide": replace(base2, preprocess="standardise", augment="mild", conv_filters=(32, 64, 64),
                                        **long),
        "t_long_std_mild_det": replace(base2, preprocess="standardise", augment="mild",
                                       pointing04_framings=("detected",), **long),
    }


def run_command(commands: dict, script: str, argv=None) -> int:
    """`python tools/<script> <command>` for the round scripts: run the one command named, or say the usage."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in commands:
        print(f"usage: python tools/{script} {{{','.join(commands)}}}", file=sys.stderr)
        return 2
    commands[argv[0]]()
    return 0


def _examples(cache, prefix):
    from vislib import train

    x = cache[prefix + "_x"]
    return train.Examples(x, cache[prefix + "_poses"], cache[prefix + "_people"], np.full(len(x), prefix))


@dataclass(frozen=True)
class HeldOut:
    """The held-out protocol of the two-studio rounds, from the cache: CMU, Pointing'04 framed as
    uploads ("detected") and by face box, with the Pointing'04 training / validation people and
    one CMU fold's training / test indices."""

    cmu: object
    detected: object
    face: object
    p_train: np.ndarray
    p_val: np.ndarray
    train_idx: np.ndarray
    test_idx: np.ndarray


def held_out(validation_people, fold: int = 0) -> HeldOut:
    from vislib import data, train

    cache = np.load(CACHE)
    cmu, detected, face = (_examples(cache, p) for p in ("cmu", "p04d", "p04f"))
    p_train, p_val = data.person_split(detected.people, validation_people)
    train_idx, test_idx = data.person_folds(cmu.people, train.CMU_FOLDS, train.FOLD_SEED)[fold]
    return HeldOut(cmu, detected, face, p_train, p_val, train_idx, test_idx)


def _score(model, examples) -> dict:
    from vislib import train

    predicted, truth = train.predict(model, examples.x), examples.labels("binary")
    return {"acc": round(float((predicted == truth).mean()), 4), **train.recalls(truth, predicted, "binary")}


def run_one(job) -> dict:
    name, seed, fold, with_amigos, epochs = job
    import cv2
    import keras

    from vislib import data, train, zoo

    cv2.setNumThreads(1)
    spec = candidates()[name]
    zoo.VARIANTS[name] = spec = replace(spec, name=name)
    cache = np.load(CACHE)
    cmu, p04d, p04f = (_examples(cache, p) for p in ("cmu", "p04d", "p04f"))
    two_studios = "pointing04_train" in spec.training_data
    p_train, p_val = data.person_split(p04d.people, spec.pointing04_validation)
    train_idx, test_idx = data.person_folds(cmu.people, train.CMU_FOLDS, train.FOLD_SEED)[fold]
    examples = cmu.take(train_idx)
    if two_studios:
        framed = {"detected": p04d, "face": p04f}
        examples = train._join(examples, *(framed[f].take(p_train) for f in spec.pointing04_framings))
    started = time.time()
    model, _, _ = train.fit(spec, examples, None, seed, epochs or spec.epochs)
    predicted = np.full(len(cmu), -1)
    predicted[test_idx] = train.predict(model, cmu.x[test_idx])
    out = {"config": name, "seed": seed, "fold": fold, "cmu_pred": predicted.tolist(),
           "cmu_fold": _score(model, cmu.take(test_idx))}
    if fold == 0:
        out["p04"] = _score(model, p04d.take(p_val) if two_studios else p04d)
        out["p04_face"] = _score(model, p04f.take(p_val) if two_studios else p04f)
        if with_amigos:  # the test set: only for the chosen recipes, after the choice
            amigos = np.load(AMIGOS)
            for key, framing in (("x", "detected"), ("xf", "face")):
                x = amigos[key]
                out["amigos_" + framing] = _score(model, train.Examples(x, amigos["poses"], amigos["people"],
                                                                        np.full(len(x), "amigos")))
    out["seconds"] = round(time.time() - started, 1)
    keras.backend.clear_session()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("cache")
    run = sub.add_parser("run")
    run.add_argument("names", help="comma-separated candidate names (see candidates())")
    run.add_argument("--seeds", default="1234,1,2")
    run.add_argument("--folds", default="0", help="CMU person folds to hold out, comma-separated (0-4)")
    run.add_argument("--processes", type=int, default=os.cpu_count())
    run.add_argument("--amigos", action="store_true", help="also score the three amigos (chosen recipes only)")
    run.add_argument("--epochs", type=int, default=None, help="override the recipes' epochs (smoke tests)")
    args = parser.parse_args(argv)
    if args.what == "cache":
        make_cache()
        return 0
    known = candidates()
    names = args.names.split(",")
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown candidates {unknown}; expected some of {sorted(known)}")
    # seed by seed: a run stopped early still has every candidate's first seeds
    jobs = [(n, int(s), int(f), args.amigos, args.epochs) for s in args.seeds.split(",") for n in names
            for f in args.folds.split(",")]
    out = Path(os.environ.get("OUT", ROOT / ".sweep"))
    with mp.get_context("spawn").Pool(args.processes) as pool, open(out / "sweep.json", "a") as log:
        for result in pool.imap_unordered(run_one, jobs):
            line = json.dumps(result)
            print(line, flush=True)
            log.write(line + "\n")
            log.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
