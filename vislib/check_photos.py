"""Score the variants on a folder of your own labelled photos, framed exactly as uploads are.

    python -m vislib.check_photos FOLDER [--variant NAME ...] [--all] [--mistakes]

The third-source check of issue 10: photos from anywhere but CMU and Pointing'04, each in a
folder named for where the face looks: `left`, or `not_left` (also accepted: `right`,
`straight`, `up`, `down`, `other`), at any depth, so `<person>/<pose>/photo.jpg` works too. Each
photo goes through the Your photo page's own intake (`imaging.load_photo`, then `imaging.frame`
with its face detector; the whole photo where it finds no face). Photos are read, never written.

Prints, for each variant (by default the Experiment 2 series), accuracy, "left" recall (share of
the photos looking left called left) and "not left" recall, against the issue's goal for a
third source: "left" recall >= 70% and "not left" recall >= 90%.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vislib import data, imaging, settings, zoo

LEFT_FOLDERS = ("left",)
NOT_LEFT_FOLDERS = ("not_left", "right", "straight", "up", "down", "other")
PHOTO_SUFFIXES = tuple(f".{extension}" for extension in imaging.ACCEPTED_EXTENSIONS)  # what Your photo reads
GOAL_LEFT_RECALL = 0.70
GOAL_NOT_LEFT_RECALL = 0.90


@dataclass(frozen=True)
class LabelledPhotos:
    """A folder's photos as the network sees them, with where each face looks."""

    files: tuple[Path, ...]
    inputs: np.ndarray  # (N, 60, 64, 1), framed as uploads
    looks_left: np.ndarray  # (N,) bool
    sources: tuple[str, ...]  # how each was framed: 'detected face (...)' or 'whole photo'
    skipped: tuple[tuple[Path, str], ...]  # files that are not usable photos, with the reason


def _label(path: Path, root: Path) -> bool | None:
    """True for a photo in a 'left' folder, False for a 'not left' one, None for neither."""
    for part in reversed(path.relative_to(root).parts[:-1]):
        name = part.lower().replace("-", "_").replace(" ", "_")
        if name in LEFT_FOLDERS:
            return True
        if name in NOT_LEFT_FOLDERS:
            return False
    return None


def read_folder(root: Path) -> LabelledPhotos:
    """Every photo under root whose folder says where the face looks, framed as an upload."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"expected a folder of photos, got {str(root)!r}, which is not a folder")
    candidates = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
    labelled = [(p, _label(p, root)) for p in candidates]
    unlabelled = sorted({str(p.parent.relative_to(root)) for p, label in labelled if label is None})
    if unlabelled:
        raise ValueError(f"expected every photo in a folder named {' or '.join(LEFT_FOLDERS + NOT_LEFT_FOLDERS)} "
                         f"(at any depth); these folders are neither: {', '.join(unlabelled[:5])}"
                         + (f" and {len(unlabelled) - 5} more" if len(unlabelled) > 5 else ""))
    files, inputs, looks_left, sources, skipped = [], [], [], [], []
    for path, label in labelled:
        try:
            framing = imaging.frame(imaging.load_photo(path.read_bytes()))
        except ValueError as error:  # imaging.PhotoError is one
            skipped.append((path, str(error)))
            continue
        files.append(path)
        inputs.append(framing.input)
        looks_left.append(label)
        sources.append(framing.source)
    if not files:
        raise ValueError(f"expected photos ({', '.join(PHOTO_SUFFIXES)}) under {str(root)!r}, "
                         f"found {len(candidates)} file(s) of those kinds and none usable")
    return LabelledPhotos(tuple(files), np.stack(inputs), np.array(looks_left, dtype=bool),
                          tuple(sources), tuple(skipped))


def score(model, spec: zoo.Variant, photos: LabelledPhotos) -> dict:
    """Accuracy, "left" recall and "not left" recall of one model on the photos (None where a
    side has no photo), whether the third-source goal is met, and each photo's answer
    (`called_left`)."""
    left = spec.classes.index("left")
    called_left = model.predict(photos.inputs, verbose=0).argmax(axis=1) == left
    truth = photos.looks_left

    def share(mask, hit):
        return float(hit[mask].mean()) if mask.any() else None

    result = {"called_left": called_left, "accuracy": float((called_left == truth).mean()),
              "left_recall": share(truth, called_left),
              "not_left_recall": share(~truth, ~called_left)}
    result["goal_met"] = (result["left_recall"] is not None and result["not_left_recall"] is not None
                          and result["left_recall"] >= GOAL_LEFT_RECALL
                          and result["not_left_recall"] >= GOAL_NOT_LEFT_RECALL)
    return result


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vislib.check_photos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--variant", choices=list(zoo.VARIANTS), action="append",
                       help="a variant to score (repeatable; default: the Experiment 2 series)")
    which.add_argument("--all", action="store_true", help="every shipped variant")
    parser.add_argument("--mistakes", action="store_true",
                        help="then list each photo some variant gets wrong, with how it was framed")
    args = parser.parse_args(argv)
    names = zoo.shipped_variants() if args.all else args.variant or list(zoo.EXPERIMENT_2)
    try:
        photos = read_folder(args.folder)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    found = sum(s.startswith("detected") for s in photos.sources)
    n_left = int(photos.looks_left.sum())
    print(f"{len(photos.files)} photos in {args.folder} ({n_left} looking left, {len(photos.files) - n_left} not); "
          f"a face found in {found}, the whole photo used for {len(photos.files) - found}")
    for path, reason in photos.skipped:
        print(f"skipped {path}: {reason}")
    if any(data.is_pointing04_name(p.name) for p in photos.files):
        print(f"Pointing'04 photos (Head Pose Image Database, INRIA): {settings.POINTING04_CITATION}")
    print(f"goal: \"left\" recall >= {GOAL_LEFT_RECALL:.0%} and \"not left\" recall >= {GOAL_NOT_LEFT_RECALL:.0%}")
    print(f"{'variant':<8} {'accuracy':>9} {'left recall':>12} {'not left recall':>16}  goal")
    wrong: dict[str, list[str]] = {}
    for name in names:
        try:
            result = score(zoo.load(name), zoo.variant(name), photos)
        except zoo.ModelLoadError as error:
            print(f"{name:<8} error: {error}")
            continue
        for path in np.array(photos.files, dtype=object)[result["called_left"] != photos.looks_left]:
            wrong.setdefault(path, []).append(name)
        print(f"{name:<8} {_percent(result['accuracy']):>9} {_percent(result['left_recall']):>12} "
              f"{_percent(result['not_left_recall']):>16}  {'met' if result['goal_met'] else 'not met'}")
    if args.mistakes:
        print(f"{len(wrong)} photo(s) answered wrong by at least one variant:")
        for path, looks_left, source in zip(photos.files, photos.looks_left, photos.sources):
            if path in wrong:
                print(f"  {path.relative_to(args.folder)} (looks {'left' if looks_left else 'not left'}; "
                      f"{source}): wrong for {', '.join(wrong[path])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
