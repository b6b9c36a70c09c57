"""Does the face detector's last, less sure pass help a CMU-only recipe once it is also trained
through it? (BENCHMARKS.md, "Sixth round"; the answer is train.TRAIN_ON_LESS_SURE_FACES).
Never reads the three amigos.

    python tools/detector_check.py --at-use              # no training (~2 min)
    python tools/detector_check.py [VARIANT] [SEEDS...]   # default ex2-3, seeds 1234 1 2 (~8 min)

For the detector without its last pass and with it:

- `--at-use`: how many faces it finds on the nine pointing04_train people (and how many of those
  lie within half a face of the database's box) and on the CMU originals, and how the shipped
  networks, unchanged, score on people they never saw, framed as uploads (ex2-1 and ex2-3 on all
  nine; ex2-2 on persons 06 and 13, the two it was not trained on);
- otherwise: trains the variant's recipe on the CMU people outside fold 0 (framed by that detector,
  as `make train` would) and scores it on CMU fold 0 and on the nine pointing04_train people
  framed as uploads by the same detector.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _skimage_faces(less_sure: bool) -> list[str]:
    """The pictures of scikit-image's data folder (a development requirement) where a face is found."""
    import skimage

    from vislib import imaging

    found = []
    for path in sorted((Path(skimage.__file__).parent / "data").glob("*.[pj][np]g")):
        gray = imaging.load_photo(path.read_bytes())
        if min(gray.shape) >= 20 and imaging.detect_face(gray, less_sure) is not None:
            found.append(path.stem)
    return found


def at_use() -> int:
    from vislib import data, imaging, zoo

    photos = data.load_pointing04_train()
    grays = [imaging.load_photo(p.path.read_bytes()) for p in photos]
    looks_left = np.array([p.pose == "left" for p in photos])
    for less_sure in (False, True):
        label = "with the last pass" if less_sure else "without the last pass"
        faces = [imaging.detect_face(g, less_sure) for g in grays]
        near = sum(f is not None and abs(f.cx - p.face_box[0]) < 0.5 * p.face_box[3]
                   and abs(f.cy - p.face_box[1]) < 0.5 * p.face_box[3] for f, p in zip(faces, photos))
        found_left = sum(f is not None for f, left in zip(faces, looks_left) if left)
        cmu = sum(imaging.detect_face(image[..., 0], less_sure) is not None for image in data.load_cmu(1).images)
        print(f"{label}: pointing04_train faces found {sum(f is not None for f in faces)} of {len(photos)} "
              f"({near} within half a face of the box; looking left {found_left} of {looks_left.sum()}), "
              f"CMU originals {cmu} of {len(data.load_cmu(1).images)}", flush=True)
        print(f"  scikit-image pictures with a face found: {', '.join(_skimage_faces(less_sure))} "
              "(of them, only astronaut and camera show a face)", flush=True)
        x = np.stack([imaging.frame(g, f, use_whole_photo=f is None).input for g, f in zip(grays, faces)])
        for name, people in (("ex2-1", None), ("ex2-3", None), ("ex2-2", zoo.variant("ex2-2").pointing04_validation)):
            chosen = np.array([people is None or p.person in people for p in photos])
            called = zoo.load(name).predict(x[chosen], verbose=0).argmax(axis=1) == 1
            truth = looks_left[chosen]
            print(f"  {name} on {'persons ' + ' + '.join(q[-2:] for q in people) if people else 'all nine'}: "
                  f"{np.mean(called == truth):.1%} (left recall {called[truth].mean():.1%})", flush=True)
    return 0


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
    if args == ["--at-use"]:
        sys.exit(at_use())
    sys.exit(main(args[0], [int(s) for s in args[1:]] or (1234, 1, 2)) if args else main())
