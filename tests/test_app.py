"""Every page through Streamlit's AppTest: rendering, widgets, uploads, and errors."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from apppages import open_page
from vislib import settings, zoo

APP = str(settings.REPO_ROOT / "app.py")
HAPPYMAPS = "pages/1_HappyMaps.py"
PHOTO = "pages/2_Your_photo.py"
WHY = "pages/3_Why_it_fails.py"
APP_PAGE = "app.py"
TIMEOUT = 300


def fresh() -> AppTest:
    return open_page()


def assert_healthy(at: AppTest):
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_overview_shows_the_chosen_variants_figures_and_keeps_the_choice_across_pages():
    at = fresh()
    assert_healthy(at)
    metrics = zoo.read_json("exp0", "metrics.json")
    values = {m.label: m.value for m in at.metric}
    assert values["CMU test, same people"] == f"{metrics['accuracy']['test']:.1%}"
    assert values["Three amigos"] == f"{metrics['accuracy']['three_amigos']['overall']:.1%}"
    assert values["CMU, new people"] == f"{metrics['accuracy']['cmu_new_people']['overall']:.1%}"
    assert values["“Left” faces found"] == f"{metrics['accuracy']['three_amigos']['left_recall']:.1%}"
    if metrics['accuracy']['three_amigos']['left_recall'] < 0.2:  # a constant answer is called out
        assert any("comes from answering “not left”" in w.value for w in at.warning)
    at.sidebar.selectbox(key="variant").set_value("ex1-4").run()
    assert_healthy(at)
    values = {m.label: m.value for m in at.metric}
    assert values["Parameters"] == f"{zoo.read_json('ex1-4', 'metrics.json')['params']:,}"
    at.switch_page(HAPPYMAPS).run()
    assert at.sidebar.selectbox(key="variant").value == "ex1-4"
    at.switch_page(PHOTO).run()
    assert at.sidebar.selectbox(key="variant").value == "ex1-4"
    assert any("Gourier" in c.value for c in fresh().caption), "the Overview scores Pointing'04 images: cite"


def test_the_overview_bars_show_the_left_recall_of_the_cmu_test_too():
    import json

    from vislib import report

    at = fresh()
    assert_healthy(at)
    accuracy, recall = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    metrics = zoo.read_json("exp0", "metrics.json")
    assert recall["x"][0] == "CMU test,<br>same people" and recall["y"][0] == pytest.approx(report.cmu_test_recall(metrics))
    assert recall["text"][0], "the first group's recall bar has its label"


def test_a_chart_never_zooms_and_its_title_wraps_as_text_above_it():
    """On a phone, Plotly's drag-to-zoom caught every swipe that began on a chart (the browser test swipes)."""
    import json

    at = fresh()
    at.switch_page(APP_PAGE).run()
    charts = at.get("plotly_chart")
    assert len(charts) >= 3  # the bars, the training curves, the confusion matrices
    for chart in charts:
        layout = json.loads(chart.proto.spec)["layout"]
        axes = [v for k, v in layout.items() if k.startswith(("xaxis", "yaxis"))]
        assert layout["dragmode"] is False and axes and all(a.get("fixedrange") for a in axes), layout
        config = json.loads(chart.proto.config)
        assert config["scrollZoom"] is False and config["doubleClick"] is False
    # a chart's title is text above it, which wraps on a phone (Plotly's was cut at the screen's edge)
    assert not any(json.loads(c.proto.spec)["layout"].get("title", {}).get("text") for c in charts)
    assert "**Three amigos, face framed**" in [m.value for m in at.markdown]


def test_chart_labels_and_bar_texts_read_at_wcag_contrast():
    """Streamlit's chart gray was 3.7:1 on white, white on the chosen class's green 3.4:1 (WCAG asks 4.5:1)."""
    import json

    from vislib import plots

    at = fresh()
    at.switch_page(PHOTO).run()
    at.selectbox(key="photo_sample").set_value("Sample: cameraman").run()
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert charts
    for chart in charts:
        axes = [v for k, v in chart["layout"].items() if k.startswith(("xaxis", "yaxis"))]
        assert all(plots.contrast(a["tickfont"]["color"], "#ffffff") >= 4.5 for a in axes)
    bars = [t for c in charts for t in c["data"] if t.get("type") == "bar" and "insidetextfont" in t]
    assert bars  # the class probabilities
    for bar in bars:
        colours = bar["marker"]["color"] if isinstance(bar["marker"]["color"], list) else [bar["marker"]["color"]]
        inks = bar["insidetextfont"]["color"]
        inks = inks if isinstance(inks, list) else [inks] * len(colours)
        assert all(plots.contrast(fill, ink) >= 4.5 for fill, ink in zip(colours, inks))


def test_an_experiment_2_networks_curves_and_matrix_name_its_test_faces_held_out_people():
    import json

    at = fresh()
    at.sidebar.selectbox(key="variant").set_value("ex2-4").run()
    assert_healthy(at)
    names = {trace.get("name") for c in at.get("plotly_chart") for trace in json.loads(c.proto.spec)["data"]}
    assert "CMU, 4 held-out people" in names and "test" not in names
    assert "**CMU, 4 held-out people**" in [m.value for m in at.markdown]  # the confusion matrix's title


def test_a_charts_title_as_text_keeps_its_words_and_no_markdown_of_its_own():
    import ui

    assert ui.title_as_markdown("Three amigos,<br>face framed") == "Three amigos, face framed"
    assert ui.title_as_markdown("<b>Grad-CAM++</b> at $5 *each* [x](y) conv2d_1") == \
        r"Grad-CAM++ at \$5 \*each\* \[x\](y) conv2d\_1"


def test_the_cmu_test_recall_is_read_off_the_confusion_matrix():
    from vislib import report

    binary = {"classes": ["not left", "left"], "confusion": {"test": [[50, 2], [3, 45]]}}
    assert report.cmu_test_recall(binary) == pytest.approx(45 / 48)
    pose = {"classes": ["left", "right", "straight", "up"], "confusion": {"test": [[8, 1, 1, 0], [0, 9, 0, 0],
                                                                                  [0, 0, 9, 0], [0, 0, 0, 9]]}}
    assert report.cmu_test_recall(pose) == pytest.approx(0.8)
    assert report.cmu_test_recall({"classes": ["not left", "left"], "confusion": {}}) is None


def test_the_all_variants_table_has_every_shipped_variant_with_its_figures():
    at = fresh()
    assert_healthy(at)
    tables = [d.value for d in at.dataframe if "variant" in d.value.columns]
    assert tables, "the All variants tab shows a table"
    # the amigos' figures first (the table's message, in view on a narrow screen), the long text last
    assert list(tables[0].columns[:3]) == ["variant", "amigos, framed", "“left” recall"]
    assert tables[0].columns[-1] == "what changed"
    table = tables[0].set_index("variant")
    assert list(table.index) == zoo.shipped_variants()
    for name, faces in (("exp0", "same people"), ("ex2-4", "held-out people")):
        accuracy = zoo.read_json(name, "metrics.json")["accuracy"]
        assert table.loc[name, "CMU test"] == pytest.approx(100 * accuracy["test"])
        assert table.loc[name, "CMU test faces"] == faces  # said beside the figure: the splits differ
        assert table.loc[name, "amigos, framed"] == pytest.approx(100 * accuracy["three_amigos"]["overall"])
        assert table.loc[name, "“left” recall"] == pytest.approx(100 * accuracy["three_amigos"]["left_recall"])
    assert table.loc["ex2-4", "what changed"] == zoo.variant("ex2-4").short_title  # whole in its cell
    note, = (c.value for c in at.caption if c.value.startswith("**CMU test**"))
    assert "three people from another studio" in note  # who the amigos are, said where their figures are
    assert ("An empty cell" in note) == bool(table.isna().any().any())  # never a claim about cells not there


def picture_captions(at) -> list[str]:
    """Captions of pictures: an image's own, and those drawn under it (`ui.image`, HappyMaps' montages)."""
    return [img.caption for element in at.get("image") for img in element.proto.imgs] + [c.value for c in at.caption]


def test_happymaps_paints_the_atlas_at_once_then_regenerates_after_a_slider_change():
    at = fresh().switch_page(HAPPYMAPS).run()
    assert_healthy(at)
    assert at.sidebar.selectbox(key="hm_layer_exp0").value == "dense_3"  # the decision layer first
    assert at.sidebar.selectbox(key="hm_layer_exp0").options[0].startswith("dense_3 · decision: not left/left")
    assert len(at.get("image")) == 2  # the maps, and what the network adds to the mean face
    assert any("precomputed atlas" in c.value for c in at.caption)
    # the reason for the logit is said on the page, not only in a help text
    assert any("logit" in c.value and "a probability stops near 100%" in c.value and "1 = **left**" in c.value
               for c in at.caption)
    at.sidebar.selectbox(key="hm_layer_exp0").set_value("conv2d_1").run()
    at.sidebar.slider(key="hm_blur_every").set_value(4).run()
    at.sidebar.slider(key="hm_blur_sigma").set_value(2.0).run()
    at.sidebar.slider(key="hm_steps").set_value(8).run()
    # nothing regenerated yet: the atlas's maps stay on screen, marked out of date
    assert len(at.get("image")) == 2 and not any("Press **Regenerate**" in i.value for i in at.info)
    assert any("Out of date" in c.value and "atlas" in c.value for c in at.caption)
    at.button(key="hm_regenerate").click().run()
    assert_healthy(at)
    assert any("16 units × 8 steps" in c.value for c in at.caption)
    assert len(at.get("image")) == 2
    at.sidebar.slider(key="hm_blur_sigma").set_value(1.0).run()  # the last result stays, marked out of date
    assert_healthy(at)
    assert len(at.get("image")) == 2 and any("Out of date" in c.value for c in at.caption)


def test_the_blur_width_is_offered_only_while_the_picture_is_blurred():
    # at "blur every 0" the width did nothing, and moving it still said "custom settings"
    at = fresh().switch_page(HAPPYMAPS).run()
    width = at.sidebar.slider(key="hm_blur_sigma")
    assert width.disabled and "Blur every N steps" in width.help
    at.sidebar.slider(key="hm_blur_every").set_value(4).run()
    assert not at.sidebar.slider(key="hm_blur_sigma").disabled
    at.sidebar.slider(key="hm_blur_sigma").set_value(2.0).run()
    assert_healthy(at)


def test_side_by_side_out_of_date_maps_make_their_likeness_out_of_date_and_the_checks_wait():
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.selectbox(key="hm_layer_exp0").set_value("conv2d_1").run()
    at.sidebar.selectbox(key="hm_compare").set_value("ex1-1").run()
    assert not any("out of date" in w.value for w in at.warning)  # the atlas's own settings: current
    assert at.metric[0].label.startswith("How alike")
    at.sidebar.select_slider(key="hm_decay").set_value(0.3).run()  # no map computed for these settings yet
    assert any("number below is **out of date**, like exp0's and ex1-1's maps" in w.value for w in at.warning)
    at.sidebar.toggle(key="hm_sanity").set_value(True).run()
    at.sidebar.toggle(key="hm_top").set_value(True).run()
    assert_healthy(at)
    assert sum("sanity check and the training faces are shown only beside maps of the settings chosen" in i.value
               for i in at.info) == 1  # said once, not in both panels


def test_the_offer_of_a_better_preset_is_made_at_the_default_only():
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.selectbox(key="variant").set_value("ex2-4").run()
    assert any("how far each head is turned" in i.value for i in at.info)
    at.sidebar.select_slider(key="hm_decay").set_value(0.3).run()  # moved on purpose: not asked again
    assert_healthy(at)
    assert not any("how far each head is turned" in i.value for i in at.info)


def test_one_unit_is_said_in_the_singular():
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.selectbox(key="hm_layer_exp0").set_value("dense_1").run()
    at.sidebar.toggle(key="hm_all_exp0_dense_1").set_value(False).run()
    at.sidebar.multiselect(key="hm_units_exp0_dense_1").set_value([1]).run()
    at.sidebar.slider(key="hm_steps").set_value(8).run()
    at.button(key="hm_regenerate").click().run()
    assert_healthy(at)
    assert any(c.value.startswith("1 unit × 8 steps in") for c in at.caption), [c.value for c in at.caption]


def test_maps_that_start_from_noise_are_not_drawn_as_departures_from_the_mean_face():
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.selectbox(key="hm_preset").set_value("regularisers-3").run()  # the paper's: pixels from noise
    at.sidebar.slider(key="hm_steps").set_value(8).run()
    at.button(key="hm_regenerate").click().run()
    at.sidebar.toggle(key="hm_sanity").set_value(True).run()
    assert_healthy(at)
    assert any("these start from random noise" in c.value for c in at.caption)
    assert not any(c.startswith("What the network adds: the map minus") for c in picture_captions(at))
    assert any("random network" in m.label and m.value != "–" for m in at.metric)
    assert any("from what the network learned" in c.value or "comes from the method" in c.value for c in at.caption), \
        "the check's figure in words, not only on hover"


def test_a_preset_sets_the_four_regulariser_sliders_and_reset_restores_the_default():
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.selectbox(key="hm_preset").set_value("regularisers-2").run()
    assert at.sidebar.select_slider(key="hm_decay").value == pytest.approx(0.3)
    assert at.sidebar.slider(key="hm_norm_pct").value == pytest.approx(20.0)
    assert at.sidebar.slider(key="hm_blur_every").value == 0
    assert at.sidebar.selectbox(key="hm_image").value == "pixels"
    at.sidebar.select_slider(key="hm_decay").set_value(0.0001).run()  # both ends of the paper's table
    assert at.sidebar.select_slider(key="hm_decay").value == pytest.approx(0.0001)
    at.sidebar.toggle(key="hm_stretch").set_value(False).run()
    at.sidebar.toggle(key="hm_sanity").set_value(True).run()
    at.sidebar.selectbox(key="hm_compare").set_value("ex1-1").run()
    at.button(key="hm_reset").click().run()
    assert_healthy(at)
    assert at.sidebar.selectbox(key="hm_preset").value == "legible"
    assert at.sidebar.selectbox(key="hm_image").value == "faces"
    # the view and the comparison too: Reset brings back the page as it first opened
    assert at.sidebar.toggle(key="hm_stretch").value and not at.sidebar.toggle(key="hm_sanity").value
    assert at.sidebar.selectbox(key="hm_compare").value == "(none)"
    assert any("precomputed atlas" in c.value for c in at.caption)


def test_extreme_slider_values_and_a_side_by_side_comparison_do_not_break_the_page():
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.selectbox(key="hm_layer_exp0").set_value("dense_3").run()
    at.sidebar.select_slider(key="hm_decay").set_value(0.5).run()
    at.sidebar.slider(key="hm_norm_pct").set_value(100.0).run()
    at.sidebar.slider(key="hm_contrib_pct").set_value(100.0).run()
    at.sidebar.select_slider(key="hm_learning_rate").set_value(0.5).run()
    at.sidebar.slider(key="hm_steps").set_value(8).run()
    at.sidebar.selectbox(key="hm_compare").set_value("ex1-1").run()
    at.button(key="hm_regenerate").click().run()
    assert_healthy(at)
    assert len(at.get("image")) == 4
    assert sum("units × 8 steps" in c.value for c in at.caption) == 2


def test_happymaps_sanity_check_and_an_empty_unit_choice_are_said_in_words():
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.slider(key="hm_steps").set_value(8).run()
    at.button(key="hm_regenerate").click().run()
    at.sidebar.toggle(key="hm_sanity").set_value(True).run()
    assert_healthy(at)
    assert any("random network" in m.label for m in at.metric)
    assert any("Adebayo" in c for c in picture_captions(at))
    at.sidebar.toggle(key="hm_all_exp0_dense_3").set_value(False).run()
    at.sidebar.multiselect(key="hm_units_exp0_dense_3").set_value([]).run()
    assert_healthy(at)
    assert any("No unit chosen" in i.value for i in at.info)


def test_maps_that_stay_the_mean_face_are_said_so_and_get_no_sanity_figure():
    """Clipping every pixel keeps each map at the mean face: the random copy's maps are the same
    picture, which once read r = 0.00, "the picture comes from what the network learned"."""
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.slider(key="hm_steps").set_value(8).run()
    at.sidebar.slider(key="hm_norm_pct").set_value(100.0).run()
    at.button(key="hm_regenerate").click().run()
    at.sidebar.toggle(key="hm_sanity").set_value(True).run()
    assert_healthy(at)
    assert any("2 of 2 maps stayed the mean face" in c.value for c in at.caption)
    assert any("random network" in m.label and m.value == "–" for m in at.metric)
    assert any("r: – for 2 of 2 units" in c.value for c in at.caption)
    assert any("±0.03" in c for c in picture_captions(at)), \
        "a flat difference is drawn on a scale no narrower than a visible one"


def test_units_that_never_fire_are_said_in_words_and_not_optimised(monkeypatch):
    from vislib import workers

    asked = []
    original = workers.REGENERATORS.regenerate

    def spying_regenerate(variant, layer, units, *args, **kwargs):
        asked.append((layer, list(units), kwargs.get("randomized", False)))
        return original(variant, layer, units, *args, **kwargs)

    monkeypatch.setattr(workers.REGENERATORS, "regenerate", spying_regenerate)
    flags = zoo.read_json("exp0", "unit_stats.json")["dense_1"]["dead"]
    silent = [u for u, dead in enumerate(flags) if dead]
    assert silent, "exp0's dense_1 has units that never fire; pick a layer that does"
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.selectbox(key="hm_layer_exp0").set_value("dense_1").run()
    at.sidebar.slider(key="hm_steps").set_value(8).run()
    at.button(key="hm_regenerate").click().run()
    assert_healthy(at)
    live = [u for u in range(len(flags)) if u not in silent]
    assert asked == [("dense_1", live, False)]
    assert any(f"{len(live)} units × 8 steps" in c.value and f"{len(silent)} chosen units never fire" in c.value
               for c in at.caption)
    at.sidebar.toggle(key="hm_sanity").set_value(True).run()  # the random copy: the same live units
    assert_healthy(at)
    assert asked[-1] == ("dense_1", live, True)
    assert any("random network" in m.label and m.value != "–" for m in at.metric)
    assert any("from what the network learned" in c.value or "comes from the method" in c.value for c in at.caption), \
        "the check's figure in words, not only on hover"
    at.sidebar.toggle(key="hm_all_exp0_dense_1").set_value(False).run()
    at.sidebar.multiselect(key="hm_units_exp0_dense_1").set_value(silent[:2]).run()
    at.button(key="hm_regenerate").click().run()
    assert_healthy(at)
    assert any("nothing to optimise" in i.value for i in at.info)
    assert len(asked) == 2


def test_happymaps_shows_the_training_faces_each_unit_likes_or_says_they_are_missing(tmp_path, monkeypatch):
    import streamlit as st

    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.toggle(key="hm_top").set_value(True).run()
    assert_healthy(at)
    captions = picture_captions(at)
    assert any("9 CMU training faces that excite it most" in c for c in captions), captions
    at.sidebar.selectbox(key="hm_compare").set_value("ex1-4").run()  # side by side: for both networks
    assert_healthy(at)
    assert sum("9 CMU training faces that excite it most" in c for c in picture_captions(at)) == 2
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(tmp_path))  # an empty data folder
    st.cache_data.clear()
    try:
        at = fresh().switch_page(HAPPYMAPS).run()
        switch = at.sidebar.toggle(key="hm_top")  # greyed, and says why and how to get them
        assert switch.proto.disabled and f"--dest {tmp_path}`" in switch.proto.help
        assert any("need the data sets, which are not here" in c.value for c in at.sidebar.caption)  # seen too
        at.sidebar.selectbox(key="hm_compare").set_value("ex1-4").run()
        assert_healthy(at)
        assert not any("training faces that excite it most" in c for c in picture_captions(at))
    finally:
        st.cache_data.clear()


def test_comparing_the_decision_layer_with_the_four_pose_network_shows_all_its_classes():
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.selectbox(key="hm_compare").set_value("ex1-4").run()
    assert_healthy(at)
    assert any("4 classes (left, right, straight, up)" in c.value for c in at.caption)
    assert any("ex1-4 has 4 classes" in c.value for c in at.caption)


def test_a_damaged_atlas_is_named_with_the_command_that_rebuilds_it(tmp_path, monkeypatch):
    import shutil

    import streamlit as st

    models = shutil.copytree(settings.MODELS_DIR, tmp_path / "models")
    (models / "exp0" / "atlas.npz").write_bytes(b"not an npz at all")
    monkeypatch.setattr(settings, "MODELS_DIR", models)
    st.cache_resource.clear()
    try:
        at = fresh().switch_page(HAPPYMAPS).run()
        assert not at.exception, at.exception
        assert any("damaged" in w.value and "python -m vislib.atlas --variant exp0" in w.value for w in at.warning)
        assert any("Press **Regenerate**" in i.value for i in at.info)
    finally:
        st.cache_resource.clear()


def test_upload_a_good_photo_and_a_bad_file_the_good_one_is_still_classified():
    at = fresh().switch_page(PHOTO).run()
    photo = (settings.SAMPLES_DIR / "astronaut.jpg").read_bytes()
    at.file_uploader[0].set_value([("me.jpg", photo, "image/jpeg"),
                                   ("notes.png", b"not an image at all", "image/png")]).run()
    assert not at.exception
    assert len(at.error) == 1 and "notes.png" in at.error[0].value and "not a picture" in at.error[0].value
    assert [m.label for m in at.metric] == ["Decision"]
    assert at.metric[0].value in ("left", "not left")
    # which network answered, beside the answer: the page starts on the recommended one
    spec = zoo.variant(zoo.RECOMMENDED)
    answered = f"by **{zoo.RECOMMENDED}**, {spec.short_title} (recommended for photos; pick another"
    assert any(c.value.startswith(answered) for c in at.caption), [c.value for c in at.caption]
    captions = picture_captions(at)
    assert any("What the network sees" in c for c in captions), captions
    at.sidebar.selectbox(key="variant").set_value("exp0").run()  # a network picked by hand: no advice
    assert [c.value for c in at.caption if c.value.startswith("by **")] == [f"by **exp0**, {zoo.variant('exp0').title}"]


def test_a_face_only_the_less_sure_pass_finds_is_framed_and_the_page_says_to_check_it():
    from vislib import data

    photo = next(p for p in data.load_pointing04_train() if p.file == "person02/left/person02127-15-90.jpg")
    at = fresh().switch_page(PHOTO).run()
    at.file_uploader[0].set_value(("turned.jpg", photo.path.read_bytes(), "image/jpeg")).run()
    assert_healthy(at)
    captions = picture_captions(at)
    assert any("less sure" in c for c in captions), captions
    assert any("not sure of this face" in c.value for c in at.caption)
    assert not any("Gourier" in c.value for c in at.caption)  # renamed: nothing says it is Pointing'04's
    at.file_uploader[0].set_value((photo.path.name, photo.path.read_bytes(), "image/jpeg")).run()
    assert any("Gourier" in c.value for c in at.caption)  # its original name: cited as the samples are
    at.file_uploader[0].set_value(("me.jpg", (settings.SAMPLES_DIR / "astronaut.jpg").read_bytes(),
                                   "image/jpeg")).run()
    assert not any("not sure of this face" in c.value for c in at.caption)  # a sure face: no warning


def test_a_blank_photo_says_there_is_nothing_to_look_at_and_no_method_crashes():
    """A flat gray photo: occlusion (the default method) finds nothing, and has no fallback of its own."""
    import io

    from PIL import Image

    blank = io.BytesIO()
    Image.new("L", (640, 480), 128).save(blank, format="JPEG")
    at = fresh().switch_page(PHOTO).run()
    at.file_uploader[0].set_value(("gray.jpg", blank.getvalue(), "image/jpeg")).run()
    assert_healthy(at)
    assert any("one flat tone" in w.value and "means nothing" in w.value for w in at.warning)
    assert at.selectbox(key="attr_method").value == "occlusion"
    assert any("Occlusion shows nothing for this photo" in i.value and "one flat tone" in i.value for i in at.info)
    assert not any("In this photo the face covers" in m.value for m in at.markdown)  # no face, no heat: no share
    at.sidebar.selectbox(key="variant").set_value("ex2-4").run()  # standardised: a flat picture becomes zeros
    for method in ("saliency", "smoothgrad", "gradcam", "gradcam++", "occlusion"):
        at.selectbox(key="attr_method").set_value(method).run()
        assert_healthy(at)
        assert any("What the network sees" in c for c in picture_captions(at))


def test_only_a_bad_file_shows_a_clear_message_and_no_traceback():
    at = fresh().switch_page(PHOTO).run()
    at.file_uploader[0].set_value(("broken.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 40, "image/jpeg")).run()
    assert not at.exception
    assert len(at.error) == 1 and "broken.jpg" in at.error[0].value
    assert not at.metric
    assert not at.radio and not at.slider  # no framing or crop controls with nothing to act on


def test_the_page_predicts_for_an_amigo_photo_what_the_metrics_counted_and_cites_the_article():
    at = fresh().switch_page(PHOTO).run()
    options = at.selectbox(key="photo_sample").options
    amigo_options = [o for o in options if o.startswith("Three amigos: ")]
    assert amigo_options
    shown = at.sidebar.selectbox(key="variant").value  # the page offers the recommended variant
    assert shown == zoo.RECOMMENDED
    metrics = zoo.read_json(shown, "metrics.json")
    for option in amigo_options[:3]:
        at.selectbox(key="photo_sample").set_value(option).run()
        assert_healthy(at)
        file = option.removeprefix("Three amigos: ")
        expected = metrics["classes"][metrics["predictions"]["three_amigos"][file]]
        assert at.metric[0].value == expected
        assert any("Gourier" in c.value for c in at.caption)


def test_attribution_method_and_gallery_of_several_photos():
    at = fresh().switch_page(PHOTO).run()
    samples = sorted(settings.SAMPLES_DIR.glob("*.jpg"))[:3]
    at.file_uploader[0].set_value([(p.name, p.read_bytes(), "image/jpeg") for p in samples]).run()
    assert_healthy(at)
    assert at.selectbox(key="photo_chosen").options == [p.name for p in samples]
    for method in ("saliency", "smoothgrad", "gradcam", "gradcam++", "occlusion"):
        at.selectbox(key="attr_method").set_value(method).run()
        assert_healthy(at)


def test_photos_past_the_limit_are_named_not_dropped_in_silence():
    at = fresh().switch_page(PHOTO).run()
    photo = (settings.SAMPLES_DIR / "astronaut.jpg").read_bytes()
    at.file_uploader[0].set_value([(f"photo{i}.jpg", photo, "image/jpeg") for i in range(10)]).run()
    assert_healthy(at)
    assert any("so these 2 are not: photo8.jpg, photo9.jpg" in w.value for w in at.warning), \
        [w.value for w in at.warning]
    assert len(at.selectbox(key="photo_chosen").options) == 8
    at.file_uploader[0].set_value([(f"photo{i}.jpg", photo, "image/jpeg") for i in range(9)]).run()
    assert any("so this one is not: photo8.jpg. Remove some from the list to see it." in w.value for w in at.warning), \
        [w.value for w in at.warning]


def test_a_long_thin_strip_between_two_photos_leaves_both_photos_answered():
    """A 4000x8 strip crashed the page with a traceback, and the two photos beside it were lost."""
    import io

    from PIL import Image

    strip = io.BytesIO()
    Image.new("L", (4000, 8), 128).save(strip, "PNG")
    photo = (settings.SAMPLES_DIR / "astronaut.jpg").read_bytes()
    at = fresh().switch_page(PHOTO).run()
    at.file_uploader[0].set_value([("a.jpg", photo, "image/jpeg"), ("strip.png", strip.getvalue(), "image/png"),
                                   ("b.jpg", photo, "image/jpeg")]).run()
    assert_healthy(at)
    assert at.selectbox(key="photo_chosen").options == ["a.jpg", "strip.png", "b.jpg"]
    assert [m.label for m in at.metric] == ["Decision"]


def test_a_photo_with_no_face_found_is_answered_with_a_warning():
    import io

    from PIL import Image

    sideways = Image.open(settings.SAMPLES_DIR / "astronaut.jpg").rotate(90, expand=True)
    buffer = io.BytesIO()
    sideways.save(buffer, format="JPEG")
    at = fresh().switch_page(PHOTO).run()
    at.file_uploader[0].set_value(("sideways.jpg", buffer.getvalue(), "image/jpeg")).run()
    assert_healthy(at)
    assert any("No face was found" in w.value and "upright" in w.value for w in at.warning)
    at.file_uploader[0].set_value(("upright.jpg", (settings.SAMPLES_DIR / "astronaut.jpg").read_bytes(),
                                   "image/jpeg")).run()
    assert not any("No face was found" in w.value for w in at.warning)


def test_the_photo_looked_at_closer_survives_a_visit_to_another_page():
    at = fresh().switch_page(PHOTO).run()
    samples = sorted(settings.SAMPLES_DIR.glob("*.jpg"))[:2]
    at.file_uploader[0].set_value([(p.name, p.read_bytes(), "image/jpeg") for p in samples]).run()
    at.selectbox(key="photo_chosen").set_value(samples[1].name).run()
    at.switch_page("app.py").run()
    at.switch_page(PHOTO).run()
    assert_healthy(at)
    assert at.selectbox(key="photo_chosen").value == samples[1].name


def test_uploaded_photos_survive_a_visit_to_another_page_until_forgotten():
    at = fresh().switch_page(PHOTO).run()
    at.file_uploader[0].set_value(("me.jpg", (settings.SAMPLES_DIR / "astronaut.jpg").read_bytes(), "image/jpeg")).run()
    assert [m.label for m in at.metric] == ["Decision"]
    at.switch_page(HAPPYMAPS).run()
    at.switch_page(PHOTO).run()
    assert_healthy(at)
    assert [m.label for m in at.metric] == ["Decision"], "the upload was lost"
    assert any("me.jpg" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Forget these photos").click().run()
    assert not at.metric


def test_the_cameraman_sample_shows_what_experiment_2_adds():
    """Every astronaut sample looks about straight, so no sample showed a network finding a face turned left."""
    at = fresh().switch_page(PHOTO).run()
    for variant, turned_left, turned_right in (("ex2-4", "left", "not left"), ("exp0", "not left", "not left")):
        at.sidebar.selectbox(key="variant").set_value(variant).run()
        at.selectbox(key="photo_sample").set_value("Sample: cameraman").run()
        assert_healthy(at)
        assert at.metric[0].value == turned_left, variant
        # where it looks in this photo, in words: the heat on the face the detector found against the face's share
        assert any(m.value.startswith("In this photo the blue box (eyes, nose and mouth) covers **") and "of the heat is on it"
                   in m.value for m in at.markdown), variant
        assert any(c.endswith("over the network's input; the blue box holds the eyes, nose and mouth")
                   for c in picture_captions(at))
        at.selectbox(key="photo_sample").set_value("Sample: cameraman_mirrored").run()
        assert_healthy(at)
        assert at.metric[0].value == turned_right, variant


def test_class_choice_keeps_a_label_that_does_not_change_with_the_decision():
    at = fresh().switch_page(PHOTO).run()
    at.sidebar.selectbox(key="variant").set_value("exp0").run()
    at.selectbox(key="photo_sample").set_value("Sample: astronaut").run()
    first = at.selectbox(key="attr_class_exp0").options
    cmu = [o for o in at.selectbox(key="photo_sample").options if o.startswith("CMU face: ")]
    decisions = set()
    for option in cmu[:4]:
        at.selectbox(key="photo_sample").set_value(option).run()
        assert_healthy(at)
        decisions.add(at.metric[0].value)
        assert at.selectbox(key="attr_class_exp0").options == first == ["its decision", "not left", "left"]
    assert decisions == {"left", "not left"}, "the walk changes the decision, the labels stay"


def test_a_cmu_sample_reaches_an_original_network_as_its_training_faces_did():
    """The originals were trained on CMU's files whole; the face detector's crop of one changed answers."""
    at = fresh().switch_page(PHOTO).run()
    cmu = [o for o in at.selectbox(key="photo_sample").options if o.startswith("CMU face: ")]
    for variant in ("exp0", "ex1-6"):
        at.sidebar.selectbox(key="variant").set_value(variant).run()
        for option in cmu[:6]:
            at.selectbox(key="photo_sample").set_value(option).run()
            assert_healthy(at)
            expected = "left" if "_left_" in option else "not left"
            assert at.metric[0].value == expected, (variant, option)
            assert any("the whole CMU file" in c for c in picture_captions(at))
    assert at.slider(key="photo_zoom").disabled, "the crop does not apply to a file given whole"
    at.sidebar.selectbox(key="variant").set_value("ex2-3").run()  # trained on the detector's crops: framed so
    assert not at.slider(key="photo_zoom").disabled
    assert not any("the whole CMU file" in c for c in picture_captions(at))


def test_a_crop_moved_off_the_photo_says_so():
    at = fresh().switch_page(PHOTO).run()
    at.selectbox(key="photo_sample").set_value("Sample: astronaut").run()
    assert not [w for w in at.warning if "of the crop lies on the photo" in w.value]
    at.slider(key="photo_zoom").set_value(0.5).run()
    at.slider(key="photo_right").set_value(0.5).run()
    at.slider(key="photo_down").set_value(-0.5).run()
    assert_healthy(at)
    assert [w for w in at.warning if "of the crop lies on the photo" in w.value]


def test_one_decision_unit_is_named_by_its_class():
    at = fresh().switch_page(PHOTO).run()
    at.sidebar.selectbox(key="variant").set_value("ex1-4").run()
    at.selectbox(key="photo_sample").set_value("Sample: astronaut").run()
    at.selectbox(key="unit_layer_ex1-4").set_value("dense_3").run()
    at.number_input(key="unit_ex1-4_dense_3").set_value(3).run()
    assert_healthy(at)
    assert any(m.label == "dense_3 unit 3 (“up”) on this photo" for m in at.metric)


def test_moving_the_crop_changes_what_the_network_sees():
    at = fresh().switch_page(PHOTO).run()
    photo = (settings.SAMPLES_DIR / "astronaut_wide.jpg").read_bytes()
    at.file_uploader[0].set_value(("wide.jpg", photo, "image/jpeg")).run()
    before = picture_captions(at)
    at.slider(key="photo_right").set_value(0.3).run()
    assert_healthy(at)
    after = picture_captions(at)
    assert any("moved by hand" in c for c in after) and not any("moved by hand" in c for c in before)


def test_comparing_with_a_variant_that_has_fewer_units_shows_what_it_has():
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.selectbox(key="hm_layer_exp0").set_value("conv2d_3").run()  # exp0: 32 units, from the atlas
    at.sidebar.selectbox(key="hm_compare").set_value("ex1-1").run()  # its conv2d_3 has 16
    assert_healthy(at)
    assert len(at.get("image")) == 4
    assert any("has 16 units" in c.value for c in at.caption)


def test_a_gallery_with_an_amigo_photo_cites_the_article_whichever_photo_is_chosen():
    at = fresh().switch_page(PHOTO).run()
    at.file_uploader[0].set_value(("me.jpg", (settings.SAMPLES_DIR / "astronaut.jpg").read_bytes(), "image/jpeg")).run()
    amigo = next(o for o in at.selectbox(key="photo_sample").options if o.startswith("Three amigos: "))
    at.selectbox(key="photo_sample").set_value(amigo).run()
    at.selectbox(key="photo_chosen").set_value("me.jpg").run()  # the upload, not the amigo
    assert_healthy(at)
    assert any("Gourier" in c.value for c in at.caption)


def test_happymaps_settings_survive_a_visit_to_another_page():
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.slider(key="hm_blur_every").set_value(4).run()
    at.sidebar.slider(key="hm_blur_sigma").set_value(2.5).run()
    at.sidebar.selectbox(key="hm_layer_exp0").set_value("dense_1").run()
    at.switch_page("app.py").run()
    at.switch_page(HAPPYMAPS).run()
    assert_healthy(at)
    assert at.sidebar.slider(key="hm_blur_sigma").value == pytest.approx(2.5)
    assert at.sidebar.slider(key="hm_blur_every").value == 4
    assert at.sidebar.selectbox(key="hm_layer_exp0").value == "dense_1"


def test_every_page_works_without_the_data_folder(tmp_path, monkeypatch):
    import streamlit as st

    monkeypatch.setenv(settings.DATA_ENV_VAR, str(tmp_path))  # an empty data folder
    st.cache_data.clear()
    try:
        at = fresh()
        assert_healthy(at)
        at.switch_page(HAPPYMAPS).run()
        assert_healthy(at)
        at.switch_page(PHOTO).run()
        assert_healthy(at)
        options = at.selectbox(key="photo_sample").options
        assert options[0] == "(none)" and all(o.startswith("Sample: ") for o in options[1:]) and len(options) > 1
        assert any("samples appear here once the data sets are" in c.value and f"--dest {tmp_path}`" in c.value
                   for c in at.caption), "the samples that need the data are said to, with the command"
        at.selectbox(key="photo_sample").set_value(options[1]).run()
        assert_healthy(at)
        assert at.metric[0].value in ("left", "not left")
        at.switch_page(WHY).run()
        assert_healthy(at)
        assert any("not here" in i.value for i in at.info), "the diagnosis page says it needs the data"
        # Compare: the answers and the layers need the faces; the HappyMaps (atlases) and the report do not
        at.switch_page("pages/4_Compare.py").run()
        assert_healthy(at)
        assert [h.value for h in at.header] == ["Do their units draw the same HappyMaps?", "The client report"]
        assert any("which are not here" in i.value and "need no data" in i.value for i in at.info)
        assert any("By this one measure (their HappyMaps)" in m.value for m in at.markdown)
        assert any(e.proto.label.startswith("Download the report on") for e in at.get("download_button"))
    finally:
        st.cache_data.clear()


def test_the_data_samples_appear_once_the_data_does_without_a_restart(tmp_path, monkeypatch):
    import streamlit as st

    real = settings.data_dir()
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(tmp_path))
    st.cache_data.clear()
    try:
        at = fresh().switch_page(PHOTO).run()
        assert not any(o.startswith("Three amigos: ") for o in at.selectbox(key="photo_sample").options)
        monkeypatch.setenv(settings.DATA_ENV_VAR, str(real))  # the download has finished
        at.run()
        assert any(o.startswith("Three amigos: ") for o in at.selectbox(key="photo_sample").options)
    finally:
        st.cache_data.clear()


def test_another_variants_damaged_metrics_file_is_named_and_the_overview_still_works(tmp_path, monkeypatch):
    import shutil

    import streamlit as st

    models = shutil.copytree(settings.MODELS_DIR, tmp_path / "models")
    (models / "ex1-3" / "metrics.json").write_text("{not json")
    monkeypatch.setattr(settings, "MODELS_DIR", models)
    st.cache_data.clear()
    try:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
        assert not at.exception, at.exception
        assert [e.value for e in at.error] and all("ex1-3" in e.value and "damaged" in e.value for e in at.error)
        assert {m.label for m in at.metric} >= {"CMU test, same people", "Three amigos"}  # exp0's own figures
        assert any("Gourier" in c.value for c in at.caption)
    finally:
        st.cache_data.clear()


def test_happymaps_and_watch_it_learn_cite_pointing04_where_the_network_learned_from_its_photos():
    def cited(at):
        return any("Gourier" in c.value for c in at.caption)

    for page in (HAPPYMAPS, "pages/5_Watch_it_learn.py"):
        at = fresh().switch_page(page).run()
        assert_healthy(at)
        assert not cited(at), page  # exp0 learned from CMU faces alone
        at.sidebar.selectbox(key="variant").set_value("ex2-4").run()  # its faces, mean face and eigenfaces
        assert_healthy(at)
        assert cited(at), page
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.selectbox(key="hm_compare").set_value("ex2-2").run()  # beside another that did
    assert cited(at)


def test_why_it_fails_says_which_cmu_faces_and_reconciles_the_two_studios_for_ex2_4():
    from vislib import diagnosis

    at = fresh().switch_page(WHY).run()
    at.sidebar.selectbox(key="variant").set_value("ex2-4").run()
    assert_healthy(at)
    text = " ".join(m.value for m in at.markdown)
    assert "on the CMU faces of 4 people held out of this network's training" in text  # not "its CMU test faces"
    spec, model = zoo.variant("ex2-4"), zoo.load("ex2-4")
    cmu, amigos = diagnosis.cmu_set(spec), diagnosis.amigo_set(None)
    said = diagnosis.two_studios(diagnosis.interventions(model, spec.classes, amigos, cmu),
                                 diagnosis.interventions(model, spec.classes, cmu, cmu))
    assert said and said in text  # "on CMU's it needs the face, on the amigos' …": the two conclusions reconciled
    # the empty Grad-CAM maps are counted on the faces the page says: the 40 shown, not "all" of them
    assert f"counts empty Grad-CAM maps on these {len(cmu)}, framed by the detector" in text
    assert re.search(rf"of its {len(cmu)} CMU faces of held-out people", text), text


def test_why_it_fails_states_the_figures_that_diagnosis_computes():
    from vislib import diagnosis

    at = fresh().switch_page(WHY).run()
    assert_healthy(at)
    spec, model = zoo.variant("exp0"), zoo.load("exp0")
    cmu, amigos = diagnosis.cmu_set(spec), diagnosis.amigo_set(None)
    rows = diagnosis.interventions(model, spec.classes, amigos, cmu)
    text = " ".join(m.value for m in at.markdown)
    assert diagnosis.what_moves_it(rows, amigos.name) in text
    assert (f"**{rows['as is']['left_recall']:.0%}** of the faces looking left as they are, "
            f"**{rows['face hidden']['left_recall']:.0%}** with the face hidden") in text
    assert any("Gourier" in c.value for c in at.caption), "the page shows Pointing'04 photos: cite"
    scores = zoo.read_json("exp0", "metrics.json")["accuracy"]
    # the edited pictures "as is" are the photos the headline's accuracy counts: the same figure
    assert rows["as is"]["accuracy"] == pytest.approx(scores["three_amigos"]["overall"], abs=5e-5)
    gallery = [c for c in picture_captions(at) if " · said " in c]
    assert gallery and all(c.startswith("is ") and c.endswith(("said left", "said not left")) for c in gallery)
    assert f"**exp0** scores **{scores['test']:.1%}**" in text
    assert f"where it finds **{scores['three_amigos']['left_recall']:.1%}** of the faces looking left" in text
    assert not any("after the network's first step" in c for c in picture_captions(at))  # exp0 has no first step
    counts = diagnosis.empty_gradcam(model, diagnosis.cmu_test_inputs(spec, cmu), spec.classes)
    assert (f"Grad-CAM shows nothing for **{counts['gradcam_empty']}**" in text) == (counts["gradcam_empty"] > 0)
    assert ("shows something on every one" in text) == (counts["gradcam_empty"] == 0 < counts["judged_left"])
    shown = [c for c in picture_captions(at) if "Grad-CAM for “left” shows nothing on them" in c]
    assert counts["gradcam_empty"] > 0 and len(shown) == 1  # exp0 has such faces: a few of them are shown
    assert shown[0].startswith(f"{min(3, counts['gradcam_empty'])} of those faces, judged “left” at ")
    at.selectbox(key="why_method").set_value("saliency").run()
    assert_healthy(at)
    at.sidebar.selectbox(key="variant").set_value("ex2-3").run()  # a network that does find left faces
    assert_healthy(at)
    text = " ".join(m.value for m in at.markdown)
    scores = zoo.read_json("ex2-3", "metrics.json")["accuracy"]
    assert f"where it finds **{scores['three_amigos']['left_recall']:.1%}** of the faces looking left" in text
    assert "shows nothing for **0**" not in text, "no explanation of an empty map that did not happen"
    # a local-contrast network: its inputs also as its layers receive them, and said so
    assert sum(c.startswith("The same, after the network's first step") for c in picture_captions(at)) == 2
    assert "This network's first step keeps only the local contrast of each picture" in text
    # section 3's photos "as they are" are the headline's: the same share of left faces found (46 of them disagreed)
    at.sidebar.selectbox(key="variant").set_value("ex2-4").run()
    assert_healthy(at)
    text = " ".join(m.value for m in at.markdown)
    recall = zoo.read_json("ex2-4", "metrics.json")["accuracy"]["three_amigos"]["left_recall"]
    assert f"finds **{recall:.0%}** of the faces looking left as they are" in text


def test_a_link_with_a_variant_opens_that_variant_and_a_choice_is_written_into_the_link():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["variant"] = "ex1-1"
    at.run()
    assert_healthy(at)
    assert at.sidebar.selectbox(key="variant").value == "ex1-1"
    at.sidebar.selectbox(key="variant").set_value("ex1-3").run()
    assert at.query_params["variant"] == ["ex1-3"] or at.query_params["variant"] == "ex1-3"


def test_your_photo_offers_the_recommended_variant_until_one_is_chosen_by_hand():
    recommended = zoo.RECOMMENDED
    at = fresh()
    assert at.sidebar.selectbox(key="variant").value == zoo.shipped_variants()[0]
    at.switch_page(PHOTO).run()
    assert_healthy(at)
    expected = recommended if recommended in zoo.shipped_variants() else zoo.shipped_variants()[0]
    assert at.sidebar.selectbox(key="variant").value == expected
    assert any("recommended" in c.value for c in at.sidebar.caption) == (expected == recommended)
    at.sidebar.selectbox(key="variant").set_value("ex1-1").run()
    at.switch_page(APP_PAGE).run()
    assert at.sidebar.selectbox(key="variant").value == "ex1-1", "a choice by hand is kept everywhere"


def test_a_link_with_a_sample_reopens_that_sample_and_picking_one_writes_it():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["sample"] = "Sample: astronaut_closeup"
    at.run().switch_page(PHOTO).run()
    assert_healthy(at)
    assert at.selectbox(key="photo_sample").value == "Sample: astronaut_closeup"
    assert [m.label for m in at.metric] == ["Decision"]
    at.selectbox(key="photo_sample").set_value("Sample: astronaut").run()
    assert at.query_params["sample"] in ("Sample: astronaut", ["Sample: astronaut"])


def test_a_grad_cam_that_is_a_speck_in_a_corner_is_said_to_show_almost_nothing():
    # exp0's Grad-CAM++ on the astronaut at conv2d_3: one hot cell in the top-left corner, drawn without a word
    at = fresh().switch_page(PHOTO).run()
    at.sidebar.selectbox(key="variant").set_value("exp0").run()
    at.selectbox(key="photo_sample").set_value("Sample: astronaut").run()
    at.selectbox(key="attr_method").set_value("gradcam++").run()
    at.selectbox(key="attr_layer_exp0").set_value("conv2d_3").run()
    assert_healthy(at)
    notes = [i.value for i in at.info if "shows almost nothing" in i.value]
    assert notes and "Shown instead: **Occlusion**" in notes[0], [i.value for i in at.info]


def test_an_empty_grad_cam_is_explained_and_occlusion_shown_instead():
    at = fresh().switch_page(PHOTO).run()
    at.sidebar.selectbox(key="variant").set_value("exp0").run()  # exp0's Grad-CAM is empty on this face
    at.selectbox(key="photo_sample").set_value("CMU face: an2i/an2i_left_neutral_sunglasses_2.pgm").run()
    at.selectbox(key="attr_method").set_value("gradcam").run()
    assert_healthy(at)
    assert at.metric[0].value == "left"
    notes = [i.value for i in at.info if "shows nothing" in i.value]
    assert notes and "Occlusion" in notes[0]
    captions = picture_captions(at)
    assert any(c.startswith("Occlusion for “left”") for c in captions), captions
    at.selectbox(key="attr_method").set_value("saliency").run()  # a method with a map: no note
    assert not [i.value for i in at.info if "shows nothing" in i.value]


def test_a_happymaps_link_reopens_the_layer_units_and_settings_and_a_bad_one_says_so():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"variant": "exp0", "layer": "conv2d_1", "units": "1,3", "steps": "8", "jitter": "2",
                            "scale": "0.1", "rotate": "10.0"})
    at.run().switch_page(HAPPYMAPS).run()
    assert_healthy(at)
    assert at.sidebar.slider(key="hm_scale").value == 0.1 and at.sidebar.slider(key="hm_rotate").value == 10.0
    assert at.sidebar.selectbox(key="hm_layer_exp0").value == "conv2d_1"
    assert at.sidebar.multiselect(key="hm_units_exp0_conv2d_1").value == [1, 3]
    assert at.sidebar.slider(key="hm_steps").value == 8 and at.sidebar.slider(key="hm_jitter").value == 2
    at.sidebar.slider(key="hm_steps").set_value(16).run()
    assert at.query_params["steps"] in ("16", ["16"]), "the address follows the sliders"

    bad = AppTest.from_file(APP, default_timeout=TIMEOUT)
    bad.query_params.update({"layer": "conv2d_1", "steps": "99999"})
    bad.run().switch_page(HAPPYMAPS).run()
    assert not bad.exception
    assert any("could not be used" in w.value for w in bad.warning)
    assert bad.sidebar.slider(key="hm_steps").value != 99999
    for key, value, said in (("decay", "abc", "decay must be a number, got 'abc'"),
                             ("units", "a,b", "units must be a whole number, got 'a'"),
                             ("steps", "1.5", "steps must be a whole number, got '1.5'"),
                             # the engine takes 1 step; the page's slider starts at 8 (it raised on 4)
                             ("steps", "4", "steps must be in [8, 1024], got 4")):
        worded = AppTest.from_file(APP, default_timeout=TIMEOUT)
        worded.query_params.update({"layer": "dense_1", "jitter": "3", key: value})
        worded.run().switch_page(HAPPYMAPS).run()
        assert not worded.exception
        assert any("could not be used" in w.value and said in w.value for w in worded.warning), \
            [w.value for w in worded.warning]
        # the rest of the link applies
        assert worded.sidebar.selectbox(key="hm_layer_exp0").value == "dense_1"
        assert worded.sidebar.slider(key="hm_jitter").value == 3

    # a preset whose values were not all used is not named in the box: it would name settings not in use
    mixed = AppTest.from_file(APP, default_timeout=TIMEOUT)
    mixed.query_params.update({"variant": "ex2-4", "layer": "dense_3", "preset": "legible-steady",
                               "learning_rate": "0.005", "decay": "abc"})
    mixed.run().switch_page(HAPPYMAPS).run()
    assert not mixed.exception
    assert mixed.sidebar.selectbox(key="hm_preset").value != "legible-steady"
    assert any("custom settings" in c.value for c in mixed.caption)  # and says the settings are its own


def test_a_link_to_a_network_that_is_not_here_says_so_and_shows_another():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["variant"] = "nosuch"
    at.run()
    assert_healthy(at)
    assert any("'nosuch'" in w.value and "not here" in w.value for w in at.warning)
    assert at.sidebar.selectbox(key="variant").value == zoo.shipped_variants()[0]
    assert "variant" not in at.query_params  # the address no longer names it


def test_regenerate_waits_its_turn_in_the_servers_line(monkeypatch):
    import threading

    from vislib import workqueue

    line = workqueue.WorkQueue(1)
    monkeypatch.setattr(workqueue, "REGENERATIONS", line)
    places = []
    original = line.turn

    def spying_turn(on_wait=None, poll=0.5):
        return original(on_wait=lambda ahead: (places.append(ahead), on_wait(ahead)), poll=0.05)

    monkeypatch.setattr(line, "turn", spying_turn)
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.slider(key="hm_steps").set_value(8).run()
    busy, release = threading.Event(), threading.Event()

    def someone_else():
        with original():
            busy.set()
            release.wait(30)

    other = threading.Thread(target=someone_else)
    other.start()
    busy.wait(10)
    threading.Timer(1.0, release.set).start()
    at.button(key="hm_regenerate").click().run()
    other.join(10)
    assert_healthy(at)
    assert places and places[0] == 0, "the session saw it was next in line while the other job ran"
    assert any("units × 8 steps" in c.value for c in at.caption)


def test_comparing_two_variants_on_the_happymaps_page_gives_the_matched_similarity():
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.selectbox(key="hm_compare").set_value("ex1-6").run()  # decision layers, from the atlases
    assert_healthy(at)
    score = next(m for m in at.metric if m.label.startswith("How alike the two sets of HappyMaps"))
    assert -1.0 <= float(score.value) <= 1.0
    assert any(c.value.startswith("Units paired at random give") and "↔" in c.value for c in at.caption)


def test_side_by_side_networks_of_the_same_classes_show_the_same_unit_on_one_colour_scale():
    import re

    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.toggle(key="hm_all_exp0_dense_3").set_value(False).run()
    at.sidebar.multiselect(key="hm_units_exp0_dense_3").set_value([1]).run()  # "left" alone
    at.sidebar.selectbox(key="hm_compare").set_value("ex1-6").run()  # not left / left, as exp0
    assert_healthy(at)
    assert not any("unit numbers name different classes" in c.value for c in at.caption)
    # "left" alone on both sides, not every class of the other network: one pair, and random pairs are that pair
    pairs = next(c.value for c in at.caption if "Pairs:" in c.value)
    found = re.fullmatch(r"Units paired at random give (\S+) on average\. Pairs: 1 · left ↔ 1 · left \((\S+)\)", pairs)
    assert found and found[1] == found[2], pairs
    scales = [c.value for c in at.caption if c.value.startswith("What the network adds")]
    assert len(scales) == 2 and scales[0] == scales[1] and "as in the other network's panel" in scales[0]


def test_side_by_side_a_hidden_layer_is_not_compared_with_the_other_networks_decision():
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.selectbox(key="hm_layer_exp0").set_value("dense_1").run()
    at.sidebar.selectbox(key="hm_compare").set_value("ex1-5").run()  # its dense_1 is its decision layer
    assert_healthy(at)
    assert any("ex1-5 has no layer that does the work of exp0's dense_1" in i.value for i in at.info)
    assert not any(m.label.startswith("How alike the two sets") for m in at.metric)


def test_side_by_side_maps_from_noise_are_matched_on_the_maps_themselves():
    """Subtracting the mean face from maps that never started from it made any two networks look alike."""
    from vislib import atlas, compare, happymaps

    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.selectbox(key="hm_image").set_value("pixels").run()  # its default from the atlases: from noise
    at.sidebar.selectbox(key="hm_compare").set_value("ex1-1").run()
    assert_healthy(at)
    score = next(m for m in at.metric if m.label.startswith("How alike the two sets of HappyMaps"))
    settings_ = happymaps.Settings.from_preset(happymaps.DEFAULT_FOR_IMAGE["pixels"])
    maps = [atlas.load(v).lookup("dense_3", settings_)[0] for v in ("exp0", "ex1-1")]
    similarity = compare.correlation_matrix(*maps)
    rows, cols = compare.best_matching(similarity)
    assert score.value == f"{similarity[rows, cols].mean():.2f}"


def test_flat_maps_of_a_picture_that_starts_from_gray_come_with_advice_too():
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.selectbox(key="hm_layer_exp0").set_value("conv2d_1").run()
    at.sidebar.selectbox(key="hm_image").set_value("fourier").run()  # the atlas: most of conv2d_1's maps stay flat
    assert_healthy(at)
    assert any("maps stayed flat" in c.value and "Reset settings" in c.value for c in at.caption)


def test_maps_made_black_and_white_by_too_large_steps_come_with_advice():
    at = fresh().switch_page(HAPPYMAPS).run()
    assert not any("mostly black and white" in c.value for c in at.caption)  # the default maps are readable
    at.sidebar.selectbox(key="hm_image").set_value("pixels").run()
    from vislib import limits

    at.sidebar.select_slider(key="hm_learning_rate").set_value(max(limits.LEARNING_RATE_STOPS))
    at.sidebar.selectbox(key="hm_start").set_value("gray").run()
    at.button(key="hm_regenerate").click().run()
    assert_healthy(at)
    assert any("maps are mostly black and white" in c.value and "Lower the learning rate" in c.value
               for c in at.caption), [c.value for c in at.caption]


def test_an_experiment_2_variant_says_its_cmu_test_faces_are_new_people():
    at = fresh()
    at.sidebar.selectbox(key="variant").set_value("ex2-2").run()
    assert_healthy(at)
    labels = {m.label for m in at.metric}
    assert "CMU, 4 held-out people" in labels and "CMU test, same people" not in labels
    at.sidebar.selectbox(key="variant").set_value("exp0").run()
    assert "CMU test, same people" in {m.label for m in at.metric}


def test_happymaps_offers_the_steady_preset_to_a_network_that_also_learned_the_turn():
    at = fresh().switch_page(HAPPYMAPS).run()
    at.sidebar.selectbox(key="variant").set_value("ex2-4").run()
    assert_healthy(at)
    hint = [i.value for i in at.info if "how far each head is turned" in i.value]
    assert len(hint) == 1 and "Legible, steady" in hint[0]
    assert not any("blind to slow light and shadow" in i.value for i in at.info)
    assert any(c.value.startswith("ex2-4: This network first standardises") for c in at.caption)  # still said
    at.button(key="hm_use_legible-steady").click().run()
    assert_healthy(at)
    assert at.sidebar.selectbox(key="hm_preset").value == "legible-steady"
    assert (at.sidebar.select_slider(key="hm_learning_rate").value,
            at.sidebar.select_slider(key="hm_decay").value) == (0.003, 0.03)
    assert not any("how far each head is turned" in i.value for i in at.info)  # no hint once it is used
    assert any("× 128 steps" in c.value for c in at.caption), "drawn at once, not left out of date"
    assert not any("Out of date" in c.value for c in at.caption)


def test_happymaps_says_how_to_read_the_maps_of_a_network_that_normalises_its_input():
    at = fresh().switch_page(HAPPYMAPS).run()
    assert_healthy(at)
    assert not any("blind to slow light and shadow" in c.value for c in at.caption)  # exp0 sees raw pixels
    assert not any("smoothed" in i.value for i in at.info)
    at.sidebar.selectbox(key="variant").set_value("ex2-3").run()
    assert_healthy(at)
    hint = [i.value for i in at.info if "blind to slow light and shadow" in i.value]
    assert len(hint) == 1 and "about 4 pixels" in hint[0] and "Legible, smoothed" in hint[0]
    assert not any("blind to slow light and shadow" in c.value for c in at.caption)  # said once
    at.button(key="hm_use_legible-smooth").click().run()  # one click: the smoothed preset, and the maps drawn
    assert_healthy(at)
    assert any("2 units × 128 steps" in c.value for c in at.caption)
    assert at.sidebar.selectbox(key="hm_preset").value == "legible-smooth"
    assert (at.sidebar.slider(key="hm_jitter").value, at.sidebar.slider(key="hm_blur_every").value) == (6, 1)
    assert not any("blind to slow light and shadow" in i.value for i in at.info)  # no hint once it is used
    assert any("blind to slow light and shadow" in c.value and "about 4 pixels" in c.value for c in at.caption)
    at.button(key="hm_regenerate").click().run()
    assert_healthy(at)
    assert any("2 units × 128 steps" in c.value for c in at.caption)
    at.sidebar.selectbox(key="variant").set_value("exp0").run()  # compared with it, ex2-3's note stays
    at.sidebar.selectbox(key="hm_compare").set_value("ex2-3").run()
    assert_healthy(at)
    assert any(c.value.startswith("ex2-3: This network first keeps only the local contrast") for c in at.caption)
    assert not any(c.value.startswith("exp0: This network") for c in at.caption)


def test_the_servers_imported_objects_are_left_out_of_the_collections_after_each_run():
    import gc
    import sys

    sys.path.insert(0, str(settings.REPO_ROOT))
    import ui  # noqa: F401  (importing it freezes what is alive: TensorFlow, Keras, Plotly)

    assert gc.get_freeze_count() > 100_000, gc.get_freeze_count()
    assert ui.freeze_imported_objects() >= gc.get_freeze_count() > 100_000


def test_the_variant_picker_shows_every_variant_whole():
    at = fresh()
    options = at.sidebar.selectbox(key="variant").options
    assert options == [zoo.VARIANTS[n].label for n in zoo.shipped_variants()]
    # about 30 characters fit the sidebar's picker; the full title is in the caption under it
    assert max(len(o) for o in options) <= 30, options
    assert "ex2-4 · Two studios, 9 people" in options


def test_the_overview_names_the_network_for_your_photos_and_what_the_amigos_are_to_it():
    """A client reading the Overview could not tell which network to use, and read the amigos' 96% of a
    two-studio network as a studio it never saw."""
    at = fresh()
    assert any(f"For photos of your own, use **{zoo.VARIANTS[zoo.RECOMMENDED].label}**" in c.value for c in at.caption)
    amigos = next(m for m in at.metric if m.label == "Three amigos")
    assert "other people of that studio" not in amigos.help  # exp0: CMU alone
    at.sidebar.selectbox(key="variant").set_value("ex2-4").run()
    amigos = next(m for m in at.metric if m.label == "Three amigos")
    assert "trained on 9 other people of that studio: for it they are new people in a studio it knows" in amigos.help
