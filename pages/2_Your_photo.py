"""Your photo: how the network classifies a face, where it looks, and every layer's response."""

from pathlib import Path

import numpy as np
import streamlit as st

import ui
from vislib import activations, attribution, data, imaging, plots, settings, zoo

ui.setup_page("Your photo")
st.title("Your photo")
st.markdown("Upload face photos, or pick a sample, to see what the network sees, what it decides, "
            "and which pixels drove the decision. Photos stay in memory: nothing is saved.")
variant = ui.variant_picker()
network = ui.load_or_stop(ui.model, variant)
metrics = ui.load_or_stop(ui.metrics, variant)
classes = metrics["classes"]


@st.cache_data(show_spinner=False, max_entries=64)
def decode(payload: bytes):
    return imaging.load_photo(payload)


@st.cache_data(show_spinner=False, max_entries=64)
def find_face(payload: bytes):
    return imaging.detect_face(decode(payload))


@st.cache_data(show_spinner=False)
def samples() -> dict:
    """name -> (path, face box or None, needs the Pointing'04 citation)."""
    found = {f"Sample: {p.stem}": (str(p), None, False)
             for p in sorted(settings.SAMPLES_DIR.glob("*")) if p.suffix.lower() in (".jpg", ".jpeg", ".png")}
    try:
        faces = data.load_cmu()
        _, test = data.split_indices(faces.poses)
        for i in test[::12]:
            found[f"CMU test face: {faces.files[i]}"] = (str(data.cmu_root() / faces.files[i]), None, False)
        for photo in data.load_three_amigos()[::3]:
            found[f"Three amigos: {photo.file}"] = (str(photo.path), photo.face_box, True)
    except data.DataNotFoundError:
        pass  # no data folder: uploads and the shipped samples still work
    return found


upload_tab, sample_tab = st.tabs(["Upload photos", "Pick a sample"])
with upload_tab:
    uploads = st.file_uploader("Face photos", type=list(imaging.ACCEPTED_EXTENSIONS), accept_multiple_files=True,
                               help="JPEG, PNG, WebP, BMP, GIF, TIFF or PGM; up to 40 megapixels.")
with sample_tab:
    options = samples()
    sample = st.selectbox("Sample", ["(none)", *options], key="photo_sample")

photos = []  # (name, bytes, face box or None, cite)
for f in uploads or []:
    photos.append((f.name, f.getvalue(), None, False))
if sample != "(none)":
    path, box, cite = options[sample]
    photos.append((sample, Path(path).read_bytes(), box, cite))

if not photos:
    st.info("Upload a photo or pick a sample to begin.")
    st.stop()


def intake(payload: bytes, face_box, framing: str, zoom: float = 1.0, right: float = 0.0, down: float = 0.0):
    gray = decode(payload)
    face = None if framing == "whole photo" else face_box if face_box is not None else find_face(payload)
    framed = imaging.frame(gray, face, zoom, use_whole_photo=face is None)
    source = framed.source if face is not None or framing == "whole photo" else "whole photo (no face found)"
    if face is None or (right == 0 and down == 0):
        return gray, framed.box, source, framed.input
    box = imaging.moved(framed.box, right, down)
    return gray, box, source + ", moved by hand", imaging.to_network_input(gray, box)


framing = st.radio("Framing", ["face", "whole photo"], horizontal=True, key="photo_framing",
                   help="'face' crops head and shoulders around the face, as the CMU photos were framed.")
z1, z2, z3 = st.columns(3)
zoom = z1.slider("Crop zoom", 0.5, 2.0, 1.0, 0.05, key="photo_zoom", disabled=framing != "face")
right = z2.slider("Move crop right", -0.5, 0.5, 0.0, 0.05, key="photo_right", disabled=framing != "face",
                  help="In fractions of the crop's width; negative moves it left.")
down = z3.slider("Move crop down", -0.5, 0.5, 0.0, 0.05, key="photo_down", disabled=framing != "face",
                 help="In fractions of the crop's height; negative moves it up.")

good = []
for name, payload, box, cite in photos:
    try:
        gray, crop_box, source, x = intake(payload, box, framing, zoom, right, down)
    except imaging.PhotoError as error:
        st.error(f"**{name}**: {error}")
        continue
    good.append((name, gray, crop_box, source, x, cite))
if not good:
    st.stop()

if len(good) > 1:
    st.subheader("Gallery")
    cols = st.columns(min(6, len(good)))
    for i, (name, _, _, _, x, _) in enumerate(good):
        decision = activations.decide(network, x, classes)
        cols[i % len(cols)].image(plots.enlarge(x[..., 0], 2), caption=f"{name}: {decision.label}", clamp=True)
    chosen = st.selectbox("Look closer at", [g[0] for g in good], key="photo_chosen")
    name, gray, crop_box, source, x, cite = next(g for g in good if g[0] == chosen)
else:
    name, gray, crop_box, source, x, cite = good[0]

decision = activations.decide(network, x, classes)
st.subheader(f"{name}")
c1, c2, c3 = st.columns([3, 2, 3])
c1.image(plots.with_box(gray, crop_box), caption=f"Original; the red box is what the network gets ({source})")
c2.image(plots.enlarge(x[..., 0], 4), caption="What the network sees (64x60)", clamp=True)
with c3:
    kind = "probability" if decision.probabilities else "score (linear output)"
    st.metric("Decision", decision.label)
    st.plotly_chart(plots.probabilities(classes, decision.scores, f"Class {kind}"), width="stretch")
if cite:
    ui.cite_pointing04()

st.subheader("Where does the network look?")
conv_layers = [n for n in zoo.unit_layers(network) if n.startswith("conv2d")]
a1, a2, a3, a4 = st.columns(4)
method = a1.selectbox("Method", list(attribution.METHODS), index=2, key="attr_method")
target = a2.selectbox("For the class", classes, index=decision.index, key=f"attr_class_{variant}")
layer = a3.selectbox("Conv layer (Grad-CAM)", conv_layers, index=len(conv_layers) - 1, key=f"attr_layer_{variant}",
                     disabled=not method.startswith("gradcam"))
opacity = a4.slider("Opacity", 0.0, 1.0, 0.5, 0.05, key="attr_opacity")
heat = attribution.attribute(network, x, method, class_index=classes.index(target),
                             layer=layer if method.startswith("gradcam") else None)
h1, h2, h3 = st.columns(3)
h1.image(plots.enlarge(plots.overlay(x[..., 0], heat.heatmap, opacity), 4),
         caption=f"{method} for “{target}” over the network's input")
patch = imaging.crop(gray, crop_box)
h2.image(plots.overlay(patch, plots.resize_map(heat.heatmap, patch.shape), opacity),
         caption="The same, over the framed photo")
if not heat.heatmap.any():
    h3.warning(f"{method} found no region that raises the score of “{target}”: every gradient at "
               f"{heat.layer or 'the input'} points the other way. Try Grad-CAM++ or another layer.")
h3.markdown(
    "Bright areas drove the score of the chosen class up. **Saliency** and **SmoothGrad** show pixel-level "
    "sensitivity; **Grad-CAM** and **Grad-CAM++** show which regions a conv layer relied on. If the heat sits "
    "on the background rather than the face, the network learned the wrong cue.")

st.subheader("Every layer's response")
acts = activations.layer_activations(network, x)
stats = ui.unit_stats(variant)
book = ui.atlas(variant)
for layer_name, act in acts.items():
    dead = [i for i, d in enumerate(stats.get(layer_name, {}).get("dead", [])) if d]
    with st.expander(f"{layer_name} · {act.shape[-1]} units", expanded=layer_name.startswith("conv2d_1")):
        if act.ndim == 3:
            maps = plots.normalise_maps(np.moveaxis(act, -1, 0))
            st.image(plots.montage(maps, list(range(act.shape[-1])), marked=dead, scale=1 if act.shape[0] > 30 else 2))
        else:
            st.plotly_chart(plots.unit_strip(act, dead), width="stretch")
if any(stats.get(n, {}).get("dead") for n in acts):
    st.caption("Red: units that never respond to any CMU training face (dead units).")

st.subheader("One unit: its HappyMap and its response here")
u1, u2 = st.columns(2)
unit_layer = u1.selectbox("Layer", zoo.unit_layers(network), key=f"unit_layer_{variant}")
unit = u2.number_input("Unit", 0, int(acts[unit_layer].shape[-1]) - 1, 0, key=f"unit_{variant}_{unit_layer}")
v1, v2 = st.columns(2)
if book is not None and unit_layer in book.images:
    v1.image(plots.enlarge(book.images[unit_layer][unit], 4), caption=f"HappyMap of {unit_layer} unit {unit}", clamp=True)
else:
    v1.info("No atlas for this variant: see the HappyMaps page.")
response = acts[unit_layer][..., unit]
if response.ndim == 2:
    v2.image(plots.enlarge(plots.normalise_maps(response[None])[0], 4 * 60 // response.shape[0]),
             caption=f"Its response to this photo (mean {response.mean():.3f})", clamp=True)
else:
    v2.metric(f"{unit_layer} unit {unit} on this photo", f"{float(response):.3f}")
