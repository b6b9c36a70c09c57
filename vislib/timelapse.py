"""Timelapse: what a network looks like while it learns, recorded epoch by epoch and shipped.

`Recorder` is a Keras callback. Before the first epoch and after each one it records, for a
fixed set of inputs that may be redistributed (the photos of sample_images/ through the upload
path, and the variant's mean training face; never a CMU or Pointing'04 photo):

- the network's decision on each input (probabilities, or raw scores for a linear output);
- every conv and pool layer's activations, for a few evenly spaced channels, in LEVELS gray
  levels (each layer scaled by its own maximum at that epoch, the scale kept);
- the decision layer's HappyMaps (`happymaps.Engine` on the current weights, a short run of the
  default setting);
- the epoch's loss and accuracy, on the training and the test split.

`python -m vislib.timelapse VARIANT [VARIANT...]` re-runs the variant's own training recipe
(`vislib.train.training_sets` and `vislib.train.fit`: same data, split, seed, epochs and
optimiser) with the recorder attached, and writes only models/<variant>/timelapse.npz (at most
BUDGET_BYTES); model.keras is never touched.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from vislib import faceprior, happymaps, imaging, settings, zoo

TIMELAPSE_FILE = "timelapse.npz"
BUDGET_BYTES = 1_000_000  # issue 13: at most 1 MB a variant
# a short run of the default ("legible") setting, once an epoch; measured on the busy 2-core CPU:
# 0.16 s a frame for exp0 (4.2 s for its 26 frames, compilation included), 0.4 s for ex1-6
HAPPYMAP_STEPS = 48
CHANNELS = 3  # channels kept a conv/pool layer (evenly spaced)
LEVELS = 16  # gray levels an activation is stored with (measured: 256 levels put exp0 at 2.5 MB)
LOG_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")
MEAN_FACE = "mean training face"
LEARNED_AT = 0.9  # "tells them apart": test accuracy at or above this from that epoch on


class TimelapseError(RuntimeError):
    """A timelapse file exists but cannot be used."""


def record_command(variant: str) -> str:
    return f"python -m vislib.timelapse {variant}"


# ---------------------------------------------------------------- the fixed inputs


# The shipped timelapses were recorded on the astronaut samples; a sample added later (the cameraman) is not
# among their pictures, since adding one means recording every timelapse again, a training run each.
RECORDED_SAMPLES = "astronaut"


def sample_photos(folder: Path | None = None) -> list[Path]:
    """The redistributable photos a timelapse shows (sample_images/astronaut*.jpg, *.png), sorted by name."""
    folder = folder or settings.SAMPLES_DIR
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in (".jpg", ".jpeg", ".png") and p.stem.startswith(RECORDED_SAMPLES))


def fixed_inputs(mean_image: np.ndarray, folder: Path | None = None) -> tuple[np.ndarray, list[str]]:
    """(inputs (N, 60, 64, 1) in [0, 1], names): each sample photo framed as an upload is
    (`imaging.load_photo` + `imaging.frame`), then the mean training face."""
    pictures, names = [], []
    for path in sample_photos(folder):
        pictures.append(imaging.frame(imaging.load_photo(path.read_bytes())).input)
        names.append(path.stem)
    pictures.append(np.asarray(mean_image, np.float32).reshape(settings.INPUT_SHAPE))
    names.append(MEAN_FACE)
    return np.clip(np.stack(pictures).astype(np.float32), 0.0, 1.0), names


def variant_inputs(variant: str, root: Path | None = None) -> tuple[np.ndarray, list[str]]:
    """The fixed inputs of a shipped variant (its own mean_image.npy)."""
    return fixed_inputs(zoo.read_array(variant, "mean_image.npy", root))


# ---------------------------------------------------------------- recording


def recorded_layers(model: keras.Model) -> list[str]:
    return [l.name for l in model.layers if isinstance(l, (keras.layers.Conv2D, keras.layers.MaxPooling2D))]


class Recorder(keras.callbacks.Callback):
    """Records one frame before training and one after each epoch (see the module's doc).

    inputs: (N, 60, 64, 1) shippable pictures (see fixed_inputs), names: theirs.
    mean_image, face_basis: the variant's, for the HappyMaps engine (the default parameterisation
    is the space of faces; without a basis the maps are made on pixels).
    start_data: optional {"train": (x, y_onehot), "test": (x, y_onehot)} to measure loss and
    accuracy before the first epoch too (not stored: only the numbers are; the training loss
    there is without class weights or augmentation).
    """

    def __init__(self, inputs: np.ndarray, names, classes, mean_image: np.ndarray | None = None,
                 face_basis: faceprior.FaceBasis | None = None, steps: int = HAPPYMAP_STEPS,
                 channels: int = CHANNELS, start_data: dict | None = None):
        super().__init__()
        self.inputs = np.asarray(inputs, np.float32)
        self.names = list(names)
        if self.inputs.ndim != 4 or self.inputs.shape[1:] != settings.INPUT_SHAPE or len(self.inputs) != len(self.names):
            raise ValueError(f"expected inputs (N, *{settings.INPUT_SHAPE}) and N names, got {self.inputs.shape} "
                             f"and {len(self.names)} names")
        self.classes = tuple(classes)
        self.mean_image = mean_image
        self.face_basis = face_basis
        # the default setting; without a face basis, the default setting of pixels
        self.settings = happymaps.Settings.from_preset(
            happymaps.DEFAULT_PRESET if face_basis is not None else happymaps.DEFAULT_FOR_IMAGE["pixels"], steps=steps)
        self.channels = channels
        self.start_data = start_data
        self.frames: list[dict] = []
        self.seconds = {"happymaps": 0.0, "activations": 0.0}
        self._engine: happymaps.Engine | None = None
        self._probe = None
        self._layers: list[str] = []
        self._kept: dict[str, np.ndarray] = {}

    # ---- Keras hooks

    def on_train_begin(self, logs=None):
        if not self.frames:  # a recipe that calls fit once an epoch starts training many times
            self._setup()
            self._record(0, self._start_logs())

    def on_epoch_end(self, epoch, logs=None):
        # counted here, not taken from Keras: fit(epochs=1) once an epoch always says epoch 0
        self._record(len(self.frames), dict(logs or {}))

    # ---- internals

    def _setup(self):
        model = self.model
        self._layers = recorded_layers(model)
        self._probe = keras.Model(model.input, [model.get_layer(n).output for n in self._layers]
                                  + [model.output])
        for name in self._layers:
            c = int(model.get_layer(name).output.shape[-1])
            self._kept[name] = np.unique(np.linspace(0, c - 1, min(self.channels, c)).round().astype(int))
        # built once: its compiled loop is kept; it works on a copy of the model (surgery's fast
        # twin), whose weights are refreshed from the training model before each frame
        self._engine = happymaps.Engine(model, self.mean_image, self.face_basis, self.classes)

    def _start_logs(self) -> dict:
        logs = {}
        loss = keras.losses.get(self.model.loss) if isinstance(self.model.loss, str) else self.model.loss
        for prefix, key in (("", "train"), ("val_", "test")):
            if not self.start_data or key not in self.start_data:
                continue
            x, y = self.start_data[key]
            p = self.model.predict(x, batch_size=128, verbose=0)
            logs[prefix + "accuracy"] = float((p.argmax(1) == np.asarray(y).argmax(1)).mean())
            if loss is not None:
                logs[prefix + "loss"] = float(keras.ops.convert_to_numpy(keras.ops.mean(loss(y, p))))
        return logs

    def _record(self, epoch: int, logs: dict):
        started = time.perf_counter()
        outputs = [keras.ops.convert_to_numpy(o) for o in self._probe(self.inputs, training=False)]
        *layer_outputs, scores = outputs
        acts = {}
        for name, out in zip(self._layers, layer_outputs):
            kept = np.transpose(out[..., self._kept[name]], (0, 3, 1, 2))  # (N, k, H, W)
            scale = float(kept.max()) if kept.size and kept.max() > 0 else 1.0
            acts[name] = (np.round(np.clip(kept / scale, 0, 1) * (LEVELS - 1)).astype(np.uint8), scale)
        self.seconds["activations"] += time.perf_counter() - started
        started = time.perf_counter()
        engine = self._engine
        engine.refresh_weights()
        decision = engine.decision_layer
        result = engine.layer(decision, settings=self.settings, every=self.settings.steps)
        self.seconds["happymaps"] += time.perf_counter() - started
        self.frames.append({
            "epoch": epoch,
            "logs": {k: float(logs[k]) if k in logs else float("nan") for k in LOG_KEYS},
            "scores": scores.astype(np.float32),
            "activations": acts,
            "happymaps": np.round(np.clip(result.images, 0, 1) * 255).astype(np.uint8),
            "happymap_values": np.asarray(result.values, np.float32),
        })

    # ---- output

    def arrays(self, meta: dict | None = None, channels: int | None = None) -> dict:
        """The frames as the arrays `save` writes; channels: keep only this many of the recorded
        channels a layer (evenly spaced), None all."""
        if not self.frames:
            raise ValueError("nothing recorded yet: attach the Recorder to model.fit(callbacks=[...])")
        picks = {}
        for name in self._layers:
            k = len(self._kept[name]) if channels is None else max(1, min(channels, len(self._kept[name])))
            picks[name] = np.unique(np.linspace(0, len(self._kept[name]) - 1, k).round().astype(int))
        softmax = getattr(self.model.layers[-1].activation, "__name__", "") == "softmax"
        info = {"activation_levels": LEVELS, "classes": list(self.classes), "inputs": self.names, "layers": self._layers,
                "channels": {n: self._kept[n][picks[n]].tolist() for n in self._layers},
                "decision_layer": self._engine.decision_layer, "probabilities": softmax,
                "happymap_settings": self.settings.__dict__, "recording_seconds": {
                    k: round(v, 2) for k, v in self.seconds.items()}, **(meta or {})}
        out = {"meta": np.array(json.dumps(info)),
               "epoch": np.array([f["epoch"] for f in self.frames], np.int32),
               "inputs": np.round(self.inputs[..., 0] * 255).astype(np.uint8),
               "scores": np.stack([f["scores"] for f in self.frames]),
               "happymaps": np.stack([f["happymaps"] for f in self.frames]),
               "happymap_values": np.stack([f["happymap_values"] for f in self.frames])}
        for key in LOG_KEYS:
            out[f"logs/{key}"] = np.array([f["logs"][key] for f in self.frames], np.float32)
        for name in self._layers:
            out[f"activations/{name}"] = np.stack([f["activations"][name][0][:, picks[name]] for f in self.frames])
            out[f"scales/{name}"] = np.array([f["activations"][name][1] for f in self.frames], np.float32)
        return out

    def save(self, folder: Path, meta: dict | None = None, budget: int = BUDGET_BYTES) -> Path:
        """Write folder/timelapse.npz (compressed), within `budget` bytes: when all the recorded
        channels do not fit, fewer a layer are kept (a long recipe has more frames); raises
        ValueError, writing nothing, when even one channel a layer does not fit."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / TIMELAPSE_FILE
        partial = folder / (TIMELAPSE_FILE + ".partial.npz")
        for channels in range(self.channels, 0, -1):
            np.savez_compressed(partial, **self.arrays(meta, channels))
            size = partial.stat().st_size
            if size <= budget:
                partial.replace(path)
                return path
        partial.unlink()
        raise ValueError(f"the timelapse would take {size:,} bytes even with one channel a layer, over the "
                         f"budget of {budget:,}: record fewer inputs or epochs")


# ---------------------------------------------------------------- reading


@dataclass
class Timelapse:
    epochs: np.ndarray  # (F,) 0 = before training
    logs: dict  # "loss", "accuracy", "val_loss", "val_accuracy" -> (F,) float, NaN where not measured
    inputs: np.ndarray  # (N, H, W) in [0, 1]
    input_names: list
    classes: tuple
    scores: np.ndarray  # (F, N, C)
    probabilities: bool
    happymaps: np.ndarray  # (F, C, H, W) in [0, 1]
    happymap_values: np.ndarray  # (F, C)
    activations: dict  # layer -> (F, N, k, H, W) in [0, 1] of the layer's maximum at that epoch
    scales: dict  # layer -> (F,) the activation that 1.0 stands for
    channels: dict  # layer -> the channel indices kept
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.epochs)


def load(variant: str, root: Path | None = None) -> Timelapse | None:
    """A variant's timelapse, or None when it has none; TimelapseError when damaged."""
    return read(zoo.model_dir(variant, root) / TIMELAPSE_FILE, variant)


def read(path: Path, variant: str = "VARIANT") -> Timelapse | None:
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            return Timelapse(
                epochs=f["epoch"], logs={k: f[f"logs/{k}"].astype(float) for k in LOG_KEYS},
                inputs=f["inputs"].astype(np.float32) / 255, input_names=list(meta["inputs"]),
                classes=tuple(meta["classes"]), scores=f["scores"], probabilities=bool(meta["probabilities"]),
                happymaps=f["happymaps"].astype(np.float32) / 255, happymap_values=f["happymap_values"],
                activations={n: f[f"activations/{n}"].astype(np.float32) / (meta["activation_levels"] - 1)
                             for n in meta["layers"]},
                scales={n: f[f"scales/{n}"] for n in meta["layers"]},
                channels={n: list(c) for n, c in meta["channels"].items()}, meta=meta)
    except Exception as error:  # OSError, ValueError, KeyError, BadZipFile, JSONDecodeError...
        raise TimelapseError(f"The timelapse {settings.shown_path(path)} is damaged ({type(error).__name__}). "
                             f"Record it again with `{settings.command(f'-m vislib.timelapse {variant}')}`.") from None


def stale(variant: str, timelapse: Timelapse, root: Path | None = None) -> bool:
    """Whether the variant's model file changed since the timelapse was recorded."""
    path = zoo.model_dir(variant, root) / "model.keras"
    recorded = timelapse.meta.get("model_sha1")
    return bool(recorded) and path.is_file() and zoo.weights_digest(path) != recorded


def learned_from(timelapse: Timelapse, threshold: float = LEARNED_AT) -> int | None:
    """The first epoch from which the test accuracy stays at or above `threshold`, or None."""
    accuracy = np.asarray(timelapse.logs["val_accuracy"], float)
    epochs = np.asarray(timelapse.epochs)
    measured = ~np.isnan(accuracy)
    if not measured.any() or not accuracy[measured][-1] >= threshold:
        return None
    below = np.flatnonzero(measured & (accuracy < threshold))
    after = epochs[measured & (epochs > (epochs[below[-1]] if len(below) else -1))]
    return int(after[0])


def tests_pointing04_people(timelapse: Timelapse) -> bool:
    """Whether the recorded test faces include Pointing'04 people held out of training (besides CMU's)."""
    split = timelapse.meta.get("split") or {}
    return bool((split.get("pointing04_train") or {}).get("validation"))


def test_faces(timelapse: Timelapse) -> str:
    """What the recorded test accuracy is measured on, in words (from the recorded split)."""
    split = timelapse.meta.get("split") or {}
    if tests_pointing04_people(timelapse):
        return "held-out faces (CMU and Pointing'04 people it never learns from)"
    if split.get("by") == "person":
        return "CMU faces of people it never learns from"
    return "CMU test faces"


def learning_sentence(timelapse: Timelapse, threshold: float = LEARNED_AT) -> str:
    """One sentence for a non-specialist, computed from the recorded test accuracy."""
    task = ("tells “left” from “not left”" if "left" in timelapse.classes and len(timelapse.classes) == 2
            else f"tells the {len(timelapse.classes)} poses ({', '.join(timelapse.classes)}) apart")
    epoch = learned_from(timelapse, threshold)
    accuracy = np.asarray(timelapse.logs["val_accuracy"], float)
    if epoch is None:
        measured = accuracy[np.isfinite(accuracy)]
        if not len(measured):
            return "No test accuracy was recorded, so when the network learned cannot be told."
        return (f"The network does not reach a steady {threshold:.0%} test accuracy on {test_faces(timelapse)}: "
                f"its best is {measured.max():.0%}, its last {measured[-1]:.0%}.")
    reached = np.flatnonzero(accuracy >= threshold)
    first = int(timelapse.epochs[reached[0]])
    if first == epoch:
        return (f"From epoch {epoch} the network {task} on {test_faces(timelapse)} (test accuracy at least "
                f"{threshold:.0%} from then on).")
    measured = np.asarray(timelapse.epochs)[np.isfinite(accuracy)]
    since = int((measured >= first).sum())
    steady = (f"in every one from epoch {epoch}" if epoch < measured[-1] else f"the last one ({epoch}) among them")
    return (f"The network first {task} on {test_faces(timelapse)} at epoch {first} (test accuracy at least "
            f"{threshold:.0%}), and does in {len(reached)} of the {since} epochs from epoch {first} on: {steady}.")


# ---------------------------------------------------------------- re-running a variant's recipe


def _weights_digest(weights) -> str:
    digest = hashlib.sha1()
    for w in weights:
        digest.update(np.ascontiguousarray(w, np.float32).tobytes())
    return digest.hexdigest()


def recorder_for(spec: zoo.Variant, train_set, test_set, mean_image: np.ndarray,
                 basis: faceprior.FaceBasis | None, steps: int = HAPPYMAP_STEPS, channels: int = CHANNELS) -> Recorder:
    """A Recorder for one training run of a variant: the fixed shippable inputs, and the training
    and test sets to measure the start (before the first epoch) on."""
    inputs, names = fixed_inputs(mean_image)
    n = len(spec.classes)
    start_data = {"train": (train_set.x, np.eye(n, dtype=np.float32)[train_set.labels(spec.task)]),
                  "test": (test_set.x, np.eye(n, dtype=np.float32)[test_set.labels(spec.task)])}
    return Recorder(inputs, names, spec.classes, mean_image, basis, steps, channels, start_data)


def finish(recorder: Recorder, folder: Path, variant: str, epochs: int, seed: int, split, seconds: float,
           command: str | None = None, **extra) -> Path:
    """Save a training run's timelapse beside the model it produced (tied to that model file)."""
    spec = zoo.variant(variant)
    meta = {"variant": variant, "epochs": epochs, "seed": seed, "split": split,
            "command": command or f"python -m vislib.train --variant {variant}", "seconds": round(seconds, 1),
            "model_sha1": zoo.weights_digest(Path(folder) / "model.keras"),
            "same_weights_as_shipped": True, "averaged_after_training": bool(spec.average_from), **extra}
    return recorder.save(folder, meta)


def record(variant: str, root: Path | None = None, log=print, steps: int = HAPPYMAP_STEPS,
           channels: int = CHANNELS, epochs: int | None = None, subset: int | None = None) -> Path:
    """Re-run a shipped variant's training recipe with a Recorder; write its timelapse.npz only
    (for models trained before `python -m vislib.train` recorded it itself).

    epochs, subset: fewer epochs, every n-th training example only (quick runs; not for shipping)."""
    from vislib import train

    spec = zoo.variant(variant)
    folder = zoo.model_dir(variant, root)
    mean_image = zoo.read_array(variant, "mean_image.npy", root)
    try:
        basis = faceprior.load(folder)
    except faceprior.FaceBasisError:
        basis = None
    started = time.perf_counter()
    epochs = spec.epochs if epochs is None else epochs
    train_set, test_set, split = train.training_sets(spec, subset)
    recorder = recorder_for(spec, train_set, test_set, mean_image, basis, steps, channels)
    model, history, _ = train.fit(spec, train_set, test_set, spec.seed, epochs, variant, callbacks=[recorder])
    seconds = time.perf_counter() - started
    # the honest check: did this run retrace the shipped model's training?
    shipped_history = zoo.read_json(variant, "history.json", root)
    same_curve = max((abs(a - b) for a, b in zip(history["test"]["accuracy"], shipped_history["test"]["accuracy"])),
                     default=float("nan"))
    shipped = zoo.load(variant, root)
    path = finish(recorder, folder, variant, epochs, spec.seed, split, seconds,
                  command=record_command(variant) if (epochs, subset) == (spec.epochs, None) else "a quick run",
                  same_weights_as_shipped=_weights_digest(model.get_weights()) == _weights_digest(shipped.get_weights()),
                  test_accuracy_max_difference_from_shipped_history=round(float(same_curve), 6))
    meta = read(path, variant).meta
    keras.backend.clear_session()
    log(f"{variant}: {len(recorder.frames)} frames, {path.stat().st_size / 1e6:.3f} MB, {seconds:.0f} s "
        f"(HappyMaps {recorder.seconds['happymaps']:.1f} s, activations {recorder.seconds['activations']:.1f} s); "
        f"same weights as the shipped model: {meta['same_weights_as_shipped']}, test accuracy curve within "
        f"{meta['test_accuracy_max_difference_from_shipped_history']:.4f} of history.json")
    return path


def main(argv=None) -> int:
    from vislib import data

    parser = argparse.ArgumentParser(prog="python -m vislib.timelapse", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+", choices=list(zoo.VARIANTS), metavar="VARIANT")
    parser.add_argument("--steps", type=int, default=HAPPYMAP_STEPS, help="HappyMaps steps an epoch")
    parser.add_argument("--channels", type=int, default=CHANNELS, help="channels kept a conv/pool layer")
    args = parser.parse_args(argv)
    try:
        for variant in args.variants:
            record(variant, steps=args.steps, channels=args.channels)
    except (data.DataNotFoundError, zoo.ModelLoadError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
