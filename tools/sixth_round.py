"""Two cheap ideas for the two-studio goal, judged on held-out people only (BENCHMARKS.md, "Sixth round").

    python tools/sixth_round.py tta     # shipped ex2-2 (and the CMU-only ex2-1, ex2-3), no training
    python tools/recipe_sweep.py cache  # once (needs the data), then:
    python tools/sixth_round.py pose    # ex2-2's recipe with four pose classes, 3 seeds (~7 min)

- `tta`: average the decision over framings moved by ±5% and zoomed by ±10% (test-time
  augmentation), on Pointing'04 persons 06 and 13, whom ex2-2 never trained on.
- `pose`: ex2-2's recipe taught all four poses instead of "left or not" ("left" read off as the
  left class), with the protocol of tools/people_curve.py's seven-people column (CMU fold 0 held out,
  scored on persons 06 and 13).

The rule, fixed before either ran: adopt an idea only if it gains at least one point on persons
06 and 13. Neither reads the three amigos.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HELD_OUT = ("person06", "person13")
GRIDS = {
    "one framing": [(1.0, 0.0, 0.0)],
    "3 zooms": [(z, 0.0, 0.0) for z in (0.9, 1.0, 1.1)],
    "9 shifts": [(1.0, r, d) for r in (-0.05, 0.0, 0.05) for d in (-0.05, 0.0, 0.05)],
    "27 framings": list(itertools.product((0.9, 1.0, 1.1), (-0.05, 0.0, 0.05), (-0.05, 0.0, 0.05))),
}


def tta(names=("ex2-2", "ex2-1", "ex2-3")) -> None:
    from vislib import data, imaging, zoo

    photos = [p for p in data.load_pointing04_train() if p.person in HELD_OUT]
    looks_left = np.array([p.pose == "left" for p in photos] * 2)
    framing_of = np.array(["detected"] * len(photos) + ["face box"] * len(photos))
    inputs = {grid: [] for grid in GRIDS}
    for framing in ("detected", "face box"):
        for photo in photos:
            gray = imaging.load_photo(photo.path.read_bytes())
            face = imaging.detect_face(gray) if framing == "detected" else photo.face_box
            for grid, moves in GRIDS.items():
                inputs[grid].append(np.stack(
                    [imaging.frame(gray, use_whole_photo=True).input] * len(moves) if face is None else
                    [imaging.frame(gray, face, zoom=z, right=r, down=d).input for z, r, d in moves]))
    for name in names:
        model = zoo.load(name)
        for grid in GRIDS:
            x = np.stack(inputs[grid])
            n, m = x.shape[:2]
            p_left = model.predict(x.reshape(n * m, *x.shape[2:]), verbose=0)[:, 1].reshape(n, m).mean(axis=1)
            for framing in ("detected", "face box"):
                chosen = framing_of == framing
                called, truth = p_left[chosen] > 0.5, looks_left[chosen]
                print(f"{name}, {grid}, {framing}: {np.mean(called == truth):.1%} (left recall "
                      f"{called[truth].mean():.1%}, not left {(~called[~truth]).mean():.1%})", flush=True)


def pose(seeds=(1234, 1, 2)) -> None:
    import keras
    import recipe_sweep

    from vislib import train, zoo

    spec = replace(zoo.variant("ex2-2"), task="pose", name="ex2-2-pose")
    zoo.VARIANTS[spec.name] = spec
    h = recipe_sweep.held_out(spec.pointing04_validation)
    cmu, detected, face, p_train, p_val = h.cmu, h.detected, h.face, h.p_train, h.p_val
    train_idx, test_idx = h.train_idx, h.test_idx
    left = spec.classes.index("left")

    def score(model, examples):
        called, truth = train.predict(model, examples.x) == left, examples.labels("binary") == 1
        return np.mean(called == truth), called[truth].mean()

    results = []
    for seed in seeds:
        examples = train._join(cmu.take(train_idx), detected.take(p_train), face.take(p_train))
        model, _, _ = train.fit(spec, examples, None, seed, spec.epochs)
        accuracy, left_recall = score(model, detected.take(p_val))
        results.append(accuracy)
        print(f"four pose classes, seed {seed}: persons 06+13 {accuracy:.1%} (left recall {left_recall:.1%}), "
              f"CMU fold 0 {score(model, cmu.take(test_idx))[0]:.1%}", flush=True)
        keras.backend.clear_session()
    print(f"four pose classes: mean {np.mean(results):.1%} on persons 06+13 over seeds {tuple(seeds)}")


if __name__ == "__main__":
    {"tta": tta, "pose": pose}[sys.argv[1] if len(sys.argv) > 1 else "tta"]()
