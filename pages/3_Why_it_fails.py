"""Why does it fail on new people? The evidence, computed from the data and the chosen network."""

import numpy as np
import streamlit as st

import shell

shell.open_page("Why it fails", "Why does it fail on new people?")
with st.spinner("Loading the networks…"):  # TensorFlow loads here, once per server
    import ui
    from vislib import attribution, data, diagnosis, plots, preprocessing, report, settings, zoo

COLUMNS_FROM = 641  # px: narrower, Streamlit stacks columns one under the other
SET_HEADING_HEIGHT = "5rem"  # a subheader of two lines: the two sets are named in words of unequal length

st.markdown(
    ((report.originals_in_words() or "The original study's networks fail on photos from another studio") +
     "; Experiment 2's networks were trained to do better. Below, the chosen network is "
     "put to four tests: what it is shown, where it looks, what changes its decision, and whether the pictures of "
     "*where it looks* can be trusted. Every number and sentence here is computed by the project from the data and "
     "the model: the accuracies just below when the network was trained (recorded with it), everything else now."))
variant = ui.variant_picker()
spec = zoo.variant(variant)
network = ui.load_or_stop(ui.model, variant)
metrics = ui.load_or_stop(ui.metrics, variant)
scores = metrics["accuracy"]
found_left = scores["three_amigos"].get("left_recall")
test_meaning = report.cmu_test_label(metrics)[1]  # the same people, or people held out
st.markdown(f"**{variant}** scores **{scores['test']:.1%}** on {test_meaning} and "
            f"**{scores['three_amigos']['overall']:.1%}** on the three amigos"
            + (f", where it finds **{found_left:.1%}** of the faces looking left." if found_left is not None else "."))


@st.cache_data(show_spinner=False)
def face_sets(name: str):
    return diagnosis.cmu_set(zoo.variant(name)), every_amigo().spread(diagnosis.AMIGOS_SHOWN)


@st.cache_data(show_spinner=False)
def every_amigo():
    """Every three-amigos photo, framed once: section 3 edits them all, the others use a spread of them."""
    return diagnosis.amigo_set(None)


@st.cache_data(show_spinner=False)
def looks(name: str, method: str):
    cmu, amigos = face_sets(name)
    return {s.name: diagnosis.face_share(diagnosis.heatmaps(ui.model(name), s, method), s) for s in (cmu, amigos)}


@st.cache_data(show_spinner=False)
def examples(name: str, method: str, count: int = 4):
    """A few faces of each set with their heat maps, for the decided class: (input, face box, map,
    caption with the true pose and the decision)."""
    out, classes = {}, zoo.variant(name).classes
    for faces in face_sets(name):
        picks = np.linspace(0, len(faces) - 1, count).round().astype(int)
        heats = [attribution.attribute(ui.model(name), faces.inputs[i], method) for i in picks]
        out[faces.name] = [(faces.inputs[i, ..., 0], faces.faces[i], h.heatmap,
                            f"is {faces.poses[i]} · said {classes[h.class_index]}") for i, h in zip(picks, heats)]
    return out


@st.cache_data(show_spinner=False)
def changes(name: str):
    cmu, _ = face_sets(name)  # the edits cost one prediction a picture: every amigo photo, as the accuracy figures
    return {s.name: diagnosis.interventions(ui.model(name), zoo.variant(name).classes, s, cmu)
            for s in (cmu, every_amigo())}


@st.cache_data(show_spinner=False)
def sanity(name: str, method: str):
    cmu, _ = face_sets(name)
    model = ui.model(name)
    return {**diagnosis.randomisation_check(model, cmu, method, randomised(name)),
            **diagnosis.deletion_curve(model, cmu, method)}


@st.cache_resource(show_spinner=False)
def randomised(name: str):
    return diagnosis.randomised_copy(ui.model(name))


@st.cache_data(show_spinner=False)
def empty_maps(name: str):
    cmu, _ = face_sets(name)
    return diagnosis.empty_gradcam(ui.model(name), diagnosis.cmu_test_inputs(zoo.variant(name), cmu),
                                   zoo.variant(name).classes)


@st.cache_data(show_spinner=False)
def empty_gradcam_sheet(name: str, shown: int = 3):
    """A few faces with an empty Grad-CAM: each as it is, then what explains it (a sheet, a row a
    face), and their "left" scores."""
    cmu, _ = face_sets(name)
    spec = zoo.variant(name)
    inputs = diagnosis.cmu_test_inputs(spec, cmu)
    tiles, labels, scores = [], [], []
    for at in empty_maps(name)["examples"][:shown]:
        face = inputs[at, ..., 0]
        found = diagnosis.gradcam_evidence(ui.model(name), inputs[at], spec.classes)
        tiles += [np.repeat(face[..., None], 3, axis=-1), plots.overlay(face, found["before_averaging"]) / 255,
                  plots.overlay(face, found["occlusion"]) / 255]
        labels += ["Grad-CAM: empty", "before averaging", "Occlusion"]
        scores.append(found["left_score"])
    return plots.montage(np.stack(tiles), labels, cols=3, scale=3), scores


try:
    with st.spinner("Reading the CMU test faces and the three amigos, finding the faces…"):
        cmu, amigos = face_sets(variant)
        all_amigos = len(every_amigo())
except data.DataNotFoundError as error:
    st.info(f"This page computes its evidence from the data sets, which are not here. {error}")
    st.stop()
ui.cite_pointing04()
st.caption(f"CMU faces: {settings.CMU_CITATION}")

# ---------------------------------------------------------------- 1. what it is shown
st.header("1. What the network is shown")
shows_first_step = spec.preprocess in preprocessing.LOCAL_CONTRAST_SIGMAS
st.markdown(f"{len(cmu)} of the {cmu.name} (the first whose face the upload path's detector finds, so we know "
            f"where the face is) and {len(amigos)} of the {all_amigos} three-amigos photos (spread over the set), "
            f"framed around the database's face box as the accuracy figures frame them. Sections 2 and 4 use these; "
            f"section 3 edits all {all_amigos} amigos photos, and section 4 counts empty Grad-CAM maps on "
            + ("every CMU test face, in CMU's own framing as this network was trained." if spec.framing == "cmu"
               else f"these {len(cmu)}, framed by the detector as this network was trained.")
            + " The blue box is the face."
            + (f" This network's first step keeps {preprocessing.SEEN_NOTES[spec.preprocess]}; the second row of "
               f"each set shows the same pictures as its layers receive them (each stretched to its own contrast)."
               if shows_first_step else ""))
c1, c2 = st.columns(2)
ui.least_height("why_set_", SET_HEADING_HEIGHT, from_width=COLUMNS_FROM)
for index, (column, faces) in enumerate(zip((c1, c2), (cmu, amigos))):
    with column:
        st.container(key=f"why_set_{index}").subheader(faces.name)
        picks = np.linspace(0, len(faces) - 1, 6).round().astype(int)
        st.image([plots.outlined(faces.inputs[i, ..., 0], faces.faces[i], 2) for i in picks],
                 caption=[faces.poses[i] for i in picks],
                 alt=[f"One of the {faces.name}, looking {faces.poses[i]}, as the network sees it; a blue box marks "
                      f"the face" for i in picks])
        # what its layers are given, where its first step changes what a person would see (standardising does not)
        after = preprocessing.first_step(network, faces.inputs[picks, ..., 0]) if shows_first_step else None
        if after is not None:
            st.caption("The same, after the network's first step (what its layers receive):")
            st.image([plots.outlined(tile, faces.faces[i], 2) for tile, i in zip(plots.stretch(after), picks)],
                     caption=[faces.poses[i] for i in picks],  # short: a longer caption widened its picture
                     alt=[f"The same picture after the network's own first step ({spec.preprocess})" for i in picks])
        ui.image(st, plots.enlarge(faces.inputs[..., 0].mean(axis=0), 3), f"The average picture of the {faces.name}",
                 clamp=True)
brightness = {s.name: s.inputs[..., 0].mean(axis=(1, 2)) for s in (cmu, amigos)}
background = {s.name: np.array([x[..., 0][~m].mean() for x, m in zip(s.inputs, s.faces)]) for s in (cmu, amigos)}
mean_cmu, mean_amigos = (float(v.mean()) for v in background.values())
correlation = float(np.corrcoef(cmu.inputs[..., 0].mean(axis=0).ravel(), amigos.inputs[..., 0].mean(axis=0).ravel())[0, 1])
ui.chart(plots.histograms(background, "Background brightness of each picture",
                          "mean gray outside the face box (0 black, 1 white)"))
st.markdown(f"The background around the face averages **{mean_cmu:.2f}** in CMU pictures and **{mean_amigos:.2f}** in "
            f"the three amigos' (0 is black, 1 white). The two average pictures correlate at **{correlation:+.2f}**: "
            f"{diagnosis.how_alike(correlation)}.")

# ---------------------------------------------------------------- 2. where it looks
st.header("2. Where the network looks")
method = st.selectbox("Attribution method", diagnosis.METHODS, index=4, format_func=attribution.LABELS.get,
                      key="why_method", help="Occlusion hides one patch at a time; the others follow gradients.")
with st.spinner("Computing where the network looks…"):
    shares = looks(variant, method)
    shown = examples(variant, method)
groups = {"share of the heat on the face": {k: v["heat_on_face"] for k, v in shares.items()},
          "share of the picture the face covers": {k: v["face_area"] for k, v in shares.items()}}
ui.chart(plots.grouped_bars(groups, f"Does the {attribution.LABELS[method]} heat fall on the face?"))
st.markdown(diagnosis.where_it_looks(shares))
for name, rows in shown.items():
    st.caption(f"{name}: {attribution.LABELS[method]} for the network's decision")
    for column, (x, _, m, words) in zip(st.columns(len(rows)), rows):  # a caption wider than its picture: apart
        ui.image(column, plots.enlarge(plots.overlay(x, m, 0.6), 2), words)

# ---------------------------------------------------------------- 3. what changes the decision
if "left" in spec.classes:
    st.header("3. What changes the decision")
    st.markdown("The same pictures, edited where the face or the background is. If hiding the face changes little "
                "while replacing what surrounds it changes a lot, the network decides from outside the face box; "
                "replacing only the backdrop, the whole head kept, tells the head's outline from the studio behind "
                "it.")
    with st.spinner("Running the edited pictures through the network…"):
        edited = changes(variant)
    for name, rows in edited.items():
        ui.chart(plots.grouped_bars(
            {"accuracy": {k: v["accuracy"] for k, v in rows.items()},
             "“left” faces found (recall)": {k: v["left_recall"] for k, v in rows.items()}},
            f"{name} ({all_amigos if name == amigos.name else len(cmu)} pictures): decisions on edited pictures"))
    st.caption(" · ".join(f"**{k}**: {v}" for k, v in diagnosis.EDITS.items()))
    st.caption(f"The CMU pictures are the {len(cmu)} faces shown in section 1 (those whose face the detector "
               f"finds: the edits need its face box), so their “as is” figures need not match the "
               f"{scores['test']:.1%} above, which counts every one of them, its face found or not.")
    st.markdown(diagnosis.what_moves_it(edited[amigos.name], amigos.name))
    st.markdown(" ".join([diagnosis.what_moves_it(edited[cmu.name], f"{len(cmu)} CMU faces above", own_studio=True),
                          diagnosis.two_studios(edited[amigos.name], edited[cmu.name])]))
else:
    st.info(f"{variant} answers four pose classes; the edits of section 3 are measured for the “looks left” variants.")

# ---------------------------------------------------------------- 4. can the maps be trusted
st.header("4. Can these heat maps be trusted?")
st.markdown(
    "Two checks for each method, on the CMU faces. **Model randomisation** (Adebayo et al. 2018, *Sanity Checks "
    "for Saliency Maps*): the same map on a copy of the network with random weights must look different; a map "
    "that stays the same shows the picture, not what the network learned. **Deletion**: removing the pixels the "
    "map ranks highest must lower the decided class's score faster than removing pixels at random.")
checks = {}
progress = st.progress(0.0, text="Checking each method…")
for k, m in enumerate(diagnosis.METHODS):
    checks[m] = sanity(variant, m)
    progress.progress((k + 1) / len(diagnosis.METHODS), text=f"Checked {attribution.LABELS[m]}")
progress.empty()
rows = [{"method": attribution.LABELS[m],
         "similarity to the random network's map": round(c["rank_correlation"], 2),
         "passes randomisation (< 0.5)": c["rank_correlation"] < 0.5,
         "score left after deletion (area)": round(c["attributed_area"], 3),
         "random order (area)": round(c["random_area"], 3),
         "beats random": c["attributed_area"] < c["random_area"]} for m, c in checks.items()]
# short headers, said in full on hover: the table fits a narrow screen (a projector) without scrolling
st.dataframe(rows, hide_index=True, width="stretch", column_config={
    "similarity to the random network's map": st.column_config.NumberColumn(
        "like random", format="%.2f", help="Rank correlation between the map and the same method's map on a copy of the network "
                            "with random weights: near 1, the map shows the picture, not what the network learned."),
    "passes randomisation (< 0.5)": st.column_config.CheckboxColumn(
        "passes (< 0.5)", help="The map changes when the weights are random: “like random” under 0.5."),
    "score left after deletion (area)": st.column_config.NumberColumn(
        "deletion", format="%.3f", help="The decided class's score as the most-attributed pixels are removed, averaged over the "
                         "removal (the area under the curve below): lower is better."),
    "random order (area)": st.column_config.NumberColumn(
        "random order", format="%.3f", help="The same, removing pixels in a random order."),
    "beats random": st.column_config.CheckboxColumn(
        "beats random", help="Deletion lowers the score faster than random removal.")})
st.caption("**like random**: how alike the map and the same method's map on a network with random weights are, from "
           "0 (unrelated) to 1 (the same); under 0.5 passes. **deletion** and **random order**: how much of the "
           "decided class's score (its probability, or its output for a linear decision) is left on average while the "
           "pixels are removed in the map's order or at random; the map's order should leave less.")
ui.chart(plots.deletion_curves({attribution.LABELS[m]: c for m, c in checks.items()},
                               "Deletion: the decided class's score as pixels are removed"))
trusted = [r["method"] for r in rows if r["passes randomisation (< 0.5)"] and r["beats random"]]
st.markdown(f"Methods that pass both checks here: **{', '.join(trusted) if trusted else 'none'}**. "
            f"The diagnosis above is best read with those.")
if "left" in spec.classes:
    counts = empty_maps(variant)
    st.subheader("Why Grad-CAM is sometimes empty")
    if counts["judged_left"] == 0:
        st.markdown(f"This network judges none of its {counts['faces']} {cmu.name} “left”: there is no “left” "
                    f"map to check.")
    elif counts["gradcam_empty"] == 0:
        st.markdown(
            f"For this network Grad-CAM shows something on every one of the {counts['judged_left']} of its "
            f"{counts['faces']} {cmu.name} it judges “left”. Grad-CAM gives each feature of the last conv "
            f"layer one weight, its gradient "
            f"averaged over the whole picture, and keeps only the places where the weighted sum is positive, so on "
            f"some networks it is empty for some faces; on those, this section says how many and why.")
    else:
        st.markdown(
            f"Of the {counts['judged_left']} of its {counts['faces']} {cmu.name} this network judges “left”, "
            f"Grad-CAM shows nothing "
            f"for **{counts['gradcam_empty']}**. Grad-CAM gives each feature of the last conv layer one weight, its "
            f"gradient averaged over the whole picture, and keeps only the places where the weighted sum is "
            f"positive. For those faces the sum is negative everywhere. Yet in "
            f"**{counts['positive_before_averaging']}** of them, features times their own gradient, place by place, "
            f"do push “left” up somewhere: the network reads a feature differently depending on where it sits, and "
            f"the averaging cancels that evidence. Occlusion needs no gradient: "
            + ("it shows something for every one of them" if counts['occlusion_empty'] == 0 else
               f"it is empty for **{counts['occlusion_empty']}** of them")
            + ", and the Your photo page switches to it when Grad-CAM is empty.")
        with st.spinner("Drawing a few of those faces…"):
            sheet, left_scores = empty_gradcam_sheet(variant)
        ui.image(st, sheet,
                 f"{len(left_scores)} of those faces, judged “left” at "
                 + ", ".join(f"{v:.1%}" if spec.decision_activation == "softmax" else f"{v:.2f}" for v in left_scores)
                 + ". Left: Grad-CAM for “left” shows nothing on them. Middle: features times their own gradient, "
                   "place by place, before Grad-CAM averages the gradient (bright: pushes “left” up). Right: "
                   "occlusion, where hiding a patch costs “left” the most.",
                 alt="Faces whose Grad-CAM is empty, each beside the evidence that explains its decision")
