"""vislib.timelapse and the "Watch it learn" page (issue 13): a frame before training and one an
epoch, shippable pictures only, within the 1 MB budget, and a page whose sentence is computed."""

import json
import re
import zipfile

import numpy as np
import pytest

from apppages import open_page
from vislib import data, faceprior, happymaps, settings, timelapse, train, zoo

EPOCHS = 2
ALLOWED_KEYS = re.compile(r"(meta|epoch|inputs|scores|happymaps|happymap_values|logs/\w+|"
                          r"activations/(conv2d|max_pooling2d)_\d+|scales/(conv2d|max_pooling2d)_\d+)\.npy")


def tiny_examples(n=24, seed=0):
    """Synthetic 'faces': the left ones brighter on the left half (nothing from CMU needed)."""
    rng = np.random.default_rng(seed)
    poses = np.array([data.POSES[i % 4] for i in range(n)])
    x = rng.uniform(0.2, 0.6, (n, *settings.INPUT_SHAPE)).astype(np.float32)
    x[poses == "left", :, :32] += 0.35
    return train.Examples(x, poses, np.array([f"p{i % 3}" for i in range(n)]), np.full(n, "cmu"))


def recorder_for(variant="exp0", steps=16):
    inputs, names = timelapse.variant_inputs(variant)
    return timelapse.Recorder(inputs, names, zoo.variant(variant).classes,
                              zoo.read_array(variant, "mean_image.npy"),
                              faceprior.load(zoo.model_dir(variant)), steps=steps)


@pytest.fixture(scope="module")
def tiny_run():
    """exp0's recipe (vislib.train.fit with the recorder as a callback) on 24 synthetic faces, 2 epochs."""
    spec = zoo.variant("exp0")
    train_set, test_set = tiny_examples(24, 0), tiny_examples(12, 1)
    recorder = recorder_for()
    model, history, _ = train.fit(spec, train_set, test_set, spec.seed, EPOCHS, "exp0", callbacks=[recorder])
    return recorder, model, history, (spec, train_set, test_set)


def test_the_recorder_records_the_start_and_one_frame_an_epoch(tiny_run):
    recorder, model, history, _ = tiny_run
    arrays = recorder.arrays()
    assert arrays["epoch"].tolist() == list(range(EPOCHS + 1))
    n_inputs = len(timelapse.sample_photos()) + 1
    assert arrays["scores"].shape == (EPOCHS + 1, n_inputs, 2)
    np.testing.assert_allclose(arrays["scores"].sum(axis=2), 1.0, atol=1e-5)  # softmax probabilities
    assert arrays["happymaps"].shape == (EPOCHS + 1, 2, 60, 64)
    # each epoch's logs are the ones Keras reported; before training nothing was measured (no start data)
    for key, keras_key in (("loss", "loss"), ("accuracy", "accuracy")):
        np.testing.assert_allclose(arrays[f"logs/{key}"][1:], history["train"][keras_key], rtol=1e-6)
    np.testing.assert_allclose(arrays["logs/val_accuracy"][1:], history["test"]["accuracy"], rtol=1e-6)
    assert np.isnan(arrays["logs/val_accuracy"][0])
    layers = [l.name for l in model.layers if l.name.startswith(("conv2d", "max_pooling2d"))]
    assert sorted(k.split("/")[1] for k in arrays if k.startswith("activations/")) == sorted(layers)
    for name in layers:
        a = arrays[f"activations/{name}"]
        h, w, c = model.get_layer(name).output.shape[1:]
        assert a.shape == (EPOCHS + 1, n_inputs, min(timelapse.CHANNELS, c), h, w)
        assert a.dtype == np.uint8 and a.max() <= timelapse.LEVELS - 1
    # the weights changed between frames, and the maps and decisions with them
    assert not np.array_equal(arrays["scores"][0], arrays["scores"][-1])
    assert not np.array_equal(arrays["activations/conv2d_1"][0], arrays["activations/conv2d_1"][-1])


def test_the_last_frames_happymaps_are_those_of_the_trained_weights(tiny_run):
    # the engine is built once on a copy of the network; the recorder must refresh its weights
    recorder, model, _, _ = tiny_run
    fresh = happymaps.Engine(model, zoo.read_array("exp0", "mean_image.npy"), faceprior.load(zoo.model_dir("exp0")),
                             zoo.variant("exp0").classes)
    result = fresh.layer("dense_3", settings=recorder.settings, every=recorder.settings.steps)
    expected = np.round(np.clip(result.images, 0, 1) * 255).astype(np.uint8)
    assert np.abs(recorder.frames[-1]["happymaps"].astype(int) - expected).max() <= 1
    assert not np.array_equal(recorder.frames[0]["happymaps"], recorder.frames[-1]["happymaps"])


def test_recording_does_not_change_what_the_network_learns(tiny_run):
    _, model, _, (spec, train_set, test_set) = tiny_run
    plain, _, _ = train.fit(spec, train_set, test_set, spec.seed, EPOCHS, "exp0")
    for a, b in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_start_frame_measures_accuracy_when_given_the_data():
    spec = zoo.variant("exp0")
    train_set, test_set = tiny_examples(24, 0), tiny_examples(12, 1)
    y = {k: np.eye(2, dtype=np.float32)[s.labels("binary")] for k, s in (("train", train_set), ("test", test_set))}
    recorder = recorder_for(steps=8)
    recorder.start_data = {"train": (train_set.x, y["train"]), "test": (test_set.x, y["test"])}
    train.fit(spec, train_set, test_set, spec.seed, 1, "exp0", callbacks=[recorder])
    start = recorder.frames[0]["logs"]
    assert 0.0 <= start["val_accuracy"] <= 1.0 and start["val_loss"] > 0 and start["loss"] > 0


def test_the_file_round_trips_and_a_file_over_the_budget_is_refused(tiny_run, tmp_path):
    recorder = tiny_run[0]
    path = recorder.save(tmp_path, {"variant": "exp0"})
    movie = timelapse.read(path)
    arrays = recorder.arrays()
    np.testing.assert_array_equal(movie.epochs, arrays["epoch"])
    np.testing.assert_allclose(movie.scores, arrays["scores"])
    np.testing.assert_allclose(movie.happymaps, arrays["happymaps"] / 255.0, atol=1e-6)
    np.testing.assert_allclose(movie.activations["conv2d_2"], arrays["activations/conv2d_2"] / (timelapse.LEVELS - 1))
    assert movie.input_names == recorder.names and movie.classes == ("not left", "left")
    assert movie.meta["variant"] == "exp0"
    # over the budget, fewer channels a layer are kept; with none that fits, nothing is written
    size = path.stat().st_size
    fewer = timelapse.read(recorder.save(tmp_path / "fewer", {"variant": "exp0"}, budget=size - 1))
    assert (tmp_path / "fewer" / timelapse.TIMELAPSE_FILE).stat().st_size <= size - 1
    assert len(fewer.channels["conv2d_1"]) < len(movie.channels["conv2d_1"])
    assert fewer.activations["conv2d_1"].shape[2] == len(fewer.channels["conv2d_1"])
    with pytest.raises(ValueError, match="over the budget"):
        recorder.save(tmp_path / "small", budget=10_000)
    assert not (tmp_path / "small" / timelapse.TIMELAPSE_FILE).exists()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / timelapse.TIMELAPSE_FILE).write_bytes(b"not a zip")
    with pytest.raises(timelapse.TimelapseError, match="python -m vislib.timelapse exp0"):
        timelapse.read(tmp_path / "bad" / timelapse.TIMELAPSE_FILE, "exp0")


def test_recording_a_variant_writes_only_its_timelapse(tmp_path):
    import shutil

    folder = tmp_path / "exp0"
    shutil.copytree(zoo.model_dir("exp0"), folder, ignore=shutil.ignore_patterns(timelapse.TIMELAPSE_FILE))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    path = timelapse.record("exp0", tmp_path, log=lambda *_: None, steps=8, epochs=1, subset=8)
    assert path == folder / timelapse.TIMELAPSE_FILE
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert set(after) == set(before) | {timelapse.TIMELAPSE_FILE}
    assert all(after[name] == content for name, content in before.items())  # model.keras untouched
    movie = timelapse.read(path)
    assert movie.epochs.tolist() == [0, 1] and np.isfinite(movie.logs["val_accuracy"]).all()
    assert movie.meta["command"] == "a quick run" and movie.meta["epochs"] == 1
    assert not timelapse.stale("exp0", movie, tmp_path)
    (folder / "model.keras").write_bytes(b"retrained")
    assert timelapse.stale("exp0", movie, tmp_path)


SHIPPED = [n for n in zoo.shipped_variants() if (zoo.model_dir(n) / timelapse.TIMELAPSE_FILE).is_file()]


def test_exp0_and_ex1_4_ship_a_timelapse():
    assert {"exp0", "ex1-4"} <= set(SHIPPED)


@pytest.mark.parametrize("variant", SHIPPED)
def test_a_shipped_timelapse_fits_the_budget_and_holds_only_the_shippable_pictures(variant):
    path = zoo.model_dir(variant) / timelapse.TIMELAPSE_FILE
    assert path.stat().st_size <= timelapse.BUDGET_BYTES
    with zipfile.ZipFile(path) as archive:  # nothing but the recorder's arrays
        assert all(ALLOWED_KEYS.fullmatch(n) for n in archive.namelist()), archive.namelist()
    movie = timelapse.load(variant)
    spec = zoo.variant(variant)
    inputs, names = timelapse.variant_inputs(variant)
    # the pictures are exactly the fixed ones: the sample photos through the upload path, the mean face
    assert movie.input_names == names and names[-1] == timelapse.MEAN_FACE
    assert np.abs(movie.inputs - inputs[..., 0]).max() <= 0.5 / 255 + 1e-6
    frames = spec.epochs + 1
    assert movie.epochs.tolist() == list(range(frames))
    assert movie.scores.shape == (frames, len(names), len(spec.classes))
    assert movie.happymaps.shape == (frames, len(spec.classes), 60, 64)
    for layer, maps in movie.activations.items():
        assert maps.shape[:2] == (frames, len(names)), layer  # one row per fixed picture, no other picture
    assert all(np.isfinite(movie.logs[k]).all() for k in timelapse.LOG_KEYS)  # start measured too
    # recorded by training (`train`) or again for a model trained before (`timelapse`)
    assert movie.meta["model_sha1"] and movie.meta["command"] in (f"python -m vislib.timelapse {variant}",
                                                                  f"python -m vislib.train --variant {variant}")


def synthetic_movie(val_accuracy):
    n = len(val_accuracy)
    logs = {k: np.full(n, 0.5) for k in timelapse.LOG_KEYS}
    logs["val_accuracy"] = np.asarray(val_accuracy, float)
    return timelapse.Timelapse(np.arange(n), logs, np.zeros((1, 60, 64)), ["x"], ("not left", "left"),
                               np.zeros((n, 1, 2)), True, np.zeros((n, 2, 60, 64)), np.zeros((n, 2)), {}, {}, {})


def test_the_learning_epoch_is_the_first_from_which_test_accuracy_stays_high():
    assert timelapse.learned_from(synthetic_movie([0.5, 0.7, 0.95, 0.99])) == 2
    assert timelapse.learned_from(synthetic_movie([0.5, 0.92, 0.85, 0.93, 0.97])) == 3
    assert timelapse.learned_from(synthetic_movie([0.5, 0.95, 0.8])) is None
    assert timelapse.learning_sentence(synthetic_movie([0.5, 0.7, 0.95, 0.99])).startswith(
        "From epoch 2 the network tells “left” from “not left”")
    sentence = timelapse.learning_sentence(synthetic_movie([0.5, 0.92, 0.85, 0.93, 0.97]))
    # a dip after the first time is told as a share of epochs, not as the network "slipping back"
    assert sentence.startswith("The network first tells “left” from “not left”") and "at epoch 1 " in sentence
    assert "in 3 of the 4 epochs from epoch 1 on: in every one from epoch 3." in sentence
    assert timelapse.learning_sentence(synthetic_movie([np.nan, 0.95, 0.8, 0.93])).endswith(
        "in 2 of the 3 epochs from epoch 1 on: the last one (3) among them."), "a test epoch not measured is not counted"
    assert timelapse.learning_sentence(synthetic_movie([0.5, 0.95, 0.8])).endswith("its best is 95%, its last 80%.")




def test_the_test_faces_are_named_by_what_the_recorded_split_held_out():
    from dataclasses import replace

    movie = synthetic_movie([0.5, 0.9])
    person = {"by": "person", "test_people": ["boland"]}
    assert timelapse.test_faces(replace(movie, meta={"split": {"by": "image"}})) == "CMU test faces"
    assert timelapse.test_faces(replace(movie, meta={"split": {**person, "pointing04_train": {"validation": 184}}})) \
        == "held-out faces (CMU and Pointing'04 people it never learns from)"
    # ex2-4 trains on every Pointing'04 person: its held-out faces are CMU people only
    assert timelapse.test_faces(replace(movie, meta={"split": {**person, "pointing04_train": {"validation": 0}}})) \
        == "CMU faces of people it never learns from"


def test_the_page_plays_the_timelapse_and_says_when_the_network_learned():
    at = open_page("pages/5_Watch_it_learn.py")
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Watch it learn"
    assert not at.warning, [w.value for w in at.warning]  # recorded from the shipped model file
    variant = at.sidebar.selectbox[0].value
    assert variant in SHIPPED
    movie = timelapse.load(variant)
    epoch = timelapse.learned_from(movie)
    accuracy = movie.logs["val_accuracy"]
    assert epoch is not None and accuracy[epoch] >= 0.9 and (accuracy[epoch:] >= 0.9).all()
    assert epoch == 0 or accuracy[epoch - 1] < 0.9
    said = [m.value for m in at.markdown if "From epoch" in m.value or "in every one from epoch" in m.value]
    assert said and (f"From epoch {epoch} the network" in said[0] or f"in every one from epoch {epoch}." in said[0])
    charts = at.get("plotly_chart")
    assert charts
    figure = json.loads(charts[0].proto.spec)
    assert len(figure["frames"]) == len(movie) and figure["layout"]["sliders"]
    for c in range(len(movie.classes)):  # the HappyMaps are pictures: no ticks or grid on their axes
        for axis in (f"xaxis{'' if c == 0 else c + 1}", f"yaxis{'' if c == 0 else c + 1}"):
            assert figure["layout"][axis]["ticks"] == "" and figure["layout"][axis]["showgrid"] is False, axis
    # on a narrow screen: the maps' titles on short lines, not into each other; the play buttons below the
    # curves' "epoch" titles; the pictures named in words, not by their files
    titles = [a["text"] for a in figure["layout"]["annotations"] if "HappyMap" in a["text"]]
    assert titles and all(len(line) <= 12 for t in titles for line in t.split("<br>")), titles
    assert figure["layout"]["updatemenus"][0]["y"] < -0.15 and figure["layout"]["sliders"][0]["y"] < -0.15
    names = next(t["y"] for t in figure["data"] if t["type"] == "bar")
    assert any("_" in n for n in movie.input_names), "the check below needs file stems with underscores"
    assert not any("_" in n for n in names), names
    # another picture and epoch of the feature maps rerun cleanly
    at.selectbox(key="timelapse_picture").set_value(0).run()
    at.select_slider(key="timelapse_epoch").set_value(0).run()
    assert not at.exception and not at.error


def test_the_page_plays_every_shipped_timelapse():
    at = open_page("pages/5_Watch_it_learn.py")
    for variant in SHIPPED:
        at.sidebar.selectbox[0].set_value(variant).run()
        assert not at.exception, (variant, [e.value for e in at.exception])
        assert not at.error and not at.warning, variant
        movie = timelapse.load(variant)
        assert any(m.value == f"**{timelapse.learning_sentence(movie)}**" for m in at.markdown), variant
        figure = json.loads(at.get("plotly_chart")[0].proto.spec)
        assert len(figure["frames"]) == len(movie), variant
        one_map = all(len(c) == 1 for c in movie.channels.values())  # a long recording keeps one a layer
        assert any(m.value.startswith("One feature map" if one_map else "A few feature maps") for m in at.markdown)
        captions = [c.value for c in at.caption]  # drawn under each picture (ui.image)
        assert any(c.startswith("conv2d_1: unit 0 (" if one_map else "conv2d_1: units 0, ") for c in captions), variant


def test_a_damaged_model_file_is_said_as_such_not_taken_for_a_retrained_one(tmp_path, monkeypatch):
    import shutil

    import streamlit as st

    models = shutil.copytree(settings.MODELS_DIR, tmp_path / "models")
    variant = SHIPPED[0]
    (models / variant / "model.keras").write_bytes(b"cut short")  # newer than the timelapse, and no model
    monkeypatch.setattr(settings, "MODELS_DIR", models)
    st.cache_resource.clear()
    try:
        at = open_page("pages/5_Watch_it_learn.py")
        at.sidebar.selectbox[0].set_value(variant).run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("damaged" in e.value for e in at.error), [e.value for e in at.error]
        assert not any("retrained" in w.value for w in at.warning), [w.value for w in at.warning]
    finally:
        st.cache_resource.clear()


def test_on_a_phone_the_timelapse_stacks_its_parts_and_keeps_the_maps_wide():
    """At 390 px the side-by-side layout left each HappyMap about 38 px wide, its titles ran together and the
    legend sat on the title: the narrow layout puts maps, decision and curves on rows of their own."""
    from vislib import plots

    movie = timelapse.load("exp0")
    names = [n.replace("_", " ") for n in movie.input_names]

    def layout(narrow):
        figure = plots.timelapse_animation(movie.epochs, movie.logs, movie.happymaps, movie.classes, movie.scores,
                                           names, movie.probabilities, narrow=narrow)
        return json.loads(figure.to_json())["layout"]

    def map_width(lay):
        return lay["xaxis"]["domain"][1] - lay["xaxis"]["domain"][0]

    wide, narrow = layout(False), layout(True)
    bars = f"xaxis{len(movie.classes) + 1}"
    assert map_width(narrow) > 0.4 > 0.25 > map_width(wide)  # two maps share the whole width
    assert narrow[bars]["domain"][1] == 1.0 and narrow[bars]["domain"][0] > 0.2  # the names have the row's left
    assert narrow["margin"]["r"] <= 10 < wide["margin"]["r"]  # no margin for the names narrows every row
    rows = {round(narrow[a]["domain"][0], 3) for a in narrow if a.startswith("yaxis") and "domain" in narrow[a]}
    assert len(rows) == 4  # maps, decision, accuracy, loss: one under another
    assert narrow["legend"]["y"] < narrow["sliders"][0]["y"] < narrow["updatemenus"][0]["y"] < 0  # all below
