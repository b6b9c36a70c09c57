"""Why does a network fail on new people? The evidence, computed from the data and the model.

    cmu, amigos = cmu_set(spec), amigo_set()
    looks = face_share(model, cmu, "saliency")                 # share of the heat on the face
    changes = interventions(model, spec.classes, amigos, cmu)  # decisions when face/background change
    sanity = randomisation_check(model, cmu, "gradcam")        # Adebayo et al. 2018
    curve = deletion_curve(model, cmu, "saliency")             # most-attributed pixels removed first

`python -m vislib.diagnosis VARIANT` prints every figure the "Why it fails" page shows.
Nothing here is written to disk: the faces are read from the data folder at run time.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import keras
import numpy as np

from vislib import attribution, augment, autodiff, data, imaging, settings, zoo

METHODS = ("saliency", "smoothgrad", "gradcam", "gradcam++", "occlusion")
FRACTIONS = np.round(np.linspace(0.0, 0.5, 11), 3)
LEFT = "left"


@dataclass(frozen=True)
class FaceSet:
    """Network inputs with their poses and, per input, where the face is (a box mask)."""

    name: str
    inputs: np.ndarray  # (N, 60, 64, 1) in [0, 1]
    poses: tuple[str, ...]
    faces: np.ndarray  # (N, 60, 64) bool: inside the face box
    files: tuple[str, ...]

    def labels(self, task: str) -> np.ndarray:
        return data.task_labels(self.poses, task)

    def __len__(self) -> int:
        return len(self.inputs)

    def spread(self, limit: int) -> "FaceSet":
        """`limit` of its faces spread over the set, as `amigo_set(limit)` picks them."""
        pick = _spread(len(self), limit)
        return FaceSet(self.name, self.inputs[pick], tuple(self.poses[i] for i in pick), self.faces[pick],
                       tuple(self.files[i] for i in pick))


AMIGOS_SHOWN = 46  # the amigo photos the maps and pictures use by default: every third


def _spread(n: int, limit: int) -> np.ndarray:
    """Indices of `limit` of n items spread evenly from the first (every third of 138 for 46)."""
    return np.arange(0, n, max(1, n // limit))[:limit]


def face_mask(crop_box, face_box, shape=settings.INPUT_SHAPE[:2]) -> np.ndarray:
    """The face box (centre x, centre y, width, height, in photo pixels) as a mask over the
    network input made from `crop_box` (x0, y0, x1, y1, in the same pixels)."""
    x0, y0, x1, y1 = (float(v) for v in crop_box)
    cx, cy, w, h = (float(v) for v in face_box)
    sx, sy = shape[1] / (x1 - x0), shape[0] / (y1 - y0)
    left, right = int(round((cx - w / 2 - x0) * sx)), int(round((cx + w / 2 - x0) * sx))
    top, bottom = int(round((cy - h / 2 - y0) * sy)), int(round((cy + h / 2 - y0) * sy))
    mask = np.zeros(shape, bool)
    mask[max(top, 0):max(bottom, 0), max(left, 0):max(right, 0)] = True
    return mask


def cmu_set(spec: zoo.Variant | None = None, limit: int = 40) -> FaceSet:
    """CMU test faces of the variant's own split (by image, as the original study; or the people it
    was never trained on) whose face the upload path's detector finds, framed as the variant was
    trained (CMU's own 64x60 files, or the detector crop)."""
    from vislib import train  # its split of CMU by person

    small, large = data.load_cmu(), data.load_cmu(scale=1)
    if getattr(spec, "split", "image") == "person":  # never a photo of the people it trained on
        small_index = {f: i for i, f in enumerate(small.files)}
        originals = train.Examples(large.images, large.poses, large.users, np.full(len(large.files), "cmu"))
        held_out = train.variant_split(spec, originals)[1]
        test = [small_index[n] for n in (large.files[j].replace(".pgm", "_2.pgm") for j in held_out)
                if n in small_index]
    else:
        test = data.split_indices(small.poses, seed=0)[1]
    by_name = {f.replace(".pgm", "_2.pgm"): i for i, f in enumerate(large.files)}
    framing = getattr(spec, "framing", "cmu")
    inputs, poses, masks, files = [], [], [], []
    for i in test:
        j = by_name.get(small.files[i])
        if j is None:
            continue
        gray = large.images[j][..., 0]
        face = imaging.detect_face(gray)
        if face is None:
            continue
        if framing == "cmu":
            box, x = (0.0, 0.0, float(gray.shape[1]), float(gray.shape[0])), small.images[i]
        else:
            framed = imaging.frame(gray, face)
            box, x = framed.box, framed.input
        inputs.append(x)
        poses.append(str(small.poses[i]))
        masks.append(face_mask(box, face.box))
        files.append(small.files[i])
        if len(inputs) >= limit:
            break
    name = "CMU faces of held-out people" if getattr(spec, "split", "image") == "person" else "CMU test faces"
    return FaceSet(name, np.stack(inputs), tuple(poses), np.stack(masks), tuple(files))


def cmu_test_inputs(spec: zoo.Variant | None, detected: FaceSet) -> np.ndarray:
    """Every CMU test face as the variant sees it (CMU's own files), or the detected ones when
    the variant is trained on detector crops."""
    if getattr(spec, "framing", "cmu") != "cmu":
        return detected.inputs
    faces = data.load_cmu()
    return faces.images[data.split_indices(faces.poses, seed=0)[1]]


def amigo_set(limit: int | None = AMIGOS_SHOWN) -> FaceSet:
    """Three-amigos photos framed around the database's face box, as metrics.json scores them:
    `limit` of them spread over the set (every third of the 138 for 46), or all with None."""
    photos = data.load_three_amigos()
    if limit is not None:
        photos = [photos[i] for i in _spread(len(photos), limit)]
    inputs, masks = [], []
    for photo in photos:
        framed = imaging.frame(imaging.load_photo(photo.path.read_bytes()), photo.face_box)
        inputs.append(framed.input)
        masks.append(face_mask(framed.box, photo.face_box))
    return FaceSet("three amigos", np.stack(inputs), tuple(p.pose for p in photos), np.stack(masks),
                   tuple(p.file for p in photos))


# ---------------------------------------------------------------- where the network looks


def heatmaps(model: keras.Model, faces: FaceSet, method: str, class_indices=None) -> np.ndarray:
    """(N, 60, 64) maps in [0, 1] for each input's decided class (or the given classes)."""
    maps = []
    for k, x in enumerate(faces.inputs):
        index = None if class_indices is None else int(class_indices[k])
        maps.append(attribution.attribute(model, x, method, class_index=index).heatmap)
    return np.stack(maps)


def face_share(maps: np.ndarray, faces: FaceSet) -> dict:
    """How much of each map's heat falls on the face box, against the share of the picture the
    box covers (what heat spread evenly would give)."""
    total = maps.sum(axis=(1, 2))
    on_face = (maps * faces.faces).sum(axis=(1, 2))
    share = np.where(total > 0, on_face / np.maximum(total, 1e-12), np.nan)
    return {"heat_on_face": float(np.nanmean(share)), "face_area": float(faces.faces.mean()),
            "empty_maps": int((total == 0).sum())}


# ---------------------------------------------------------------- what changes the decision


def how_alike(r: float) -> str:
    """A correlation between two pictures in words, for the sentence "they correlate at r: ..."."""
    if r <= -0.8:
        return "they are nearly each other's negative"
    if r < -0.3:
        return "where one is bright the other tends to be dark"
    if r <= 0.3:
        return "they have little in common"
    return "they are alike" if r >= 0.8 else "they are somewhat alike"


LOOKS_AT_THE_FACE = 2.0  # heat on the face over the face's share of the picture: from this on, "looks at the face"


def where_it_looks(shares: dict) -> str:
    """`face_share`'s figures for each set of faces ({name: {"heat_on_face", "face_area"}}) in plain sentences:
    the heat on the face is judged against the face's share of the picture, which heat spread evenly would put on
    it, and where it lies is told apart from what the decision needs (the edits of section 3 test that)."""
    areas = " and ".join(f"**{v['face_area']:.0%}** of the {name}" for name, v in shares.items())
    said = [f"The face covers about {areas}: heat spread evenly would put that share on it."]
    for name, v in shares.items():
        said.append(f"On the {name}, **{v['heat_on_face']:.0%}** of the heat is on the face"
                    + _judged(v["heat_on_face"], v["face_area"]))
    said.append("Where the heat lies does not yet say what the decision needs: section 3 hides the face to find out.")
    return " ".join(said)


def _judged(heat: float, area: float) -> str:
    """The end of "…% of the heat is on the face": that share judged against the face's share of the picture.
    The verdict is taken on the ratio as printed, so that one printed figure always reads the same way."""
    times = round(heat / max(area, 1e-9), 1)
    if heat >= 0.5:
        return ": most of it."
    said = f", {times:.1f} times its share"
    if times >= LOOKS_AT_THE_FACE:
        return (f"{said}: it looks at the face more than at anything else of that size, though most of the heat lies "
                "around it (the hair, the outline of the head, the shoulders, the background).")
    if times > 1.25:
        return f"{said}, somewhat more: the heat falls on the face and around it alike."
    if times >= 0.8:
        return f"{said}, about as much: the heat falls on the face and around it alike."
    if times > 1 / LOOKS_AT_THE_FACE:
        return f"{said}, less: it looks more around the face than at it."
    return f"{said}: it looks around the face rather than at it."


def where_it_looks_here(heatmap: np.ndarray, face: np.ndarray,
                        face_words: str = "the middle of the face (eyes, nose and mouth)") -> str | None:
    """Where_it_looks for one photo: a heat map and the face box's mask over the same (H, W) network input
    (`face_words`: what the page calls that box). None when either is empty (no heat, or no face in view),
    where a share would mean nothing."""
    heatmap = np.clip(np.asarray(heatmap, np.float64), 0, None)
    total, area = heatmap.sum(), float(np.mean(face))
    if total <= 0 or area <= 0:
        return None
    heat = float(heatmap[face].sum() / total)
    return (f"In this photo {face_words} covers **{area:.0%}** of what the network sees (heat spread evenly would put "
            f"that share on it); **{heat:.0%}** of the heat is on it" + _judged(heat, area))


def _scores(model: keras.Model, inputs: np.ndarray) -> np.ndarray:
    return autodiff.to_numpy(model(np.asarray(inputs, np.float32), training=False))


EDITS = {
    "as is": "the pictures unchanged",
    "face hidden": "the face box filled with the picture's mean background gray",
    "background hidden": "everything outside the face box set to mid-gray",
    "CMU background": "everything outside the face box replaced by the average CMU picture",
    "CMU backdrop": "the head, neck and shoulders kept (an oval around the head and the band below it), only the "
                    "backdrop replaced by the average CMU picture",
    "CMU brightness": "the whole picture scaled to the average CMU brightness",
}


def edits(faces: FaceSet, reference: FaceSet) -> dict[str, np.ndarray]:
    """The inputs as they are, and changed where the face or the background is (see EDITS)."""
    x = faces.inputs[..., 0]
    face = faces.faces
    cmu_mean = reference.inputs[..., 0].mean(axis=0)
    background_mean = np.array([xi[~m].mean() if (~m).any() else xi.mean() for xi, m in zip(x, face)])
    target_mean = float(reference.inputs.mean())
    head = augment.head_mask(x.shape[1:])[None]  # where an upload's framing puts the head (as training's backdrops)
    out = {
        "as is": x,
        "face hidden": np.where(face, background_mean[:, None, None], x),
        "background hidden": np.where(face, x, 0.5),
        "CMU background": np.where(face, x, cmu_mean[None]),
        "CMU backdrop": head * x + (1 - head) * cmu_mean[None],
        "CMU brightness": np.clip(x * (target_mean / np.maximum(x.mean(axis=(1, 2), keepdims=True), 1e-6)), 0, 1),
    }
    return {k: v[..., None].astype(np.float32) for k, v in out.items()}


def interventions(model: keras.Model, classes, faces: FaceSet, reference: FaceSet) -> dict:
    """Accuracy, recall of "left" and mean "left" score of the "looks left" decision, per edit."""
    task = "binary" if tuple(classes) == data.TASKS["binary"] else "pose"
    truth_left = np.array([p == LEFT for p in faces.poses])
    left_index = list(classes).index(LEFT)
    results = {}
    for name, inputs in edits(faces, reference).items():
        scores = _scores(model, inputs)
        said_left = scores.argmax(axis=1) == left_index
        correct = scores.argmax(axis=1) == faces.labels(task)
        results[name] = {
            "accuracy": float(correct.mean()),
            "left_recall": float(said_left[truth_left].mean()) if truth_left.any() else float("nan"),
            "said_left": float(said_left.mean()),
            "left_score": float(scores[:, left_index].mean()),
        }
    return results


CHANGES_A_LOT, CHANGES_LITTLE = 0.2, 0.1  # of "left" recall: what `what_moves_it` calls a lot, and little


def what_decides(rows: dict) -> str | None:
    """What the page's rule concludes from one set's figures: "face" (hiding it costs a lot), "outside" (hiding it
    changes little, replacing everything around it a lot), or None."""
    found = {k: round(100 * v["left_recall"]) for k, v in rows.items() if np.isfinite(v["left_recall"])}
    if "as is" not in found:
        return None
    if found["as is"] - found["face hidden"] >= 100 * CHANGES_A_LOT:
        return "face"
    if found["as is"] - found["CMU background"] >= 100 * CHANGES_A_LOT:
        return "outside"
    return None


def what_moves_it(rows: dict, name: str, own_studio: bool = False) -> str:
    """`interventions`' figures for one set of faces in plain sentences: what each edit does to the share of
    "left" faces found, and what the page's rule concludes from it, on these pictures. own_studio: the set comes
    from the CMU studio, whose backdrop replaced by its own average says little."""
    found = {k: v["left_recall"] for k, v in rows.items()}
    if not np.isfinite(found["as is"]):
        return f"The {name} include no face looking left."
    points = {k: round(100 * v) for k, v in found.items()}  # differences of the figures as printed
    said = (f"On the {name} it finds **{points['as is']}%** of the faces looking left as they are, "
            f"**{points['face hidden']}%** with the face hidden, **{points['background hidden']}%** with everything "
            f"outside the face box set to gray, **{points['CMU background']}%** with it replaced by the CMU studio's "
            f"average picture, and **{points['CMU backdrop']}%** with only the backdrop replaced (the head, neck and "
            f"shoulders kept).")
    decides = what_decides(rows)
    if decides == "face":
        said += (f" Hiding the face costs {points['as is'] - points['face hidden']} points: on these pictures it "
                 f"uses the face.")
    elif decides == "outside":
        said += (" Hiding the face changes little while replacing everything around it changes a lot: on these "
                 "pictures it decides from outside the face box, the outline of the head, the hair, the shoulders or "
                 "what lies behind.")
    if own_studio:
        return said
    backdrop = points["CMU backdrop"] - points["as is"]
    with_backdrop = f"With only the backdrop replaced it finds {points['CMU backdrop']}% of them, not {points['as is']}%"
    if backdrop >= 100 * CHANGES_A_LOT:
        said += (f" {with_backdrop}: it looks for the CMU studio behind a face turned left, and fails elsewhere "
                 f"because the studio changed.")
    elif backdrop <= -100 * CHANGES_A_LOT:
        said += f" {with_backdrop}, the head unchanged: what lies behind the head still counts in its decision."
    elif abs(backdrop) <= 100 * CHANGES_LITTLE:
        said += " The backdrop alone changes little."
    return said


def two_studios(amigo_rows: dict, cmu_rows: dict) -> str:
    """One sentence where the rule concludes differently on the two studios' faces, else ''."""
    cmu, amigos = what_decides(cmu_rows), what_decides(amigo_rows)
    if (cmu, amigos) == ("face", "outside"):
        return ("So it reads the two studios' faces differently: on CMU's it needs the face, on the amigos' the "
                "outline of the head, the hair and what lies around it are enough.")
    if (cmu, amigos) == ("outside", "face"):
        return ("So it reads the two studios' faces differently: on the amigos' it needs the face, on CMU's what "
                "lies outside the face box is enough.")
    return ""


# ---------------------------------------------------------------- can the maps be trusted


def randomised_copy(model: keras.Model, seed: int = 0) -> keras.Model:
    """The same architecture with every weight drawn afresh from its initialiser (Adebayo et al.
    2018's model randomisation): a map that survives this does not explain the trained network."""
    keras.utils.set_random_seed(seed)
    return keras.models.clone_model(model)


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two maps (0 when either is constant)."""
    ra, rb = (np.argsort(np.argsort(v.ravel())).astype(np.float64) for v in (a, b))
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def randomisation_check(model: keras.Model, faces: FaceSet, method: str, random_model=None) -> dict:
    """Mean rank correlation between each face's map on the trained network and on its randomised
    copy, for the trained network's decided class. Low: the map depends on what was learned."""
    decided = _scores(model, faces.inputs).argmax(axis=1)
    trained = heatmaps(model, faces, method, decided)
    shuffled = heatmaps(random_model or randomised_copy(model), faces, method, decided)
    rhos = [rank_correlation(a, b) for a, b in zip(trained, shuffled)]
    return {"rank_correlation": float(np.mean(np.abs(rhos)))}


def deletion_curve(model: keras.Model, faces: FaceSet, method: str, maps: np.ndarray | None = None,
                   fractions=FRACTIONS, seed: int = 0) -> dict:
    """The decided class's score (probability, or output for linear models) as the most-attributed
    pixels are set to the picture's mean gray, fraction by fraction, against a random order.
    A map that explains the decision makes the score fall faster than random: a lower area."""
    scores = _scores(model, faces.inputs)
    decided = scores.argmax(axis=1)
    maps = heatmaps(model, faces, method, decided) if maps is None else maps
    rng = np.random.default_rng(seed)
    n_pixels = maps[0].size
    curves = {"attributed": [], "random": []}
    for x, heat, c in zip(faces.inputs, maps, decided):
        orders = {"attributed": np.argsort(-heat.ravel(), kind="stable"), "random": rng.permutation(n_pixels)}
        for kind, order in orders.items():
            batch = np.repeat(x[None], len(fractions), axis=0).reshape(len(fractions), -1)
            for k, f in enumerate(fractions):
                batch[k, order[: int(round(f * n_pixels))]] = x.mean()
            curves[kind].append(_scores(model, batch.reshape(-1, *x.shape))[:, c])
    out = {"fractions": [float(f) for f in fractions]}
    for kind, values in curves.items():
        curve = np.mean(values, axis=0)
        out[kind] = [float(v) for v in curve]
        out[f"{kind}_area"] = float(np.mean(curve))
    return out


def empty_gradcam(model: keras.Model, inputs: np.ndarray, classes) -> dict:
    """Among the inputs the network judges "left": how many have an empty Grad-CAM (last conv
    layer) for "left"; for those, how many have places where features times their own gradient
    (before Grad-CAM averages the gradient over the picture) push "left" up; and how many have an
    empty occlusion map (which needs no gradient). `examples`: where those faces are in `inputs`."""
    from vislib.attribution import gradcam

    left = list(classes).index(LEFT)
    layer = attribution.conv_layers(model)[-1]
    judged_at = np.flatnonzero(_scores(model, inputs).argmax(axis=1) == left)
    judged = inputs[judged_at]
    counts = {"faces": len(inputs), "judged_left": len(judged), "gradcam_empty": 0, "positive_before_averaging": 0,
              "occlusion_empty": 0, "examples": []}
    for at, x in zip(judged_at, judged):
        if attribution.attribute(model, x, "gradcam", class_index=left, layer=layer).heatmap.any():
            continue
        counts["gradcam_empty"] += 1
        counts["examples"].append(int(at))
        counts["positive_before_averaging"] += bool(gradcam.before_averaging(model, x[None], left, layer).any())
        counts["occlusion_empty"] += not attribution.attribute(model, x, "occlusion", class_index=left).heatmap.any()
    return counts


def gradcam_evidence(model: keras.Model, x: np.ndarray, classes) -> dict:
    """For one face whose Grad-CAM for "left" is empty, what a person can look at instead: the "left"
    score, features times their own gradient place by place before Grad-CAM averages the gradient
    (its positive part, upsampled to the input and scaled to [0, 1]), and the occlusion map."""
    from vislib.attribution import gradcam

    left = list(classes).index(LEFT)
    place = gradcam.before_averaging(model, x[None], left, attribution.conv_layers(model)[-1])
    return {"left_score": float(_scores(model, x[None])[0, left]),
            "before_averaging": place / place.max() if place.max() > 0 else place,
            "occlusion": attribution.attribute(model, x, "occlusion", class_index=left).heatmap}


# ---------------------------------------------------------------- command line


def report(variant: str, cmu_limit: int = 40, amigo_limit: int = AMIGOS_SHOWN, log=print) -> dict:
    """Every figure of the diagnosis for one shipped variant."""
    spec, model = zoo.variant(variant), zoo.load(variant)
    every_amigo = amigo_set(None)  # framed once: the edits use them all, the maps `amigo_limit` of them
    cmu, amigos = cmu_set(spec, cmu_limit), every_amigo.spread(amigo_limit)
    random_model = randomised_copy(model)
    out = {"variant": variant, "cmu_faces": len(cmu), "amigo_photos": len(amigos), "looks": {}, "sanity": {}}
    for method in METHODS:
        maps = {s.name: heatmaps(model, s, method) for s in (cmu, amigos)}
        out["looks"][method] = {name: face_share(m, s) for (name, m), s in zip(maps.items(), (cmu, amigos))}
        out["sanity"][method] = {**randomisation_check(model, cmu, method, random_model),
                                 **deletion_curve(model, cmu, method, maps[cmu.name])}
        log(f"{variant} {method}: heat on face {out['looks'][method][cmu.name]['heat_on_face']:.2f} (CMU) "
            f"{out['looks'][method][amigos.name]['heat_on_face']:.2f} (amigos), face area "
            f"{out['looks'][method][cmu.name]['face_area']:.2f} / {out['looks'][method][amigos.name]['face_area']:.2f}; "
            f"randomised rank corr {out['sanity'][method]['rank_correlation']:.2f}; deletion area "
            f"{out['sanity'][method]['attributed_area']:.3f} vs random {out['sanity'][method]['random_area']:.3f}")
    if LEFT in spec.classes:  # the edits cost one prediction a picture: every amigo photo, as the accuracy figures
        out["interventions"] = {s.name: interventions(model, spec.classes, s, cmu) for s in (cmu, every_amigo)}
        for name, rows in out["interventions"].items():
            for edit, r in rows.items():
                log(f"{variant} {name} / {edit}: accuracy {r['accuracy']:.2f}, left recall {r['left_recall']:.2f}, "
                    f"said left {r['said_left']:.2f}")
        out["empty_gradcam"] = empty_gradcam(model, cmu_test_inputs(spec, cmu), spec.classes)
        e = out["empty_gradcam"]
        log(f"{variant}: of {e['judged_left']} CMU faces judged left, Grad-CAM is empty for {e['gradcam_empty']}; "
            f"of those, {e['positive_before_averaging']} have evidence for left before averaging, occlusion is "
            f"empty for {e['occlusion_empty']}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vislib.diagnosis", description=__doc__)
    parser.add_argument("variant", nargs="+", choices=list(zoo.VARIANTS))
    args = parser.parse_args(argv)
    try:
        for name in args.variant:
            started = time.perf_counter()
            report(name)
            print(f"{name}: diagnosis in {time.perf_counter() - started:.1f} s")
    except (data.DataNotFoundError, zoo.ModelLoadError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
