"""HappyMaps: for each unit, the picture that excites it most (activation maximisation)."""

from dataclasses import asdict

import streamlit as st

import ui
from vislib import happymaps, plots, regularizers, zoo

ui.setup_page("HappyMaps")
st.title("HappyMaps")
st.markdown(
    "Each tile is a picture optimised, step by step, to excite one unit as much as possible. "
    "The four regularisers of Yosinski et al. 2015 (*Understanding Neural Networks Through Deep "
    "Visualization*) keep the pictures legible. Similar HappyMaps suggest two networks learned the same thing."
)
variant = ui.variant_picker()
network = ui.load_or_stop(ui.model, variant)
engine = ui.load_or_stop(ui.engine, variant)
layers = zoo.unit_layers(network)
stats = ui.load_or_stop(ui.unit_stats, variant)

SLIDERS = ("decay", "blur_sigma", "blur_every", "norm_pct", "contrib_pct")
MAX_KEPT_RESULTS = 12


def apply_preset():
    name = st.session_state["hm_preset"]
    if name in regularizers.PRESETS:
        for key, value in asdict(regularizers.PRESETS[name]).items():
            st.session_state[f"hm_{key}"] = value


if "hm_decay" not in st.session_state:
    st.session_state["hm_preset"] = happymaps.DEFAULT_PRESET
    apply_preset()

with st.sidebar:
    st.subheader("Settings")
    layer = st.selectbox("Layer", layers, index=layers.index(f"conv2d_{len(zoo.variant(variant).conv_filters)}")
                         if f"conv2d_{len(zoo.variant(variant).conv_filters)}" in layers else 0, key="hm_layer")
    n_units = int(network.get_layer(layer).output.shape[-1])
    if st.toggle("All units", value=n_units <= 64, key="hm_all"):
        units = list(range(n_units))
    else:
        units = st.multiselect("Units", list(range(n_units)), default=list(range(min(8, n_units))),
                               key=f"hm_units_{layer}") or [0]
    st.selectbox("Preset (Yosinski et al. 2015, Table 1)", [*regularizers.PRESETS, "custom"], key="hm_preset",
                 on_change=apply_preset)
    st.slider("L2 decay θ", 0.0, 0.5, step=0.0001, format="%.4f", key="hm_decay",
              help="Each step, pull every pixel toward gray by this fraction.")
    st.slider("Blur width σ (pixels)", 0.0, 3.0, step=0.1, key="hm_blur_sigma")
    st.slider("Blur every N steps", 0, 32, key="hm_blur_every", help="0: never blur.")
    st.slider("Clip pixels of small norm (percentile)", 0.0, 100.0, step=1.0, key="hm_norm_pct")
    st.slider("Clip pixels of small contribution (percentile)", 0.0, 100.0, step=1.0, key="hm_contrib_pct")
    with st.expander("More"):
        steps = st.slider("Steps", 8, 512, 128, step=8, key="hm_steps")
        learning_rate = st.slider("Learning rate", 0.005, 0.5, 0.05, step=0.005, format="%.3f", key="hm_lr")
        jitter = st.slider("Jitter (pixels)", 0, 8, 0, key="hm_jitter")
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="hm_seed")
        start = st.selectbox("Start image", happymaps.START_IMAGES, key="hm_start")
        pre_activation = st.toggle("Pre-activation (before ReLU / softmax)", key="hm_pre")
    others = [v for v in zoo.shipped_variants() if v != variant]
    compare = st.selectbox("Compare with", ["(none)", *others], key="hm_compare",
                           help="The original team's test: same HappyMaps, same network?")

settings = happymaps.Settings(
    steps=steps, learning_rate=learning_rate, jitter=jitter, seed=int(seed), start=start,
    pre_activation=pre_activation, **{k: st.session_state[f"hm_{k}"] for k in SLIDERS})
if st.session_state["hm_preset"] != "custom" and settings.preset_name() != st.session_state["hm_preset"]:
    st.caption("Sliders moved away from the preset: custom settings.")
regenerate = st.button("Regenerate", type="primary", icon=":material/refresh:")

results = st.session_state.setdefault("hm_results", {})
panels = [variant] + ([compare] if compare != "(none)" else [])
columns = st.columns(len(panels))


def dead_units(name: str, layer_name: str) -> list[int]:
    flags = ui.unit_stats(name).get(layer_name, {}).get("dead", [])
    return [i for i, dead in enumerate(flags) if dead]


for column, name in zip(columns, panels):
    with column:
        st.subheader(f"{name} · {layer}")
        other = ui.load_or_stop(ui.model, name)
        if layer not in zoo.unit_layers(other):
            st.info(f"{name} has no layer {layer}.")
            continue
        key = (name, layer, tuple(units), settings)
        canvas, status = st.empty(), st.empty()
        dead = [units.index(u) for u in dead_units(name, layer) if u in units]
        labels = [f"{u}" for u in units]
        if regenerate:
            bar = st.progress(0.0, text="Optimising…")

            def show(progress, bar=bar, canvas=canvas):
                bar.progress(progress.step / progress.steps, text=f"Step {progress.step} of {progress.steps}")
                canvas.image(plots.montage(progress.images, labels, marked=dead), clamp=True)

            try:
                results[key] = ui.load_or_stop(ui.engine, name).layer(layer, units, settings, on_progress=show, every=16)
                while len(results) > MAX_KEPT_RESULTS:  # keep the session's memory bounded
                    results.pop(next(iter(results)))
            except ValueError as error:
                st.error(str(error))
                continue
            bar.empty()
        if key in results:
            result = results[key]
            canvas.image(plots.montage(result.images, labels, marked=dead))
            note = " (including compiling the loop once; slider changes reuse it)" if result.compiled else ""
            status.caption(f"{len(units)} units × {settings.steps} steps in {result.seconds:.2f} s on {result.device}{note}.")
            continue
        book = ui.atlas(name)
        if book is not None and layer in book.images and book.settings == settings:
            canvas.image(plots.montage(book.images[layer][units], labels, marked=dead))
            status.caption("From the precomputed atlas (default preset). Press Regenerate after changing settings.")
        else:
            status.info("Press **Regenerate** to compute HappyMaps with these settings.")
st.caption("Tiles framed in red: units that never respond to any CMU training face (dead units). "
           "Numbers: unit index. Gray is the average training image; bright and dark are what excites the unit.")
