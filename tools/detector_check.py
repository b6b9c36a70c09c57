"""Does the face detector's last, less sure pass help a CMU-only recipe once it is also trained
through it? (BENCHMARKS.md, "Sixth round"; the answer is train.TRAIN_ON_LESS_SURE_FACES).
Never reads the three amigos.

    python tools/detector_check.py [VARIANT] [SEEDS...]   # default ex2-3, seeds 1234 1 2 (~8 min)

For the detector without its last pass and with it: trains the variant's recipe on the CMU people
outside fold 0 (framed by that detector, as `make train` would) and scores it on CMU fold 0 and on
the nine pointing04_train people framed as uploads by the same detector.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(name: str = "ex2-3", seeds=(1234, 1, 2)) -> int:
    import keras

    from vislib import data, imaging, train, zoo

    spec = zoo.variant(name)
    if "pointing04_train" in spec.training_data:
        raise SystemExit(f"expected a CMU-only variant (its test is every pointing04_train person), got {name}")
    shipped = train.TRAIN_ON_LESS_SURE_FACES
    for label, less_sure in (("without the last pass", False), ("with the last pass", True)):
        train.TRAIN_ON_LESS_SURE_FACES = less_sure  # for the training faces and the scored ones alike
        cmu = train.cmu_examples(spec.framing)
        p04 = train.pointing04_examples("detected")
        found = sum(imaging.detect_face(image[..., 0], less_sure) is not None for image in data.load_cmu(1).images)
        train_idx, test_idx = data.person_folds(cmu.people, train.CMU_FOLDS, train.FOLD_SEED)[0]
        scores = []
        for seed in seeds:
            model, _, _ = train.fit(spec, cmu.take(train_idx), None, seed, spec.epochs)
            called, truth = train.predict(model, p04.x) == 1, p04.labels("binary") == 1
            fold = np.mean(train.predict(model, cmu.x[test_idx]) == cmu.labels("binary")[test_idx])
            scores.append(np.mean(called == truth))
            print(f"{name} {label} (CMU faces found {found} of {len(cmu.x)}), seed {seed}: pointing04_train "
                  f"{scores[-1]:.1%} (left recall {called[truth].mean():.1%}, not left {(~called[~truth]).mean():.1%}), "
                  f"CMU fold 0 {fold:.1%}", flush=True)
            keras.backend.clear_session()
        print(f"{name} {label}: mean {np.mean(scores):.1%}, worst {np.min(scores):.1%}", flush=True)
    train.TRAIN_ON_LESS_SURE_FACES = shipped
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[0], [int(s) for s in args[1:]] or (1234, 1, 2)) if args else main())
