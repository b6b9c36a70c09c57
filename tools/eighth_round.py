"""Issue 10, eighth round (BENCHMARKS.md): would an ensemble help new people? Judged without the
three amigos.

    python tools/recipe_sweep.py cache        # once (needs the data), then:
    python tools/eighth_round.py              # 6 trainings of ex2-2's recipe (~9 min on 2 cores)

ex2-2's recipe with CMU fold 0 held out (the seventh round's protocol), seeds 1234, 1 and 2, at its
own length (80 epochs, weights averaged from 40) and at a third of it (27 epochs, from 13). Each
model and the mean of each length's three probabilities (the ensemble) are scored on Pointing'04
persons 06 and 13, framed as uploads and by face box, and on CMU fold 0. Three short members cost
what one full model does, so the short ensemble is the one `make train` could afford.
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


def main() -> int:
    import keras

    import recipe_sweep
    from vislib import train, zoo

    base = zoo.variant("ex2-2")
    h = recipe_sweep.held_out(base.pointing04_validation)
    left = base.classes.index("left")
    held_out = {"persons 06 + 13 as uploads": (h.detected.x[h.p_val], h.detected.poses[h.p_val] == "left"),
                "persons 06 + 13, face box": (h.face.x[h.p_val], h.face.poses[h.p_val] == "left"),
                "CMU fold 0": (h.cmu.x[h.test_idx], h.cmu.poses[h.test_idx] == "left")}
    examples = train._join(h.cmu.take(h.train_idx), h.detected.take(h.p_train), h.face.take(h.p_train))
    for length, (epochs, average_from) in LENGTHS.items():
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
