"""vislib.diagnosis: the evidence of the "Why it fails" page is computed, and each measure measures."""

import keras
import numpy as np
import pytest

from vislib import attribution, augment, diagnosis, settings, zoo


def region_model(rows=slice(0, 20), cols=slice(0, 20)):
    """A softmax model whose "left" logit is the mean brightness of one region, minus 0.5."""
    inputs = keras.Input(settings.INPUT_SHAPE)
    flat = keras.layers.Flatten()(inputs)
    dense = keras.layers.Dense(2, name="dense_1")
    model = keras.Model(inputs, keras.layers.Activation("softmax")(dense(flat)))
    weights = np.zeros(settings.INPUT_SHAPE[:2], np.float32)
    weights[rows, cols] = 1.0 / weights[rows, cols].size
    kernel = np.stack([np.zeros(weights.size), 40 * weights.ravel()], axis=1).astype(np.float32)
    dense.set_weights([kernel, np.array([0.0, -20.0], np.float32)])
    return model


def synthetic_set(n=6):
    rng = np.random.default_rng(0)
    inputs = rng.uniform(0.0, 0.3, (n, *settings.INPUT_SHAPE)).astype(np.float32)
    inputs[:, :20, :20] = 0.9  # the region the model reads: "left"
    faces = np.zeros((n, 60, 64), bool)
    faces[:, :20, :20] = True
    return diagnosis.FaceSet("synthetic", inputs, ("left",) * n, faces, tuple(f"f{i}" for i in range(n)))


def test_face_mask_maps_the_face_box_into_the_network_input():
    # a 640x600 photo framed whole; a 64x60 face box at the centre is a 6x6 patch of the input
    mask = diagnosis.face_mask((0, 0, 640, 600), (320, 300, 60, 60))
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    assert (rows[0], rows[-1], cols[0], cols[-1]) == (27, 32, 29, 34)
    assert mask.sum() == 36
    # a crop that starts at the face's left edge puts the face at the input's left edge
    assert diagnosis.face_mask((290, 0, 930, 600), (320, 300, 60, 60))[30, 0]


def test_heat_on_the_face_is_measured_against_an_even_spread():
    faces = synthetic_set()
    on_face = faces.faces.astype(np.float32)
    even = np.ones_like(on_face)
    assert diagnosis.face_share(on_face, faces)["heat_on_face"] == pytest.approx(1.0)
    share = diagnosis.face_share(even, faces)
    assert share["heat_on_face"] == pytest.approx(share["face_area"]) == pytest.approx(400 / 3840)


def test_edits_change_only_the_face_or_only_the_background():
    faces = synthetic_set()
    edited = {k: v[..., 0] for k, v in diagnosis.edits(faces, faces).items()}
    x, face = faces.inputs[..., 0], faces.faces
    np.testing.assert_array_equal(edited["face hidden"][~face], x[~face])
    assert not np.array_equal(edited["face hidden"][face], x[face])
    np.testing.assert_array_equal(edited["background hidden"][face], x[face])
    assert np.all(edited["background hidden"][~face] == 0.5)
    np.testing.assert_array_equal(edited["CMU background"][face], x[face])
    head = augment.head_mask(x.shape[1:]) > 0.999  # the head's oval, away from its softened edge
    np.testing.assert_allclose(edited["CMU backdrop"][:, head], x[:, head], atol=1e-3)
    assert not np.allclose(edited["CMU backdrop"][:, ~head], x[:, ~head])


def _rows(**recall):
    return {k: {"left_recall": recall.get(k.replace(" ", "_"), 0.9)} for k in diagnosis.EDITS}


def test_what_moves_it_says_what_each_edit_does_and_what_the_rule_concludes():
    reads_the_face = diagnosis.what_moves_it(_rows(as_is=0.98, face_hidden=0.73), "three amigos")
    assert reads_the_face.startswith("On the three amigos it finds **98%** of the faces looking left as they are, "
                                     "**73%** with the face hidden, **90%** with everything outside the face box set "
                                     "to gray")
    # the points lost are the difference of the figures as printed (0.98 - 0.73 read "24%" before)
    assert "Hiding the face costs 25 points: on these pictures it uses the face" in reads_the_face
    outside = diagnosis.what_moves_it(_rows(as_is=0.9, face_hidden=0.9, CMU_background=0.0), "three amigos")
    assert "on these pictures it decides from outside the face box" in outside
    assert "The backdrop alone changes little" in outside
    studio = diagnosis.what_moves_it(_rows(as_is=0.0, face_hidden=0.0, CMU_background=0.4, CMU_backdrop=0.96), "x")
    assert "With only the backdrop replaced it finds 96% of them, not 0%: it looks for the CMU studio" in studio
    behind = diagnosis.what_moves_it(_rows(as_is=0.93, face_hidden=0.93, CMU_background=0.0, CMU_backdrop=0.56), "x")
    assert "finds 56% of them, not 93%, the head unchanged: what lies behind the head still counts" in behind
    own = diagnosis.what_moves_it(_rows(as_is=0.93, face_hidden=0.0, CMU_backdrop=0.93), "CMU faces", own_studio=True)
    assert "backdrop" not in own.split("shoulders kept).")[1]  # a CMU backdrop swapped for CMU's average says little
    assert diagnosis.what_moves_it(_rows(as_is=float("nan")), "x") == "The x include no face looking left."


def test_how_alike_says_a_correlation_in_words_without_overstating_it():
    # -0.68 read "they are nearly opposite"
    assert [diagnosis.how_alike(r) for r in (-0.9, -0.68, -0.1, 0.2, 0.5, 0.95)] == [
        "they are nearly each other's negative", "where one is bright the other tends to be dark",
        "they have little in common", "they have little in common", "they are somewhat alike", "they are alike"]


def test_where_it_looks_judges_the_heat_on_each_face_set_against_the_faces_share_of_the_picture():
    # 23% of the heat on a face covering 8% of the picture read "most of what drives the decision lies outside the
    # face box", and section 3 then found the decision needs the face
    said = diagnosis.where_it_looks({"CMU faces": {"heat_on_face": 0.23, "face_area": 0.08},
                                     "three amigos": {"heat_on_face": 0.10, "face_area": 0.09}})
    assert said.startswith("The face covers about **8%** of the CMU faces and **9%** of the three amigos")
    assert "On the CMU faces, **23%** of the heat is on the face, 2.9 times its share: it looks at the face" in said
    assert "On the three amigos, **10%** of the heat is on the face, 1.1 times its share, about as much: the heat" in said
    assert "outside the face box" not in said and said.endswith("section 3 hides the face to find out.")
    others = diagnosis.where_it_looks({"a": {"heat_on_face": 0.6, "face_area": 0.1},
                                       "b": {"heat_on_face": 0.02, "face_area": 0.1}})
    assert "On the a, **60%** of the heat is on the face: most of it." in others
    assert "On the b, **2%** of the heat is on the face, 0.2 times its share: it looks around the face" in others
    shares = [diagnosis.where_it_looks({"c": {"heat_on_face": heat, "face_area": 0.1}}) for heat in (0.16, 0.06)]
    assert "1.6 times its share, somewhat more: the heat falls on the face and around it alike." in shares[0]
    assert "0.6 times its share, less: it looks more around the face than at it." in shares[1]
    # one printed figure, one verdict: 0.5 times its share read "alike" just above the line and "around" on it
    edge = [diagnosis.where_it_looks({"c": {"heat_on_face": heat, "face_area": 0.1}}) for heat in (0.0504, 0.0496)]
    assert all("0.5 times its share: it looks around the face rather than at it." in e for e in edge), edge


def test_two_studios_read_differently_is_said_only_when_the_rule_says_so():
    amigos = _rows(as_is=0.93, face_hidden=0.93, CMU_background=0.0)  # outside the face box
    cmu = _rows(as_is=0.93, face_hidden=0.0)  # the face
    assert diagnosis.two_studios(amigos, cmu).startswith("So it reads the two studios' faces differently: on CMU's "
                                                         "it needs the face")
    assert diagnosis.two_studios(cmu, cmu) == ""


def test_interventions_see_that_hiding_what_the_model_reads_changes_its_decision():
    model, faces = region_model(), synthetic_set()
    rows = diagnosis.interventions(model, ("not left", "left"), faces, faces)
    assert rows["as is"]["left_recall"] == 1.0
    assert rows["face hidden"]["left_recall"] == 0.0
    assert rows["background hidden"]["left_recall"] == 1.0


def test_deletion_of_the_right_pixels_beats_a_random_order():
    model, faces = region_model(), synthetic_set()
    good = np.broadcast_to(faces.faces, faces.faces.shape).astype(np.float32)
    curve = diagnosis.deletion_curve(model, faces, "saliency", maps=good)
    assert curve["attributed"][0] == pytest.approx(curve["random"][0])
    assert curve["attributed_area"] < curve["random_area"] - 0.2
    wrong = 1.0 - good  # the background first: no better than random
    assert diagnosis.deletion_curve(model, faces, "saliency", maps=wrong)["attributed_area"] > curve["attributed_area"]


def test_the_randomised_copy_has_new_weights_and_the_same_shape():
    model = zoo.load("exp0")
    copy = diagnosis.randomised_copy(model, seed=1)
    assert [w.shape for w in copy.get_weights()] == [w.shape for w in model.get_weights()]
    assert all(not np.allclose(a, b) for a, b in zip(copy.get_weights()[::2], model.get_weights()[::2]))
    again = diagnosis.randomised_copy(model, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(copy.get_weights(), again.get_weights())), "seeded"


def test_rank_correlation_is_one_for_a_monotone_change_and_zero_for_a_constant_map():
    a = np.random.default_rng(0).random((60, 64))
    assert diagnosis.rank_correlation(a, a ** 3) == pytest.approx(1.0)
    assert diagnosis.rank_correlation(a, -a) == pytest.approx(-1.0)
    assert diagnosis.rank_correlation(a, np.zeros_like(a)) == 0.0


def test_on_the_real_data_exp0_decides_from_the_background():
    """The page's central claim, computed: exp0 finds no "left" amigo as is, some once the CMU
    studio's background replaces theirs, and loses CMU "left" faces when the background is hidden."""
    spec, model = zoo.variant("exp0"), zoo.load("exp0")
    cmu, amigos = diagnosis.cmu_set(spec, limit=24), diagnosis.amigo_set(limit=46)
    assert len(cmu) == 24 and cmu.faces.any(axis=(1, 2)).all()
    amigo_rows = diagnosis.interventions(model, spec.classes, amigos, cmu)
    cmu_rows = diagnosis.interventions(model, spec.classes, cmu, cmu)
    assert amigo_rows["as is"]["left_recall"] == 0.0
    assert amigo_rows["CMU background"]["left_recall"] > 0.2
    # the backdrop alone, the whole head kept: the studio behind the head is what it looks for
    assert amigo_rows["CMU backdrop"]["left_recall"] > 0.5
    assert cmu_rows["background hidden"]["left_recall"] < cmu_rows["as is"]["left_recall"]


def test_empty_gradcam_cases_are_counted_and_their_evidence_before_averaging_found():
    from vislib import data

    faces = data.load_cmu()
    inputs = faces.images[data.split_indices(faces.poses, seed=0)[1]]
    counts = diagnosis.empty_gradcam(zoo.load("exp0"), inputs, ("not left", "left"))
    assert 0 < counts["gradcam_empty"] <= counts["judged_left"] <= len(inputs)
    assert counts["faces"] == len(inputs)
    assert counts["positive_before_averaging"] <= counts["gradcam_empty"]
    assert counts["occlusion_empty"] == 0
    model = zoo.load("exp0")
    assert len(counts["examples"]) == counts["gradcam_empty"]
    for at in counts["examples"][:2]:  # each one: judged left, an empty Grad-CAM, and evidence a person can see
        found = diagnosis.gradcam_evidence(model, inputs[at], ("not left", "left"))
        assert found["left_score"] > 0.5
        assert not attribution.attribute(model, inputs[at], "gradcam", class_index=1).heatmap.any()
        assert found["before_averaging"].shape == found["occlusion"].shape == inputs.shape[1:3]
        assert found["before_averaging"].max() == pytest.approx(1.0) and found["occlusion"].any()


def test_layer_gradient_is_what_gradcam_averages():
    from vislib.attribution import gradcam

    model = zoo.load("exp0")
    x = synthetic_set(1).inputs
    a, grad = gradcam.layer_gradient(model, x, 1, "conv2d_3")
    cam = np.maximum((a * grad.mean(axis=(0, 1))).sum(axis=-1), 0)
    ours = gradcam.gradcam(model, x, 1, "conv2d_3")
    assert a.shape == grad.shape == (15, 16, 32)
    if cam.max() > 0:  # the upsampled map peaks where the layer's map does
        assert ours.max() == pytest.approx(cam.max(), rel=1e-4)
    else:
        assert not attribution.attribute(model, x[0], "gradcam", class_index=1).heatmap.any()


def test_a_network_split_by_person_is_diagnosed_on_cmu_people_it_never_trained_on():
    spec = zoo.variant("ex2-3")
    faces = diagnosis.cmu_set(spec, limit=12)
    held_out = set(zoo.read_json("ex2-3", "metrics.json")["split"]["test_people"])
    assert len(faces) == 12 and {f.split("/")[0] for f in faces.files} <= held_out
    originals = diagnosis.cmu_set(zoo.variant("exp0"), limit=12)  # the original study's split by image
    assert len({f.split("/")[0] for f in originals.files} - held_out) > 0
    # named for what they are, in the charts' titles too
    assert (faces.name, originals.name) == ("CMU faces of held-out people", "CMU test faces")


def test_a_spread_of_every_amigo_is_the_amigo_set_of_that_size():
    """The page frames the amigos once and takes its 46 from them: the same faces as amigo_set(46)."""
    every, some = diagnosis.amigo_set(None), diagnosis.amigo_set(diagnosis.AMIGOS_SHOWN)
    spread = every.spread(diagnosis.AMIGOS_SHOWN)
    assert len(every) > len(some) == len(spread) == diagnosis.AMIGOS_SHOWN
    assert spread.files == some.files and spread.poses == some.poses
    np.testing.assert_array_equal(spread.inputs, some.inputs)
    np.testing.assert_array_equal(spread.faces, some.faces)


def test_where_it_looks_in_one_photo_is_judged_as_for_the_sets_and_said_only_when_it_means_something():
    face = np.zeros((60, 64), bool)
    face[15:45, 16:48] = True  # 25% of the picture
    on_face, around = np.where(face, 1.0, 0.0), np.where(face, 0.0, 1.0)
    said = diagnosis.where_it_looks_here(on_face, face)
    assert said.startswith("In this photo the middle of the face (eyes, nose and mouth) covers **25%**")
    assert "**100%** of the heat is on it: most of it." in said
    said = diagnosis.where_it_looks_here(around + 0.05 * on_face, face)
    assert "**2%** of the heat is on it, 0.1 times its share: it looks around the face rather than at it." in said
    assert diagnosis.where_it_looks_here(np.zeros((60, 64)), face) is None  # no heat: nothing to share
    assert diagnosis.where_it_looks_here(on_face, np.zeros((60, 64), bool)) is None  # no face in view
