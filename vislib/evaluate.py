"""Evaluate the shipped models again without retraining them: `python -m vislib.evaluate --all`.

Rewrites the evaluation part of models/<variant>/metrics.json (never model.keras):

- `accuracy.three_amigos` (the database's face box), `three_amigos_full_frame` (the whole
  photo) and `three_amigos_detected` (the intake's own face detector, as an upload): overall
  and per-person accuracy, `left_recall` (share of the 45 faces looking left that are called
  left) and `not_left_recall` (share of the other 93 not called left), through the current
  intake (vislib.imaging);
- `samples`: the decision on each photo of sample_images/ (a third source);
- `accuracy.cmu_new_people` (unless --no-kfold): accuracy on CMU people the network never saw,
  by a leave-people-out k-fold of the variant's own recipe (vislib.train.cmu_new_people). This
  retrains k models per variant; the shipped model itself is left as it is.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from vislib import data, imaging, settings, zoo

AMIGO_FRAMINGS = (("three_amigos", "face"), ("three_amigos_full_frame", "full"),
                  ("three_amigos_detected", "detected"))


def sample_predictions(model, spec: zoo.Variant) -> dict:
    """The decision on each sample photo (sample_images/*.jpg), framed as an upload."""
    out = {}
    for path in sorted(settings.SAMPLES_DIR.glob("*.jpg")):
        framing = imaging.frame(imaging.load_photo(path.read_bytes()))
        scores = model.predict(framing.input[None], verbose=0)[0]
        out[path.name] = {"predicted": spec.classes[int(scores.argmax())],
                          "scores": [round(float(s), 4) for s in scores], "framing": framing.source}
    return out


def amigo_metrics(model, spec: zoo.Variant, metrics: dict) -> dict:
    """Fill metrics' three-amigos accuracy, confusion and predictions (all three framings)
    and the sample photos' decisions, in place; returns metrics."""
    from vislib.train import evaluate_amigos

    photos = data.load_three_amigos()
    for key, framing in AMIGO_FRAMINGS:
        accuracy, matrix, predictions = evaluate_amigos(model, spec, photos, framing)
        metrics["accuracy"][key] = accuracy
        metrics["confusion"][key] = matrix
        metrics["predictions"][key] = predictions
    metrics["samples"] = sample_predictions(model, spec)
    metrics["framing_version"] = FRAMING_VERSION
    return metrics


# Bumped when vislib.imaging's framing changes what the network sees (2, issue 10: the face
# centre at 0.54 of the crop, 0.33 of its height; a flat fill outside the photo. 3: the face
# detector's last, less sure pass).
FRAMING_VERSION = 3


def evaluate_shipped(name: str, new_people: dict | None = None, log=print) -> dict:
    """Re-evaluate one shipped variant in place (metrics.json only); `new_people`, when given,
    replaces its `cmu_new_people` (`vislib.train.cmu_new_people_of`)."""
    spec = zoo.variant(name)
    path = zoo.model_dir(name) / "metrics.json"
    metrics = zoo.read_json(name, "metrics.json")
    model = zoo.load(name)
    metrics.setdefault("training_data", list(spec.training_data))
    metrics.setdefault("series", spec.series)
    metrics.setdefault("framing", spec.framing)
    amigo_metrics(model, spec, metrics)
    if new_people is not None:
        metrics["accuracy"]["cmu_new_people"] = new_people
    path.write_text(json.dumps(metrics, indent=1))
    a = metrics["accuracy"]
    new = a.get("cmu_new_people", {}).get("overall")
    log(f"{name}: three amigos {a['three_amigos']['overall']:.3f} (left recall "
        f"{a['three_amigos']['left_recall']:.3f}), detected {a['three_amigos_detected']['overall']:.3f}, "
        f"whole frame {a['three_amigos_full_frame']['overall']:.3f}; CMU new people "
        f"{'-' if new is None else f'{new:.3f}'}")
    return metrics


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vislib.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every shipped variant")
    which.add_argument("--variant", choices=list(zoo.VARIANTS), action="append")
    parser.add_argument("--no-kfold", action="store_true", help="keep the recorded cmu_new_people")
    parser.add_argument("--folds", type=int, default=None)
    args = parser.parse_args(argv)
    names = zoo.shipped_variants() if args.all else args.variant
    started = time.perf_counter()
    try:
        new_people = {}
        if not args.no_kfold:  # every variant's folds in one pool of workers
            from vislib import train

            runs = [(zoo.variant(n), m["seed"], m["epochs"]) for n in names
                    for m in [zoo.read_json(n, "metrics.json")]]
            new_people = dict(zip(names, train.cmu_new_people_of(runs, args.folds or train.CMU_FOLDS)))
        for name in names:
            evaluate_shipped(name, new_people.get(name))
    except data.DataNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"evaluated {len(names)} variant(s) in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
