"""vislib.check_photos: the third-source check on a folder of labelled photos.

The three-amigos test needs $HAPPYMAPS_DATA (as tests/test_data.py); the others build their
folders under tmp_path from the committed sample photos.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from vislib import check_photos, data, settings, zoo

ASTRONAUT = settings.SAMPLES_DIR / "astronaut.jpg"


def _put(folder, name="photo.jpg", source=ASTRONAUT):
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, folder / name)


def test_the_three_amigos_folder_gives_the_recorded_detected_face_figures():
    """The amigos' own layout (<person>/<pose>/*.jpg) through the check gives exactly what
    metrics.json records for them framed as uploads (`three_amigos_detected`)."""
    photos = check_photos.read_folder(data.amigos_root())
    assert len(photos.files) == 138 and photos.looks_left.sum() == 45 and not photos.skipped
    recorded = zoo.read_json("ex2-4", "metrics.json")["accuracy"]["three_amigos_detected"]
    result = check_photos.score(zoo.load("ex2-4"), zoo.variant("ex2-4"), photos)
    assert result["accuracy"] == pytest.approx(recorded["overall"], abs=1e-4)
    assert result["left_recall"] == pytest.approx(recorded["left_recall"], abs=1e-4)
    assert result["not_left_recall"] == pytest.approx(recorded["not_left_recall"], abs=1e-4)


def test_labels_come_from_the_nearest_pose_folder_at_any_depth(tmp_path):
    _put(tmp_path / "left")
    _put(tmp_path / "anna" / "Right")
    _put(tmp_path / "bob" / "not-left")
    _put(tmp_path / "bob" / "left" / "closeups")  # 'closeups' is not a pose: the folder above says
    photos = check_photos.read_folder(tmp_path)
    labels = {str(p.relative_to(tmp_path).parent): bool(v) for p, v in zip(photos.files, photos.looks_left)}
    assert labels == {"left": True, "anna/Right": False, "bob/not-left": False, "bob/left/closeups": True}
    assert photos.inputs.shape == (4, *settings.INPUT_SHAPE)
    assert all(s.startswith("detected face") for s in photos.sources)  # the astronaut's face is found


def test_every_format_your_photo_reads_is_read_here_too(tmp_path):
    # the check kept a list of its own, and skipped phones' AVIF photos that the page reads
    from PIL import Image

    _put(tmp_path / "left")
    Image.open(ASTRONAUT).save(tmp_path / "left" / "phone.avif")
    Image.open(ASTRONAUT).convert("L").save(tmp_path / "left" / "scan.ppm")
    photos = check_photos.read_folder(tmp_path)
    assert sorted(p.name for p in photos.files) == ["phone.avif", "photo.jpg", "scan.ppm"] and not photos.skipped


def test_a_photo_outside_any_pose_folder_is_refused_with_the_names_expected(tmp_path):
    _put(tmp_path / "left")
    _put(tmp_path / "holiday")
    with pytest.raises(ValueError, match=r"left or not_left or right.*neither: holiday"):
        check_photos.read_folder(tmp_path)


def test_damaged_files_are_skipped_with_the_reason_and_the_rest_scored(tmp_path):
    _put(tmp_path / "left")
    (tmp_path / "left" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (tmp_path / "left" / "notes.txt").write_text("not a photo: ignored")
    photos = check_photos.read_folder(tmp_path)
    assert [p.name for p in photos.files] == ["photo.jpg"]
    assert [(p.name, bool(reason)) for p, reason in photos.skipped] == [("broken.jpg", True)]


@pytest.mark.parametrize("make", [lambda root: root / "missing", lambda root: root])
def test_no_folder_or_no_photos_is_a_clear_error(tmp_path, make):
    with pytest.raises(ValueError, match="expected"):
        check_photos.read_folder(make(tmp_path))


class _Constant:
    """A stand-in model that gives every photo the same scores."""

    def __init__(self, scores):
        self.scores = np.asarray(scores, dtype=np.float32)

    def predict(self, x, verbose=0):
        return np.tile(self.scores, (len(x), 1))


def test_a_constant_answer_meets_one_recall_and_never_the_goal(tmp_path):
    for i in range(3):
        _put(tmp_path / "left", f"{i}.jpg")
    _put(tmp_path / "straight")
    photos = check_photos.read_folder(tmp_path)
    binary = zoo.variant("ex2-4")
    always_left = check_photos.score(_Constant([0.1, 0.9]), binary, photos)
    assert (always_left["left_recall"], always_left["not_left_recall"]) == (1.0, 0.0)
    assert always_left["accuracy"] == 0.75 and not always_left["goal_met"]
    never_left = check_photos.score(_Constant([0.9, 0.1]), binary, photos)
    assert (never_left["left_recall"], never_left["not_left_recall"], never_left["goal_met"]) == (0.0, 1.0, False)
    pose = zoo.variant("ex1-4")  # four classes: only the "left" class counts as left
    left = [0.0] * len(pose.classes)
    left[pose.classes.index("left")] = 1.0
    assert check_photos.score(_Constant(left), pose, photos)["left_recall"] == 1.0


def test_the_command_prints_one_line_per_variant_and_the_goal(tmp_path, capsys):
    _put(tmp_path / "left")
    _put(tmp_path / "right")
    assert check_photos.main([str(tmp_path), "--variant", "ex2-4", "--variant", "exp0"]) == 0
    out = capsys.readouterr().out
    assert "2 photos" in out and "1 looking left, 1 not" in out and "a face found in 2" in out
    assert '"left" recall >= 70%' in out
    rows = [line.split()[0] for line in out.splitlines()[-2:]]
    assert rows == ["ex2-4", "exp0"]
    assert out.splitlines()[-1].endswith("not met")  # exp0 answers "not left" to everything
    assert "Pointing'04" not in out  # nothing of that database here, so nothing to cite


def test_the_command_cites_pointing04_when_it_scores_its_photos(capsys):
    assert check_photos.main([str(data.amigos_root() / "person01"), "--variant", "ex2-4"]) == 0
    out = capsys.readouterr().out
    assert settings.POINTING04_CITATION in out and "46 photos" in out


def test_mistakes_lists_each_photo_a_variant_gets_wrong_with_its_framing(tmp_path, capsys):
    _put(tmp_path / "left")  # the astronaut looks straight: every variant answering "not left" misses it
    _put(tmp_path / "straight")
    assert check_photos.main([str(tmp_path), "--variant", "exp0", "--variant", "ex1-1", "--mistakes"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == "1 photo(s) answered wrong by at least one variant:"
    assert out[-1] == "  left/photo.jpg (looks left; detected face (frontal)): wrong for exp0, ex1-1"


def test_the_command_on_a_missing_folder_exits_2_with_a_message(tmp_path, capsys):
    assert check_photos.main([str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: expected a folder") and "Traceback" not in err
