"""Did network B learn what network A learned? Three numbers instead of two grids and an eye.

    result = compare("exp0", "ex1-1")
    result.cka["CMU test faces"]           # (layers of A, layers of B) linear CKA, 0..1
    result.agreement["three amigos"]       # share of photos with the same "left" / "not left" answer
    result.happymaps["conv2d_1"]           # matched HappyMap similarity of one layer, with its baseline

- Representation similarity: linear CKA (Kornblith, Norouzi, Lee & Hinton 2019, "Similarity of
  Neural Network Representations Revisited", ICML) between every layer of A and every layer of B,
  on the same inputs: the CMU test faces (CMU's own 64x60 files, all 124 of the by-image test
  split) and the three amigos (46 Pointing'04 photos framed around the database's face box, as
  metrics.json scores them). CKA is 1 when two layers hold the same information up to a rotation
  and a scale, near 0 when they are unrelated. Random features of the same picture also share
  some of it (early layers of an untrained copy score well above 0), so each comparison also
  gives A against a copy of B with random weights: a layer's CKA means something only above that.
- Decision agreement: the share of inputs both networks answer the same, "left" or "not left".
  The four-pose variant (ex1-4) answers one of four poses; its "left" counts as "left" and its
  other three poses as "not left", so that it can be compared with the binary variants.
- HappyMap similarity per layer (same layer name in both): the Pearson correlation between what
  each unit's HappyMap adds to the mean training face (atlas maps minus the variant's mean
  image), every unit of A against every unit of B; the best one-to-one matching of units
  (Hungarian algorithm, scipy.optimize.linear_sum_assignment); the mean matched correlation,
  against a baseline: the mean correlation of a unit of A with a unit of B picked at random
  (what a random pairing gives), so a matched 0.9 where every unit draws the same picture
  (0.9 at random too) is not read as a match.

Measured on the shipped models (exp0 against ex1-1): linear CKA of flattened conv-layer
activations is 0.96..1.00 for ex1-1 and just as high for a random-weight copy of ex1-1, and
0.93..1.00 with the input pixels themselves: on these faces the conv layers' activations are
dominated by the picture, and CKA cannot tell a trained conv layer from a random one. The
dense layers and the decision layer can (0.97 against 0.34 for dense_1). The matrices therefore
start with the input pixels as a first row and column, and the random copy's figure is given.

`python -m vislib.compare A B` prints every figure. Activations of the reference inputs are
cached per model within a process: a second comparison with the same models is fast.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from weakref import WeakKeyDictionary

import keras
import numpy as np

from vislib import data, settings, zoo

LEFT = "left"
CMU = "CMU test faces"
AMIGOS = "three amigos"
INPUT = "input"  # the pictures themselves, as a first 'layer': how much of a layer is still the picture
# `Comparison.in_short`: answers count as the same from this share on; a layer's CKA or a layer's matched
# HappyMap similarity counts as alike from ALIKE on, and only this far above what random weights or pairs give
SAME_ANSWERS, ALIKE, ABOVE_RANDOM = 0.95, 0.7, 0.3


# ---------------------------------------------------------------- linear CKA


def _flat(x) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x.reshape(len(x), -1)


def centred_gram(x) -> np.ndarray:
    """The centred Gram matrix H X X^T H of (N, ...) activations, flattened per example."""
    x = _flat(x)
    x = x - x.mean(axis=0, keepdims=True)  # centring the features centres the Gram matrix
    return x @ x.T


def cka_from_grams(k: np.ndarray, l: np.ndarray) -> float:
    """Linear CKA from two centred Gram matrices: <K, L> / (||K|| ||L||). 0 when either is constant."""
    denominator = np.sqrt(float((k * k).sum()) * float((l * l).sum()))
    return float((k * l).sum() / denominator) if denominator > 0 else 0.0


def linear_cka(x, y) -> float:
    """Linear CKA of two sets of activations of the same N inputs, (N, ...) each (flattened per
    example; the features may differ in number): ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F) on
    centred features. Invariant to orthogonal transforms and isotropic scaling of either."""
    x, y = _flat(x), _flat(y)
    if len(x) != len(y):
        raise ValueError(f"expected activations of the same inputs, got {len(x)} and {len(y)} examples")
    return cka_from_grams(centred_gram(x), centred_gram(y))


# ---------------------------------------------------------------- activations, cached per model


def compared_layers(model: keras.Model) -> list[str]:
    """The layers compared: conv, pool and dense, in order."""
    kinds = (keras.layers.Conv2D, keras.layers.MaxPooling2D, keras.layers.Dense)
    return [l.name for l in model.layers if isinstance(l, kinds)]


def counterparts(model_a: keras.Model, model_b: keras.Model) -> dict[str, str]:
    """{A's layer: B's layer compared with it}, in A's order: the two decision layers with each
    other, and every other layer with B's layer of the same name unless that one is B's decision
    (a network without a hidden dense layer decides in "dense_1")."""
    decision_a, decision_b = model_a.layers[-1].name, model_b.layers[-1].name
    names_b = set(compared_layers(model_b)) - {decision_b}
    return {n: decision_b if n == decision_a else n for n in compared_layers(model_a)
            if n == decision_a or n in names_b}


_PROBES: WeakKeyDictionary = WeakKeyDictionary()
_CACHE: WeakKeyDictionary = WeakKeyDictionary()  # model -> {inputs digest: (activations, grams)}


def _digest(inputs: np.ndarray) -> str:
    inputs = np.ascontiguousarray(inputs, np.float32)
    return hashlib.sha1(inputs.tobytes()).hexdigest() + str(inputs.shape)


def _cached(model: keras.Model, inputs) -> dict:
    inputs = np.asarray(inputs, np.float32)
    per_model = _CACHE.setdefault(model, {})
    key = _digest(inputs)
    if key not in per_model:
        if model not in _PROBES:
            names = compared_layers(model)
            _PROBES[model] = (names, keras.Model(model.input, [model.get_layer(n).output for n in names]))
        names, probe = _PROBES[model]
        # called directly, not with predict(): a few hundred pictures need no compiled step, and
        # predict() would compile one per network and randomised copy the page compares
        outputs = probe(inputs, training=False)
        outputs = outputs if len(names) > 1 else [outputs]
        acts = {INPUT: inputs.reshape(len(inputs), -1)}
        acts.update({n: np.asarray(keras.ops.convert_to_numpy(o)).reshape(len(inputs), -1)
                     for n, o in zip(names, outputs)})
        per_model[key] = {"acts": acts, "grams": {}}
    return per_model[key]


def layer_activations(model: keras.Model, inputs) -> dict[str, np.ndarray]:
    """{layer: (N, features)}: "input" (the pixels), then the conv, pool and dense layers, from one
    batched forward pass (cached per model and inputs within the process)."""
    return _cached(model, inputs)["acts"]


def _grams(model: keras.Model, inputs) -> dict[str, np.ndarray]:
    entry = _cached(model, inputs)
    for name, acts in entry["acts"].items():
        if name not in entry["grams"]:
            entry["grams"][name] = centred_gram(acts.astype(np.float32)).astype(np.float64)
    return entry["grams"]


def cka_matrix(model_a: keras.Model, model_b: keras.Model, inputs) -> tuple[list[str], list[str], np.ndarray]:
    """(A's layers, B's layers, matrix): linear CKA of every layer of A (rows) with every layer of B
    (columns) on the same inputs."""
    ga, gb = _grams(model_a, inputs), _grams(model_b, inputs)
    matrix = np.array([[cka_from_grams(ka, lb) for lb in gb.values()] for ka in ga.values()])
    return list(ga), list(gb), matrix


# ---------------------------------------------------------------- decisions


def said_left(model: keras.Model, inputs, classes=None) -> np.ndarray:
    """(N,) bool: the network's answer is "left". With four poses, "left" is left and the other three
    poses are "not left". `classes` defaults to the binary task's, or the pose task's for 4 outputs."""
    if classes is None:
        classes = data.TASKS["pose" if int(model.outputs[0].shape[-1]) == len(data.TASKS["pose"]) else "binary"]
    decisions = _cached(model, inputs)["acts"][model.layers[-1].name]
    return decisions.argmax(axis=1) == list(classes).index(LEFT)


def decision_agreement(model_a: keras.Model, model_b: keras.Model, inputs, classes_a=None, classes_b=None) -> dict:
    """Share of inputs with the same "left" / "not left" answer, and each network's share of "left"."""
    a, b = said_left(model_a, inputs, classes_a), said_left(model_b, inputs, classes_b)
    return {"agreement": float((a == b).mean()), "left_a": float(a.mean()), "left_b": float(b.mean()), "n": int(len(a))}


# ---------------------------------------------------------------- HappyMaps, unit by unit


def correlation_matrix(maps_a, maps_b) -> np.ndarray:
    """Pearson correlation of every map of A (rows) with every map of B (columns); 0 for flat maps."""
    def standardised(m):
        m = np.asarray(m, np.float32).reshape(len(m), -1)
        m = m - m.mean(axis=1, keepdims=True)
        norm = np.linalg.norm(m, axis=1, keepdims=True)
        return np.where(norm > 0, m / np.where(norm > 0, norm, 1), 0.0)

    return standardised(maps_a) @ standardised(maps_b).T


def best_matching(similarity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The one-to-one pairing of rows and columns with the largest total similarity (Hungarian
    algorithm): (row indices, column indices), min(rows, columns) pairs."""
    from scipy.optimize import linear_sum_assignment

    return linear_sum_assignment(np.asarray(similarity), maximize=True)


@dataclass
class UnitMatch:
    layer: str
    pairs: list  # [(unit of A, unit of B, correlation)], best one-to-one matching
    mean: float  # mean matched correlation
    baseline: float  # mean correlation of a unit of A with a unit of B picked at random
    units_a: int
    units_b: int


def happymap_similarity(atlas_a, atlas_b, layer: str, mean_a=None, mean_b=None, layer_b: str | None = None) -> UnitMatch:
    """Matched HappyMap similarity of one layer of two atlases (default settings' maps; a layer
    missing from either raises KeyError). mean_a / mean_b: the variants' mean training images,
    subtracted so that only what each network adds to the mean face is compared. layer_b: B's
    layer, when it has another name (`counterparts`).

    The baseline is what a random one-to-one pairing gives on average (the mean of every pair's
    correlation): where all units of a layer draw nearly the same picture (conv2d_1 here), any
    pairing scores high, and the matching adds little above it."""
    maps_a = np.asarray(atlas_a.images[layer], np.float32) - (0 if mean_a is None else np.asarray(mean_a, np.float32))
    maps_b = np.asarray(atlas_b.images[layer_b or layer], np.float32) - (0 if mean_b is None else np.asarray(mean_b, np.float32))
    similarity = correlation_matrix(maps_a, maps_b)
    rows, cols = best_matching(similarity)
    matched = similarity[rows, cols]
    return UnitMatch(layer, [(int(r), int(c), float(v)) for r, c, v in zip(rows, cols, matched)],
                     float(matched.mean()), float(similarity.mean()), len(maps_a), len(maps_b))


# ---------------------------------------------------------------- the reference inputs


@lru_cache(maxsize=1)
def cmu_test_inputs() -> np.ndarray:
    """All CMU test faces of the by-image split (seed 0), CMU's own 64x60 files: (124, 60, 64, 1)."""
    faces = data.load_cmu()
    return np.ascontiguousarray(faces.images[data.split_indices(faces.poses, seed=0)[1]], np.float32)


@lru_cache(maxsize=1)
def amigo_inputs() -> np.ndarray:
    """The three amigos as vislib.diagnosis.amigo_set frames them (46 photos, face box)."""
    from vislib import diagnosis

    return np.ascontiguousarray(diagnosis.amigo_set().inputs, np.float32)


def reference_inputs() -> dict[str, np.ndarray]:
    return {CMU: cmu_test_inputs(), AMIGOS: amigo_inputs()}


def cmu_faces_note(a: str, b: str, n: int) -> str:
    """What the CMU reference faces are for networks a and b: the same pictures for both, mostly of
    people both were trained on (a network split by person held a few of the 20 out), so agreement
    on them says little about new people."""
    def trained_on(name: str) -> str:
        if zoo.variant(name).split != "person":
            return f"{name}: all 20"
        try:
            k = len(zoo.read_json(name, "metrics.json").get("split", {}).get("test_people", []))
        except zoo.ModelLoadError:
            k = 0
        return f"{name}: {20 - k} of the 20, {k} held out" if k else f"{name}: most of the 20"

    return (f"{CMU}: the original study's split by image, the same {n} pictures for both networks, in CMU's own "
            f"framing. Most show people each network was trained on ({trained_on(a)}; {trained_on(b)}): agreement "
            f"on them says little about new people; the three amigos do.")


# ---------------------------------------------------------------- everything at once


@dataclass
class Comparison:
    a: str
    b: str
    layers_a: list
    layers_b: list
    cka: dict  # input set -> (len(layers_a), len(layers_b)) matrix
    cka_random: dict  # input set -> {layer of A: CKA with its counterpart in B's randomised copy}
    agreement: dict  # input set -> decision_agreement(...)
    happymaps: dict = field(default_factory=dict)  # layer -> UnitMatch (layers of both atlases)
    happymaps_problem: str | None = None  # why there are none (no atlas, damaged, ...)
    inputs: dict = field(default_factory=dict)  # input set -> N
    seconds: float = 0.0
    counterparts: dict = field(default_factory=dict)  # layer of A -> its counterpart in B (`counterparts`)
    data_problem: str | None = None  # why the answers and the layers were not compared (no data sets)

    def same_layer_cka(self, inputs: str = CMU) -> dict:
        """{layer of A: CKA with its counterpart in B} (the same layer, or the other decision)."""
        matrix = self.cka[inputs]
        return {n: float(matrix[self.layers_a.index(n), self.layers_b.index(m)]) for n, m in self.counterparts.items()}

    def in_short(self) -> str:
        """The comparison in one paragraph of plain text for a reader who is not a specialist: the three
        measures of the decision (same answers, decision layers' CKA, decision units' HappyMaps), each
        judged alike by `SAME_ANSWERS` / `ALIKE` / `ABOVE_RANDOM`, and how many of them say alike."""
        said, alike, measures = [], [], []
        if self.agreement:
            shares = [f"{r['agreement']:.0%} of the {name}" for name, r in self.agreement.items()]
            alike.append(min(r["agreement"] for r in self.agreement.values()) >= SAME_ANSWERS)
            measures.append("their answers")
            said.append(f"give the same answer to {' and '.join(shares)} ({SAME_ANSWERS:.0%} or more on every set counts as alike)")
        decision = zoo.variant(self.a).decision_layer
        # on every set of faces: the decision layers of two networks can agree on CMU faces and not on others
        figures = {inputs: (cka, self.cka_random[inputs][decision]) for inputs in self.cka
                   if (cka := self.same_layer_cka(inputs).get(decision)) is not None}
        if figures:
            alike_on = [inputs for inputs, (cka, random) in figures.items()
                        if cka >= ALIKE and cka - random >= ABOVE_RANDOM]
            alike.append(len(alike_on) == len(figures))
            measures.append("their decision layers")
            holds = ("hold much the same information" if alike[-1] else "hold different information" if not alike_on
                     else f"hold much the same information on the {' and '.join(alike_on)}, but not on the "
                          f"{' and '.join(i for i in figures if i not in alike_on)}")
            said.append(f"their decision layers {holds} (CKA "
                        + "; ".join(f"{cka:.2f} on the {inputs}, {random:.2f} with a random copy"
                                    for inputs, (cka, random) in figures.items()) + ")")
        maps = self.happymaps.get(decision)
        if maps is not None:
            alike.append(maps.mean >= ALIKE and maps.mean - maps.baseline >= ABOVE_RANDOM)
            measures.append("their HappyMaps")
            said.append(f"their decision units draw {'alike' if alike[-1] else 'different'} HappyMaps "
                        f"({maps.mean:.2f} once paired; {maps.baseline:.2f} at random)")
        n, k = len(alike), sum(alike)
        missing = (" Their answers and layers are compared on the data sets, which are not here."
                   if self.data_problem else "")
        if n == 0:
            return f"{self.a} and {self.b} cannot be compared here.{missing}"
        if n == 1:
            return (f"{self.a} and {self.b}: {said[0]}. By this one measure ({measures[0]}) they "
                    f"{'learned much the same thing' if k else 'did not learn the same thing'}.{missing}")
        words = {1: "one", 2: "two", 3: "three"}
        every = "both" if n == 2 else f"all {words[n]}"
        yes = " and ".join(m for m, a in zip(measures, alike) if a)
        no = " and ".join(m for m, a in zip(measures, alike) if not a)
        on_every_set = " (a measure counts only where it holds on every set of faces)" if len(self.cka) > 1 else ""
        verdict = (f"By {every} measures they learned much the same thing (agreeing is not being right, "
                   f"though)." if k == n else f"By none of the {words[n]} measures did they learn the same "
                   f"thing{on_every_set}." if k == 0 else f"By {words[k]} of the {words[n]} measures ({yes}) they "
                   f"learned much the same thing; by the other{'s' if n - k > 1 else ''} ({no}), not"
                   f"{on_every_set}.")
        return f"{self.a} and {self.b} {'; '.join(said)}. {verdict}"

    def label(self, layer: str) -> str:
        """A's layer as the tables name the pair: "dense_2", or "dense_3 ↔ dense_1" across names."""
        other = self.counterparts.get(layer, layer)
        return layer if other == layer else f"{layer} ↔ {other}"

    def opposite_maps(self) -> str:
        """A sentence for the layers whose best pairing of HappyMaps still correlates below 0, else ''."""
        below = [self.label(layer) for layer, match in self.happymaps.items() if match.mean < 0]
        if not below:
            return ""
        where = " and ".join(below)
        return (f" For {where}, even the best pairing is below 0: each of {self.a}'s maps there tends to be brighter "
                f"where its partner in {self.b} is darker, whichever partner it gets.")


@lru_cache(maxsize=None)
def _model(name: str):
    return zoo.load(name)


_RANDOMISED: WeakKeyDictionary = WeakKeyDictionary()


def randomised(model: keras.Model) -> keras.Model:
    """The model's copy with random weights (surgery.randomized_copy, seed 0), made once per model."""
    from vislib import surgery

    if model not in _RANDOMISED:
        _RANDOMISED[model] = surgery.randomized_copy(model, seed=0)
    return _RANDOMISED[model]


@lru_cache(maxsize=None)
def _atlas_and_mean(name: str):
    from vislib import atlas

    return atlas.load(name), zoo.read_array(name, "mean_image.npy")


def compare(a: str, b: str, models=None) -> Comparison:
    """Every figure of the comparison of two shipped variants (models: optional loader name -> model,
    e.g. the app's cached one)."""
    started = time.perf_counter()
    load = models or _model
    model_a, model_b = load(a), load(b)
    random_b = randomised(model_b)
    classes_a, classes_b = zoo.variant(a).classes, zoo.variant(b).classes
    pairs = counterparts(model_a, model_b)
    cka, cka_random, agreement, counts = {}, {}, {}, {}
    layers_a, layers_b = compared_layers(model_a), compared_layers(model_b)
    try:
        faces, data_problem = reference_inputs(), None
    except data.DataNotFoundError as error:  # the HappyMaps come from the atlases: still compared
        faces, data_problem = {}, str(error)
    for name, inputs in faces.items():
        layers_a, layers_b, cka[name] = cka_matrix(model_a, model_b, inputs)
        _, layers_r, random_matrix = cka_matrix(model_a, random_b, inputs)
        cka_random[name] = {n: float(random_matrix[layers_a.index(n), layers_r.index(m)]) for n, m in pairs.items()}
        agreement[name] = decision_agreement(model_a, model_b, inputs, classes_a, classes_b)
        counts[name] = len(inputs)
    matches, problem = {}, None
    try:
        (atlas_a, mean_a), (atlas_b, mean_b) = _atlas_and_mean(a), _atlas_and_mean(b)
    except Exception as error:  # AtlasError, ModelLoadError: say why, keep the other figures
        atlas_a = atlas_b = None
        problem = str(error)
    if atlas_a is None or atlas_b is None:
        problem = problem or (f"no HappyMaps atlas for {a if atlas_a is None else b} "
                              f"({settings.command('-m vislib.atlas')})")
    else:
        try:
            for layer, other in pairs.items():
                if layer in atlas_a.images and other in atlas_b.images:
                    matches[layer] = happymap_similarity(atlas_a, atlas_b, layer, mean_a, mean_b, other)
        except ModuleNotFoundError as error:  # scipy: a runtime requirement, missing from an old install
            matches, problem = {}, f"the unit matching needs {error.name} (pip install {error.name})"
    return Comparison(a, b, layers_a, layers_b, cka, cka_random, agreement, matches, problem, counts,
                      time.perf_counter() - started, pairs, data_problem)


# ---------------------------------------------------------------- command line


def format_matrix(layers_a, layers_b, matrix) -> str:
    width = max(len(n) for n in layers_a)
    short = [n.replace("max_pooling2d", "pool").replace("conv2d", "conv") for n in layers_b]
    cell = max(6, *(len(s) + 1 for s in short))
    lines = [" " * width + "".join(s.rjust(cell) for s in short)]
    lines += [n.ljust(width) + "".join(f"{v:{cell}.2f}" for v in row) for n, row in zip(layers_a, matrix)]
    return "\n".join(lines)


def format_comparison(c: Comparison) -> str:
    out = [f"{c.a} (rows) against {c.b} (columns)"]
    for name in c.cka:
        out += ["", f"Linear CKA on {c.inputs[name]} {name}:", format_matrix(c.layers_a, c.layers_b, c.cka[name])]
        same = c.same_layer_cka(name)
        if same:
            out.append("same layer, " + c.b + " / its random-weight copy: " + ", ".join(
                f"{c.label(n)} {v:.2f}/{c.cka_random[name][n]:.2f}" for n, v in same.items()))
    out.append("")
    note = " (ex1-4's four poses: 'left' vs the other three)" if "pose" in (zoo.variant(c.a).task, zoo.variant(c.b).task) else ""
    out.append(f"Decision agreement, left / not left{note}:")
    for name, r in c.agreement.items():
        out.append(f"  {name}: {r['agreement']:.1%} of {r['n']} (said left: {c.a} {r['left_a']:.1%}, {c.b} {r['left_b']:.1%})")
    out.append("")
    if c.happymaps:
        out.append("HappyMap similarity, best one-to-one matching of units (mean matched r; baseline: units paired at random):")
        for layer, m in c.happymaps.items():
            out.append(f"  {c.label(layer)}: {m.mean:.2f} (baseline {m.baseline:.2f}; {len(m.pairs)} pairs of {m.units_a} x {m.units_b} units)")
    else:
        out.append(f"HappyMap similarity: not available ({c.happymaps_problem})")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vislib.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", choices=list(zoo.VARIANTS))
    parser.add_argument("b", choices=list(zoo.VARIANTS))
    parser.add_argument("--repeat", type=int, default=2,
                        help="run the comparison this many times in one process; the last time is the warm one (default 2)")
    args = parser.parse_args(argv)
    try:
        times = []
        for _ in range(max(1, args.repeat)):
            result = compare(args.a, args.b)
            times.append(result.seconds)
    except (data.DataNotFoundError, zoo.ModelLoadError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(format_comparison(result))
    print()
    print(f"In short: {result.in_short()}")
    print()
    if len(times) > 1:
        print(f"first call (loads models, faces and atlases; forward passes): {times[0]:.2f} s")
    print(f"compare: {times[-1]:.2f} s" + (" (warm: activations cached in this process)" if len(times) > 1 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
