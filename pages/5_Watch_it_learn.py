"""Watch it learn: the network's training, epoch by epoch, from the shipped timelapse (issue 13)."""

import numpy as np
import streamlit as st

import shell

shell.open_page("Watch it learn", "Watch it learn")
with st.spinner("Loading the networks…"):  # TensorFlow loads here, once per server
    import ui
    from vislib import plots, timelapse, zoo

st.markdown(
    "A network starts from random weights and, epoch after epoch (one pass over the training faces), adjusts "
    "them to make fewer mistakes. This timelapse was recorded while the chosen network's recipe was trained: "
    "press **▶ Play** or drag the slider. At the top, the picture each answer of the network likes most (its "
    "HappyMap) and what it answers for a few photos anyone may share (an astronaut, mirrored and cropped, and "
    "the average training face); below, how often it is right and how wrong it is (the loss), on the faces it "
    "learns from (train) and on faces it never learns from (test: for the original networks, other photos of the "
    "people it learns from; for Experiment 2's, photos of people held out).")
variant = ui.variant_picker()
spec = zoo.variant(variant)


@st.cache_data(show_spinner=False)
def load_timelapse(name: str, stamp: float):
    return timelapse.load(name)


path = zoo.model_dir(variant) / timelapse.TIMELAPSE_FILE
try:
    movie = load_timelapse(variant, path.stat().st_mtime if path.is_file() else 0.0)
except timelapse.TimelapseError as error:
    st.error(str(error))
    st.stop()
if movie is None:
    st.info(f"No timelapse for this variant: `{timelapse.record_command(variant)}` records one "
            f"(it trains the network again, about a minute, and writes {path.name} beside the model).")
    st.stop()

ui.load_or_stop(ui.model, variant)  # a damaged model file is said as such, not taken for a retrained one
if timelapse.stale(variant, movie):
    st.warning(f"This timelapse was recorded before {variant}'s model file was last retrained, so it shows an "
               f"earlier training run of the recipe. Record it again with `{timelapse.record_command(variant)}`.")
sentence = timelapse.learning_sentence(movie)
names = [n.replace("_", " ") for n in movie.input_names]  # the sample files' stems, shown as words
st.markdown(f"**{sentence}**")
ui.chart(plots.timelapse_animation(movie.epochs, movie.logs, movie.happymaps, movie.classes, movie.scores,
                                   names, movie.probabilities, title=f"{variant}: ", narrow=ui.on_a_phone()))
last = len(movie) - 1
final = movie.logs["val_accuracy"][last]
start = movie.logs["val_accuracy"][0]
answers = movie.scores.argmax(axis=2)
changed = [name for i, name in enumerate(names) if answers[0, i] != answers[last, i]]
st.markdown(
    f"Before training it is right on **{start:.0%}** of the {timelapse.test_faces(movie)}, after {int(movie.epochs[last])} epochs on "
    f"**{final:.0%}**. Over training its answer (the longer bar) changes for "
    + (f"**{', '.join(changed)}**." if changed else "none of the pictures above: the bars move, but the longer one "
       "stays the same.")
    + " The HappyMaps are made in the space of faces from the average face, so they change only where the network "
      "has learned to care.")
meta = movie.meta
shipped = ui.load_or_stop(ui.metrics, variant)["accuracy"]["test"]
st.caption(
    f"Recorded with `{meta.get('command', timelapse.record_command(variant))}`: the variant's own recipe "
    f"(same data, split, seed, {meta.get('epochs', last)} epochs), trained again with a recorder attached. Its last "
    f"epoch scores {final:.1%} on the {timelapse.test_faces(movie)}; the shipped model {shipped:.1%} on "
    + ("its CMU test faces alone" if timelapse.tests_pointing04_people(movie) else "the same faces")
    + ("" if meta.get("same_weights_as_shipped") else " (training on this machine is not bit-for-bit the same run)")
    + (f". The shipped network averages the weights of epochs {spec.average_from} to {spec.epochs}; each frame "
       f"shows that epoch's own weights" if meta.get("averaged_after_training") else "")
    + f". HappyMaps: {meta['happymap_settings']['steps']} steps of the default setting each epoch. "
      f"No CMU or Pointing'04 picture is stored, only these pictures and the network's answers to them.")

st.header("Inside the network, epoch by epoch")
kept = {len(c) for c in movie.channels.values()}
st.markdown(f"{'One feature map' if kept == {1} else 'A few feature maps'} of each conv and pool layer for one "
            f"picture: white where the feature responds most in that layer at that epoch, black where it is silent. "
            f"Move the epoch below (it has its own slider: the animation above does not move it) to see "
            f"{'it' if kept == {1} else 'them'} change as the network learns."
            + (" (A recording of many epochs keeps one map a layer, to stay small.)" if kept == {1} else ""))
c1, c2 = st.columns(2)
picture = c1.selectbox("Picture", range(len(names)), format_func=lambda i: names[i],
                       key="timelapse_picture")
epoch = c2.select_slider("Epoch", options=[int(e) for e in movie.epochs], value=int(movie.epochs[last]),
                         key="timelapse_epoch")
frame = int(np.flatnonzero(movie.epochs == epoch)[0])
ui.image(st, plots.enlarge(movie.inputs[picture], 3), f"{names[picture]}, as the network sees it",
         clamp=True)
columns = st.columns(2)
for k, (layer, maps) in enumerate(movie.activations.items()):
    tiles = maps[frame, picture]
    ui.image(columns[k % 2], plots.montage(tiles, labels=[f"unit {c}" for c in movie.channels[layer]], cols=len(tiles),
                                           scale=max(1, 192 // tiles.shape[-1])),
             f"{layer}: unit{'s' if len(movie.channels[layer]) > 1 else ''} "
             f"{', '.join(map(str, movie.channels[layer]))} "
             f"(white = {movie.scales[layer][frame]:.2f}, this layer's highest at epoch {epoch})")
ui.cite_pointing04(variant)
