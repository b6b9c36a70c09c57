"""vislib.data: the CMU faces and the three amigos as loaded, the split, the label rule,
the missing-data message, and unpacking the original archives (built here, in miniature).

The real-data tests need $HAPPYMAPS_DATA (the Makefile points it at ../shared/datasets) and fail
without it; the others build what they need under tmp_path.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vislib import data, settings
from vislib.data import POSES, DataNotFoundError

CMU_USERS = ("an2i at33 boland bpm ch4f cheyer choon danieln glickman karyadi kawamura kk49 megak "
             "mitchell night phoebe saavik steffi sz24 tammo").split()
SCALE_SHAPES = {1: (120, 128), 2: (60, 64), 4: (30, 32)}


@pytest.fixture(autouse=True)
def fresh_cache():
    """load_cmu caches by scale; tests that move the data folder must not see another's result."""
    data._load_cmu.cache_clear()
    yield
    data._load_cmu.cache_clear()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty data folder, named by HAPPYMAPS_DATA."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(folder))
    return folder


# ---------------------------------------------------------------- CMU faces, real data


def test_cmu_at_64x60_has_624_faces_in_four_poses():
    faces = data.load_cmu()  # scale 2 is the default
    assert faces.images.shape == (624, 60, 64, 1)
    assert faces.images.dtype == np.float32
    assert 0.0 <= faces.images.min() and faces.images.max() <= 1.0
    assert Counter(faces.poses.tolist()) == {"left": 157, "right": 155, "straight": 156, "up": 156}
    assert sorted(set(faces.users.tolist())) == sorted(CMU_USERS)
    assert len(faces.files) == len(set(faces.files)) == 624
    assert list(faces.files) == sorted(faces.files)
    for file, pose, user in zip(faces.files, faces.poses, faces.users):
        fields = data.parse_cmu_name(Path(file).name)
        assert fields["pose"] == pose and fields["user"] == user and fields["scale"] == 2
        assert file.startswith(f"{user}/")


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_cmu_every_scale_loads_every_file_on_disk(scale):
    faces = data.load_cmu(scale)
    on_disk = [p for p in data.cmu_root().glob("*/*.pgm")
               if (data.parse_cmu_name(p.name) or {}).get("scale") == scale]
    # No file of this copy is damaged: the loader keeps every one (it would drop a wrong-sized one).
    assert len(faces.images) == len(on_disk) == {1: 633, 2: 624, 4: 624}[scale]
    assert faces.images.shape[1:] == (*SCALE_SHAPES[scale], 1)
    assert 0.0 <= faces.images.min() and faces.images.max() <= 1.0
    assert faces.images.max() > 0.9 and faces.images.min() < 0.1  # real pictures, not blanks


def test_cmu_full_size_has_nine_shots_more_than_the_reduced_sizes():
    """UCI's glitched shots (.bad) are absent; 9 of them are glitched only at the reduced
    sizes, so 128x120 has 633 = 624 + 9 shots, a superset of the 624 at 64x60 and 32x30."""
    def shots(scale):
        suffix = {1: ".pgm", 2: "_2.pgm", 4: "_4.pgm"}[scale]
        return {f[: -len(suffix)] for f in data.load_cmu(scale).files}

    full, half, quarter = shots(1), shots(2), shots(4)
    assert half == quarter
    assert half < full and len(full - half) == 9
    assert Counter(data.load_cmu(1).poses.tolist()) == {"left": 157, "right": 159, "straight": 158, "up": 159}


def test_cmu_labels_for_both_tasks():
    faces = data.load_cmu()
    binary, pose = faces.labels("binary"), faces.labels("pose")
    assert binary.dtype == pose.dtype == np.int64
    assert binary.sum() == 157 and set(binary.tolist()) == {0, 1}
    np.testing.assert_array_equal(binary, faces.poses == "left")
    np.testing.assert_array_equal(np.array(POSES)[pose], faces.poses)
    assert np.bincount(pose).tolist() == [157, 155, 156, 156]


# ---------------------------------------------------------------- labels and split


def test_task_labels():
    poses = ["up", "left", "straight", "right", "left"]
    assert data.task_labels(poses, "binary").tolist() == [0, 1, 0, 0, 1]
    assert data.task_labels(poses, "pose").tolist() == [3, 0, 2, 1, 0]
    assert data.TASKS["binary"][1] == "left" and data.TASKS["pose"] == POSES
    with pytest.raises(ValueError, match="task must be one of"):
        data.task_labels(poses, "smile")


def test_parse_cmu_name():
    assert data.parse_cmu_name("an2i_left_angry_open.pgm") == {
        "user": "an2i", "pose": "left", "expression": "angry", "eyes": "open", "scale": 1}
    assert data.parse_cmu_name("kk49_up_sad_sunglasses_4.pgm")["scale"] == 4
    assert data.parse_cmu_name("bpm_straight_happy_open_2.pgm")["pose"] == "straight"
    for name in ("an2i_left_angry_open.bad", "an2i_left_angry_open_2.bad", "an2i_left_angry_open.pgm.bad",
                 "an2i_down_angry_open.pgm", "an2i_left_angry_open_3.pgm", "README", "faces.pgm"):
        assert data.parse_cmu_name(name) is None, name


CMU_POSES = np.array(["left"] * 157 + ["right"] * 155 + ["straight"] * 156 + ["up"] * 156)


def test_split_is_80_20_stratified_disjoint_and_complete():
    poses = np.random.default_rng(7).permutation(CMU_POSES)
    train, test = data.split_indices(poses, seed=0)
    assert train.dtype == test.dtype == np.int64
    assert list(train) == sorted(train) and list(test) == sorted(test)
    assert not set(train) & set(test)
    assert sorted([*train, *test]) == list(range(len(poses)))
    assert len(test) == 124 and len(train) == 500  # round(0.2 * n) per pose: 31 of each
    for pose, n in Counter(CMU_POSES.tolist()).items():
        assert (poses[test] == pose).sum() == round(0.2 * n)
        assert (poses[train] == pose).sum() == n - round(0.2 * n)


def test_split_is_reproducible_and_seeded():
    first, again = data.split_indices(CMU_POSES, seed=3), data.split_indices(CMU_POSES, seed=3)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    other = data.split_indices(CMU_POSES, seed=4)
    assert not np.array_equal(first[1], other[1])
    assert len(other[1]) == len(first[1])  # the same sizes, other members


def test_split_other_fractions_and_lists():
    train, test = data.split_indices(list(CMU_POSES), seed=0, test_fraction=0.5)
    assert len(test) == 312 and len(train) == 312
    train, test = data.split_indices(["up"] * 10, seed=0, test_fraction=0.0)
    assert len(train) == 10 and len(test) == 0


def test_split_of_the_real_cmu_faces():
    faces = data.load_cmu()
    train, test = data.split_indices(faces.poses, seed=0)
    assert len(test) == 124 and len(train) == 500
    assert Counter(faces.poses[test].tolist()) == {"left": 31, "right": 31, "straight": 31, "up": 31}


# ---------------------------------------------------------------- the three amigos, real data

AMIGO_COUNTS = {"left": 15, "right": 15, "straight": 9, "up": 7}  # per person, SOURCE.md


@pytest.fixture(scope="module")
def amigos():
    return data.load_three_amigos()


def test_three_amigos_counts(amigos):
    assert len(amigos) == 138
    assert Counter(p.person for p in amigos) == {"person01": 46, "person03": 46, "person08": 46}
    for person in data.AMIGO_PERSONS:
        assert Counter(p.pose for p in amigos if p.person == person) == AMIGO_COUNTS
    assert Counter(p.pose for p in amigos) == {"left": 45, "right": 45, "straight": 27, "up": 21}
    assert data.task_labels([p.pose for p in amigos], "binary").sum() == 45
    assert [p.file for p in amigos] == sorted(p.file for p in amigos)


def test_three_amigos_files_match_their_labels(amigos):
    with open(data.amigos_root() / "labels.csv", newline="") as f:
        sha1 = {row["file"]: row["sha1"] for row in csv.DictReader(f)}
    for photo in amigos:
        assert photo.file == f"{photo.person}/{photo.pose}/{Path(photo.file).name}"
        assert data.pose_from_angles(photo.tilt, photo.pan) == photo.pose
        assert hashlib.sha1(photo.path.read_bytes()).hexdigest() == sha1[photo.file]
        cx, cy, w, h = photo.face_box
        assert 0 < cx < 384 and 0 < cy < 288 and w > 20 and h > 20


@pytest.mark.parametrize("framing", ["face", "full"])
def test_amigo_inputs(amigos, framing):
    inputs = data.amigo_inputs(amigos, framing)
    assert inputs.shape == (138, 60, 64, 1) and inputs.dtype == np.float32
    assert 0.0 <= inputs.min() and inputs.max() <= 1.0
    assert inputs.std(axis=(1, 2, 3)).min() > 0.02  # every one a picture, not a flat fill


def test_amigo_inputs_refuses_other_framings(amigos):
    with pytest.raises(ValueError, match="framing must be 'face' or 'full'"):
        data.amigo_inputs(amigos[:1], "head")


# ---------------------------------------------------------------- the label rule


def expected_pose(tilt: int, pan: int) -> str | None:
    """SOURCE.md's table, row by row."""
    if -20 <= tilt <= 20 and pan < -20:
        return "left"
    if -20 <= tilt <= 20 and pan > 20:
        return "right"
    if -20 <= tilt <= 20 and -20 <= pan <= 20:
        return "straight"
    if tilt > 20 and -20 <= pan <= 20:
        return "up"
    return None  # up and sideways at once, or looking down


POINTING04_ANGLES = [(tilt, pan) for tilt in (-60, -30, -15, 0, 15, 30, 60) for pan in range(-90, 91, 15)]
POINTING04_ANGLES += [(-90, 0), (90, 0)]  # at tilt +-90 the only pan is 0: 93 shots per series


def test_pose_from_angles_follows_the_source_table():
    for tilt in range(-95, 96):
        for pan in range(-95, 96):
            assert data.pose_from_angles(tilt, pan) == expected_pose(tilt, pan), (tilt, pan)


@pytest.mark.parametrize("tilt, pan, pose", [
    (0, -90, "left"), (15, -30, "left"), (-15, -45, "left"), (0, 30, "right"), (-15, 90, "right"),
    (0, 0, "straight"), (15, -15, "straight"), (-15, 15, "straight"), (30, 0, "up"), (60, -15, "up"),
    (90, 0, "up"), (30, 30, None), (60, -45, None), (-30, 0, None), (-90, 0, None),
    (20, -21, "left"), (21, 0, "up"), (-20, 20, "straight"), (-21, 0, None), (21, 21, None),
])
def test_pose_from_angles_examples_and_boundaries(tilt, pan, pose):
    assert data.pose_from_angles(tilt, pan) == pose


def test_pose_rule_on_one_series_gives_the_source_counts():
    assert len(POINTING04_ANGLES) == 93
    poses = Counter(data.pose_from_angles(t, p) for t, p in POINTING04_ANGLES)
    assert poses == {**AMIGO_COUNTS, None: 93 - 46}


# ---------------------------------------------------------------- missing data


def assert_helpful(message: str) -> None:
    assert settings.DATA_ENV_VAR in message  # HAPPYMAPS_DATA
    assert "cmu_faces/" in message and "three_amigos/" in message and "pointing04_train/" in message
    # a command that works as typed: this Python (a plain `python` lacks the packages after `make run`),
    # into the folder this process reads (a new user's download landed in data/, the app read elsewhere)
    command = message.split("`")[1]
    python, *rest = command.split()
    assert (settings.REPO_ROOT / python).resolve() == Path(sys.executable).resolve(), command
    assert rest == ["-m", "vislib.data", "download", "--dest", str(settings.data_dir())], command
    assert f"run in {settings.REPO_ROOT}" in message


def test_the_download_command_names_no_folder_when_it_is_the_default(monkeypatch):
    monkeypatch.delenv(settings.DATA_ENV_VAR, raising=False)
    assert settings.download_command().endswith(" -m vislib.data download")


def test_missing_data_names_the_setting_and_the_download_command(data_dir):
    with pytest.raises(DataNotFoundError) as caught:
        data.load_cmu()
    assert_helpful(str(caught.value))
    assert str(data_dir / "cmu_faces" / "faces") in str(caught.value)
    assert caught.value.where == data_dir / "cmu_faces" / "faces"
    assert isinstance(caught.value, FileNotFoundError)
    with pytest.raises(DataNotFoundError) as caught:
        data.load_three_amigos()
    assert_helpful(str(caught.value))
    assert "three_amigos/labels.csv" in str(caught.value)


def test_missing_data_crosses_a_process_boundary_intact(data_dir):
    import pickle

    with pytest.raises(DataNotFoundError) as caught:
        data.load_cmu()
    # a fold worker reports it to vislib.train through pickle; the pool breaks if it cannot
    again = pickle.loads(pickle.dumps(caught.value))
    assert type(again) is DataNotFoundError
    assert (str(again), again.where) == (str(caught.value), caught.value.where)


def test_a_cmu_folder_without_faces_at_that_scale_is_missing_data(data_dir):
    user = data_dir / "cmu_faces" / "faces" / "an2i"
    user.mkdir(parents=True)
    Image.new("L", (128, 120)).save(user / "an2i_left_angry_open.pgm")
    assert len(data.load_cmu(1).images) == 1
    with pytest.raises(DataNotFoundError, match="CMU faces at scale 2"):
        data.load_cmu(2)
    with pytest.raises(ValueError, match="scale must be one of"):
        data.load_cmu(3)


def test_unset_data_folder_defaults_to_the_repo_data_folder(monkeypatch):
    monkeypatch.setenv(settings.DATA_ENV_VAR, "  ")
    assert settings.data_dir() == settings.REPO_ROOT / "data"
    monkeypatch.delenv(settings.DATA_ENV_VAR)
    assert settings.data_dir() == settings.REPO_ROOT / "data"


def run_cli(*args, env_data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, settings.DATA_ENV_VAR: str(env_data)}
    return subprocess.run([sys.executable, "-m", "vislib.data", *args], cwd=settings.REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_check_command_without_data_exits_1_with_the_message_and_no_traceback(data_dir):
    result = run_cli("check", env_data=data_dir)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: CMU Face Images not found at ")
    assert_helpful(result.stderr)
    assert "Traceback" not in result.stderr


def test_check_command_with_the_data():
    result = run_cli("check", env_data=settings.data_dir())
    assert result.returncode == 0, result.stderr
    assert "CMU faces: 624 images at 64x60" in result.stdout
    assert "Three amigos: 138 photos" in result.stdout


# ---------------------------------------------------------------- unpacking the original archives


def add_file(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    tar.addfile(info, io.BytesIO(content))


def ascii_pgm(width: int, height: int, value: int, maxval: int = 156) -> bytes:
    """Like the UCI originals: ASCII PGM (P2) with maxval 156."""
    rows = "\n".join(" ".join([str(value)] * width) for _ in range(height))
    return f"P2\n{width} {height}\n{maxval}\n{rows}\n".encode()


def make_uci_archive(path: Path) -> dict:
    """A miniature UCI faces.tar.gz: faces/<user>/<name>[_2|_4].pgm, with .bad files and others."""
    shots = {("an2i", "left", "angry", "open"): 100, ("an2i", "up", "happy", "sunglasses"): 40,
             ("bpm", "right", "sad", "open"): 156, ("bpm", "straight", "neutral", "open"): 0}
    with tarfile.open(path, "w:gz") as tar:
        for dirname in ("faces", "faces/an2i", "faces/bpm"):
            info = tarfile.TarInfo(dirname)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for (user, pose, expression, eyes), value in shots.items():
            stem = f"faces/{user}/{user}_{pose}_{expression}_{eyes}"
            for suffix, (h, w) in (("", (120, 128)), ("_2", (60, 64)), ("_4", (30, 32))):
                add_file(tar, f"{stem}{suffix}.pgm", ascii_pgm(w, h, value))
        add_file(tar, "faces/bpm/bpm_left_sad_open_2.bad", ascii_pgm(64, 60, 80))  # glitched shot
        add_file(tar, "faces/bpm/bpm_left_sad_open.pgm.bad", ascii_pgm(128, 120, 80))
        add_file(tar, "faces/an2i/an2i_right_sad_open_2.pgm", ascii_pgm(32, 30, 80))  # wrong size
        add_file(tar, "faces/README", b"not a face\n")
        add_file(tar, "index.html", b"<html></html>")
    return shots


def test_unpack_cmu_builds_the_layout_load_cmu_reads(tmp_path, monkeypatch):
    archive = tmp_path / "faces.tar.gz"
    shots = make_uci_archive(archive)
    dest = tmp_path / "data"
    count = data.unpack_cmu(archive, dest)
    assert count == 4 * 3 + 1  # every .pgm, the damaged one too; never the .bad files
    root = dest / "cmu_faces" / "faces"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == sorted(
        [f"{u}/{u}_{p}_{e}_{s}{x}.pgm" for (u, p, e, s) in shots for x in ("", "_2", "_4")]
        + ["an2i/an2i_right_sad_open_2.pgm"])
    assert not list(root.rglob("*.bad"))

    monkeypatch.setenv(settings.DATA_ENV_VAR, str(dest))
    faces = data.load_cmu(2)
    assert faces.images.shape == (4, 60, 64, 1)  # the wrong-sized file is left out
    assert faces.files == ("an2i/an2i_left_angry_open_2.pgm", "an2i/an2i_up_happy_sunglasses_2.pgm",
                           "bpm/bpm_right_sad_open_2.pgm", "bpm/bpm_straight_neutral_open_2.pgm")
    assert faces.poses.tolist() == ["left", "up", "right", "straight"]
    assert faces.users.tolist() == ["an2i", "an2i", "bpm", "bpm"]
    # maxval 156 is scaled to 0..255 by Pillow, then to 0..1
    expected = [round(v * 255 / 156) / 255 for v in (100, 40, 156, 0)]
    np.testing.assert_allclose(faces.images.reshape(4, -1).mean(axis=1), expected, atol=1e-6)
    assert data.load_cmu(1).images.shape == (4, 120, 128, 1)
    assert data.load_cmu(4).images.shape == (4, 30, 32, 1)


def test_unpack_cmu_from_a_zip_wrapped_archive(tmp_path, monkeypatch):
    inner = tmp_path / "faces.tar.gz"
    make_uci_archive(inner)
    wrapped = tmp_path / "cmu+face+images.zip"
    with zipfile.ZipFile(wrapped, "w") as z:
        z.writestr("faces.tar.gz", inner.read_bytes())
        z.writestr("faces.data", b"UCI's description")
    assert data.unpack_cmu(wrapped, tmp_path / "data") == 13
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(tmp_path / "data"))
    assert len(data.load_cmu(2).images) == 4


def face_txt(image_name: str, cx: int, cy: int, w: int, h: int) -> bytes:
    """A Pointing'04 face file: the image name, a blank line, 'Face', then cx, cy, w, h."""
    return f"{image_name}\r\n\r\nFace\r\n{cx}\r\n{cy}\r\n{w}\r\n{h}\r\n".encode("latin-1")


def p04_name(person: int, series: int, index: int, tilt: int, pan: int, prefix: str = "person") -> str:
    return f"{prefix}{person:02d}{series}{index:02d}{tilt:+d}{pan:+d}.jpg"


def small_jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = np.clip(rng.normal(128, 40, (72, 96, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG")
    return buffer.getvalue()


# (tilt, pan) -> expected pose (None: dropped by the label rule)
P04_SHOTS = {(0, -90): "left", (15, -30): "left", (0, 45): "right", (0, 0): "straight", (-15, 15): "straight",
             (30, 0): "up", (90, 0): "up", (-30, 0): None, (30, 45): None, (-90, 0): None}


def make_pointing04_archive(path: Path) -> list[tuple[str, str, str, tuple]]:
    """A miniature HeadPoseImageDatabase.tar.gz: PersonNN/personNN<S><NN><tilt><pan>.jpg + .txt."""
    kept = []
    with tarfile.open(path, "w:gz") as tar:
        for person in (1, 2, 3, 8):
            for series in (1, 2):
                for index, ((tilt, pan), pose) in enumerate(P04_SHOTS.items()):
                    # INRIA's own archive names files "personne08..."; the mirrors "person08..."
                    name = p04_name(person, series, index, tilt, pan, "personne" if person == 8 else "person")
                    box = (100 + index, 90 + person, 60 + series, 80 + index)
                    add_file(tar, f"Person{person:02d}/{name}", small_jpeg(person * 100 + series * 10 + index))
                    add_file(tar, f"Person{person:02d}/{name[:-4]}.txt", face_txt(name, *box))
                    if pose and person in (1, 3, 8) and series == 1:
                        kept.append((f"person{person:02d}", pose, name, box))
                # a photo whose face file is missing is skipped
                add_file(tar, f"Person{person:02d}/{p04_name(person, 1, 50, 0, -60)}", small_jpeg(999))
        add_file(tar, "Front/README.txt", b"Head Pose Image Database\n")
    return kept


def test_unpack_pointing04_builds_the_layout_load_three_amigos_reads(tmp_path, monkeypatch):
    archive = tmp_path / "HeadPoseImageDatabase.tar.gz"
    kept = make_pointing04_archive(archive)
    dest = tmp_path / "data"
    assert data.unpack_pointing04(archive, dest) == len(kept) == 3 * 7
    root = dest / "three_amigos"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.jpg")) == sorted(
        f"{person}/{pose}/{name}" for person, pose, name, _ in kept)
    assert not list(root.rglob("*.txt"))

    monkeypatch.setenv(settings.DATA_ENV_VAR, str(dest))
    photos = data.load_three_amigos()
    assert [p.file for p in photos] == sorted(f"{person}/{pose}/{name}" for person, pose, name, _ in kept)
    with tarfile.open(archive) as tar:
        originals = {Path(m.name).name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    with open(root / "labels.csv", newline="") as f:
        rows = {row["file"]: row for row in csv.DictReader(f)}
    expected = {f"{person}/{pose}/{name}": (person, pose, box) for person, pose, name, box in kept}
    for photo in photos:
        person, pose, box = expected[photo.file]
        name = Path(photo.file).name
        match = data._P04_NAME.match(name)
        assert (photo.person, photo.pose, photo.face_box) == (person, pose, box)
        assert (photo.tilt, photo.pan) == (int(match["tilt"]), int(match["pan"]))
        assert photo.path.read_bytes() == originals[name]  # byte-identical copies
        assert rows[photo.file]["sha1"] == hashlib.sha1(originals[name]).hexdigest()
        assert rows[photo.file]["series"] == "1"
    assert Counter(p.pose for p in photos) == {"left": 6, "right": 3, "straight": 6, "up": 6}
    inputs = data.amigo_inputs(photos, "face")
    assert inputs.shape == (len(kept), 60, 64, 1)
    assert data.amigo_inputs(photos[:2], "full").shape == (2, 60, 64, 1)


def test_unpack_pointing04_other_persons_and_series(tmp_path, monkeypatch):
    archive = tmp_path / "HeadPoseImageDatabase.tar.gz"
    make_pointing04_archive(archive)
    assert data.unpack_pointing04(archive, tmp_path / "a", persons=("person02",), series=2) == 7
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(tmp_path / "a"))
    assert {p.person for p in data.load_three_amigos()} == {"person02"}


def test_read_face_box():
    assert data._read_face_box(face_txt("person01146+0+0.jpg", 174, 133, 93, 128).decode()) == (174, 133, 93, 128)
    assert data._read_face_box("person15293+90+0.jpg\n\nFace\n190.0\n120\n85\n110\n") == (190, 120, 85, 110)
    with pytest.raises(ValueError, match="expected 4 numbers"):
        data._read_face_box("person01146+0+0.jpg\n\nFace\n174\n133\n")


def test_unpack_cmu_never_writes_outside_its_folder(tmp_path):
    archive = tmp_path / "faces.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        add_file(tar, "faces/an2i/an2i_left_angry_open.pgm", ascii_pgm(128, 120, 50))
        add_file(tar, "faces/../../../escaped.pgm", ascii_pgm(128, 120, 50))
    dest = tmp_path / "deep" / "data"
    data.unpack_cmu(archive, dest)
    written = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.pgm")]
    assert written == ["deep/data/cmu_faces/faces/an2i/an2i_left_angry_open.pgm"]  # not deep/escaped.pgm


def test_an_archive_without_pointing04_images_is_refused(tmp_path):
    archive = tmp_path / "other.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        add_file(tar, "Front/README.txt", b"nothing here\n")
    with pytest.raises(ValueError, match="expected Pointing'04 images"):
        data.unpack_pointing04(archive, tmp_path / "data")


# ---------------------------------------------------------------- leave-people-out (issue 10)


def test_person_folds_never_put_one_person_on_both_sides():
    people = np.array(["p%02d" % (i % 13) for i in range(200)])
    folds = data.person_folds(people, k=4, seed=1)
    assert len(folds) == 4
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested.tolist()) == list(range(200))  # every image tested exactly once
    for train, test in folds:
        assert set(people[train]).isdisjoint(people[test])
        assert sorted([*train, *test]) == list(range(200))
        assert list(train) == sorted(train) and list(test) == sorted(test)
    sizes = sorted(len(set(people[test])) for _, test in folds)
    assert sizes == [3, 3, 3, 4]  # 13 people dealt into 4 groups


def test_person_folds_are_seeded():
    people = np.repeat(list("abcdefghij"), 5)
    first = [set(people[t]) for _, t in data.person_folds(people, 5, seed=0)]
    assert first == [set(people[t]) for _, t in data.person_folds(people, 5, seed=0)]
    assert first != [set(people[t]) for _, t in data.person_folds(people, 5, seed=1)]
    with pytest.raises(ValueError, match="k must be between 2"):
        data.person_folds(people, 11)
    with pytest.raises(ValueError, match="k must be between 2"):
        data.person_folds(people, 1)


def test_person_folds_of_the_real_cmu_faces_hold_out_four_people_each():
    faces = data.load_cmu()
    folds = data.person_folds(faces.users, 5, seed=0)
    held_out = [set(faces.users[test].tolist()) for _, test in folds]
    assert all(len(group) == 4 for group in held_out)
    assert set().union(*held_out) == set(CMU_USERS)
    for (train, test), group in zip(folds, held_out):
        assert not set(faces.users[train].tolist()) & group


def test_person_split():
    people = np.array(["a", "b", "a", "c", "b"])
    train, test = data.person_split(people, ["b"])
    assert train.tolist() == [0, 2, 3] and test.tolist() == [1, 4]


def test_pointing04_train_people_counts_and_never_the_amigos():
    photos = data.load_pointing04_train()
    assert len(photos) == 828
    people = Counter(p.person for p in photos)
    assert sorted(people) == [f"person{n}" for n in ("02", "04", "06", "07", "09", "11", "12", "13", "15")]
    assert set(people.values()) == {92}
    assert not set(people) & set(data.AMIGO_PERSONS)
    assert Counter(p.pose for p in photos) == {"left": 270, "right": 270, "straight": 162, "up": 126}
    assert Counter(p.series for p in photos) == {1: 414, 2: 414}
    for photo in photos[::50]:
        assert photo.path.is_file() and data.pose_from_angles(photo.tilt, photo.pan) == photo.pose


def test_detected_framing_is_what_an_upload_gets(amigos):
    from vislib import imaging

    inputs = data.amigo_inputs(amigos[::20], "detected")
    assert inputs.shape == (len(amigos[::20]), 60, 64, 1)
    for photo, x in zip(amigos[::20], inputs):
        np.testing.assert_array_equal(x, imaging.frame(imaging.load_photo(photo.path.read_bytes())).input)


def test_cmu_detected_inputs_frame_the_originals_as_uploads():
    from vislib import imaging

    faces = data.load_cmu(1)
    inputs = data.cmu_detected_inputs(faces)
    assert inputs.shape == (633, 60, 64, 1) and inputs.dtype == np.float32
    for i in (0, 100, 400):
        np.testing.assert_array_equal(inputs[i], imaging.frame(faces.images[i, ..., 0]).input)


# ---------------------------------------------------------------- download: progress and checksums


def test_the_shared_data_matches_the_manifest_of_the_originals():
    checked, problems = data.verify()
    assert problems == [] and checked == 1881 + 138
    with open(data.amigos_root() / "labels.csv", newline="") as f:  # SOURCE.md's hashes of the originals
        listed = {row["file"]: row["sha1"] for row in csv.DictReader(f)}
    manifest = json.loads(data.MANIFEST.read_text())
    assert manifest["three_amigos"] == listed


def test_verify_names_a_damaged_and_a_missing_file(tmp_path):
    root = tmp_path / "data"
    source = settings.data_dir()
    picked = {"cmu_faces": ["faces/an2i/an2i_left_angry_open_2.pgm", "faces/at33/at33_up_happy_open_4.pgm"],
              "three_amigos": ["person01/left/person01127-15-90.jpg"]}
    full = json.loads(data.MANIFEST.read_text())
    manifest = {k: {rel: full[k][rel] for rel in rels} for k, rels in picked.items()}
    for folder, rels in picked.items():
        for rel in rels:
            (root / folder / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source / folder / rel, root / folder / rel)
    assert data.verify(root, manifest) == (3, [])
    damaged = root / "cmu_faces" / picked["cmu_faces"][0]
    with Image.open(damaged) as im:
        pixels = np.asarray(im).copy()
    pixels[10, 10] ^= 0x40
    Image.fromarray(pixels).save(damaged)
    (root / "three_amigos" / picked["three_amigos"][0]).unlink()
    checked, problems = data.verify(root, manifest)
    assert checked == 3 and problems == [f"cmu_faces/{picked['cmu_faces'][0]}: differs from the original",
                                         f"three_amigos/{picked['three_amigos'][0]}: missing"]


def test_download_shows_progress_unpacks_and_checks_the_files(tmp_path, monkeypatch):
    cmu, p04 = tmp_path / "faces.tar.gz", tmp_path / "HeadPoseImageDatabase.tar.gz"
    make_uci_archive(cmu)
    make_pointing04_archive(p04)
    staging = tmp_path / "expected"
    data.unpack_cmu(cmu, staging)
    data.unpack_pointing04(p04, staging)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(data.make_manifest(staging)))
    monkeypatch.setattr(data, "MANIFEST", manifest)
    lines = []
    dest = tmp_path / "data"
    data.download(dest, cmu.as_uri(), p04.as_uri(), log=lines.append)
    assert any(re.search(r"MB of [\d.]+ MB \(100%\)", line) for line in lines), lines
    assert any("Checked" in line and "all match" in line for line in lines)
    assert (dest / "three_amigos" / "labels.csv").is_file()

    tampered = json.loads(manifest.read_text())
    first = next(iter(tampered["cmu_faces"]))
    tampered["cmu_faces"][first] = "0" * 40
    manifest.write_text(json.dumps(tampered))
    with pytest.raises(ValueError, match=r"1 of \d+ files do not match the originals.*download again"):
        data.download(tmp_path / "again", cmu.as_uri(), p04.as_uri(), log=lambda *_: None)


def test_check_verify_reports_on_the_data_folder(capsys):
    assert data.main(["check", "--verify"]) == 0
    assert capsys.readouterr().out.strip().endswith("files against the originals: all match.")
