"""The data sets: CMU Face Images (training) and the "three amigos" (Pointing'04 photos).

The data folder is `settings.data_dir()`: $HAPPYMAPS_DATA, else the repo's git-ignored `data/`.
`python -m vislib.data download` fetches the original archives into that layout.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from vislib import settings

POSES = ("left", "right", "straight", "up")
TASKS = {
    "binary": ("not left", "left"),
    "pose": POSES,
}
SCALES = {1: "", 2: "_2", 4: "_4"}
SCALE_SHAPES = {1: (120, 128), 2: (60, 64), 4: (30, 32)}

CMU_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/faces-mld/faces.tar.gz"
POINTING04_URL = "http://crowley-coutaz.fr/HeadPoseDataSet/HeadPoseImageDatabase.tar.gz"
AMIGO_PERSONS = ("person01", "person03", "person08")

_CMU_NAME = re.compile(
    r"^(?P<user>[a-z0-9]+)_(?P<pose>left|right|straight|up)_(?P<expression>[a-z]+)"
    r"_(?P<eyes>open|sunglasses)(?P<scale>_2|_4)?\.pgm$"
)
_P04_NAME = re.compile(r"^person(?:ne)?(?P<person>\d\d)(?P<series>\d)(?P<index>\d\d)(?P<tilt>[+-]\d+)(?P<pan>[+-]\d+)\.jpg$")


def is_pointing04_name(name: str) -> bool:
    """Whether a file name is a Pointing'04 original's (person<NN><series><index><tilt><pan>.jpg)."""
    return _P04_NAME.match(name) is not None


class DataNotFoundError(FileNotFoundError):
    """The data folder, or a data set inside it, is missing."""

    def __init__(self, what: str, where: Path):
        super().__init__(
            f"{what} not found at {where}. Set {settings.DATA_ENV_VAR} to the folder that holds "
            f"'cmu_faces/', 'three_amigos/' and 'pointing04_train/'. To get the originals: {settings.how_to_fetch()}."
        )
        self.what, self.where = what, where

    def __reduce__(self):  # so that a worker process can report it (vislib.train's folds)
        return type(self), (self.what, self.where)


@dataclass(frozen=True)
class CmuFaces:
    """CMU faces at one scale: images in [0, 1], shape (N, H, W, 1), with per-image metadata."""

    images: np.ndarray
    poses: np.ndarray
    users: np.ndarray
    files: tuple[str, ...]

    def labels(self, task: str) -> np.ndarray:
        return task_labels(self.poses, task)


def task_labels(poses, task: str) -> np.ndarray:
    """Integer labels for a task: 'binary' (1 = looks left) or 'pose' (index into POSES)."""
    if task == "binary":
        return np.array([1 if p == "left" else 0 for p in poses], dtype=np.int64)
    if task == "pose":
        return np.array([POSES.index(p) for p in poses], dtype=np.int64)
    raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")


def present() -> bool:
    """Whether the data folder holds the CMU faces and the three amigos (a look, not a check)."""
    folder = settings.data_dir()
    return (folder / "cmu_faces" / "faces").is_dir() and (folder / "three_amigos" / "labels.csv").is_file()


def cmu_root() -> Path:
    root = settings.data_dir() / "cmu_faces" / "faces"
    if not root.is_dir():
        raise DataNotFoundError("CMU Face Images", root)
    return root


def parse_cmu_name(name: str) -> dict | None:
    """Fields of a CMU file name, or None when the name is not one ('.bad' files, others)."""
    match = _CMU_NAME.match(name)
    if not match:
        return None
    fields = match.groupdict()
    fields["scale"] = {None: 1, "_2": 2, "_4": 4}[fields["scale"]]
    return fields


def load_cmu(scale: int = 2) -> CmuFaces:
    """All CMU faces at a scale (1: 128x120, 2: 64x60 default, 4: 32x30), sorted by path."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    return _load_cmu(cmu_root(), scale)


@lru_cache(maxsize=4)
def _load_cmu(root: Path, scale: int) -> CmuFaces:
    images, poses, users, files = [], [], [], []
    for path in sorted(root.glob("*/*.pgm")):
        fields = parse_cmu_name(path.name)
        if fields is None or fields["scale"] != scale:
            continue
        with Image.open(path) as im:
            pixels = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
        if pixels.shape != SCALE_SHAPES[scale]:
            continue  # a damaged file: the archive has a few
        images.append(pixels[..., None])
        poses.append(fields["pose"])
        users.append(fields["user"])
        files.append(str(path.relative_to(root)))
    if not images:
        raise DataNotFoundError(f"CMU faces at scale {scale}", root)
    return CmuFaces(np.stack(images), np.array(poses), np.array(users), tuple(files))


def split_indices(poses, seed: int = 0, test_fraction: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """A seeded split by image, stratified by pose: (train indices, test indices), each sorted."""
    poses = np.asarray(poses)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for pose in sorted(set(poses.tolist())):
        members = np.flatnonzero(poses == pose)
        members = members[rng.permutation(len(members))]
        n_test = int(round(len(members) * test_fraction))
        test.extend(members[:n_test])
        train.extend(members[n_test:])
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(test, dtype=np.int64))


def person_folds(people, k: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-people-out k-fold: (train indices, test indices) per fold, each sorted.

    The distinct people are shuffled (seeded) and dealt into k groups of (nearly) equal size;
    fold i tests on group i and trains on everyone else, so nobody is ever on both sides and
    every image is tested exactly once.
    """
    people = np.asarray(people)
    names = np.array(sorted(set(people.tolist())))
    if not 2 <= k <= len(names):
        raise ValueError(f"k must be between 2 and the number of people ({len(names)}), got {k}")
    names = names[np.random.default_rng(seed).permutation(len(names))]
    folds = []
    for group in np.array_split(names, k):
        test = np.isin(people, group)
        folds.append((np.flatnonzero(~test).astype(np.int64), np.flatnonzero(test).astype(np.int64)))
    return folds


def person_split(people, test_people) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices): the test side is exactly the images of `test_people`."""
    people = np.asarray(people)
    test = np.isin(people, list(test_people))
    return np.flatnonzero(~test).astype(np.int64), np.flatnonzero(test).astype(np.int64)


@dataclass(frozen=True)
class AmigoPhoto:
    """One Pointing'04 photo: who, which pose, where, and the database's own face box."""

    person: str
    pose: str
    file: str
    tilt: int
    pan: int
    face_box: tuple[int, int, int, int]  # centre x, centre y, width, height (pixels)

    @property
    def path(self) -> Path:
        return amigos_root() / self.file


def amigos_root() -> Path:
    root = settings.data_dir() / "three_amigos"
    if not (root / "labels.csv").is_file():
        raise DataNotFoundError("The three-amigos photos (three_amigos/labels.csv)", root)
    return root


def load_three_amigos() -> list[AmigoPhoto]:
    """Every three-amigos photo listed in labels.csv, in file order."""
    return _load_photos(amigos_root(), AmigoPhoto)


@dataclass(frozen=True)
class Pointing04Photo(AmigoPhoto):
    """One photo of pointing04_train/ (nine more Pointing'04 people, both series)."""

    series: int = 1

    @property
    def path(self) -> Path:
        return pointing04_train_root() / self.file


def pointing04_train_root() -> Path:
    root = settings.data_dir() / "pointing04_train"
    if not (root / "labels.csv").is_file():
        raise DataNotFoundError("The Pointing'04 training people (pointing04_train/labels.csv)", root)
    return root


def load_pointing04_train() -> list[Pointing04Photo]:
    """Every photo of pointing04_train/ (persons 02, 04, 06, 07, 09, 11, 12, 13, 15; both
    series), in file order. For training and validation only, split by person."""
    return _load_photos(pointing04_train_root(), Pointing04Photo)


def _load_photos(root: Path, kind) -> list:
    with open(root / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    extra = (lambda r: {"series": int(r["series"])}) if kind is Pointing04Photo else (lambda r: {})
    photos = [
        kind(
            **extra(r),
            person=r["person_id"],
            pose=r["pose"],
            file=r["file"],
            tilt=int(r["tilt"]),
            pan=int(r["pan"]),
            face_box=tuple(int(float(r[k])) for k in ("face_cx", "face_cy", "face_w", "face_h")),
        )
        for r in rows
    ]
    return sorted(photos, key=lambda p: p.file)


FRAMINGS = ("face", "full", "detected")


def amigo_inputs(photos, framing: str = "face", less_sure: bool = True) -> np.ndarray:
    """Network inputs for Pointing'04 photos (three amigos or pointing04_train) through the
    upload intake: the database's 'face' box, the 'full' frame, or the face the intake's own
    detector finds ('detected': exactly what an upload gets; the whole photo where none;
    less_sure=False: without the detector's less sure pass, as Experiment 2 is trained)."""
    from vislib import imaging

    if framing not in FRAMINGS:
        raise ValueError(f"framing must be 'face' or 'full' or 'detected', got {framing!r}")
    inputs = []
    for photo in photos:
        gray = imaging.load_photo(photo.path.read_bytes())
        if framing == "detected":
            inputs.append(imaging.frame(gray, less_sure=less_sure).input)
        else:
            inputs.append(imaging.frame(gray, photo.face_box, use_whole_photo=framing == "full").input)
    return np.stack(inputs)


def cmu_detected_inputs(faces: CmuFaces | None = None, less_sure: bool = True) -> np.ndarray:
    """The CMU shots through the upload intake: each 128x120 original framed by
    `imaging.frame` with its own face detector (the whole shot where it finds no face), as an
    uploaded photo would be (less_sure=False: without the detector's less sure pass).
    (N, 60, 64, 1), in the order of `load_cmu(1)`."""
    faces = load_cmu(1) if faces is None else faces
    if faces is load_cmu(1):
        return _cmu_detected(str(cmu_root()), faces.files, less_sure)
    return _frame_all(faces.images, less_sure)


@lru_cache(maxsize=2)
def _cmu_detected(root: str, files: tuple[str, ...], less_sure: bool) -> np.ndarray:
    return _frame_all(load_cmu(1).images, less_sure)


def _frame_all(images: np.ndarray, less_sure: bool) -> np.ndarray:
    from vislib import imaging

    return np.stack([imaging.frame(image[..., 0], less_sure=less_sure).input for image in images])


# ---------------------------------------------------------------- download


def pose_from_angles(tilt: int, pan: int) -> str | None:
    """The three_amigos SOURCE.md label rule (20 degree zones); None where the shot is dropped."""
    if -20 <= tilt <= 20:
        return "left" if pan < -20 else "right" if pan > 20 else "straight"
    if tilt > 20 and -20 <= pan <= 20:
        return "up"
    return None


def _read_face_box(text: str) -> tuple[int, int, int, int]:
    if "Face" not in text:
        raise ValueError(f"expected a 'Face' line in a Pointing'04 face file, got {text!r}")
    numbers = [int(float(n)) for n in re.findall(r"-?\d+(?:\.\d+)?", text.split("Face", 1)[-1])]
    if len(numbers) < 4:
        raise ValueError(f"expected 4 numbers (cx, cy, w, h) in a Pointing'04 face file, got {text!r}")
    return tuple(numbers[:4])


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, out: Path) -> bytes:
    """One member's file, extracted with tarfile's "data" filter (no links, devices, absolute or
    escaping paths, odd permissions), then moved to `out`; returns its bytes."""
    with tempfile.TemporaryDirectory() as staging:
        tar.extract(member, staging, filter="data")
        payload = (Path(staging) / member.name).read_bytes()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(payload)
    return payload


def unpack_cmu(archive: Path, dest: Path) -> int:
    """Unpack the UCI `faces.tar.gz` (optionally inside a zip) into dest/cmu_faces/faces/."""
    target = dest / "cmu_faces"
    count = 0
    with _open_tar(archive) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if member.isfile() and "faces" in parts and member.name.endswith(".pgm"):
                rel = Path(*parts[parts.index("faces"):])
                if ".." in rel.parts:  # a hostile name: never write outside cmu_faces/
                    continue
                _extract(tar, member, target / rel)
                count += 1
    return count


def unpack_pointing04(archive: Path, dest: Path, persons=AMIGO_PERSONS, series: int = 1) -> int:
    """Take the three amigos (series 1 of persons 01, 03, 08) out of the Pointing'04 archive."""
    target = dest / "three_amigos"
    rows = []
    with _open_tar(archive) as tar:
        members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
        for name, member in sorted(members.items()):
            match = _P04_NAME.match(name)
            if not match or f"person{match['person']}" not in persons or int(match["series"]) != series:
                continue
            tilt, pan = int(match["tilt"]), int(match["pan"])
            pose = pose_from_angles(tilt, pan)
            if pose is None:
                continue
            box_member = members.get(name[:-4] + ".txt")
            if box_member is None:
                continue
            box = _read_face_box(tar.extractfile(box_member).read().decode("latin-1"))
            person = f"person{match['person']}"  # the original archive says "personne01..."
            rel = Path(person) / pose / name
            data = _extract(tar, member, target / rel)
            rows.append([person, pose, rel.as_posix(), series, tilt, pan, *box, hashlib.sha1(data).hexdigest()])
    if not rows:
        raise ValueError(f"expected Pointing'04 images named person[ne]NN<series><index><tilt><pan>.jpg with "
                         f"matching .txt face files in {archive}, found none")
    target.mkdir(parents=True, exist_ok=True)
    with open(target / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["person_id", "pose", "file", "series", "tilt", "pan",
                         "face_cx", "face_cy", "face_w", "face_h", "sha1"])
        writer.writerows(rows)
    return len(rows)


def _open_tar(archive: Path) -> tarfile.TarFile:
    archive = Path(archive)
    if zipfile.is_zipfile(archive):  # UCI's newer downloads wrap the tarball in a zip
        with zipfile.ZipFile(archive) as z:
            tarballs = [n for n in z.namelist() if n.endswith((".tar.gz", ".tgz", ".tar"))]
            if not tarballs:
                raise ValueError(f"expected a .tar.gz inside {archive}, found {z.namelist()[:5]}")
            inner = next((n for n in tarballs if Path(n).name == "faces.tar.gz"), tarballs[0])
            return tarfile.open(fileobj=io.BytesIO(z.read(inner)))
    return tarfile.open(archive)


MANIFEST = Path(__file__).with_name("data_manifest.json")


def pixel_digest(path: Path) -> str:
    """SHA-1 of a picture's decoded 8-bit gray pixels and shape: the same for the UCI originals
    (ASCII PGM) and for re-encoded copies of them."""
    with Image.open(path) as im:
        pixels = np.asarray(im.convert("L"), dtype=np.uint8)
    return hashlib.sha1(f"{pixels.shape}".encode() + pixels.tobytes()).hexdigest()


def file_digest(path: Path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def make_manifest(root: Path | None = None) -> dict:
    """What `verify` checks: CMU faces by their pixels, the three amigos by their bytes."""
    root = Path(root) if root else settings.data_dir()
    cmu = root / "cmu_faces"
    return {
        "cmu_faces": {p.relative_to(cmu).as_posix(): pixel_digest(p) for p in sorted(cmu.glob("faces/*/*.pgm"))},
        "three_amigos": {p.relative_to(root / "three_amigos").as_posix(): file_digest(p)
                         for p in sorted((root / "three_amigos").glob("person*/*/*.jpg"))},
    }


def verify(root: Path | None = None, manifest: dict | None = None) -> tuple[int, list[str]]:
    """Check every file the manifest lists: (files checked, problems as 'path: what')."""
    root = Path(root) if root else settings.data_dir()
    manifest = manifest or json.loads(MANIFEST.read_text())
    checked, problems = 0, []
    for folder, digest in (("cmu_faces", pixel_digest), ("three_amigos", file_digest)):
        for rel, expected in manifest[folder].items():
            path = root / folder / rel
            checked += 1
            if not path.is_file():
                problems.append(f"{folder}/{rel}: missing")
            elif digest(path) != expected:
                problems.append(f"{folder}/{rel}: differs from the original")
    return checked, problems


def fetch(url: str, out: Path, log=print, chunk: int = 1 << 16) -> int:
    """Download `url` to `out`, saying how far it has got; returns the bytes written."""
    with urllib.request.urlopen(url, timeout=60) as response, open(out, "wb") as sink:
        total = int(response.headers.get("Content-Length") or 0)
        done, shown = 0, -1
        while block := response.read(chunk):
            sink.write(block)
            done += len(block)
            step = int(100 * done / total) // 10 if total else done >> 23  # every 10%, or every 8 MB
            if step != shown:
                shown = step
                log(f"  {done / 1e6:.1f} MB" + (f" of {total / 1e6:.1f} MB ({100 * done / total:.0f}%)" if total else ""))
    return done


def download(dest: Path | None = None, cmu_url: str = CMU_URL, pointing_url: str = POINTING04_URL,
             log=print) -> None:
    """Fetch and unpack both original archives into the data folder, then check every file
    against the manifest of the originals (vislib/data_manifest.json)."""
    dest = Path(dest) if dest else settings.data_dir()
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, url, unpack in (("CMU Face Images", cmu_url, unpack_cmu),
                                  ("Pointing'04", pointing_url, unpack_pointing04)):
            archive = Path(tmp) / Path(url).name
            log(f"Downloading {name} from {url} ...")
            fetch(url, archive, log)
            log(f"  unpacked {unpack(archive, dest)} files into {dest}")
    checked, problems = verify(dest)
    if problems:
        raise ValueError(f"{len(problems)} of {checked} files do not match the originals, e.g. "
                         f"{'; '.join(problems[:3])}. Delete {dest} and download again.")
    log(f"Checked {checked} files against the originals' checksums: all match.")
    log(f"Done. Point {settings.DATA_ENV_VAR} at {dest} if it is not the default.")
    log(f"Pointing'04 images must be cited: {settings.POINTING04_CITATION}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vislib.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    get = sub.add_parser("download", help="fetch the original archives into the data folder")
    get.add_argument("--dest", type=Path, default=None, help=f"default: ${settings.DATA_ENV_VAR} or data/")
    check = sub.add_parser("check", help="say what data is found where")
    check.add_argument("--verify", action="store_true", help="also check every file against the originals")
    args = parser.parse_args(argv)
    try:
        if args.command == "download":
            download(args.dest)
        else:
            faces = load_cmu()
            print(f"CMU faces: {len(faces.images)} images at 64x60 in {cmu_root()}")
            print(f"Three amigos: {len(load_three_amigos())} photos in {amigos_root()}")
            if args.verify:
                checked, problems = verify()
                for problem in problems[:20]:
                    print(f"  {problem}")
                print(f"Checked {checked} files against the originals: "
                      + (f"{len(problems)} do not match." if problems else "all match."))
                return 1 if problems else 0
    except (DataNotFoundError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
