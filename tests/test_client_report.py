"""vislib.client_report: the page is self-contained, says which variant it is, shows the figures
of metrics.json, cites Pointing'04, and its pictures are real PNGs."""

import base64
import html
import io
import re

import numpy as np
import pytest
from PIL import Image

from vislib import client_report, data, settings, zoo


@pytest.fixture(scope="module")
def page():
    return client_report.export("ex1-1")


def embedded_pngs(page: str) -> list[Image.Image]:
    images = []
    for payload in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page):
        image = Image.open(io.BytesIO(base64.b64decode(payload)))
        image.load()
        images.append(image)
    return images


def test_the_page_is_self_contained(page):
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "<link" not in page.lower() and "<script" not in page.lower() and "@import" not in page
    sources = re.findall(r"""src\s*=\s*["']([^"']*)""", page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "@media print" in page


def test_the_page_names_its_variant_and_the_baseline(page):
    spec = zoo.variant("ex1-1")
    assert "ex1-1" in page and spec.title in page
    assert "Compared with the baseline (exp0)" in page
    from vislib import compare

    assert f"<b>In short</b>: {html.escape(compare.compare('ex1-1', 'exp0').in_short())}" in page


def test_the_accuracy_figures_are_those_of_metrics_json(page):
    accuracy = zoo.read_json("ex1-1", "metrics.json")["accuracy"]
    expected = [accuracy["train"], accuracy["test"], accuracy["three_amigos"]["overall"],
                accuracy["three_amigos"]["left_recall"], accuracy["three_amigos_full_frame"]["overall"]]
    if "cmu_new_people" in accuracy:
        expected.append(accuracy["cmu_new_people"]["overall"])
    cells = re.findall(r"<th>([^<]+)</th><td class='n'>([^<]+)</td>", page)
    shown = {label: value for label, value in cells}
    for value in expected:
        assert f"{value:.1%}" in shown.values(), value
    assert shown["CMU test, same people"] == f"{accuracy['test']:.1%}"
    assert shown["Three amigos (face framed)"] == f"{accuracy['three_amigos']['overall']:.1%}"


def test_a_missing_figure_reads_not_measured():
    rows = dict((label, value) for label, value, _ in client_report.accuracy_rows(
        {"accuracy": {"train": 1.0, "test": 0.9, "three_amigos": {"overall": 0.5}}}))
    assert rows["CMU, new people"] is None and rows["“Left” found among the three amigos"] is None
    assert rows["Three amigos (face framed)"] == 0.5 and rows["CMU test, same people"] == 0.9


def test_a_network_split_by_person_names_its_test_faces_held_out_people():
    metrics = zoo.read_json("ex2-4", "metrics.json")
    rows = {label: meaning for label, _, meaning in client_report.accuracy_rows(metrics)}
    n = len(metrics["split"]["test_people"])
    assert f"CMU, {n} held-out people" in rows and "CMU test, same people" not in rows
    assert "held out of this network's training" in rows[f"CMU, {n} held-out people"]


def test_the_constant_answer_warning_fits_the_task():
    from vislib import report

    binary = report.constant_answer_warning("exp0", zoo.read_json("exp0", "metrics.json"))
    assert "comes from answering “not left”" in binary and "67%" in binary
    pose = report.constant_answer_warning("ex1-4", zoo.read_json("ex1-4", "metrics.json"))
    assert "names the right pose for" in pose and "not left" not in pose
    assert report.constant_answer_warning("ex2-4", zoo.read_json("ex2-4", "metrics.json")) is None


def test_the_honesty_verdict_judges_the_figure_it_prints(monkeypatch):
    found = {"maps": np.zeros((2, 60, 64), np.float32), "labels": ["not left", "left"],
             "random": np.zeros((2, 60, 64), np.float32), "r": np.array([-0.31, 0.61])}
    monkeypatch.setattr(client_report, "decision_maps", lambda variant, honesty: found)
    section = client_report._happymaps("ex2-4", True)
    assert "(median of |r|): <b>0.46</b>, high" in section
    found["r"] = np.array([0.11, 0.47])  # a low median beside one high picture: not called "near 0"
    section = client_report._happymaps("ex2-4", True)
    assert "<b>0.29</b>, low, under 0.3: the pictures come mostly from what the network learned" in section


def test_the_report_asks_the_question_of_its_network_and_its_notes_fit_four_classes():
    assert set(client_report.QUESTIONS) == set(data.TASKS)
    page = client_report.export("ex1-4", honesty=False)
    assert "answering “which way is this face looking: left, right, straight or up?”" in page
    assert "is this face looking left?" not in page and "always says “not left”" not in page


def test_the_page_cites_pointing04(page):
    assert settings.POINTING04_CITATION in page


def test_the_embedded_pictures_decode_and_none_is_a_data_set_photo(page):
    images = embedded_pngs(page)
    # decision HappyMaps, the honesty check, the photo's explanation
    assert len(images) == 3
    assert all(i.format == "PNG" and i.width > 60 and i.height > 50 for i in images)
    # the explanation shows the sample photo's network input: the same pixels as framing it here
    from vislib import imaging

    framed = imaging.frame(imaging.load_photo(client_report.DEFAULT_PHOTO.read_bytes())).input[..., 0]
    explanation = np.asarray(images[-1].convert("L"), np.float32) / 255
    scale = 3
    shown = explanation[30:30 + 60 * scale:scale, 10:10 + 64 * scale:scale]
    assert np.abs(shown - framed).max() < 2 / 255


def test_the_baseline_report_says_it_is_the_baseline():
    page = client_report.export("exp0", honesty=False)
    assert "This is the baseline itself." in page
    assert len(embedded_pngs(page)) == 2  # no honesty check asked for


def test_the_command_line_writes_the_page_and_its_time(tmp_path, capsys):
    out = tmp_path / "report.html"
    assert client_report.main(["ex1-4", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "ex1-4" in page and "four poses counted as" in page
    assert re.fullmatch(r"report: \d+\.\d\d s", capsys.readouterr().out.strip().splitlines()[-1])


def test_report_export_writes_the_client_report(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "exp0.html"
    done = subprocess.run([sys.executable, "-m", "vislib.report", "--export", "exp0", "--out", str(out)],
                          cwd=settings.REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") or page.lower().startswith("<!doctype html>")
    assert "exp0" in page and "Gourier" in page


def test_the_photo_says_where_the_network_looks_against_the_face_in_html(page):
    said = re.search(r"In this photo the middle of the face \(eyes, nose and mouth\) covers <b>\d+%</b>[^<]*"
                     r"<b>\d+%</b> of the heat is on it[^<]*", page)
    assert said, "the sentence of Your photo's 'Where does the network look?'"
    assert "**" not in page  # markdown turned into HTML
