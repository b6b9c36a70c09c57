"""Did network B learn what network A learned? The comparison as numbers (vislib.compare)."""

import streamlit as st

import shell

shell.open_page("Compare", "Compare two networks")
with st.spinner("Loading the networks…"):  # TensorFlow loads here, once per server
    import ui
    from vislib import client_report, compare, plots, settings, zoo

st.markdown(
    "The original team judged that two networks had learned the same thing because their HappyMaps looked "
    "alike. This page puts that judgement into numbers: how alike the two "
    "networks' layers respond to the same faces, how often they give the same answer, and how alike "
    "their units' HappyMaps are once each unit is paired with its closest twin.")

variant = ui.variant_picker()
shipped = zoo.shipped_variants()
others = [n for n in shipped if n != variant]
if not others:
    st.info("Only one trained network is here: there is nothing to compare it with.")
    st.stop()
default = "exp0" if "exp0" in others else "ex1-1" if "ex1-1" in others else others[0]
other = st.selectbox("Compare it with", others, index=others.index(default), key="compare_with",
                     format_func=lambda n: zoo.VARIANTS[n].label,
                     help="Network A is the one chosen in the sidebar; pick network B here.")
ui.load_or_stop(ui.model, variant)
ui.load_or_stop(ui.model, other)


@st.cache_data(show_spinner=False)
def comparison(a: str, b: str) -> compare.Comparison:
    return compare.compare(a, b, models=ui.model)


@st.cache_data(show_spinner=False)
def report_html(name: str) -> str:
    return client_report.export(name, model=ui.model(name))


with st.spinner(f"Comparing {variant} with {other} on the CMU test faces and the three amigos…"):
    result = comparison(variant, other)

st.markdown(f"**In short**: {result.in_short()}")  # the three sections below, in one paragraph
if result.data_problem:  # the answers and the layers need the faces; the HappyMaps and the report do not
    st.info(f"How often the two give the same answer, and how alike their layers respond, are measured on the "
            f"CMU faces and the three amigos, which are not here: {result.data_problem} Their HappyMaps and the "
            f"client report below need no data.")

if result.agreement:
    # ---------------------------------------------------------------- decisions
    st.header("Do they give the same answers?")
    pose = "pose" in (zoo.variant(variant).task, zoo.variant(other).task)
    columns = st.columns(len(result.agreement))
    for column, (name, r) in zip(columns, result.agreement.items()):
        column.metric(f"Same answer, {name}", f"{r['agreement']:.0%}",
                      help=f"Of {r['n']} pictures, the share both networks answer the same, “left” or “not "
                           f"left”. {variant} says “left” to {r['left_a']:.0%} of them, {other} to {r['left_b']:.0%}.")
    st.caption("Answers compared as “left” or “not left”"
               + (": the four-pose network's “left” is “left”, its other three poses are “not left”." if pose
                  else ".")
               + " Two networks that both always answer “not left” agree 100% on the three amigos and are both "
                 "wrong on every left-looking photo: agreement is not accuracy.")
    st.caption(compare.cmu_faces_note(variant, other, result.inputs[compare.CMU]))

    # ---------------------------------------------------------------- CKA
    st.header("Do their layers hold the same information?")
    inputs = st.radio("Pictures", list(result.cka), horizontal=True, key="compare_inputs",
                      format_func=lambda n: f"{result.inputs[n]} {n}")
    ui.chart(plots.cka_heatmap(result.layers_a, result.layers_b, result.cka[inputs],
                               f"Representation similarity (linear CKA) on the {inputs}", variant, other))
    same = result.same_layer_cka(inputs)
    st.markdown(
        f"Each cell compares one layer of **{variant}** (rows) with one layer of **{other}** (columns): how alike "
        "their responses to the same pictures are (linear CKA, Kornblith et al. 2019). **1.0**: the two layers hold "
        "the same information, perhaps arranged differently (rotated or scaled). **0.2**: they have little in common. "
        "The first row and column are the pictures themselves.")
    if same:
        random = result.cka_random[inputs]
        # short headers, said in full on hover: on a phone the long one pushed the baseline's column off the screen
        trained, untrained = f"vs {other}", f"vs random {other}"
        st.dataframe({"layer": [result.label(n) for n in same], trained: list(same.values()),
                      untrained: [random[n] for n in same]},
                     hide_index=True, column_config={
                         trained: st.column_config.NumberColumn(format="%.2f", help=f"{variant} vs {other}"),
                         untrained: st.column_config.NumberColumn(
                             format="%.2f", help=f"{variant} vs a copy of {other} with random weights")})
        st.caption(
            f"The same layer of both networks (their decision layers with each other, whatever their names), against "
            f"a copy of {other} with random weights. On these faces the conv "
            "and pooling layers of any network, even an untrained one, stay close to the picture itself, so their CKA "
            "is high whatever was learned; only a value clearly above the random copy's shows something learned in "
            "common. "
            "The dense layers and the decision tell networks apart.")

# ---------------------------------------------------------------- HappyMaps
st.header("Do their units draw the same HappyMaps?")
if result.happymaps:
    layers = [result.label(layer) for layer in result.happymaps]
    ui.chart(plots.matched_similarity_bars(layers, [m.mean for m in result.happymaps.values()],
                                           [m.baseline for m in result.happymaps.values()],
                                           "HappyMap similarity of paired units"))
    st.markdown(
        f"For each layer both networks have, the units of {variant} are paired one to one with units of {other} "
        "(as many pairs as the smaller layer has units), so that "
        "the pairs' pictures are as alike as possible (what each adds to the average face, correlated: 1 the same "
        "picture, 0 unrelated, below 0 opposite: one brighter where the other is darker). Gray: the same for units paired at random. Where every unit of a layer draws "
        "nearly the same picture, random pairs score high too, and a high match means little."
        + result.opposite_maps())
    st.caption(" · ".join(f"{result.label(layer)}: {len(m.pairs)} pairs ({m.units_a} units in {variant}, "
                          f"{m.units_b} in {other})" for layer, m in result.happymaps.items()))
else:
    st.info(f"HappyMap similarity is not available: {result.happymaps_problem}")

# ---------------------------------------------------------------- the client report
st.header("The client report")
compared_with_baseline = (f"how it compares with the baseline ({client_report.BASELINE})"
                          if variant != client_report.BASELINE else "its place as the baseline")
st.markdown(f"One page about **{variant}** to share: what it is, its accuracy, its decision HappyMaps with their "
            f"honesty check, {compared_with_baseline}, and a sample photo explained. It embeds no CMU or "
            f"Pointing'04 picture. Open it in a browser and print it, or save it as PDF.")
st.download_button(f"Download the report on {variant} (HTML)", data=lambda: report_html(variant),
                   file_name=f"happymaps_report_{variant}.html", mime="text/html", icon=":material/download:",
                   on_click="ignore")
with st.expander("For whoever runs the app: the same report from the command line"):
    st.caption(f"`{settings.command(f'-m vislib.client_report {variant}')}`, run in {settings.REPO_ROOT}.")
ui.cite_pointing04()
st.caption(f"CMU faces: {settings.CMU_CITATION}")
