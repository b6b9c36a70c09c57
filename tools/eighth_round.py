"""Two checks of the eighth round (BENCHMARKS.md).

    python tools/recipe_sweep.py cache        # once (needs the data), then:
    python tools/eighth_round.py ensemble     # issue 10: 6 trainings of ex2-2's recipe (~9 min on 2 cores)
    python tools/eighth_round.py smoothing    # issue 10: 6 trainings with label smoothing (~12 min)
    python tools/eighth_round.py seen         # issue 11: no training (~3 min)

- `ensemble`: would an ensemble help new people? Judged without the three amigos. ex2-2's recipe with CMU fold 0 held out (the seventh round's protocol), seeds 1234, 1 and 2, at its
own length (80 epochs, weights averaged from 40) and at a third of it (27 epochs, from 13). Each
model and the mean of each length's three probabilities (the ensemble) are scored on Pointing'04
persons 06 and 13, framed as uploads and by face box, and on CMU fold 0. Three short members cost
what one full model does, so the short ensemble is the one `make train` could afford.
- `smoothing`: the same protocol at full length, with the targets smoothed by 0.1, then 0.2 (a
  softer "left" / "not left"), against the full models of `ensemble`.
- `seen`: the legibility figure of `python -m vislib.bench legibility`, with the map, the mean face
  and the training faces all seen through the network's own input normalisation (local contrast,
  or standardisation): does the local-contrast networks' shortfall come from the shading their
  first layer throws away? At the default preset and at the smoothed one; and each map against the
  network's own classification image (`python tools/seventh_round.py classification-image`).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SEEDS = (1234, 1, 2)
LENGTHS = {"full (80 epochs)": (80, 40), "short (27 epochs)": (27, 13)}
LABEL_SMOOTHINGS = (0.1, 0.2)


def ensemble(lengths=LENGTHS, loss=None) -> None:
    import keras

    import recipe_sweep
    from vislib import train, zoo

    base = zoo.variant("ex2-2")
    base = replace(base, loss=loss) if loss is not None else base
    h = recipe_sweep.held_out(base.pointing04_validation)
    left = base.classes.index("left")
    held_out = {"persons 06 + 13 as uploads": (h.detected.x[h.p_val], h.detected.poses[h.p_val] == "left"),
                "persons 06 + 13, face box": (h.face.x[h.p_val], h.face.poses[h.p_val] == "left"),
                "CMU fold 0": (h.cmu.x[h.test_idx], h.cmu.poses[h.test_idx] == "left")}
    examples = train._join(h.cmu.take(h.train_idx), h.detected.take(h.p_train), h.face.take(h.p_train))
    for length, (epochs, average_from) in lengths.items():
        spec = replace(base, epochs=epochs, average_from=average_from)
        p_left = {name: [] for name in held_out}
        for seed in SEEDS:
            model, _, seconds = train.fit(spec, examples, None, seed, epochs)
            for name, (x, _) in held_out.items():
                p_left[name].append(model.predict(x, verbose=0)[:, left])
            keras.backend.clear_session()
            print(f"{length}, seed {seed}: trained in {seconds:.0f} s", flush=True)
        for name, (_, is_left) in held_out.items():
            singles = [float(((p >= 0.5) == is_left).mean()) for p in p_left[name]]
            ensemble = float(((np.mean(p_left[name], axis=0) >= 0.5) == is_left).mean())
            print(f"{length}, {name}: seeds {', '.join(f'{s:.1%}' for s in singles)} (mean {np.mean(singles):.1%});"
                  f" ensemble of the three {ensemble:.1%}", flush=True)


def smoothing() -> None:
    import keras

    full = next(iter(LENGTHS))
    for amount in LABEL_SMOOTHINGS:
        ensemble({f"{full}, label smoothing {amount}": LENGTHS[full]},
                 keras.losses.CategoricalCrossentropy(label_smoothing=amount))


def seen(variants=("ex2-1", "ex2-3", "ex2-4", "exp0"), presets=("legible", "legible-smooth")) -> None:
    import seventh_round
    from vislib import happymaps, preprocessing, surgery, train, zoo
    from vislib.bench import RANDOM_SEEDS

    for variant in variants:
        spec = zoo.variant(variant)
        normalise = preprocessing.layer(spec.preprocess) if spec.preprocess else None

        def as_seen(images):  # (N, H, W) -> (N, H, W), through the network's first layer
            x = np.asarray(images, np.float32)[..., None]
            return (np.concatenate([np.asarray(normalise(x[i:i + 256])) for i in range(0, len(x), 256)])
                    if normalise else x)[..., 0]

        examples = train.training_sets(spec)[0]
        faces, left = as_seen(examples.x[..., 0]), examples.poses == "left"
        reference = faces[left].mean(axis=0) - faces[~left].mean(axis=0)
        engine = happymaps.engine_for(variant)
        mean_face = as_seen(engine.mean_image[None])
        unit = spec.classes.index("left")

        def figure(model, settings_):
            copy = happymaps.Engine(model, engine.mean_image, engine.face_basis, engine.classes, engine.transforms)
            image = copy.layer(engine.decision_layer, settings=settings_, every=settings_.steps).images[unit]
            return float(happymaps.correlation(as_seen(image[None]) - mean_face, reference)[0])

        own = seventh_round.image_for(engine.model, engine.face_basis, unit)
        for preset in presets:
            settings_ = happymaps.Settings.from_preset(preset)
            copies = [figure(surgery.randomized_copy(engine.model, seed), settings_) for seed in RANDOM_SEEDS]
            print(f"{variant} at {preset}, seen through its input normalisation ({spec.preprocess or 'none'}): "
                  f"trained {figure(engine.model, settings_):.2f}, randomised {np.median(copies):.2f} "
                  f"(seeds {', '.join(f'{c:.2f}' for c in copies)})", flush=True)
            image = engine.layer(engine.decision_layer, settings=settings_, every=settings_.steps).images[unit]
            print(f"{variant} at {preset}: its map against its own classification image (seventh round) "
                  f"{happymaps.correlation((image - engine.mean_image)[None], own)[0]:.2f}", flush=True)


if __name__ == "__main__":
    import recipe_sweep

    sys.exit(recipe_sweep.run_command({"ensemble": ensemble, "smoothing": smoothing, "seen": seen}, "eighth_round.py"))
