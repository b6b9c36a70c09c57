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
layers = zoo.unit_layers(network)

SLIDERS = ("decay", "blur_sigma", "blur_every", "norm_pct", "contrib_pct")
MAX_KEPT_RESULTS = 12
KEEP = "session"  # widget values survive a visit to another page


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
    last_conv = f"conv2d_{len(zoo.variant(variant).conv_filters)}"
    layer = st.selectbox("Layer", layers, index=layers.index(last_conv) if last_conv in layers else 0,
                         key=f"hm_layer_{variant}", persist_state=KEEP)
    n_units = int(network.get_layer(layer).output.shape[-1])
    if st.toggle("All units", value=n_units <= 64, key=f"hm_all_{variant}_{layer}", persist_state=KEEP,
                 help="Large layers default to a few units: every unit takes a while on a CPU."):
        units = list(range(n_units))
    else:
        units = st.multiselect("Units", list(range(n_units)), default=list(range(min(8, n_units))),
                               key=f"hm_units_{variant}_{layer}", persist_state=KEEP) or [0]
    st.selectbox("Preset (Yosinski et al. 2015, Table 1)", [*regularizers.PRESETS, "custom"], key="hm_preset",
                 on_change=apply_preset, persist_state=KEEP)
    st.slider("L2 decay θ", 0.0, 0.5, step=0.0001, format="%.4f", key="hm_decay", persist_state=KEEP,
              help="Each step, pull every pixel toward the average training gray by this fraction.")
    st.slider("Blur width σ (pixels)", 0.0, 3.0, step=0.1, key="hm_blur_sigma", persist_state=KEEP)
    st.slider("Blur every N steps", 0, 32, key="hm_blur_every", help="0: never blur.", persist_state=KEEP)
    st.slider("Clip pixels of small norm (percentile)", 0.0, 100.0, step=1.0, key="hm_norm_pct",
              persist_state=KEEP)
    st.slider("Clip pixels of small contribution (percentile)", 0.0, 100.0, step=1.0, key="hm_contrib_pct",
              persist_state=KEEP)
    with st.expander("More"):
        steps = st.slider("Steps", 8, 512, 128, step=8, key="hm_steps", persist_state=KEEP)
        learning_rate = st.slider("Learning rate", 0.005, 0.5, 0.05, step=0.005, format="%.3f", key="hm_lr",
                                  persist_state=KEEP)
        jitter = st.slider("Jitter (pixels)", 0, 8, 0, key="hm_jitter", persist_state=KEEP)
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="hm_seed", persist_state=KEEP)
        start = st.selectbox("Start image", happymaps.START_IMAGES, key="hm_start", persist_state=KEEP)
        pre_activation = st.toggle("Pre-activation (before ReLU / softmax)", key="hm_pre", persist_state=KEEP)
    others = [v for v in zoo.shipped_variants() if v != variant]
    compare = st.selectbox("Compare with", ["(none)", *others], key="hm_compare", persist_state=KEEP,
                           help="The original team's test: same HappyMaps, same network?")

settings = happymaps.Settings(
    steps=steps, learning_rate=learning_rate, jitter=jitter, seed=int(seed), start=start,
    pre_activation=pre_activation, **{k: st.session_state[f"hm_{k}"] for k in SLIDERS})
if st.session_state["hm_preset"] != "custom" and settings.preset_name() != st.session_state["hm_preset"]:
    st.caption("Sliders moved away from the preset: custom settings.")
regenerate = st.button("Regenerate", type="primary", icon=":material/refresh:")

results = st.session_state.setdefault("hm_results", {})
panels = [variant] + ([compare] if compare != "(none)" else [])
for column, name in zip(st.columns(len(panels)), panels):
    with column:
        st.subheader(f"{name} · {layer}")
        model = ui.load_or_stop(ui.model, name)
        if layer not in zoo.unit_layers(model):
            st.info(f"{name} has no layer {layer}.")
            continue
        n_here = int(model.get_layer(layer).output.shape[-1])
        shown = [u for u in units if u < n_here]
        if len(shown) < len(units):
            st.caption(f"{name}'s {layer} has {n_here} units; the others are not shown.")
        if not shown:
            continue
        key = (name, layer, tuple(shown), settings)
        canvas, status = st.empty(), st.empty()
        dead = [shown.index(u) for u in ui.dead_units(name, layer) if u in shown]
        if regenerate:
            bar = st.progress(0.0, text="Optimising…")

            def show(progress, bar=bar, canvas=canvas, shown=shown, dead=dead):
                bar.progress(progress.step / progress.steps, text=f"Step {progress.step} of {progress.steps}")
                canvas.image(plots.montage(progress.images, shown, marked=dead), clamp=True)

            try:
                results[key] = ui.load_or_stop(ui.engine, name).layer(layer, shown, settings, on_progress=show, every=16)
                while len(results) > MAX_KEPT_RESULTS:  # keep the session's memory bounded
                    results.pop(next(iter(results)))
            except ValueError as error:
                st.error(str(error))
                continue
            finally:
                bar.empty()
        if key in results:
            result = results[key]
            canvas.image(plots.montage(result.images, shown, marked=dead))
            note = " (including compiling the loop once; slider changes reuse it)" if result.compiled else ""
            status.caption(f"{len(shown)} units × {settings.steps} steps in {result.seconds:.2f} s on {result.device}{note}.")
            continue
        book = ui.atlas(name)
        if book is not None and layer in book.images and book.settings == settings:
            canvas.image(plots.montage(book.images[layer][shown], shown, marked=dead))
            status.caption("From the precomputed atlas (default preset). Press Regenerate after changing settings.")
        else:
            status.info("Press **Regenerate** to compute HappyMaps with these settings.")
st.caption("Tiles framed in red: units that never respond to any CMU training face (dead units). "
           "Numbers: unit index. Mid-gray is the average training pixel; brighter and darker are what excites the unit.")
