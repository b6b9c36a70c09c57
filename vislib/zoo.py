"""The model zoo: the seven variants of the original study, as Keras 3 functional models.

Layer names follow the original notebooks' Keras numbering (conv2d_1, max_pooling2d_1, ...,
dense_1, ...). tf-keras-vis needs functional models, so no `Sequential` here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from vislib import autodiff, data, preprocessing, settings  # autodiff: full float32 on GPUs


@dataclass(frozen=True)
class Variant:
    """One experiment of the original study."""

    name: str
    title: str
    task: str = "binary"
    short_title: str = ""  # for pickers, where a long title is cut (the title is shown beside them)
    conv_filters: tuple[int, ...] = (16, 32, 32)
    dense_units: tuple[int, ...] = (64, 32)  # hidden dense layers, before the decision layer
    decision_activation: str = "softmax"
    loss: str = "categorical_crossentropy"
    epochs: int = 25
    notes: str = ""
    # Issue 10. The originals keep these defaults; an Experiment 2 variant states each one.
    series: str = "Original study"
    hypothesis: str = ""  # what the variant tests, in one sentence
    training_data: tuple[str, ...] = ("cmu",)  # "cmu", "pointing04_train"
    framing: str = "cmu"  # "cmu": CMU's own 64x60 files; "detector": imaging.frame on the originals
    augment: str | None = None  # a vislib.augment recipe name (mirror images always come with it)
    split: str = "image"  # the shipped model's CMU split: "image" (as the study) or "person"
    balance: bool = False  # weight classes so "left" counts as much as the rest
    average_from: int | None = None  # average the weights of every epoch from this one on (SWA)
    weight_decay: float = 0.0  # > 0: AdamW with this decoupled weight decay
    # how pointing04_train photos are framed for training: "detected" (as an upload) and/or
    # "face" (around the database's face box); validation always uses "detected"
    pointing04_framings: tuple[str, ...] = ("detected",)
    # pointing04_train people held out of training to validate the recipe (never the three amigos)
    pointing04_validation: tuple[str, ...] = ("person06", "person13")
    # an input normalisation layer ("preprocess") in front of the network: a vislib.preprocessing kind
    preprocess: str | None = None
    # > 0: while training, a second output beside the decision learns each Pointing'04 photo's turn
    # (pan / 90, mean squared error, this weight on its loss; CMU has no angle); taken off afterwards
    pan_output: float = 0.0
    # > 0: dropout at this rate after the flatten and after each hidden dense layer (a pan output reads the
    # last hidden layer before its dropout)
    dropout: float = 0.0
    mixup: float = 0.0  # > 0: mixup, each training picture blended with another by a Beta(mixup, mixup) weight
    seed: int = 1234

    @property
    def classes(self) -> tuple[str, ...]:
        return data.TASKS[self.task]

    @property
    def label(self) -> str:
        """The variant as a picker shows it: "ex2-4 · Two studios, 9 people"."""
        return f"{self.name} · {self.short_title or self.title}"

    @property
    def decision_layer(self) -> str:
        return f"dense_{len(self.dense_units) + 1}"


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("exp0", "Baseline", notes="conv/pool stack, three dense layers, softmax, cross-entropy"),
        Variant("ex1-1", "Half the conv filters", conv_filters=(8, 16, 16)),
        Variant("ex1-2", "More dense layers", dense_units=(64, 32, 32, 32, 16)),
        Variant("ex1-3", "Wider dense layers", dense_units=(256, 128)),
        Variant("ex1-4", "Four pose classes", task="pose"),
        Variant("ex1-5", "No hidden dense layer", dense_units=()),
        Variant("ex1-6", "Linear decision layer, mean squared error", short_title="Linear decision, MSE",
                decision_activation="linear", loss="mean_squared_error"),
        Variant("ex2-1", "CMU only, framed as uploads, local contrast, photometric augmentation",
                short_title="CMU, local contrast",
                series="Experiment 2",
                hypothesis="A CMU-only network transfers to another studio when it cannot use the "
                           "studio's light: trained on the upload path's own crops of the CMU originals, "
                           "it sees each picture through local contrast normalisation (its first layer), "
                           "with mirror images, the wall replaced half of the time, and strong changes "
                           "of exposure, contrast, blur, noise and framing.",
                framing="detector", augment="strong+photometric", preprocess="local_contrast", split="person",
                epochs=40, average_from=20),
        Variant("ex2-2", "CMU + Pointing'04 training people, standardised, long weight averaging",
                short_title="Two studios, 7 people", series="Experiment 2",
                hypothesis="Adding a second studio (seven more Pointing'04 people, framed both as uploads "
                           "and around their face boxes), standardising each picture in the network's "
                           "first layer and averaging the weights over the second half of 80 epochs makes "
                           "the network right on the three amigos and on new CMU people alike.",
                training_data=("cmu", "pointing04_train"), framing="detector", augment="mild",
                preprocess="standardise", split="person", epochs=80, average_from=40,
                pointing04_framings=("detected", "face")),
        Variant("ex2-3", "CMU only, fine local contrast, the head alone on random backdrops",
                short_title="CMU, the head alone", series="Experiment 2",
                hypothesis="A CMU-only network transfers to another studio when it sees only the features "
                           "of the face: local contrast over a 4-pixel window (the studio's light gone, the "
                           "edges of eyes, nose and mouth kept), and the wall replaced by a random backdrop "
                           "in about 6 pictures of 10 (the shoulders with it in about 1 of 3), with ex2-1's "
                           "changes of exposure, blur, noise and framing.",
                framing="detector", augment="strong+head+photometric", preprocess="local_contrast_fine",
                split="person", epochs=40, average_from=20),
        Variant("ex2-4", "CMU + all nine Pointing'04 training people, ex2-2's recipe, learning the turn too",
                short_title="Two studios, 9 people", series="Experiment 2",
                hypothesis="ex2-2's recipe does better on new people when it is fitted on all nine Pointing'04 "
                           "training people instead of seven, and when, while it learns, a second output also "
                           "learns how far each of their faces is turned (the database's pan angle; that output "
                           "is taken off the shipped network, which answers left or not as the others do). On people "
                           "held out before, seven instead of five gained 1.3 points, and the second output 0.7 "
                           "to 0.9 points on two people, 1.3 to 1.4 on two others (means of three seeds).",
                training_data=("cmu", "pointing04_train"), framing="detector", augment="mild",
                preprocess="standardise", split="person", epochs=80, average_from=40,
                pointing04_framings=("detected", "face"), pointing04_validation=(), pan_output=1.0),
    )
}

POINTING04_TRAIN_PEOPLE = 9  # people in pointing04_train/ (its SOURCE.md), never the three amigos
_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def pointing04_people(spec: Variant) -> int:
    """How many Pointing'04 training people a variant was fitted on (0 without that data)."""
    if "pointing04_train" not in spec.training_data:
        return 0
    return POINTING04_TRAIN_PEOPLE - len(spec.pointing04_validation)


def training_data_names(spec: Variant, cmu: str = "CMU faces") -> list[str]:
    """What a variant was trained on, in words (pages and the client report)."""
    names = []
    for source in spec.training_data:
        if source == "pointing04_train":
            held = len(spec.pointing04_validation)
            names.append(f"{_NUMBERS[pointing04_people(spec)]} Pointing'04 people ("
                         + (f"{_NUMBERS[held]} more held out for validation; " if held else "")
                         + "not the three amigos)")
        else:
            names.append(cmu if source == "cmu" else source)
    return names


# The variant the "Your photo" page offers by default: the recipe chosen on held-out people
# (ex2-2's), fitted on every training person. Decided before its three-amigos figure was seen.
RECOMMENDED = "ex2-4"
ORIGINALS = tuple(n for n, v in VARIANTS.items() if v.series == "Original study")
EXPERIMENT_2 = tuple(n for n, v in VARIANTS.items() if v.series == "Experiment 2")


def variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"variant must be one of {list(VARIANTS)}, got {name!r}") from None


def build(name: str) -> keras.Model:
    """A fresh, untrained functional model for a variant."""
    spec = variant(name)
    inputs = keras.Input(shape=settings.INPUT_SHAPE, name="input")
    x = inputs if spec.preprocess is None else preprocessing.layer(spec.preprocess)(inputs)
    for i, filters in enumerate(spec.conv_filters, start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv2d_{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"max_pooling2d_{i}")(x)
    x = keras.layers.Flatten(name="flatten_1")(x)
    if spec.dropout:
        x = keras.layers.Dropout(spec.dropout, name="dropout_0")(x)
    for i, units in enumerate(spec.dense_units, start=1):
        x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
        if spec.dropout:
            x = keras.layers.Dropout(spec.dropout, name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(
        len(spec.classes), activation=spec.decision_activation, name=spec.decision_layer
    )(x)
    return keras.Model(inputs, outputs, name=name.replace("-", "_"))


class ModelLoadError(RuntimeError):
    """A shipped model is missing or cannot be read."""


def model_dir(name: str, root: Path | None = None) -> Path:
    variant(name)
    return (root or settings.MODELS_DIR) / name


def never_firing(unit_stats: dict, layer: str) -> list[int]:
    """Units of a layer that respond to no training face (a variant's `unit_stats.json`)."""
    return [i for i, dead in enumerate(unit_stats.get(layer, {}).get("dead", [])) if dead]


WEIGHTS_MEMBER = "model.weights.h5"


def weights_digest(model_file: Path) -> str:
    """SHA-1 of the weights inside a `.keras` file: what an atlas or a timelapse was computed from.

    Not of the whole file: Keras writes the save date and object addresses into it, so a
    retraining that reproduces the same weights (the training is seeded) keeps them valid. A file
    that is not a Keras archive is digested whole (and so matches nothing recorded)."""
    import hashlib
    import zipfile

    model_file = Path(model_file)
    try:
        with zipfile.ZipFile(model_file) as archive:
            return hashlib.sha1(archive.read(WEIGHTS_MEMBER)).hexdigest()
    except (zipfile.BadZipFile, KeyError):
        return hashlib.sha1(model_file.read_bytes()).hexdigest()


def save(model: keras.Model, path: Path) -> Path:
    """Write a trained model for use: its layers and weights, without the optimizer's state.

    Nothing in the app trains a shipped model further, and Adam's two moments per weight would
    triple the file (ex1-3: 6 MB instead of 2). An uncompiled copy is what gets saved
    (`keras.models.clone_model` would compile it again)."""
    copy = model.__class__.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    copy.save(path)
    return Path(path)


def load(name: str, root: Path | None = None) -> keras.Model:
    """The trained model of a variant from models/<name>/model.keras."""
    path = model_dir(name, root) / "model.keras"
    if not path.is_file():
        raise ModelLoadError(f"No trained model for {name} here: {settings.shown_path(path)} is missing. "
                             f"{_train_again(name)}")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as error:  # keras raises many kinds on a damaged zip
        raise ModelLoadError(f"{name}'s trained network cannot be read: {settings.shown_path(path)} is damaged or not "
                             f"a Keras model ({type(error).__name__}). {_train_again(name)}") from error


def _train_again(name: str) -> str:
    return f"Whoever runs the app can train it again: `{settings.command(f'-m vislib.train --variant {name}')}`."


def read_json(name: str, file: str, root: Path | None = None) -> dict:
    """A JSON file written by training next to a variant's model (metrics, history, ...)."""
    path = model_dir(name, root) / file
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelLoadError(f"{name}'s {file} is missing ({settings.shown_path(path)}). {_train_again(name)}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelLoadError(f"{name}'s {file} cannot be read: {settings.shown_path(path)} is damaged, expected "
                             f"JSON ({error}). {_train_again(name)}") from None


def read_array(name: str, file: str, root: Path | None = None) -> np.ndarray:
    path = model_dir(name, root) / file
    try:
        return np.load(path, allow_pickle=False)
    except Exception as error:  # numpy raises OSError, ValueError, EOFError... on a damaged file
        raise ModelLoadError(f"{name}'s {file} cannot be read: {settings.shown_path(path)} is missing or damaged, "
                             f"expected a .npy array ({type(error).__name__}). {_train_again(name)}") from None


def layer_table(model: keras.Model) -> list[dict]:
    """Each layer's name, kind, output shape and parameter count, in order."""
    rows = []
    for layer in model.layers:
        shape = layer.output.shape
        rows.append({
            "layer": layer.name,
            "kind": type(layer).__name__,
            "output shape": " x ".join(str(d) for d in shape[1:]),
            "units": int(shape[-1]),
            "parameters": int(layer.count_params()),
            "activation": getattr(getattr(layer, "activation", None), "__name__", ""),
        })
    return rows


def linear_copy(layer, suffix: str = "_pre"):
    """A copy of a layer without its activation (same weights, nothing shared): reads what the
    layer computes before its activation without changing the model."""
    config = {**layer.get_config(), "activation": "linear", "name": layer.name + suffix}
    copy = type(layer).from_config(config)
    copy.build(layer.input.shape)
    copy.set_weights(layer.get_weights())
    return copy


def unit_layers(model: keras.Model) -> list[str]:
    """Layers whose units HappyMaps can visualise: conv and dense layers."""
    return [l.name for l in model.layers if isinstance(l, (keras.layers.Conv2D, keras.layers.Dense))]


def shipped_variants(root: Path | None = None) -> list[str]:
    """Variants whose trained model is in models/, in registry order."""
    return [n for n in VARIANTS if (model_dir(n, root) / "model.keras").is_file()]
