"""Train the zoo reproducibly: `python -m vislib.train --all` or `--variant NAME`.

Writes models/<variant>/: model.keras, history.json, metrics.json, unit_stats.json, mean_image.npy.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import keras
import numpy as np

from vislib import autodiff, data, settings, zoo

SEED = 1234
BATCH_SIZE = 32
LEARNING_RATE = 1e-3


def confusion(truth, predicted, n_classes: int) -> list[list[int]]:
    """Rows: true class; columns: predicted class."""
    matrix = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(matrix, (np.asarray(truth), np.asarray(predicted)), 1)
    return matrix.tolist()


def unit_statistics(model: keras.Model, images: np.ndarray) -> dict:
    """Per unit of every conv/dense layer: the highest response over the images (a conv unit's
    response is its channel mean, as HappyMaps maximises it) and whether it ever fires at all."""
    layers = zoo.unit_layers(model)
    probe = keras.Model(model.input, [model.get_layer(n).output for n in layers])
    outputs = probe.predict(images, batch_size=128, verbose=0)
    stats = {}
    for name, out in zip(layers, outputs):
        mean = out.mean(axis=(1, 2)) if out.ndim == 4 else out
        peak = out.max(axis=(1, 2)) if out.ndim == 4 else out
        stats[name] = {
            "max": mean.max(axis=0).round(6).tolist(),
            "dead": (peak.max(axis=0) <= 0).tolist(),
        }
    return stats


def evaluate_amigos(model, spec: zoo.Variant, photos, framing: str) -> tuple[dict, list, dict]:
    x = data.amigo_inputs(photos, framing)
    truth = data.task_labels([p.pose for p in photos], spec.task)
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    per_person = {}
    for person in sorted({p.person for p in photos}):
        mask = np.array([p.person == person for p in photos])
        per_person[person] = round(float((predicted[mask] == truth[mask]).mean()), 4)
    accuracy = {"overall": round(float((predicted == truth).mean()), 4), "per_person": per_person}
    return accuracy, confusion(truth, predicted, len(spec.classes)), dict(
        zip([p.file for p in photos], predicted.tolist())
    )


def train_variant(name: str, out_root: Path | None = None, epochs: int | None = None, seed: int = SEED,
                  log=print) -> dict:
    """Train one variant from the data and write its folder; returns its metrics."""
    spec = zoo.variant(name)
    epochs = spec.epochs if epochs is None else epochs
    autodiff.set_seed(seed)
    faces = data.load_cmu()
    train_idx, test_idx = data.split_indices(faces.poses, seed=0)
    labels = faces.labels(spec.task)
    n_classes = len(spec.classes)
    onehot = np.eye(n_classes, dtype=np.float32)[labels]
    x_train, y_train = faces.images[train_idx], onehot[train_idx]
    x_test, y_test = faces.images[test_idx], onehot[test_idx]

    model = zoo.build(name)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=spec.loss,
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])
    started = time.perf_counter()
    fit = model.fit(x_train, y_train, validation_data=(x_test, y_test), epochs=epochs,
                    batch_size=BATCH_SIZE, shuffle=True, verbose=0)
    seconds = time.perf_counter() - started
    history = {
        "epoch": list(range(1, epochs + 1)),
        "train": {"loss": fit.history["loss"], "accuracy": fit.history["accuracy"]},
        "test": {"loss": fit.history["val_loss"], "accuracy": fit.history["val_accuracy"]},
    }

    def predict(x):
        return model.predict(x, batch_size=128, verbose=0).argmax(axis=1)

    p_train, p_test = predict(x_train), predict(x_test)
    metrics = {
        "variant": name,
        "title": spec.title,
        "task": spec.task,
        "classes": list(spec.classes),
        "params": int(model.count_params()),
        "input_shape": list(settings.INPUT_SHAPE),
        "decision_layer": spec.decision_layer,
        "loss": spec.loss,
        "epochs": epochs,
        "seed": seed,
        "split": {"seed": 0, "train": len(train_idx), "test": len(test_idx)},
        "accuracy": {
            "train": round(float((p_train == labels[train_idx]).mean()), 4),
            "test": round(float((p_test == labels[test_idx]).mean()), 4),
        },
        "confusion": {
            "train": confusion(labels[train_idx], p_train, n_classes),
            "test": confusion(labels[test_idx], p_test, n_classes),
        },
        "predictions": {},
        "training_seconds": round(seconds, 2),
        "keras": keras.__version__,
        "backend": autodiff.backend(),
        "three_amigos_citation": settings.POINTING04_CITATION,
    }
    photos = data.load_three_amigos()
    for key, framing in (("three_amigos", "face"), ("three_amigos_full_frame", "full")):
        accuracy, matrix, predictions = evaluate_amigos(model, spec, photos, framing)
        metrics["accuracy"][key] = accuracy
        metrics["confusion"][key] = matrix
        metrics["predictions"][key] = predictions

    folder = zoo.model_dir(name, out_root)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    (folder / "history.json").write_text(json.dumps(history, indent=1))
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1))
    (folder / "unit_stats.json").write_text(json.dumps(unit_statistics(model, faces.images[train_idx])))
    np.save(folder / "mean_image.npy", x_train.mean(axis=0)[..., 0].astype(np.float32))
    a = metrics["accuracy"]
    log(f"{name}: {metrics['params']} params, train {a['train']:.3f}, test {a['test']:.3f}, "
        f"three amigos {a['three_amigos']['overall']:.3f} (full frame "
        f"{a['three_amigos_full_frame']['overall']:.3f}), {seconds:.1f} s")
    return metrics


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vislib.train", description=__doc__)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="train every variant")
    which.add_argument("--variant", choices=list(zoo.VARIANTS), action="append")
    parser.add_argument("--out", type=Path, default=None, help="models folder (default: models/)")
    parser.add_argument("--epochs", type=int, default=None, help="override each variant's epochs")
    args = parser.parse_args(argv)
    names = list(zoo.VARIANTS) if args.all else args.variant
    try:
        started = time.perf_counter()
        for name in names:
            train_variant(name, args.out, args.epochs)
        print(f"trained {len(names)} variant(s) in {time.perf_counter() - started:.0f} s")
    except data.DataNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
