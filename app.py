"""HappyMaps: the Overview page. Other pages live in pages/ (Streamlit's pages folder)."""

import pandas as pd
import streamlit as st

import shell

shell.open_page("Overview", "HappyMaps")
with st.spinner("Loading the networks…"):  # TensorFlow loads here, once per server
    import ui
    from vislib import plots, report, zoo

st.markdown(
    "Small convolutional networks were trained on the CMU Face Images to answer **“is this face "
    "looking left?”**. The original seven score about 100% on CMU test faces, yet fail on photos from "
    "another studio. HappyMaps shows what each network has learned (*HappyMaps*: for each unit, the picture "
    "that excites it most), why it decides what it decides (*Your photo*: where it looks in a photo), "
    "why the originals fail on another studio's photos (*Why it fails*), and Experiment 2's networks, trained to "
    "generalise."
)

recommended = getattr(zoo, "RECOMMENDED", None)
if recommended:
    st.caption(f"For photos of your own, use **{zoo.VARIANTS[recommended].label}**, chosen on people held out of "
               f"its training (the *Your photo* page starts with it); the original seven fail on other studios' "
               f"photos.")
variant = ui.variant_picker()
spec = zoo.variant(variant)
metrics = ui.load_or_stop(ui.metrics, variant)
history = ui.load_or_stop(ui.history, variant)
network = ui.load_or_stop(ui.model, variant)

st.header(f"{variant}: {spec.title}")
if getattr(spec, "hypothesis", ""):
    st.markdown(f"**Hypothesis.** {spec.hypothesis}")
acc = metrics["accuracy"]
amigos = acc["three_amigos"]
new_people = acc.get("cmu_new_people", {}).get("overall")
left_recall = amigos.get("left_recall")
# a row that wraps on a narrow screen (a projector), where five fixed columns would cut the figures short
figures = st.container(horizontal=True, gap="medium")
figures.metric("Parameters", f"{metrics['params']:,}", width="content")
test_label, test_meaning = report.cmu_test_label(metrics)
by_person = metrics.get("split", {}).get("by") == "person"
figures.metric(test_label, f"{acc['test']:.1%}", width="content",
               help=test_meaning[0].upper() + test_meaning[1:] + (
                   " (its split is by person); “CMU, new people” repeats that over every person." if by_person else
                   " (the original study's split by image): every test photo has a near twin in training."))
figures.metric("CMU, new people", "not measured" if new_people is None else f"{new_people:.1%}", width="content",
               help="The same recipe retrained with a few CMU people held out each time (grouped by person), "
                    "scored on the people it never saw.")
figures.metric("Three amigos", f"{amigos['overall']:.1%}", width="content",
               help="Photos of three people from another studio (Pointing'04), cropped around the face the database "
                    "marks, as an upload is cropped around the face the detector finds. Never used for training "
                    "or tuning."
                    + (f" This network was also trained on {zoo.pointing04_people(spec)} other people of that studio: "
                       "for it they are new people in a studio it knows, not a studio it never saw."
                       if zoo.pointing04_people(spec) else ""))
figures.metric("“Left” faces found", "not measured" if left_recall is None else f"{left_recall:.1%}",
               width="content",
               help="Of the three amigos' photos looking left, the share the network calls left. A network that "
                    "always answers “not left” scores 0% here, and still 67% accuracy.")
warning = report.constant_answer_warning(variant, metrics)
if warning:
    st.warning(f"{warning} See *Why it fails*.")
st.caption(f"Task: {' / '.join(metrics['classes'])}. Trained on "
           f"{', '.join(zoo.training_data_names(zoo.variant(variant)))}.")
ui.chart(plots.honest_bars({**acc, "test": {"overall": acc["test"], "left_recall": report.cmu_test_recall(metrics)}},
                           test_label))
tab_arch, tab_curves, tab_confusion, tab_all = st.tabs(
    ["Architecture", "Training curves", "Confusion matrices", "All variants"])
with tab_arch:
    layers = zoo.layer_table(network)
    st.dataframe(pd.DataFrame(layers), hide_index=True, width="stretch", height=38 + 35 * len(layers),
                 column_config={"parameters": st.column_config.NumberColumn(format="localized")})
with tab_curves:
    ui.chart(plots.training_curves(history, test_label))
    st.caption(f"{metrics['epochs']} epochs, {metrics['training_seconds']:.0f} s on the training machine.")
with tab_confusion:
    cols = st.columns(3, vertical_alignment="bottom")  # a title on two lines keeps its matrix in line
    for col, (key, title) in zip(cols, (("test", test_label), ("three_amigos", "Three amigos, face framed"),
                                        ("three_amigos_full_frame", "Three amigos, whole frame"))):
        with col:
            ui.chart(plots.confusion_matrix(metrics["confusion"][key], metrics["classes"], title))
with tab_all:
    try:
        rows = ui.results_rows()
    except zoo.ModelLoadError as error:  # another variant's file: say so here, keep the page
        st.error(str(error))
    else:
        # CMU train: about 100% for every variant; parameters: under Architecture (README has both)
        table = pd.DataFrame(rows).drop(columns=["CMU train", "parameters"])
        table["what changed"] = table["variant"].map(lambda v: zoo.variant(v).short_title or zoo.variant(v).title)
        # whose faces the CMU test figure is of, said beside it: the two splits measure different things
        table["CMU test faces"] = table["variant"].map(
            lambda v: "held-out people" if zoo.variant(v).split == "person" else "same people")
        # short headers, said in full in the caption: at 1400 px the table fits without scrolling sideways
        table = table.rename(columns={"three amigos (face framed)": "amigos, framed",
                                      "“left” recall (face framed)": "“left” recall",
                                      "three amigos (detected face)": "amigos, detected",
                                      "three amigos (whole frame)": "amigos, whole"})
        # the amigos first, the long "what changed" last: on a narrow screen the message is in view
        first = ["variant", "amigos, framed", "“left” recall", "amigos, detected", "amigos, whole"]
        table = table[first + [c for c in table.columns if c not in first + ["what changed"]] + ["what changed"]]
        rates = [k for k in table.columns if k not in ("variant", "what changed", "CMU test faces")]
        table[rates] = table[rates].astype(float) * 100  # shown as 67.4%, as in the header figures
        st.dataframe(table, hide_index=True, width="stretch", height=38 + 35 * len(table),
                     column_config={"variant": st.column_config.TextColumn(pinned=True),
                                    **{k: st.column_config.NumberColumn(format="%.1f%%") for k in rates},
                                    "CMU test faces": st.column_config.TextColumn(
                                        help="Same people: the original study's split, new photos of the people "
                                             "it was trained on. Held-out people: Experiment 2's split, CMU people "
                                             "held out of training.")})
        missing = " An empty cell: not measured for that variant." if table[rates].isna().any().any() else ""
        st.caption("**CMU test**: new photos of the CMU people it was trained on (the original study's split) or, "
                   "for Experiment 2, photos of CMU people held out of its training. **CMU new people**: the "
                   "network retrained with each group of CMU people held out in turn, and scored on them. **The "
                   "three amigos**: photos of three people from another studio (Pointing'04, cited below), never "
                   "trained on: the face framed as in CMU's photos (“framed”), framed by the face detector as an "
                   "upload is (“detected”), and the whole photo (“whole”). **“left” recall**: the share of the "
                   f"amigos' left-looking photos (framed) called left.{missing} Each network's size is under "
                   "Architecture.")
ui.cite_pointing04()
