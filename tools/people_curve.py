"""Does ex2-2's recipe gain from more people of the second studio? (the evidence behind ex2-4)

Trains ex2-2's recipe with all seven of its Pointing'04 training people and with five of them
(a different two left out for each seed), and scores both on the two held-out Pointing'04 people
(persons 06 and 13) and on the CMU people of fold 0. Never reads the three amigos.

    python tools/recipe_sweep.py cache        # once (needs the data)
    python tools/people_curve.py              # about 15 minutes on 2 cores

Prints one line per training and the means (BENCHMARKS.md, "Fifth round").
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import recipe_sweep  # noqa: E402

SEEDS = (1234, 1, 2)


def main() -> int:
    import keras

    from vislib import train, zoo

    spec = zoo.variant("ex2-2")
    h = recipe_sweep.held_out(spec.pointing04_validation)
    cmu, detected, face, p_train, p_val = h.cmu, h.detected, h.face, h.p_train, h.p_val
    train_idx, test_idx = h.train_idx, h.test_idx
    people = sorted(set(detected.people[p_train].tolist()))
    held_out, cmu_test = detected.take(p_val), cmu.take(test_idx)
    scores = {7: [], 5: []}
    for s, seed in enumerate(SEEDS):
        for n in (7, 5):
            kept = people if n == 7 else [p for p in people if p not in people[2 * s:2 * s + 2]]
            chosen = np.isin(detected.people, kept)
            examples = train._join(cmu.take(train_idx), detected.take(chosen), face.take(chosen))
            model, _, _ = train.fit(spec, examples, None, seed, spec.epochs)
            p04 = recipe_sweep._score(model, held_out)
            fold = recipe_sweep._score(model, cmu_test)
            scores[n].append(p04["acc"])
            print(f"seed {seed}, {n} people ({', '.join(kept)}): persons 06+13 {p04['acc']:.1%} "
                  f"(left recall {p04['left_recall']:.1%}), CMU fold 0 {fold['acc']:.1%}", flush=True)
            keras.backend.clear_session()
    for n, values in scores.items():
        print(f"{n} Pointing'04 people: mean {np.mean(values):.1%} on persons 06+13 over seeds {SEEDS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
