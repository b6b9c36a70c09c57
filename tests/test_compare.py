"""vislib.compare: linear CKA has the invariances it should, the unit matching finds a known
pairing, and the comparison of shipped variants says what the models are."""

import re
from dataclasses import replace
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from vislib import compare, settings, surgery, zoo


def random_data(n=80, features=30, seed=0):
    return np.random.default_rng(seed).normal(size=(n, features))


def random_orthogonal(size, seed=1):
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(size, size)))
    return q * np.sign(np.diag(r))


def test_cka_of_a_representation_with_itself_is_one():
    x = random_data()
    assert compare.linear_cka(x, x) == pytest.approx(1.0)
    # also for (N, H, W, C) activations, flattened per example
    acts = np.random.default_rng(2).uniform(size=(20, 6, 5, 3))
    assert compare.linear_cka(acts, acts) == pytest.approx(1.0)


def test_cka_is_invariant_to_orthogonal_transforms():
    x, y = random_data(seed=0), random_data(seed=3) + 0.5 * random_data(seed=0)
    q = random_orthogonal(x.shape[1])
    assert not np.allclose(x @ q, x)
    assert compare.linear_cka(x, x @ q) == pytest.approx(1.0)
    assert compare.linear_cka(x @ q, y) == pytest.approx(compare.linear_cka(x, y))
    assert compare.linear_cka(x, y @ random_orthogonal(y.shape[1], seed=5)) == pytest.approx(compare.linear_cka(x, y))


def test_cka_is_invariant_to_isotropic_scaling_but_not_to_stretching_one_feature():
    x, y = random_data(seed=0), random_data(seed=3) + 0.5 * random_data(seed=0)
    base = compare.linear_cka(x, y)
    assert compare.linear_cka(3.7 * x, y) == pytest.approx(base)
    assert compare.linear_cka(x, 0.01 * y) == pytest.approx(base)
    stretched = x.copy()
    stretched[:, 0] *= 100.0  # an anisotropic scaling: CKA is not invariant to it, so the test can fail
    assert abs(compare.linear_cka(stretched, y) - base) > 0.05


def test_cka_of_independent_random_data_is_low_and_of_related_data_high():
    x, y = random_data(n=400, features=10, seed=0), random_data(n=400, features=10, seed=9)
    assert compare.linear_cka(x, y) < 0.15
    assert compare.linear_cka(x, x @ random_data(n=10, features=10, seed=4)) > 0.5  # a linear map of x


def test_cka_needs_the_same_inputs():
    with pytest.raises(ValueError, match="same inputs"):
        compare.linear_cka(random_data(n=10), random_data(n=11))


def test_the_matching_recovers_a_known_permutation_of_units():
    rng = np.random.default_rng(0)
    maps = rng.uniform(size=(12, *settings.INPUT_SHAPE[:2])).astype(np.float32)
    permutation = rng.permutation(12)
    noisy = maps[permutation] + rng.normal(0, 0.05, maps.shape).astype(np.float32)
    atlas_a = SimpleNamespace(images={"conv2d_1": maps})
    atlas_b = SimpleNamespace(images={"conv2d_1": noisy})
    match = compare.happymap_similarity(atlas_a, atlas_b, "conv2d_1")
    # B's unit j is A's unit permutation[j]
    assert sorted((a, b) for a, b, _ in match.pairs) == sorted((int(permutation[j]), j) for j in range(12))
    assert match.mean > 0.9 > 0.2 > abs(match.baseline)
    # a layer with fewer units in B: one pair per unit of B
    fewer = compare.happymap_similarity(atlas_a, SimpleNamespace(images={"conv2d_1": noisy[:5]}), "conv2d_1")
    assert len(fewer.pairs) == 5 and (fewer.units_a, fewer.units_b) == (12, 5)
    assert {a for a, _, _ in fewer.pairs} == {int(p) for p in permutation[:5]}


@pytest.fixture(scope="module")
def inputs():
    return compare.reference_inputs()


def test_the_reference_inputs_are_every_cmu_test_face_and_the_amigos(inputs):
    assert inputs[compare.CMU].shape == (124, *settings.INPUT_SHAPE)
    assert inputs[compare.AMIGOS].shape == (46, *settings.INPUT_SHAPE)


def test_a_model_agrees_with_itself_and_its_layers_match_their_own(inputs):
    model = zoo.load("exp0")
    for x in inputs.values():
        assert compare.decision_agreement(model, model, x)["agreement"] == 1.0
        layers_a, layers_b, matrix = compare.cka_matrix(model, model, x)
        assert layers_a == layers_b == ["input", *compare.compared_layers(model)]
        np.testing.assert_allclose(np.diag(matrix), 1.0, atol=1e-6)
        assert matrix.min() < 0.5  # the decision layer is far from the pixels


def test_a_model_that_always_says_left_disagrees_on_the_faces_that_are_not():
    x = compare.cmu_test_inputs()
    model = zoo.load("exp0")
    inputs = keras.Input(settings.INPUT_SHAPE)
    constant = keras.layers.Dense(2, activation="softmax", name="dense_1")
    always_left = keras.Model(inputs, constant(keras.layers.Flatten()(inputs)))
    constant.set_weights([np.zeros((3840, 2), np.float32), np.array([0.0, 5.0], np.float32)])
    said = compare.said_left(model, x)
    result = compare.decision_agreement(model, always_left, x)
    assert result["left_b"] == 1.0
    assert result["agreement"] == pytest.approx(said.mean())


def test_the_four_pose_variant_is_compared_as_left_or_not_left(inputs):
    four = zoo.load("ex1-4")
    x = inputs[compare.CMU]
    scores = four.predict_on_batch(x)
    assert scores.shape[1] == 4
    np.testing.assert_array_equal(compare.said_left(four, x), scores.argmax(axis=1) == zoo.variant("ex1-4").classes.index("left"))


def test_ex1_1_dense_layers_match_exp0_better_than_a_random_weight_copy_does(inputs):
    exp0, ex11 = zoo.load("exp0"), zoo.load("ex1-1")
    random = surgery.randomized_copy(ex11, seed=0)
    x = inputs[compare.CMU]
    layers_a, layers_b, trained = compare.cka_matrix(exp0, ex11, x)
    _, _, shuffled = compare.cka_matrix(exp0, random, x)
    for layer in ("dense_1", "dense_2", "dense_3"):
        i, j = layers_a.index(layer), layers_b.index(layer)
        assert trained[i, j] > shuffled[i, j] + 0.3, layer


def test_the_comparison_of_two_shipped_variants(inputs):
    result = compare.compare("exp0", "ex1-1")
    assert set(result.cka) == {compare.CMU, compare.AMIGOS}
    assert result.cka[compare.CMU].shape == (len(result.layers_a), len(result.layers_b))
    assert 0.0 <= result.cka[compare.CMU].min() and result.cka[compare.CMU].max() <= 1.0 + 1e-9
    assert set(result.happymaps) == set(zoo.unit_layers(zoo.load("exp0")))
    conv = result.happymaps["conv2d_1"]
    assert (conv.units_a, conv.units_b, len(conv.pairs)) == (16, 8, 8)  # ex1-1 has half the filters
    for match in result.happymaps.values():
        assert match.mean >= match.baseline  # the best matching is never worse than random pairing
    assert result.same_layer_cka()["dense_3"] > result.cka_random[compare.CMU]["dense_3"]


def test_a_hidden_layer_is_never_paired_with_the_other_networks_decision(inputs):
    """ex1-5 has no hidden dense layer: its decision is "dense_1", which ex2-3 uses for 64 hidden units."""
    result = compare.compare("ex2-3", "ex1-5")
    assert result.counterparts["dense_3"] == "dense_1" and "dense_1" not in result.counterparts
    assert set(result.same_layer_cka()) == set(result.counterparts)
    assert result.label("dense_3") == "dense_3 ↔ dense_1" and result.label("conv2d_1") == "conv2d_1"
    decision = result.happymaps["dense_3"]
    assert (decision.units_a, decision.units_b) == (2, 2) and "dense_1" not in result.happymaps
    i, j = result.layers_a.index("dense_3"), result.layers_b.index("dense_1")
    assert result.same_layer_cka()["dense_3"] == pytest.approx(result.cka[compare.CMU][i, j])


def test_python_m_vislib_compare_prints_its_figures_and_time(capsys):
    assert compare.main(["exp0", "ex1-1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"compare: \d+\.\d\d s.*", lines[-1])
    text = "\n".join(lines)
    assert "Linear CKA on 124 CMU test faces" in text and "Linear CKA on 46 three amigos" in text
    assert re.search(r"CMU test faces: \d+\.\d% of 124", text)
    assert re.search(r"conv2d_1: \d\.\d\d \(baseline -?\d\.\d\d; 8 pairs of 16 x 8 units\)", text)
    assert "In short: exp0 and ex1-1 give the same answer to" in text


def test_the_compare_charts_name_layers_as_the_tables_and_other_pages_do():
    from vislib import plots

    layers = ["conv2d_1", "max_pooling2d_1", "dense_1"]
    heat = plots.cka_heatmap(layers, layers, np.eye(3)).data[0]
    assert list(heat.x) == list(heat.y) == layers
    assert list(plots.matched_similarity_bars(layers, [0.9, 0.8, 0.7], [0.1, 0.1, 0.1]).data[0].x) == layers


def _comparison(agreement, cka, cka_random, maps, amigos_cka=None):
    """A Comparison of exp0 with ex1-1 with these figures for the decision (dense_3 in both); amigos_cka: the
    decision layers' CKA and its random copy's on the three amigos, where there is one."""
    layers = ["dense_3"]
    cka_of, random_of = {compare.CMU: np.array([[cka]])}, {compare.CMU: {"dense_3": cka_random}}
    if amigos_cka is not None:
        cka_of[compare.AMIGOS], random_of[compare.AMIGOS] = np.array([[amigos_cka[0]]]), {"dense_3": amigos_cka[1]}
    return compare.Comparison(
        "exp0", "ex1-1", layers, layers, cka_of, random_of,
        {compare.CMU: {"agreement": agreement, "left_a": 0.3, "left_b": 0.3, "n": 40},
         compare.AMIGOS: {"agreement": 1.0, "left_a": 0.0, "left_b": 0.0, "n": 46}},
        {} if maps is None else {"dense_3": compare.UnitMatch("dense_3", [], maps[0], maps[1], 2, 2)},
        counterparts={"dense_3": "dense_3"})


def test_a_best_pairing_below_zero_is_said_in_words():
    # conv2d_1's best matching read -0.33 on the chart, with nothing said about a negative best match
    assert _comparison(1.0, 0.98, 0.1, (0.9, 0.1)).opposite_maps() == ""
    said = _comparison(1.0, 0.98, 0.1, (-0.33, -0.40)).opposite_maps()
    assert said == (" For dense_3, even the best pairing is below 0: each of exp0's maps there tends to be brighter "
                    "where its partner in ex1-1 is darker, whichever partner it gets.")


def test_the_comparison_in_short_counts_the_measures_that_say_alike():
    """A client found the page's three sections and no conclusion: in_short draws it from their figures."""
    same = _comparison(1.0, 0.98, 0.1, (0.9, 0.1)).in_short()
    assert ("give the same answer to 100% of the CMU test faces and 100% of the three amigos (95% or more on "
            "every set counts as alike)") in same
    assert "(CKA 0.98 on the CMU test faces, 0.10 with a random copy)" in same
    assert "By all three measures they learned much the same thing" in same
    # a high CKA that a random copy reaches too is not "alike"; nor are answers that differ on 10%
    two = _comparison(0.9, 0.9, 0.8, (0.9, 0.1)).in_short()
    assert "hold different information" in two and "By one of the three measures (their HappyMaps)" in two
    assert "by the others (their answers and their decision layers), not." in two
    assert "By none of the three" in _comparison(0.5, 0.2, 0.1, (0.3, 0.1)).in_short()
    # decision layers alike on CMU faces and not on the amigos are not alike: the amigos tell networks apart
    mixed = _comparison(1.0, 0.99, 0.01, (0.9, 0.1), amigos_cka=(0.04, 0.28)).in_short()
    assert ("hold much the same information on the CMU test faces, but not on the three amigos (CKA 0.99 on the CMU "
            "test faces, 0.01 with a random copy; 0.04 on the three amigos, 0.28 with a random copy)") in mixed
    assert ("By two of the three measures (their answers and their HappyMaps) they learned much the same thing; by "
            "the other (their decision layers), not (a measure counts only where it holds on every set of faces).") \
        in mixed
    without_maps = _comparison(1.0, 0.98, 0.1, None).in_short()  # no atlas: two measures
    assert "By both measures they learned much the same thing" in without_maps and "HappyMaps" not in without_maps
    # no data sets: the HappyMaps alone, said as one measure, and why the others are missing
    maps_only = replace(_comparison(1.0, 0.98, 0.1, (0.9, 0.1)), cka={}, cka_random={}, agreement={},
                        data_problem="no faces").in_short()
    assert "By this one measure (their HappyMaps) they learned much the same thing." in maps_only
    assert "compared on the data sets, which are not here" in maps_only and "answer" not in maps_only.split(".")[0]
    nothing = replace(_comparison(1.0, 0.98, 0.1, None), cka={}, cka_random={}, agreement={}, data_problem="no faces")
    assert nothing.in_short().startswith(f"{nothing.a} and {nothing.b} cannot be compared here.")


def test_the_cmu_faces_note_says_whom_each_network_trained_on(monkeypatch):
    assert "(exp0: all 20; ex1-1: all 20)" in compare.cmu_faces_note("exp0", "ex1-1", 124)
    note = compare.cmu_faces_note("exp0", "ex2-4", 124)
    assert "the same 124 pictures" in note and "ex2-4: 16 of the 20, 4 held out" in note
    def damaged(name, file, root=None):
        raise zoo.ModelLoadError("damaged")
    monkeypatch.setattr(zoo, "read_json", damaged)  # no metrics: still a sentence, without a made-up count
    assert "ex2-4: most of the 20" in compare.cmu_faces_note("exp0", "ex2-4", 124)
