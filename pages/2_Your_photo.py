"""Your photo: how the network classifies a face, where it looks, and every layer's response."""

import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

import shell

shell.open_page("Your photo")
with st.spinner("Loading the networks…"):  # TensorFlow loads here, once per server
    import ui
    from vislib import activations, attribution, data, diagnosis, happymaps, imaging, plots, settings, zoo

st.markdown("Upload face photos, or pick a sample, to see what the network sees, what it decides, "
            "and which pixels drove the decision. Photos stay in memory: nothing is saved.")
variant = ui.variant_picker(default=getattr(zoo, "RECOMMENDED", None))
spec = zoo.variant(variant)
network = ui.load_or_stop(ui.model, variant)
metrics = ui.load_or_stop(ui.metrics, variant)
classes = metrics["classes"]
KEEP = "session"
DECISION = "its decision"


# Decoded photos are shared by all sessions: a few at a time, for a few minutes (each can be ~10 MB).
@st.cache_resource(show_spinner=False, max_entries=4, ttl=300)
def decode(digest: str, _payload: bytes):
    """Decoded once per file content (the digest is the key; the bytes are not hashed again)."""
    return imaging.load_photo(_payload)


@st.cache_data(show_spinner=False, max_entries=64)
def find_face(digest: str, _gray: np.ndarray):
    """The face in a decoded photo, once per file content (the digest is the key)."""
    return imaging.detect_face(_gray)


@st.cache_data(show_spinner=False, max_entries=256)
def decision_of(name: str, x: np.ndarray):
    return activations.decide(ui.model(name), x, zoo.variant(name).classes)


@st.cache_data(show_spinner=False, max_entries=256)
def heatmap_of(name: str, x: np.ndarray, method: str, class_index: int, layer: str | None):
    return attribution.attribute(ui.model(name), x, method, class_index=class_index, layer=layer)


@st.cache_data(show_spinner=False, max_entries=32)
def explanation_png(name: str, x: np.ndarray, heat: np.ndarray, opacity: float, target: str, method: str) -> bytes:
    return plots.explanation_png(x[..., 0], heat, opacity, f"{name}: {method} for “{target}”")


@st.cache_data(show_spinner=False, max_entries=64)
def responses_of(name: str, x: np.ndarray):
    return activations.layer_activations(ui.model(name), x)


@st.cache_data(show_spinner=False, max_entries=32)
def response_pictures(name: str, x: np.ndarray) -> dict:
    """Each layer's response to a photo, drawn once: a PNG of its feature maps, or a bar chart."""
    pictures = {}
    for layer_name, act in responses_of(name, x).items():
        dead = ui.dead_units(name, layer_name)
        if act.ndim == 3:
            maps = plots.normalise_maps(np.moveaxis(act, -1, 0))
            scale = max(1, 64 // act.shape[0])  # small maps (max_pooling2d_3: 7x8) shown at 56 px and more
            pictures[layer_name] = plots.png_bytes(plots.montage(maps, list(range(act.shape[-1])), marked=dead,
                                                                scale=scale))
        else:
            spec_here = zoo.variant(name)
            pictures[layer_name] = plots.unit_strip(
                act, dead, names=spec_here.classes if layer_name == spec_here.decision_layer else None)
    return pictures


@st.cache_data(show_spinner=False)
def samples(data_here: bool) -> dict:
    """label -> (path, face box or None, credit line or None); data_here is the cache's key: the CMU and
    three-amigos samples appear once the data does, without a restart."""
    found = {f"Sample: {p.stem}": (str(p), None, None)
             for p in sorted(settings.SAMPLES_DIR.glob("*")) if p.suffix.lower() in (".jpg", ".jpeg", ".png")}
    try:
        faces = data.load_cmu()
        _, test = data.split_indices(faces.poses)
        for i in test[::12]:
            found[f"CMU face: {faces.files[i]}"] = (str(data.cmu_root() / faces.files[i]), None, "cmu")
        for photo in data.load_three_amigos()[::3]:
            found[f"Three amigos: {photo.file}"] = (str(photo.path), photo.face_box, "pointing04")
    except data.DataNotFoundError:
        pass  # no data folder: uploads and the shipped samples still work
    return found


KEPT = "photo_kept"  # the session's uploads: (name, bytes), in memory only, bounded
MAX_KEPT_PHOTOS = 8


def keep_uploads():
    """The uploader changed by the user's hand: remember its files for this session's later visits."""
    files = st.session_state.get("photo_uploads") or []
    st.session_state[KEPT] = [(f.name, f.getvalue()) for f in files[:MAX_KEPT_PHOTOS]]


# a link that names a sample opens on the samples' tab; chosen once a session, so that the tabs never jump back
st.session_state.setdefault("photo_first_tab", "Pick a sample" if st.query_params.get("sample") else "Upload photos")
upload_tab, camera_tab, sample_tab = st.tabs(["Upload photos", "Camera", "Pick a sample"],
                                             default=st.session_state["photo_first_tab"])
with upload_tab:
    st.file_uploader("Face photos", type=[*imaging.ACCEPTED_EXTENSIONS, *imaging.EXPLAINED_EXTENSIONS],
                     accept_multiple_files=True,
                     key="photo_uploads", on_change=keep_uploads, max_upload_size=imaging.MAX_BYTES // 2**20,
                     help=f"{imaging.FORMATS_IN_WORDS}; up to {imaging.MAX_PIXELS // 10**6} megapixels (a JPEG "
                          f"{imaging.MAX_JPEG_PIXELS // 10**6}) and "
                          f"{imaging.MAX_BYTES // 2**20} MB a file, {MAX_KEPT_PHOTOS} photos at a time. Nothing is "
                          f"saved. iPhones' HEIC photos cannot be read. {imaging.HEIC_ADVICE}")
    uploaded = st.session_state.get("photo_uploads") or []
    if len(uploaded) > MAX_KEPT_PHOTOS:  # said, not dropped in silence
        left_out = uploaded[MAX_KEPT_PHOTOS:]
        st.warning(f"{MAX_KEPT_PHOTOS} photos are looked at at a time, so "
                   + ("this one is" if len(left_out) == 1 else f"these {len(left_out)} are")
                   + f" not: {', '.join(f.name for f in left_out)}. Remove some from the list to see "
                   + ("it." if len(left_out) == 1 else "them."))
    kept = st.session_state.get(KEPT, [])
    if kept and not st.session_state.get("photo_uploads"):
        st.caption("Still here from your last visit: " + ", ".join(n for n, _ in kept))
        st.button("Forget these photos", on_click=lambda: st.session_state.pop(KEPT, None))
with camera_tab:
    snapshot = st.camera_input("Take a photo", key="photo_camera",
                               help="A snapshot from your camera goes through the same steps as an upload.")
with sample_tab:
    options = samples(data.present())
    if not any(credit for _, _, credit in options.values()):
        st.caption(f"CMU and three-amigos samples appear here once the data sets are: {settings.how_to_fetch()}.")
    linked = st.query_params.get("sample")
    if linked in options and not st.session_state.get("photo_link_read"):
        st.session_state["photo_sample"] = linked  # a pasted link reopens the same sample
    st.session_state["photo_link_read"] = True
    sample = st.selectbox("Sample", ["(none)", *options], key="photo_sample", persist_state=KEEP)
    if sample != "(none)":
        st.query_params["sample"] = sample
    else:
        st.query_params.pop("sample", None)

# an upload named as a Pointing'04 original is most likely one, so it is cited like the samples
photos = [(name, payload, None, "pointing04" if data.is_pointing04_name(name) else None)
          for name, payload in st.session_state.get(KEPT, [])]
if snapshot is not None:
    photos.append(("Camera snapshot", snapshot.getvalue(), None, None))
if sample != "(none)":
    path, box, credit = options[sample]
    photos.append((sample, Path(path).read_bytes(), box, credit))
seen_names: dict[str, int] = {}
for i, (name, *rest) in enumerate(photos):  # two uploads of one file name stay two entries
    seen_names[name] = seen_names.get(name, 0) + 1
    if seen_names[name] > 1:
        photos[i] = (f"{name} ({seen_names[name]})", *rest)

if not photos:
    st.info(f"Upload a photo or pick a sample to begin. A file the uploader marks in red was refused before it "
            f"reached the app (over {imaging.MAX_BYTES // 2**20} MB, or not one of its formats): point at it, or tap "
            f"it, to see why.")
    st.stop()

readable = []  # (name, digest, decoded photo, box, credit): a refused file is said before any control
for name, payload, box, credit in photos:
    digest = hashlib.sha256(payload).hexdigest()
    try:
        readable.append((name, digest, decode(digest, payload), box, credit))
    except imaging.PhotoError as error:
        st.error(f"**{name}**: {error}")
if not readable:
    st.stop()

framing = st.radio("Framing", ["face", "whole photo"], horizontal=True, key="photo_framing", persist_state=KEEP,
                   help="'face' crops head and shoulders around the face, as the CMU photos were framed.")
z1, z2, z3 = st.columns(3)
whole_cmu_files = spec.framing == "cmu" and all(credit == "cmu" for *_, credit in readable)
by_hand = framing != "face" or whole_cmu_files
if whole_cmu_files:
    st.caption(f"CMU files reach {variant} whole, as its training faces did: the framing and the crop do not apply.")
zoom = z1.slider("Crop zoom", 0.5, 2.0, 1.0, 0.05, key="photo_zoom", disabled=by_hand, persist_state=KEEP)
right = z2.slider("Move crop right", -0.5, 0.5, 0.0, 0.05, key="photo_right", disabled=by_hand, persist_state=KEEP,
                  help="In fractions of the crop's width; negative moves it left.")
down = z3.slider("Move crop down", -0.5, 0.5, 0.0, 0.05, key="photo_down", disabled=by_hand, persist_state=KEEP,
                 help="In fractions of the crop's height; negative moves it up.")


NO_FACE = "whole photo (no face found)"


def intake(digest: str, gray: np.ndarray, face_box, as_trained: bool = False):
    """as_trained: a CMU file given whole, as the original study's networks saw their training faces."""
    whole = framing == "whole photo" or as_trained
    face = None if whole else face_box if face_box is not None else find_face(digest, gray)
    framed = imaging.frame(gray, face, zoom, use_whole_photo=face is None, right=right, down=down)
    source = ("the whole CMU file, as this network's training faces were" if as_trained else
              framed.source if face is not None or whole else NO_FACE)
    # where the face is in the photo, for "Where does the network look?"
    return framed.box, source, framed.input, face.box if isinstance(face, imaging.Face) else face


good = []  # (name, gray, box, source, network input, credit, decision, face box or None)
for name, digest, gray, box, credit in readable:
    try:
        crop_box, source, x, face_box = intake(digest, gray, box,
                                               as_trained=credit == "cmu" and spec.framing == "cmu")
    except ValueError as error:  # one photo that cannot be framed is said, and the others are still shown
        st.error(f"**{name}** could not be framed: {error}")
        continue
    good.append((name, gray, crop_box, source, x, credit, decision_of(variant, x), face_box))
if not good:
    st.stop()
if any(g[5] == "pointing04" for g in good):
    ui.cite_pointing04()
if any(g[5] == "cmu" for g in good):
    st.caption(f"CMU faces: {settings.CMU_CITATION}")

chosen = 0
if len(good) > 1:
    st.subheader("Gallery")
    # a row that wraps: on a phone, columns stack and the gallery took a screen for every two photos
    gallery = st.container(horizontal=True, gap="small")
    for name, _, _, _, x, _, decision, _ in good:
        thumbnail = plots.enlarge(x[..., 0], 2)
        # as wide as two fit on a phone: a caption as narrow as the picture broke file names mid-word
        ui.image(gallery.container(width=168), thumbnail, f"{name}: {decision.label}", clamp=True)
    names = [g[0] for g in good]
    picked = st.selectbox("Look closer at", names, key="photo_chosen", persist_state=KEEP)
    chosen = names.index(picked) if picked in names else 0
name, gray, crop_box, source, x, credit, decision, face_box = good[chosen]

st.subheader(name)
c1, c2, c3 = st.columns([3, 2, 3])
ui.image(c1, plots.with_box(gray, crop_box),
         f"Original; the red box is what the network gets: {imaging.framing_in_words(source)}")
on_photo = imaging.share_on_photo(crop_box, gray.shape)
if on_photo < 0.6:
    c1.warning(f"Only {on_photo:.0%} of the crop lies on the photo; the rest is filled in from its edges, so the "
               f"network sees little of the photo. The crop sliders above move it onto the face.")
if source == NO_FACE:
    c1.warning("No face was found, so the network gets the whole photo, framed unlike any face it was trained on: "
               "its answer may mean little. The face detector looks for upright faces: if the photo holds a face, "
               "upload it turned upright.")
if imaging.LESS_SURE in source:
    c1.caption("The face detector was not sure of this face: check that the red box holds it "
               "(the crop sliders above move it).")
ui.image(c2, plots.enlarge(x[..., 0], 4), "What the network sees (64 × 60 pixels)", clamp=True)
blank = bool(happymaps.flat(x[None, ..., 0])[0])
if blank:
    c2.warning("What the network sees is one flat tone: at 64 × 60 pixels there is no face, nor anything else, "
               "for it to look at, so its decision means nothing.")
with c3:
    st.metric("Decision", decision.label)
    # which network answered, beside its answer: the page may start on another network than the last page
    why = (" (recommended for photos; pick another in the sidebar)" if variant == getattr(zoo, "RECOMMENDED", None)
           and not st.session_state.get(ui.CHOSEN_KEY) else "")
    st.caption(f"by **{variant}**, {spec.short_title or spec.title}{why}")
    title = "Class probability" if decision.probabilities else "Class score (linear output, not a probability)"
    ui.chart(plots.probabilities(classes, decision.scores, title, decision.probabilities))
    if decision.probabilities:
        st.caption("How sure the network is, not how often it is right: the original networks say “not left” at "
                   "100% to photos they get wrong (see *Why it fails*).")

st.subheader("Where does the network look?")
a1, a2, a3, a4 = st.columns(4)
method = a1.selectbox("Method", list(attribution.METHODS), index=list(attribution.METHODS).index("occlusion"),
                      key="attr_method", persist_state=KEEP, format_func=lambda m: attribution.LABELS[m],
                      help="Occlusion first: it needs no gradient and passes both checks of the Why it fails page.")
# Option labels never depend on the photo: the browser sends back the label it shows, and a label
# that changed with the decision ("its decision (not left)") would no longer match any option.
target_choice = a2.selectbox("For the class", [DECISION, *classes], key=f"attr_class_{variant}",
                             help="Explain the network's decision for this photo, or the score of one class.")
class_index = decision.index if target_choice == DECISION else classes.index(target_choice)
target = classes[class_index]
conv_layers = attribution.conv_layers(network)
uses_layer = method in attribution.LAYER_METHODS
layer = a3.selectbox("Conv layer", conv_layers, index=len(conv_layers) - 1,  # one line, as its neighbours' labels
                     key=f"attr_layer_{variant}", disabled=not uses_layer,
                     help="The layer whose features Grad-CAM and Grad-CAM++ weigh; the other methods need none.")
opacity = a4.slider("Opacity", 0.0, 1.0, 0.5, 0.05, key="attr_opacity", persist_state=KEEP)
heat = heatmap_of(variant, x, method, class_index, layer if uses_layer else None)
shown_method, note = method, None
if not attribution.shows_something(heat.heatmap):
    almost = bool(heat.heatmap.any())  # a speck, e.g. one cell in a corner, that would read as "it looks there"
    occluding = f"hiding any one patch of it does not change the score of “{target}”"
    why = (f"{attribution.LABELS[method]} weighs each feature of {layer} by how its gradient raises the score of "
           f"“{target}” over the whole layer, and keeps only the regions where the weighted features add up to more "
           f"than nothing. Here {'nearly ' if almost else ''}every feature that fires is weighed down: this network's "
           f"dense layers read a feature differently depending on where it is, and one weight for the whole layer "
           f"cancels it out"
           if uses_layer else occluding if method == "occlusion" else
           f"the score of “{target}” does not change with any single pixel here (zero gradient)")
    what = ("shows almost nothing for this photo (less than 1% of its map reaches a twentieth of its brightest "
            "spot)" if almost else "shows nothing for this photo")
    note = f"{attribution.LABELS[method]} {what}: {why}."
    fallback = attribution.FALLBACK.get(method)
    instead = heatmap_of(variant, x, fallback, class_index, None) if fallback else None
    if instead is not None and attribution.shows_something(instead.heatmap):
        shown_method, heat = fallback, instead
        note += (f" Shown instead: **{attribution.LABELS[fallback]}**, which hides one patch at a time and "
                 f"measures how much the score of “{target}” falls.")
    else:
        note += ((f" Nor does {attribution.LABELS[fallback]}: {occluding}." if fallback else "")
                 + (" The picture is one flat tone." if blank else ""))
h1, h2, h3 = st.columns(3)
face_mask = None if face_box is None else diagnosis.face_mask(crop_box, face_box)
boxed = face_mask is not None and bool(face_mask.any())  # a face, and in view
over_input = plots.enlarge(plots.overlay(x[..., 0], heat.heatmap, opacity), 4)
ui.image(h1, plots.with_face_box(over_input, face_mask, 4) if boxed else over_input,
         f"{attribution.LABELS[shown_method]} for “{target}” over the network's input"
         + ("; the blue box holds the eyes, nose and mouth" if boxed else ""))
patch = imaging.preview(gray, crop_box)
ui.image(h2, plots.overlay(patch, plots.resize_map(heat.heatmap, patch.shape), opacity),
         "The same, over the framed photo")
if note:
    h3.info(note)
here = diagnosis.where_it_looks_here(heat.heatmap, face_mask, "the blue box (eyes, nose and mouth)") if boxed else None
if here:
    h3.markdown(here)
h3.markdown(
    "Bright areas drove the score of the chosen class up. **Saliency** and **SmoothGrad** show pixel-level "
    "sensitivity; **Grad-CAM** and **Grad-CAM++** show which regions a conv layer relied on; **Occlusion** hides "
    "each patch in turn and shows where hiding costs the most score. If the heat sits on the background rather "
    "than the face, the network learned the wrong cue.")
st.download_button("Download this explanation (PNG)", explanation_png(name, x, heat.heatmap, opacity, target,
                                                                      attribution.LABELS[shown_method]),
                   file_name=f"happymaps-{variant}-{shown_method}.png", mime="image/png", icon=":material/download:")

st.subheader("Every layer's response")
responses = responses_of(variant, x)
book = ui.atlas(variant)
for layer_name, picture in response_pictures(variant, x).items():
    title = (f"{layer_name} · the photo as the network's first step normalises it"
             if layer_name == "preprocess" else f"{layer_name} · {responses[layer_name].shape[-1]} units")
    with st.expander(title, expanded=layer_name == "conv2d_1"):
        if isinstance(picture, bytes):
            st.image(picture, alt=f"{title}: each unit's response to the photo")
        else:
            ui.chart(picture)
st.caption("Crossed out in red: units that never respond to any CMU training face (dead units), a framed cross "
           "over the tile among the maps, a cross in the bar charts.")

st.subheader("One unit: its HappyMap and its response here")
u1, u2 = st.columns(2)
unit_layer = u1.selectbox("Layer", zoo.unit_layers(network), key=f"unit_layer_{variant}")
unit = u2.number_input("Unit", 0, int(responses[unit_layer].shape[-1]) - 1, 0, key=f"unit_{variant}_{unit_layer}")
unit_name = f"{unit_layer} unit {unit}" + (f" (“{classes[unit]}”)" if unit_layer == spec.decision_layer else "")
v1, v2 = st.columns(2)
if book is not None and unit_layer in book.images:
    ui.image(v1, plots.enlarge(book.images[unit_layer][unit], 4), f"HappyMap of {unit_name}", clamp=True)
else:
    v1.info("No atlas for this variant: see the HappyMaps page.")
response = responses[unit_layer][..., unit]
if response.ndim == 2:
    ui.image(v2, plots.enlarge(plots.normalise_maps(response[None])[0], 4 * 60 // response.shape[0]),
             f"Its response to this photo (mean {response.mean():.3f})", clamp=True)
else:
    v2.metric(f"{unit_name} on this photo", f"{float(response):.3f}")
