"""The model zoo, training, and the shipped models' files."""

import json
import sys
import re

import keras
import numpy as np
import pytest

from vislib import data, faceprior, report, settings, train, zoo

SHIPPED = list(zoo.VARIANTS)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_variant_builds_as_a_functional_model_with_the_notebook_layer_names(name):
    model = zoo.build(name)
    spec = zoo.variant(name)
    assert not isinstance(model, keras.Sequential)
    assert model.input_shape == (None, *settings.INPUT_SHAPE)
    assert model.output_shape == (None, len(spec.classes))
    names = [l.name for l in model.layers][1:]
    if spec.preprocess:  # Experiment 2: one input normalisation layer first, then the notebook's names
        assert names.pop(0) == "preprocess"
    for name_ in names:
        assert re.fullmatch(r"(conv2d|max_pooling2d|flatten|dense)_\d+", name_), name_
    assert names[-1] == spec.decision_layer
    assert model.layers[-1].activation.__name__ == spec.decision_activation


def test_the_decision_layers_and_shapes_of_the_study():
    assert zoo.variant("exp0").decision_layer == "dense_3"
    assert zoo.variant("ex1-2").decision_layer == "dense_6"
    assert zoo.variant("ex1-5").decision_layer == "dense_1"
    assert zoo.build("ex1-4").output_shape == (None, 4)
    assert zoo.variant("ex1-6").loss == "mean_squared_error"
    assert zoo.build("ex1-6").layers[-1].activation.__name__ == "linear"
    wide, base = zoo.build("ex1-3"), zoo.build("exp0")
    assert all(wide.get_layer(f"dense_{i}").units > base.get_layer(f"dense_{i}").units for i in (1, 2))


def test_half_the_filters_has_40_to_60_percent_of_the_parameters():
    ratio = zoo.build("ex1-1").count_params() / zoo.build("exp0").count_params()
    assert 0.4 <= ratio <= 0.6


def test_unknown_variant_is_refused_with_the_list():
    with pytest.raises(ValueError, match="exp0.*got 'exp9'"):
        zoo.variant("exp9")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_metrics_have_the_promised_schema(name):
    metrics = zoo.read_json(name, "metrics.json")
    spec = zoo.variant(name)
    assert metrics["variant"] == name
    assert metrics["classes"] == list(spec.classes)
    assert metrics["input_shape"] == [60, 64, 1]
    assert metrics["params"] == zoo.load(name).count_params()
    acc = metrics["accuracy"]
    # The originals' test faces are new shots of known people; Experiment 2's are new people.
    assert acc["test"] >= (0.95 if spec.split == "image" else 0.9), "CMU test accuracy fell"
    assert 0 <= acc["train"] <= 1
    assert metrics["training_data"] == list(spec.training_data)
    for key in ("three_amigos", "three_amigos_full_frame", "three_amigos_detected"):
        assert 0 <= acc[key]["overall"] <= 1
        assert 0 <= acc[key]["left_recall"] <= 1 and 0 <= acc[key]["not_left_recall"] <= 1
        assert set(acc[key]["per_person"]) == {"person01", "person03", "person08"}
        assert sum(map(sum, metrics["confusion"][key])) == 138
        assert len(metrics["predictions"][key]) == 138
    new_people = acc["cmu_new_people"]
    assert 0.5 <= new_people["overall"] <= 1 and 0 <= new_people["left_recall"] <= 1
    assert new_people["folds"] == len(new_people["per_fold"]) == len(new_people["held_out"]) == 5
    held_out = [person for group in new_people["held_out"] for person in group]
    assert sorted(held_out) == sorted(set(held_out)) and len(held_out) == 20  # each person once
    assert new_people["images"] == (624 if spec.framing == "cmu" else 633)
    assert sum(map(sum, metrics["confusion"]["test"])) == metrics["split"]["test"]
    assert metrics["training_seconds"] > 0
    assert "Gourier" in metrics["three_amigos_citation"]
    history = zoo.read_json(name, "history.json")
    assert len(history["train"]["accuracy"]) == len(history["test"]["loss"]) == metrics["epochs"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_amigo_figures_are_what_the_model_predicts_through_the_intake(name):
    metrics = zoo.read_json(name, "metrics.json")
    photos = data.load_three_amigos()[::23]
    predicted = zoo.load(name).predict(data.amigo_inputs(photos, "face"), verbose=0).argmax(axis=1)
    assert predicted.tolist() == [metrics["predictions"]["three_amigos"][p.file] for p in photos]


@pytest.mark.parametrize("name", SHIPPED)
def test_recorded_recalls_are_what_the_recorded_predictions_give(name):
    metrics = zoo.read_json(name, "metrics.json")
    photos = data.load_three_amigos()
    left = data.task_labels(["left"], metrics["task"])[0]
    is_left = np.array([p.pose == "left" for p in photos])
    for key in ("three_amigos", "three_amigos_full_frame", "three_amigos_detected"):
        said_left = np.array([metrics["predictions"][key][p.file] == left for p in photos])
        assert metrics["accuracy"][key]["left_recall"] == pytest.approx(said_left[is_left].mean(), abs=1e-4)
        assert metrics["accuracy"][key]["not_left_recall"] == pytest.approx((~said_left[~is_left]).mean(), abs=1e-4)


def test_a_constant_answer_has_no_left_recall():
    truth = data.task_labels(["left", "right", "left", "up", "straight"], "binary")
    assert train.recalls(truth, np.zeros(5, int), "binary") == {"left_recall": 0.0, "not_left_recall": 1.0}
    assert train.recalls(truth, np.ones(5, int), "binary") == {"left_recall": 1.0, "not_left_recall": 0.0}
    pose = data.task_labels(["left", "right", "left", "up"], "pose")
    assert train.recalls(pose, np.array([0, 0, 1, 3]), "pose") == {"left_recall": 0.5, "not_left_recall": 0.5}


def test_the_originals_keep_their_recipe_and_experiment_2_states_its_own():
    for name in zoo.ORIGINALS:
        spec = zoo.variant(name)
        assert (spec.training_data, spec.framing, spec.augment, spec.split, spec.seed) == (("cmu",), "cmu", None, "image", 1234)
    assert len(zoo.ORIGINALS) == 7 and 2 <= len(zoo.EXPERIMENT_2) <= 4
    for name in zoo.EXPERIMENT_2:
        spec = zoo.variant(name)
        assert spec.hypothesis and spec.framing == "detector" and spec.split == "person"
        assert set(spec.training_data) <= {"cmu", "pointing04_train"} and "cmu" in spec.training_data
        assert zoo.build(name).count_params() == zoo.build("exp0").count_params()  # exp0's architecture
    assert zoo.RECOMMENDED in zoo.EXPERIMENT_2 and zoo.RECOMMENDED in zoo.shipped_variants()
    assert "pointing04_train" in zoo.variant(zoo.RECOMMENDED).training_data


@pytest.mark.parametrize("name", [n for n in SHIPPED if zoo.variant(n).series == "Experiment 2"])
def test_experiment_2_models_ship_their_face_basis_and_never_saw_the_amigos(name):
    from vislib import faceprior

    folder = zoo.model_dir(name)
    basis = faceprior.load(folder)
    assert basis.mean.shape == (60, 64) and basis.size > 10
    metrics = zoo.read_json(name, "metrics.json")
    assert metrics["series"] == "Experiment 2" and metrics["hypothesis"]
    split = metrics["split"]
    assert split["by"] == "person" and len(split["test_people"]) == 4
    if "pointing04_train" in metrics["training_data"]:
        held_out = split["pointing04_train"]["validation_people"]
        assert held_out == list(zoo.variant(name).pointing04_validation)
        assert not set(held_out) & set(data.AMIGO_PERSONS)
        if held_out:
            assert metrics["accuracy"]["pointing04_validation"]["overall"] > 0.5
        else:
            assert "pointing04_validation" not in metrics["accuracy"]


def test_a_variant_says_how_many_pointing04_people_it_trained_on():
    from vislib import report

    assert [zoo.pointing04_people(zoo.variant(n)) for n in ("exp0", "ex2-2", "ex2-4")] == [0, 7, 9]
    assert zoo.training_data_names(zoo.variant("exp0")) == ["CMU faces"]
    assert zoo.training_data_names(zoo.variant("ex2-2"), cmu="CMU Face Images") == [
        "CMU Face Images", "seven Pointing'04 people (two more held out for validation; not the three amigos)"]
    assert zoo.training_data_names(zoo.variant("ex2-4"))[1] == "nine Pointing'04 people (not the three amigos)"
    assert (report.trained_on("ex2-2"), report.trained_on("ex2-4"), report.trained_on("ex1-4")) == (
        "CMU + Pointing'04 (7 people)", "CMU + Pointing'04 (9 people)", "CMU")


def test_pointing04_validation_people_are_held_out_only_where_a_variant_says_so():
    with_validation, everyone = zoo.variant("ex2-2"), zoo.variant("ex2-4")
    train_part, validation = train.pointing04_training(with_validation, subset=12)
    assert set(validation.people) == set(with_validation.pointing04_validation) == {"person06", "person13"}
    assert not set(train_part.people) & set(validation.people)
    assert set(validation.source) == {"pointing04_train"}
    train_all, none = train.pointing04_training(everyone, subset=12)
    assert len(none) == 0
    assert set(train_all.people) == set(train_part.people) | set(validation.people)
    assert len(set(train_all.people)) == zoo.POINTING04_TRAIN_PEOPLE
    assert not set(train_all.people) & set(data.AMIGO_PERSONS)


def test_the_models_folder_stays_under_40_mb():  # the budget of issue 10
    size = sum(f.stat().st_size for f in settings.MODELS_DIR.rglob("*") if f.is_file())
    assert size < 40 * 2**20


def _has_optimizer_state(model_file) -> bool:
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(model_file) as archive, h5py.File(io.BytesIO(archive.read(zoo.WEIGHTS_MEMBER)), "r") as f:
        return "optimizer" in f


def test_a_saved_model_keeps_its_weights_and_leaves_the_optimizer_out(tmp_path):
    model = zoo.build("ex1-5")
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(np.random.default_rng(0).random((8, *settings.INPUT_SHAPE)), np.eye(2)[[0, 1] * 4], verbose=0)
    path = zoo.save(model, tmp_path / "model.keras")
    assert model.compiled  # the caller's model is left as it was
    assert not _has_optimizer_state(path)
    loaded = keras.saving.load_model(path, compile=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    # saving what was loaded gives the same weights digest: an atlas stays valid
    assert zoo.weights_digest(zoo.save(loaded, tmp_path / "again.keras")) == zoo.weights_digest(path)


@pytest.mark.parametrize("name", zoo.shipped_variants())
def test_shipped_models_carry_no_optimizer_state(name):
    assert not _has_optimizer_state(zoo.model_dir(name) / "model.keras")


def test_a_short_training_run_writes_every_file_and_is_reproducible(tmp_path):
    first = train.train_variant("ex1-5", tmp_path / "a", epochs=2, folds=2, log=lambda *_: None)
    second = train.train_variant("ex1-5", tmp_path / "b", epochs=2, folds=2, log=lambda *_: None)
    folder = tmp_path / "a" / "ex1-5"
    for file in ("model.keras", "history.json", "metrics.json", "unit_stats.json", "mean_image.npy",
                 "face_basis.npz", "timelapse.npz"):
        assert (folder / file).is_file(), file
    from vislib import timelapse

    movie = timelapse.load("ex1-5", tmp_path / "a")  # recorded during this very training run
    assert movie is not None and not timelapse.stale("ex1-5", movie, tmp_path / "a")
    assert len(movie) == 3  # the start and 2 epochs
    for run in (first, second):
        assert run["accuracy"]["cmu_new_people"].pop("seconds") > 0  # the only thing that may differ
    assert first["accuracy"] == second["accuracy"]
    a, b = zoo.load("ex1-5", tmp_path / "a"), zoo.load("ex1-5", tmp_path / "b")
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    stats = json.loads((folder / "unit_stats.json").read_text())
    assert set(stats) == {"conv2d_1", "conv2d_2", "conv2d_3", "dense_1"}
    assert len(stats["conv2d_2"]["max"]) == 32


def test_training_again_keeps_the_recorded_seed_runs_of_the_same_recipe_only(tmp_path):
    path = tmp_path / "metrics.json"
    recipe = {"task": "left", "epochs": 40, "augment": "mild", "training_data": ["cmu"], "split": "people"}
    runs = {"seed_runs": [{"seed": 1, "amigos": 0.8}], "seed_runs_command": "python -m vislib.train ..."}
    path.write_text(json.dumps({**recipe, **runs, "accuracy": {"test": 0.9}}))
    assert train.recorded_seed_runs(path, {**recipe, "accuracy": {"test": 1.0}}) == runs
    assert train.recorded_seed_runs(path, {**recipe, "epochs": 2}) == {}  # another recipe: its runs are not these
    assert train.recorded_seed_runs(tmp_path / "missing.json", recipe) == {}
    path.write_text("{not json")
    assert train.recorded_seed_runs(path, recipe) == {}


def test_make_train_keeps_a_variants_recorded_seed_runs(tmp_path):
    first = train.train_variant("ex1-5", tmp_path, epochs=1, folds=None, log=lambda *_: None)
    path = zoo.model_dir("ex1-5", tmp_path) / "metrics.json"
    path.write_text(json.dumps({**first, "seed_runs": [{"seed": 7}], "seed_runs_command": "recorded"}))
    train.train_variants(["ex1-5"], tmp_path, epochs=1, folds=2, log=lambda *_: None)  # what `make train` runs
    again = json.loads(path.read_text())
    assert again["seed_runs"] == [{"seed": 7}] and again["seed_runs_command"] == "recorded"
    assert "cmu_new_people" in again["accuracy"]


def test_training_several_variants_trains_their_folds_alongside_and_records_them(tmp_path):
    returned = train.train_variants(["ex1-5", "exp0"], tmp_path, epochs=1, folds=2, log=lambda *_: None)
    assert [m["variant"] for m in returned] == ["ex1-5", "exp0"]
    for metrics in returned:
        on_disk = json.loads((tmp_path / metrics["variant"] / "metrics.json").read_text())
        new_people = on_disk["accuracy"]["cmu_new_people"]
        assert new_people == metrics["accuracy"]["cmu_new_people"]
        first, second = map(set, new_people["held_out"])
        assert not first & second and len(first | second) == 20  # every CMU person left out once
        assert new_people["images"] == 624 and new_people["seconds"] > 0


def test_fold_workers_never_run_the_page_script_that_streamlit_left_as_main(tmp_path, monkeypatch):
    import threading
    import types

    # AppTest (and Streamlit) leave the page's script as __main__, which spawned workers re-import
    marker = tmp_path / "ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\nraise SystemExit('a page ran in a fold worker')\n")
    page = types.ModuleType("__main__")
    page.__file__, page.__spec__ = str(script), None
    monkeypatch.setitem(sys.modules, "__main__", page)
    done = {}
    worker = threading.Thread(target=lambda: done.update(result=train.cmu_new_people(
        zoo.variant("ex1-5"), 1234, 1, k=2, log=lambda *_: None, processes=2)), daemon=True)
    worker.start()
    worker.join(300)
    assert not marker.exists(), "a fold worker ran the parent's __main__ script"
    assert done["result"]["folds"] == 2 and sys.modules["__main__"] is page


def test_an_experiment_2_variant_trains_on_a_small_subset_with_every_file(tmp_path):
    metrics = train.train_variant("ex2-2", tmp_path, epochs=2, subset=12, folds=2, log=lambda *_: None)
    folder = tmp_path / "ex2-2"
    for file in ("model.keras", "history.json", "metrics.json", "unit_stats.json", "mean_image.npy",
                 "face_basis.npz"):
        assert (folder / file).is_file(), file
    written = json.loads((folder / "metrics.json").read_text())
    assert written["training_data"] == ["cmu", "pointing04_train"]
    assert written["accuracy"] == metrics["accuracy"]
    acc = metrics["accuracy"]
    for key in ("three_amigos", "three_amigos_full_frame", "three_amigos_detected"):
        assert {"overall", "left_recall", "not_left_recall", "per_person"} <= set(acc[key])
    assert acc["cmu_new_people"]["folds"] == 2 and 0 <= acc["cmu_new_people"]["overall"] <= 1
    assert {"train", "validation", "validation_people"} <= set(metrics["split"]["pointing04_train"])
    assert set(metrics["samples"]) == {p.name for p in settings.SAMPLES_DIR.glob("*.jpg")}
    history = json.loads((folder / "history.json").read_text())
    assert len(history["train"]["loss"]) == len(history["test"]["accuracy"]) == 2
    assert written["preprocess"] == "standardise"
    model = zoo.load("ex2-2", tmp_path)
    names = [l.name for l in model.layers]
    assert names.pop(1) == "preprocess"
    assert names == [l.name for l in zoo.build("exp0").layers]


def test_training_examples_that_weigh_nothing_teach_nothing():
    """train.fit's sample_weight reaches the loss on the augmented path (ex2-2's recipe): with every
    weight 0 the network keeps its initial weights; with weights 1 it learns."""
    from vislib import autodiff

    spec = zoo.variant("ex2-2")
    rng = np.random.default_rng(0)
    poses = np.array([data.POSES[i % 4] for i in range(16)])
    examples = train.Examples(rng.uniform(0, 1, (16, *settings.INPUT_SHAPE)).astype(np.float32), poses,
                              np.array(["p"] * 16), np.full(16, "cmu"))
    autodiff.set_seed(spec.seed)
    initial = zoo.build(spec.name).get_weights()
    nothing, _, _ = train.fit(spec, examples, None, spec.seed, 1, sample_weight=np.zeros(16))
    for before, after in zip(initial, nothing.get_weights()):
        np.testing.assert_array_equal(before, after)
    learned, _, _ = train.fit(spec, examples, None, spec.seed, 1, sample_weight=np.ones(16))
    assert any(not np.array_equal(b, a) for b, a in zip(initial, learned.get_weights()))


def blob_faces(poses, side: str) -> np.ndarray:
    """Gray pictures with a bright patch in the left or right half, a cue a network learns in a few epochs."""
    x = np.full((len(poses), *settings.INPUT_SHAPE), 0.3, np.float32)
    columns = slice(8, 24) if side == "left" else slice(40, 56)
    x[:, 20:40, columns] = 0.9
    return x + np.random.default_rng(1).normal(0, 0.02, x.shape).astype(np.float32)


def test_uneven_sample_weights_stay_with_their_examples_through_the_mirroring():
    """Two groups show the same picture (a patch on the right) under labels that differ only once
    mirrored: "right" becomes "left", "straight" stays. Probed on the mirrored picture (the patch on the
    left), only the mirrored copies teach anything, and the group that weighs decides what (ex2-2's
    augmented recipe)."""
    spec = zoo.variant("ex2-2")
    poses = np.array(["right"] * 24 + ["straight"] * 24)
    examples = train.Examples(blob_faces(poses, "right"), poses, np.array(["p"] * 48), np.full(48, "cmu"))
    first = np.r_[np.ones(24), np.zeros(24)]
    probe = blob_faces(["left"] * 4, "left")
    says_left = {}
    for name, weight in (("right weighs", first), ("straight weighs", 1 - first)):
        model, _, _ = train.fit(spec, examples, None, spec.seed, 8, sample_weight=weight)
        says_left[name] = float(model.predict(probe, verbose=0)[:, spec.classes.index("left")].mean())
    assert says_left["right weighs"] > 0.6 and says_left["straight weighs"] < 0.4, says_left


def test_the_pan_output_learns_the_turn_of_the_photo_as_it_is_shown():
    """A mirrored face turns the other way: its pan target is negated; CMU (no angle) weighs nothing."""
    targets, weights = train.pan_targets(np.array([-45.0, 30.0, np.nan, 90.0]), np.array([False, True, False, True]))
    np.testing.assert_allclose(targets[:, 0], [-0.5, -1 / 3, 0.0, -1.0], rtol=1e-6)
    assert weights.tolist() == [1.0, 1.0, 0.0, 1.0]


def test_a_recipe_with_a_pan_output_ships_the_network_alone():
    from dataclasses import replace

    spec = replace(zoo.variant("ex2-2"), pan_output=1.0)
    rng = np.random.default_rng(0)
    poses = np.array([data.POSES[i % 4] for i in range(16)])
    pans = np.where(poses == "left", -60.0, np.where(poses == "right", 60.0, 0.0))
    pans[:4] = np.nan  # CMU photos: no angle
    examples = train.Examples(rng.uniform(0, 1, (16, *settings.INPUT_SHAPE)).astype(np.float32), poses,
                              np.array(["p"] * 16), np.full(16, "cmu"), pans)
    model, history, _ = train.fit(spec, examples, examples, spec.seed, 2)
    assert [l.name for l in model.layers] == [l.name for l in zoo.build("ex2-2").layers]  # no "pan" layer
    assert model.output_shape == (None, 2)
    # the decision's own loss and accuracy, as for any network (Watch it learn and the curves read them)
    assert len(history["train"]["accuracy"]) == len(history["test"]["accuracy"]) == 2
    assert all(0 <= a <= 1 for a in history["train"]["accuracy"] + history["test"]["accuracy"])
    assert train._decision_logs({"loss": 3.0, "dense_3_loss": 1.0, "pan_loss": 2.0, "dense_3_accuracy": 0.5,
                                 "val_dense_3_accuracy": 0.25}, "dense_3") == \
        {"loss": 1.0, "accuracy": 0.5, "val_accuracy": 0.25}
    with pytest.raises(ValueError, match="augment"):
        train.fit(replace(spec, augment=None), examples, None, spec.seed, 1)


def test_dropout_and_mixup_are_ingredients_a_recipe_can_take(monkeypatch):
    from dataclasses import replace

    from vislib import activations, augment

    spec = replace(zoo.variant("ex2-2"), name="ex2-2-test", dropout=0.3, mixup=0.2, pan_output=1.0)
    monkeypatch.setitem(zoo.VARIANTS, spec.name, spec)
    model = zoo.build(spec.name)
    assert [l.name for l in model.layers if "dropout" in l.name] == ["dropout_0", "dropout_1", "dropout_2"]
    probe = np.random.default_rng(0).uniform(0, 1, (4, *settings.INPUT_SHAPE)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(probe, verbose=0), model.predict(probe, verbose=0))  # off in use
    rng = np.random.default_rng(0)
    poses = np.array([data.POSES[i % 4] for i in range(16)])
    examples = train.Examples(rng.uniform(0, 1, (16, *settings.INPUT_SHAPE)).astype(np.float32), poses,
                              np.array(["p"] * 16), np.full(16, "cmu"), np.where(poses == "left", -60.0, 0.0))
    assert not [n for n in activations.shown_layers(model) if "dropout" in n], "in use, a copy of its input"
    blends, mixup = [], augment.mixup

    def spy(images, targets, weights, alpha, rng):
        blended = mixup(images, targets, weights, alpha, rng)
        blends.append((len(targets), blended[1][0]))
        return blended

    monkeypatch.setattr(augment, "mixup", spy)
    for with_pan in (spec, replace(spec, pan_output=0.0)):
        blends.clear()
        trained, history, _ = train.fit(with_pan, examples, None, spec.seed, 2)
        assert trained.output_shape == (None, 2) and len(history["train"]["accuracy"]) == 2
        assert len(blends) == 2 and all(n == (2 if with_pan.pan_output else 1) for n, _ in blends)  # each epoch
        classes = blends[0][1]
        assert classes.shape == (16, 2) and ((classes > 0) & (classes < 1)).any(), "soft targets"
    with pytest.raises(ValueError, match="mixup blends the pictures of the augmented loop"):
        train.fit(replace(spec, augment=None), examples, None, spec.seed, 1)
    with pytest.raises(ValueError, match="mixup blends the classes that balance would weigh"):
        train.fit(replace(spec, balance=True), examples, None, spec.seed, 1)


def test_a_corrupt_model_file_gives_a_clear_error(tmp_path):
    (tmp_path / "exp0").mkdir()
    (tmp_path / "exp0" / "model.keras").write_bytes(b"this is not a zip file")
    with pytest.raises(zoo.ModelLoadError, match="damaged.*python -m vislib.train --variant exp0") as damaged:
        zoo.load("exp0", tmp_path)
    # said first in words a client reads, then what whoever runs the app types, with this process's Python
    assert str(damaged.value).startswith("exp0's trained network cannot be read:")
    assert f"`{settings.command('-m vislib.train --variant exp0')}`" in str(damaged.value)
    with pytest.raises(zoo.ModelLoadError, match="No trained model"):
        zoo.load("ex1-1", tmp_path)


def test_messages_show_the_apps_own_files_from_its_folder_and_others_whole(tmp_path):
    assert settings.shown_path(settings.MODELS_DIR / "exp0" / "model.keras") == "models/exp0/model.keras"
    assert settings.shown_path(tmp_path / "model.keras") == str(tmp_path / "model.keras")


def test_a_damaged_face_basis_names_the_command_that_rewrites_it(tmp_path):
    (tmp_path / "exp0").mkdir()
    with pytest.raises(faceprior.FaceBasisError, match="missing") as missing:
        faceprior.load(tmp_path / "exp0")
    (tmp_path / "exp0" / faceprior.BASIS_FILE).write_bytes(b"not an npz")
    with pytest.raises(faceprior.FaceBasisError, match="damaged") as damaged:
        faceprior.load(tmp_path / "exp0")
    # without --variant, vislib.faceprior skips a variant that has the file, damaged or not
    for error in (missing, damaged):
        assert f"`{settings.command('-m vislib.faceprior --variant exp0')}`" in str(error.value)


def test_the_training_command_without_data_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(tmp_path))
    assert train.main(["--variant", "exp0", "--out", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert settings.DATA_ENV_VAR in err and f"-m vislib.data download --dest {tmp_path}`" in err


def test_what_the_originals_score_is_said_from_their_metrics(monkeypatch):
    said = report.originals_in_words()
    tests = [zoo.read_json(n, "metrics.json")["accuracy"]["test"] for n in zoo.ORIGINALS]
    assert said.startswith("The original study's seven networks score")
    assert f"{min(tests):.0%} to {max(tests):.0%} on CMU test faces" in said and "find none of the faces" in said
    shipped = zoo.read_json

    def one_finds_some(name, file):  # a network that finds a third of the left faces is said so
        metrics = shipped(name, file)
        if name == "ex1-2":
            metrics["accuracy"]["three_amigos"]["left_recall"] = 0.333
        return metrics

    monkeypatch.setattr(zoo, "read_json", one_finds_some)
    assert "find at most 33% of the faces looking left" in report.originals_in_words()
    monkeypatch.setattr(zoo, "shipped_variants", lambda: ["ex2-4"])
    assert report.originals_in_words() is None


def test_the_readme_results_table_matches_the_shipped_metrics():
    readme = (settings.REPO_ROOT / "README.md").read_text()
    assert report.results_table() in readme, "README's results table is stale: run python -m vislib.report"
    assert report.per_person_table() in readme, "README's per-person table is stale: run python -m vislib.report"
    assert "CMU new people" in report.results_table() and "“left” recall" in report.results_table()
    assert all(f"| {name} |" in report.results_table() for name in zoo.VARIANTS)
