"""Train the zoo reproducibly: `python -m vislib.train --all` or `--variant NAME`.

Writes models/<variant>/: model.keras, history.json, metrics.json, unit_stats.json,
mean_image.npy, face_basis.npz. metrics.json holds the honest numbers of issue 10 too:
`accuracy.cmu_new_people` (leave-people-out k-fold of the variant's own recipe) and, for each
three-amigos framing, `left_recall` and `not_left_recall` (see vislib/evaluate.py).

    python -m vislib.train --all                              # what `make train` runs
    python -m vislib.train --variant ex2-1 --seeds 1234 1 2 --no-save   # the seed table
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from vislib import augment, autodiff, data, faceprior, settings, timelapse, zoo

SEED = 1234
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
CMU_FOLDS = 5  # leave-people-out: 5 folds of 4 CMU people
FOLD_SEED = 0
# Experiment 2 holds out whole people for validation (never the three amigos): the CMU people
# of fold 0 of `data.person_folds(users, CMU_FOLDS, FOLD_SEED)`, and the Pointing'04 people of
# each variant's `pointing04_validation`.


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


def recalls(truth, predicted, task: str) -> dict:
    """Recall of "left" (share of the faces looking left called left) and of everything else
    (share of the other faces not called left), so a constant answer shows as 0 on one side."""
    left = data.task_labels(["left"], task)[0]
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    is_left = truth == left

    def share(mask, hit):
        return round(float(hit[mask].mean()), 4) if mask.any() else None

    return {"left_recall": share(is_left, predicted == left),
            "not_left_recall": share(~is_left, predicted != left)}


def evaluate_amigos(model, spec: zoo.Variant, photos, framing: str) -> tuple[dict, list, dict]:
    x = data.amigo_inputs(photos, framing)
    truth = data.task_labels([p.pose for p in photos], spec.task)
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    per_person = {}
    for person in sorted({p.person for p in photos}):
        mask = np.array([p.person == person for p in photos])
        per_person[person] = round(float((predicted[mask] == truth[mask]).mean()), 4)
    accuracy = {"overall": round(float((predicted == truth).mean()), 4), "per_person": per_person,
                **recalls(truth, predicted, spec.task)}
    return accuracy, confusion(truth, predicted, len(spec.classes)), dict(
        zip([p.file for p in photos], predicted.tolist())
    )


# ---------------------------------------------------------------- training data


@dataclass(frozen=True)
class Examples:
    """Network inputs with their poses, people and source ('cmu' or 'pointing04_train'), and each
    photo's turn in degrees where it is known (Pointing'04's pan; NaN or None for CMU)."""

    x: np.ndarray
    poses: np.ndarray
    people: np.ndarray
    source: np.ndarray
    pan: np.ndarray | None = None

    def labels(self, task: str) -> np.ndarray:
        return data.task_labels(self.poses, task)

    def pans(self) -> np.ndarray:
        return np.full(len(self), np.nan) if self.pan is None else np.asarray(self.pan, float)

    def take(self, index) -> "Examples":
        return Examples(self.x[index], self.poses[index], self.people[index], self.source[index],
                        None if self.pan is None else self.pan[index])

    def __len__(self) -> int:
        return len(self.x)


def _join(*parts: Examples) -> Examples:
    joined = (np.concatenate([getattr(p, f) for p in parts]) for f in ("x", "poses", "people", "source"))
    pans = np.concatenate([p.pans() for p in parts]) if any(p.pan is not None for p in parts) else None
    return Examples(*joined, pans)


# Experiment 2 trains on the detector's sure faces only: where they find none, the whole photo.
# Uploads also get the detector's less sure pass. Trained through that pass too, ex2-3's recipe
# did worse on the nine pointing04_train people (76.0% against 77.9%, three seeds; the shipped
# networks, unchanged, gain 1.6 to 2.2 points from it at use): tools/detector_check.py.
TRAIN_ON_LESS_SURE_FACES = False


def cmu_examples(framing: str, subset: int | None = None) -> Examples:
    """CMU as a variant sees it: 'cmu' = the 64x60 files (the original study), 'detector' =
    the 128x120 originals framed by the upload intake (`data.cmu_detected_inputs`).
    subset: every n-th shot only (quick runs), framed alone."""
    if framing == "cmu":
        faces = data.load_cmu(2)
        x = faces.images
    elif framing == "detector":
        faces = data.load_cmu(1)
        x = None if subset else data.cmu_detected_inputs(faces, TRAIN_ON_LESS_SURE_FACES)
    else:
        raise ValueError(f"framing must be 'cmu' or 'detector', got {framing!r}")
    pick = slice(None, None, subset)
    if x is None:
        x = data.cmu_detected_inputs(data.CmuFaces(faces.images[pick], faces.poses[pick], faces.users[pick],
                                                   faces.files[pick]), TRAIN_ON_LESS_SURE_FACES)
    else:
        x = x[pick]
    return Examples(x, faces.poses[pick], faces.users[pick], np.full(len(x), "cmu"))


@lru_cache(maxsize=4)
def _pointing04(root: str, framing: str, subset: int | None, less_sure: bool) -> Examples:
    photos = data.load_pointing04_train()[::subset]
    x = data.amigo_inputs(photos, framing, less_sure)
    return Examples(x, np.array([p.pose for p in photos]), np.array([p.person for p in photos]),
                    np.full(len(x), "pointing04_train"), np.array([p.pan for p in photos], float))


def pointing04_examples(framing: str = "detected", subset: int | None = None) -> Examples:
    """pointing04_train/ through the upload intake: 'detected' (its own face detector, as an
    upload) or 'face' (the database's face box). subset: every n-th photo only."""
    return _pointing04(str(data.pointing04_train_root()), framing, subset, TRAIN_ON_LESS_SURE_FACES)


def pointing04_training(spec: zoo.Variant, subset: int | None = None) -> tuple[Examples, Examples]:
    """(training, validation) Pointing'04 examples of a variant: its validation people
    (`spec.pointing04_validation`) framed as uploads; the others in each of its framings."""
    detected = pointing04_examples("detected", subset)
    p_train, p_val = data.person_split(detected.people, spec.pointing04_validation)
    train = _join(*(pointing04_examples(f, subset).take(p_train) for f in spec.pointing04_framings))
    return train, detected.take(p_val)


def variant_split(spec: zoo.Variant, cmu: Examples) -> tuple[np.ndarray, np.ndarray]:
    """The shipped model's split of CMU: by image (the original study) or by person (Exp. 2)."""
    if spec.split == "image":
        return data.split_indices(cmu.poses, seed=0)
    return data.person_folds(cmu.people, CMU_FOLDS, FOLD_SEED)[0]


# ---------------------------------------------------------------- fitting


def fit(spec: zoo.Variant, train: Examples, validation: Examples | None, seed: int, epochs: int,
        name: str | None = None, callbacks=(), sample_weight: np.ndarray | None = None
        ) -> tuple[keras.Model, dict, float]:
    """Build and train one model of a variant's recipe; returns (model, history, seconds).

    With `spec.augment`, every epoch sees a freshly augmented copy of the training set
    (mirror images with mirrored poses, then the recipe), drawn from a Generator seeded by
    `seed`, so a run is reproducible. `validation` is only reported, never used to choose.
    sample_weight: one weight per training example (it follows its example through the mirroring).
    """
    autodiff.set_seed(seed)
    n_classes = len(spec.classes)
    labels = train.labels(spec.task)
    model = zoo.build(name or spec.name)
    optimizer = (keras.optimizers.AdamW(LEARNING_RATE, weight_decay=spec.weight_decay) if spec.weight_decay
                 else keras.optimizers.Adam(LEARNING_RATE))
    accuracy = keras.metrics.CategoricalAccuracy(name="accuracy")
    trained, pan = model, None
    if spec.mixup and not spec.augment:
        raise ValueError(f"{spec.name}: mixup blends the pictures of the augmented loop; give the recipe an augment")
    if spec.mixup and spec.balance:  # Keras weighs a blend by its larger class alone
        raise ValueError(f"{spec.name}: mixup blends the classes that balance would weigh; take one of them")
    if spec.pan_output:
        if not spec.augment:
            raise ValueError(f"{spec.name}: a pan output is trained in the augmented loop; give the recipe an augment")
        trained, pan = _with_pan_output(model, spec), train.pans()
        trained.compile(optimizer=optimizer, loss=[spec.loss, "mean_squared_error"],
                        loss_weights=[1.0, spec.pan_output], metrics=[[accuracy], []])
        model.compile(loss=spec.loss)  # for what reads its loss (Watch it learn); it is trained through `trained`
        callbacks = [_DecisionView(callbacks, model, spec.decision_layer)]
    else:
        model.compile(optimizer=optimizer, loss=spec.loss, metrics=[accuracy])
    val = None
    if validation is not None and len(validation):
        val = (validation.x, np.eye(n_classes, dtype=np.float32)[validation.labels(spec.task)])
        if pan is not None:  # the decision alone is measured
            val = (val[0], [val[1], np.zeros((len(val[0]), 1), np.float32)],
                   [np.ones(len(val[0])), np.zeros(len(val[0]))])
    weights = None
    if spec.balance:  # weight the classes so that "left" counts as much as the rest
        counts = np.bincount(labels, minlength=n_classes).astype(float)
        weights = {i: float(len(labels) / (n_classes * c)) if c else 0.0 for i, c in enumerate(counts)}
    started = time.perf_counter()
    if not spec.augment:
        result = model.fit(train.x, np.eye(n_classes, dtype=np.float32)[labels], validation_data=val,
                           epochs=epochs, batch_size=BATCH_SIZE, shuffle=True, verbose=0, class_weight=weights,
                           sample_weight=sample_weight, callbacks=list(callbacks))
        hist = result.history
    else:
        transform = augment.recipe(spec.augment)
        rng = np.random.default_rng(seed)
        hist, average, averaged = {}, None, 0
        for epoch in range(1, epochs + 1):
            x, poses, mirrored = augment.flip_with_mask(train.x, train.poses, rng)
            x = transform(x, rng)
            y = np.eye(n_classes, dtype=np.float32)[data.task_labels(poses, spec.task)]
            weighted = sample_weight
            if pan is not None:
                turn, known = pan_targets(pan, mirrored)
                y = [y, turn]
                weighted = [np.ones(len(x)) if sample_weight is None else sample_weight, known]
            if spec.mixup:
                two = pan is not None
                x, y, weighted = augment.mixup(
                    x, y if two else [y], weighted if two else [np.ones(len(x)) if weighted is None else weighted],
                    spec.mixup, rng)
                y, weighted = (y, weighted) if two else (y[0], weighted[0])
            result = trained.fit(x, y, validation_data=val, epochs=1, batch_size=BATCH_SIZE, shuffle=True,
                                 verbose=0, class_weight=weights, sample_weight=weighted, callbacks=list(callbacks))
            logs = result.history if pan is None else _decision_logs(result.history, spec.decision_layer)
            for key, values in logs.items():
                hist.setdefault(key, []).extend(values)
            if spec.average_from and epoch >= spec.average_from:  # stochastic weight averaging
                current = model.get_weights()
                averaged += 1
                average = current if average is None else [a + (w - a) / averaged for a, w in zip(average, current)]
        if average is not None:
            model.set_weights(average)
    seconds = time.perf_counter() - started
    history = {
        "epoch": list(range(1, epochs + 1)),
        "train": {"loss": hist["loss"], "accuracy": hist["accuracy"]},
        "test": {"loss": hist.get("val_loss", []), "accuracy": hist.get("val_accuracy", [])},
    }
    return model, history, seconds


def pan_targets(pan: np.ndarray, mirrored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pan output's targets and weights: pan / 90, negated for a mirrored photo (it turns the
    other way), as (N, 1); weight 1 where the angle is known, 0 (target 0) where it is not (CMU)."""
    pan = np.asarray(pan, float)
    return (np.nan_to_num(np.where(mirrored, -pan, pan) / 90.0).astype(np.float32)[:, None],
            np.isfinite(pan).astype(float))


def _with_pan_output(model: keras.Model, spec: zoo.Variant) -> keras.Model:
    """The network with a second output beside its decision, on its last hidden layer, that learns
    the photo's turn (pan / 90); it shares the network's weights."""
    hidden = model.get_layer(f"dense_{len(spec.dense_units)}") if spec.dense_units else model.get_layer("flatten_1")
    return keras.Model(model.input, [model.output, keras.layers.Dense(1, name="pan")(hidden.output)])


def _decision_logs(logs: dict, decision: str) -> dict:
    """A two-output run's logs as the network's own: the decision's loss and accuracy under the usual names."""
    out = {}
    for key, value in (logs or {}).items():
        for prefix in ("", "val_"):
            if key.startswith(f"{prefix}{decision}_"):
                out[prefix + key[len(prefix) + len(decision) + 1:]] = value
    return out


class _DecisionView(keras.callbacks.Callback):
    """Callbacks written for the one-output network (Watch it learn's recorder) while its two-output
    copy trains: they see that network and the decision's own logs."""

    def __init__(self, callbacks, network: keras.Model, decision: str):
        super().__init__()
        self.inner, self.network, self.decision = list(callbacks), network, decision

    def set_model(self, model):
        super().set_model(model)
        for callback in self.inner:
            callback.set_model(self.network)

    def on_train_begin(self, logs=None):
        for callback in self.inner:
            callback.on_train_begin(_decision_logs(logs, self.decision))

    def on_epoch_end(self, epoch, logs=None):
        for callback in self.inner:
            callback.on_epoch_end(epoch, _decision_logs(logs, self.decision))


def predict(model, x) -> np.ndarray:
    return model.predict(x, batch_size=128, verbose=0).argmax(axis=1)


def training_sets(spec: zoo.Variant, subset: int | None = None) -> tuple[Examples, Examples, dict]:
    """(train, validation, description) of the shipped model of a variant.

    subset: keep only every n-th example (a quick run for the tests; not for shipping).
    """
    cmu = cmu_examples(spec.framing, subset)
    train_idx, test_idx = variant_split(spec, cmu)
    train, test = cmu.take(train_idx), cmu.take(test_idx)
    split = {"by": spec.split, "seed": 0 if spec.split == "image" else FOLD_SEED,
             "train": len(train_idx), "test": len(test_idx)}
    if spec.split == "person":
        split["test_people"] = sorted(set(test.people.tolist()))
    if "pointing04_train" in spec.training_data:
        p_train, p_val = pointing04_training(spec, subset)
        train, test = _join(train, p_train), _join(test, p_val)
        split["pointing04_train"] = {"train": len(p_train), "validation": len(p_val),
                                     "validation_people": list(spec.pointing04_validation),
                                     "framings": list(spec.pointing04_framings)}
    return train, test, split


def fold_processes() -> int:
    """How many folds train at once: on TensorFlow, one single-threaded process per core (on
    2 cores, 1.6 times the throughput of one process on both: BENCHMARKS.md, "Time"); on JAX
    or torch one, in this process, since they may hold an accelerator."""
    return max(1, os.cpu_count() or 1) if autodiff.backend() == "tensorflow" else 1


def _single_threaded() -> None:
    autodiff.limit_threads(1)


@contextmanager
def _workers_import_this_module():
    """A spawned worker first re-imports its parent's `__main__`; after Streamlit (or AppTest) ran
    a page, that is the page's script, which must not run in a worker (the pool would restart
    dying workers for ever). While the workers start, this module stands in as `__main__`."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = sys.modules[__name__]
    try:
        yield
    finally:
        sys.modules["__main__"] = main


@lru_cache(maxsize=8)
def _fold_data(spec: zoo.Variant, subset: int | None) -> tuple[Examples, Examples | None]:
    """(CMU, other training data) of a variant's folds; built once per process."""
    extra = pointing04_training(spec, subset)[0] if "pointing04_train" in spec.training_data else None
    return cmu_examples(spec.framing, subset), extra


def _fold_predictions(job) -> tuple[np.ndarray, float]:
    """Train fold i of a variant's recipe and predict the CMU people it left out (in a worker)."""
    spec, seed, epochs, k, i, subset = job
    cmu, extra = _fold_data(spec, subset)
    train_idx, test_idx = data.person_folds(cmu.people, k, FOLD_SEED)[i]
    train = cmu.take(train_idx) if extra is None else _join(cmu.take(train_idx), extra)
    model, _, seconds = fit(spec, train, None, seed, epochs)
    predicted = predict(model, cmu.x[test_idx])
    keras.backend.clear_session()
    return predicted, seconds


def cmu_new_people_of(runs, k: int = CMU_FOLDS, log=print, subset: int | None = None,
                      processes: int | None = None, meanwhile: Callable[[], object] | None = None) -> list[dict]:
    """`cmu_new_people` of several (spec, seed, epochs) runs, their k folds trained together by
    `processes` workers (default `fold_processes()`), the longest first so none waits at the end.
    `meanwhile` runs in this process while the workers train (before them, without workers)."""
    jobs = [(spec, seed, epochs, k, i, subset) for spec, seed, epochs in runs for i in range(k)]

    def cost(job):  # a two-studio fold has about three times the pictures
        spec, _, epochs = job[:3]
        return epochs * (3 if "pointing04_train" in spec.training_data else 1)

    order = sorted(range(len(jobs)), key=lambda j: -cost(jobs[j]))
    processes = min(len(jobs), processes or fold_processes())
    outputs = [None] * len(jobs)
    if processes > 1:
        with _workers_import_this_module():
            pool = mp.get_context("spawn").Pool(processes, initializer=_single_threaded)
        with pool:
            pending = pool.map_async(_fold_predictions, [jobs[j] for j in order], chunksize=1)
            if meanwhile:
                meanwhile()
            for j, out in zip(order, pending.get()):
                outputs[j] = out
    else:
        if meanwhile:
            meanwhile()
        outputs = [_fold_predictions(job) for job in jobs]
    results = []
    for r, (spec, seed, epochs) in enumerate(runs):
        cmu, _ = _fold_data(spec, subset)
        labels = cmu.labels(spec.task)
        predicted = np.full(len(cmu), -1)
        per_fold, held_out, seconds = [], [], 0.0
        for i, (_, test_idx) in enumerate(data.person_folds(cmu.people, k, FOLD_SEED)):
            fold_predicted, fold_seconds = outputs[r * k + i]
            predicted[test_idx] = fold_predicted
            per_fold.append(round(float((fold_predicted == labels[test_idx]).mean()), 4))
            held_out.append(sorted(set(cmu.people[test_idx].tolist())))
            seconds += fold_seconds
        tested = predicted >= 0
        result = {"overall": round(float((predicted[tested] == labels[tested]).mean()), 4),
                  **recalls(labels[tested], predicted[tested], spec.task),
                  "folds": k, "fold_seed": FOLD_SEED, "per_fold": per_fold, "held_out": held_out,
                  "images": int(tested.sum()), "framing": spec.framing, "seconds": round(seconds, 1),
                  "command": "python -m vislib.evaluate --variant " + spec.name}
        log(f"  {spec.name}: CMU new people ({k}-fold by person) {result['overall']:.3f}, "
            f"left recall {result['left_recall']:.3f}, {result['seconds']:.0f} s of training")
        results.append(result)
    return results


def cmu_new_people(spec: zoo.Variant, seed: int, epochs: int, k: int = CMU_FOLDS, log=print,
                   subset: int | None = None, processes: int | None = None) -> dict:
    """Accuracy on CMU people the model never saw: a leave-people-out k-fold of the variant's
    own recipe (same epochs, seed, framing, augmentation, other training data), every CMU
    image tested once by the fold that left its person out (`seconds`: its folds' training
    time, summed)."""
    return cmu_new_people_of([(spec, seed, epochs)], k, log, subset, processes)[0]


# ---------------------------------------------------------------- one variant


def train_variant(name: str, out_root: Path | None = None, epochs: int | None = None, seed: int | None = None,
                  log=print, folds: int | None = CMU_FOLDS, subset: int | None = None, save: bool = True) -> dict:
    """Train one variant from the data and write its folder; returns its metrics.

    folds: the k of the leave-people-out CMU evaluation (None skips it: quick runs only).
    subset: train on every n-th example only (the tests' quick run). save=False writes nothing.
    """
    from vislib import evaluate

    spec = zoo.variant(name)
    epochs = spec.epochs if epochs is None else epochs
    seed = spec.seed if seed is None else seed
    train, test, split = training_sets(spec, subset)
    mean_image, basis = train.x.mean(axis=0)[..., 0].astype(np.float32), faceprior.fit(train.x)
    # Watch it learn: each epoch recorded on the shippable sample photos and the mean face
    recorder = timelapse.recorder_for(spec, train, test, mean_image, basis) if save else None
    model, history, seconds = fit(spec, train, test, seed, epochs, name, callbacks=[recorder] if recorder else ())
    labels_train, labels_test = train.labels(spec.task), test.labels(spec.task)
    is_cmu_train, is_cmu_test = train.source == "cmu", test.source == "cmu"
    p_train, p_test = predict(model, train.x), predict(model, test.x)
    n_classes = len(spec.classes)

    def acc(p, t, mask):
        return round(float((p[mask] == t[mask]).mean()), 4)

    metrics = {
        "variant": name,
        "title": spec.title,
        "series": spec.series,
        "hypothesis": spec.hypothesis,
        "task": spec.task,
        "classes": list(spec.classes),
        "params": int(model.count_params()),
        "input_shape": list(settings.INPUT_SHAPE),
        "decision_layer": spec.decision_layer,
        "loss": spec.loss,
        "epochs": epochs,
        "seed": seed,
        "training_data": list(spec.training_data),
        "framing": spec.framing,
        "augment": spec.augment,
        "preprocess": spec.preprocess,
        **({"pan_output": spec.pan_output} if spec.pan_output else {}),
        "split": split,
        "accuracy": {
            "train": acc(p_train, labels_train, is_cmu_train),
            "test": acc(p_test, labels_test, is_cmu_test),
        },
        "confusion": {
            "train": confusion(labels_train[is_cmu_train], p_train[is_cmu_train], n_classes),
            "test": confusion(labels_test[is_cmu_test], p_test[is_cmu_test], n_classes),
        },
        "predictions": {},
        "training_seconds": round(seconds, 2),
        "keras": keras.__version__,
        "backend": autodiff.backend(),
        "three_amigos_citation": settings.POINTING04_CITATION,
    }
    if "pointing04_train" in spec.training_data and spec.pointing04_validation:
        p04_val = test.source == "pointing04_train"
        metrics["accuracy"]["pointing04_validation"] = {
            "overall": acc(p_test, labels_test, p04_val), **recalls(labels_test[p04_val], p_test[p04_val], spec.task)}
    evaluate.amigo_metrics(model, spec, metrics)
    if folds:
        metrics["accuracy"]["cmu_new_people"] = cmu_new_people(spec, seed, epochs, folds, log, subset)
    a = metrics["accuracy"]
    log(f"{name}: {metrics['params']} params, CMU train {a['train']:.3f}, test {a['test']:.3f}, "
        f"three amigos {a['three_amigos']['overall']:.3f} (left recall {a['three_amigos']['left_recall']:.3f}; "
        f"detected {a['three_amigos_detected']['overall']:.3f}, full frame "
        f"{a['three_amigos_full_frame']['overall']:.3f}), {seconds:.1f} s")
    if save:
        folder = zoo.model_dir(name, out_root)
        folder.mkdir(parents=True, exist_ok=True)
        metrics.update(recorded_seed_runs(folder / "metrics.json", metrics))
        zoo.save(model, folder / "model.keras")
        (folder / "history.json").write_text(json.dumps(history, indent=1))
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=1))
        (folder / "unit_stats.json").write_text(json.dumps(unit_statistics(model, train.x)))
        np.save(folder / "mean_image.npy", mean_image)
        faceprior.save(folder, basis)
        timelapse.finish(recorder, folder, name, epochs, seed, split, seconds)
    keras.backend.clear_session()
    return metrics


# What a recipe is, for the seed runs recorded of it: the same values, the same recipe
RECIPE_KEYS = ("task", "classes", "loss", "epochs", "training_data", "framing", "augment", "preprocess", "pan_output",
               "split")
SEED_RUN_KEYS = ("seed_runs", "seed_runs_command")


def recorded_seed_runs(path: Path, metrics: dict) -> dict:
    """The seed runs (`--seeds ... --record`) that the metrics.json at `path` holds, to keep when the
    variant is trained again with the same recipe (they took minutes, and `make train` does not
    rerun them); nothing when the file is missing or unreadable, or the recipe changed."""
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(old, dict) or any(old.get(k) != metrics.get(k) for k in RECIPE_KEYS):
        return {}
    return {k: old[k] for k in SEED_RUN_KEYS if k in old}


def train_variants(names, out_root: Path | None = None, epochs: int | None = None, folds: int | None = CMU_FOLDS,
                   log=print, save: bool = True) -> list[dict]:
    """`train_variant` for each name while a pool of workers trains every variant's
    leave-people-out folds (they do not depend on the shipped models); returns the metrics."""
    results = []

    def train_each():
        results.extend(train_variant(name, out_root, epochs, log=log, folds=None, save=save) for name in names)

    if not folds:
        train_each()
        return results
    runs = [(spec, spec.seed, spec.epochs if epochs is None else epochs) for spec in map(zoo.variant, names)]
    for metrics, new_people in zip(results, cmu_new_people_of(runs, folds, log, meanwhile=train_each)):
        metrics["accuracy"]["cmu_new_people"] = new_people
        if save:
            (zoo.model_dir(metrics["variant"], out_root) / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return results


def seed_table(name: str, seeds, log=print) -> list[dict]:
    """Train a variant once per seed (nothing saved) and give each run's three-amigos figures."""
    rows = []
    for seed in seeds:
        m = train_variant(name, seed=seed, folds=None, save=False, log=lambda *_: None)
        a = m["accuracy"]
        row = {"seed": seed, "cmu_validation": a["test"], "amigos": a["three_amigos"]["overall"],
               "left_recall": a["three_amigos"]["left_recall"],
               "not_left_recall": a["three_amigos"]["not_left_recall"],
               "amigos_detected": a["three_amigos_detected"]["overall"],
               "left_recall_detected": a["three_amigos_detected"]["left_recall"],
               "samples": {k: v["predicted"] for k, v in m.get("samples", {}).items()}}
        rows.append(row)
        log(f"{name} seed {seed}: three amigos {row['amigos']:.1%}, left recall {row['left_recall']:.1%}, "
            f"not-left recall {row['not_left_recall']:.1%} (detected framing {row['amigos_detected']:.1%} / "
            f"{row['left_recall_detected']:.1%}); CMU held-out people {row['cmu_validation']:.1%}; "
            f"samples {row['samples']}")
    worst = min(r["amigos"] for r in rows)
    log(f"{name}: worst of {len(rows)} seeds {worst:.1%}, mean {np.mean([r['amigos'] for r in rows]):.1%}")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vislib.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="train every variant")
    which.add_argument("--variant", choices=list(zoo.VARIANTS), action="append")
    parser.add_argument("--out", type=Path, default=None, help="models folder (default: models/)")
    parser.add_argument("--epochs", type=int, default=None, help="override each variant's epochs")
    parser.add_argument("--folds", type=int, default=CMU_FOLDS,
                        help=f"k of the leave-people-out CMU evaluation (default {CMU_FOLDS}; 0 skips it)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="train once per seed and print each run's three-amigos figures")
    parser.add_argument("--no-save", action="store_true", help="write no model (with --seeds: never written)")
    parser.add_argument("--record", action="store_true",
                        help="with --seeds: record the runs as `seed_runs` in the shipped metrics.json")
    args = parser.parse_args(argv)
    names = list(zoo.VARIANTS) if args.all else args.variant
    try:
        started = time.perf_counter()
        if not args.seeds:
            train_variants(names, args.out, args.epochs, folds=args.folds or None, save=not args.no_save)
        else:
            for name in names:  # a seed table per variant, nothing saved but the table on --record
                rows = seed_table(name, args.seeds)
                if args.record:
                    path = zoo.model_dir(name, args.out) / "metrics.json"
                    metrics = json.loads(path.read_text())
                    metrics["seed_runs"] = rows
                    metrics["seed_runs_command"] = (f"python -m vislib.train --variant {name} --seeds "
                                                    + " ".join(map(str, args.seeds)) + " --record")
                    path.write_text(json.dumps(metrics, indent=1))
        print(f"trained {len(names)} variant(s) in {time.perf_counter() - started:.0f} s")
    except data.DataNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
