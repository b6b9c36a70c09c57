"""HappyMaps: for each unit, the picture that excites it most (activation maximisation)."""

import numpy as np
import streamlit as st

import shell

shell.open_page("HappyMaps")
with st.spinner("Loading the networks…"):  # TensorFlow loads here, once per server
    import ui
    from vislib import compare as comparing
    from vislib import data, happymaps, limits, plots, preprocessing, settings, workers, workqueue, zoo

st.markdown(
    "Each tile is a picture optimised, step by step, to excite one **unit** of the network as much as "
    "possible: what that unit is looking for. By default the picture is built from the training faces "
    "(their mean face plus a few *eigenfaces*), so it stays a face; the regularisers of Yosinski et al. 2015 "
    "(*Understanding Neural Networks Through Deep Visualization*) are there too. Because such a picture is a "
    "face whatever the network, look at **what the network adds** to the mean face, and at the **sanity check** "
    "(the same method on a network with random weights, a switch in the sidebar): only what "
    "differs there comes from training."
)
variant = ui.variant_picker()
network = ui.load_or_stop(ui.model, variant)
engine = ui.load_or_stop(ui.engine, variant)
spec = zoo.variant(variant)
decision = spec.decision_layer
layers = [decision] + [l for l in zoo.unit_layers(network) if l != decision]
# Regenerations run in a low-priority worker process (vislib.workers): start it now, in the
# background, so the first Regenerate does not wait for it to load TensorFlow.
workers.REGENERATORS.start()

REGULARISERS = ("blur_sigma", "blur_every", "norm_pct", "contrib_pct")
TUNED = ("image", "steps", "learning_rate", "decay", "jitter", "scale", "rotate", "start", *REGULARISERS)
READINGS = {"auto": None, "activation": False, "pre-activation": True}
MAX_KEPT_RESULTS = 12
# the least height of a panel's note-and-progress slot: a progress bar (2.2rem), or side by side, where a
# column's note takes up to three lines, three lines of caption (tests/test_browser.py measures the sheets)
HEAD_HEIGHT = {"alone": "2.2rem", "side by side": "4.2rem"}
KEEP = "session"  # widget values survive a visit to another page
PICKER_CHARS = 33  # a little under what the sidebar's closed picker shows whole (tests/test_browser.py measures it)
# how the maps are shown, beside the settings that make them; Reset restores both
VIEW = {"hm_stretch": True, "hm_adds": True, "hm_sanity": False, "hm_top": False, "hm_compare": "(none)"}


def layer_caption(name: str) -> str:
    layer = network.get_layer(name)
    n = int(layer.output.shape[-1])
    if name == decision:  # the classes by name where they fit; the caption below names them anyway
        named = f"{name} · decision: {'/'.join(spec.classes)}"
        return named if len(named) <= PICKER_CHARS else f"{name} · decision: {n} classes"
    # short enough for the sidebar's closed picker; the caption below it says what the units do
    return f"{name} · {n} {'patterns (conv)' if len(layer.output.shape) == 4 else 'units (dense)'}"


def apply_preset(name: str | None = None):
    name = name or st.session_state["hm_preset"]
    if name in happymaps.PRESETS:
        for key, value in happymaps.PRESETS[name].values.items():
            if key in TUNED:
                st.session_state[f"hm_{key}"] = value


def apply_image_default():
    """A new picture type starts from its own default settings (which the atlas holds)."""
    st.session_state["hm_preset"] = happymaps.DEFAULT_FOR_IMAGE[st.session_state["hm_image"]]
    apply_preset()


def use_preset(name: str):
    st.session_state["hm_preset"] = name
    apply_preset(name)


def draw_with_preset(name: str):
    """The hint's one click: its preset, and the maps drawn with it at once (not left out of date)."""
    use_preset(name)
    st.session_state["hm_draw_now"] = True


def reset():
    use_preset(happymaps.DEFAULT_PRESET)
    st.session_state["hm_seed"], st.session_state["hm_reading"] = 0, "auto"
    st.session_state.update(VIEW)
    st.session_state.pop("hm_results", None)
    st.session_state.pop("hm_last", None)


if "hm_decay" not in st.session_state:
    reset()


def as_number(name: str, text: str, kind: type):
    """A link's value as the setting's type; a word where a number belongs is refused by name."""
    if kind is str:
        return text
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{name} must be {'a whole number' if kind is int else 'a number'}, got {text!r}") from None


def link_value(name: str, text: str):
    """One setting from a link, checked on its own: its type, its range, and its slider's stops."""
    value = as_number(name, text, type(st.session_state[f"hm_{name}"]))
    if name in limits.PAGE_LIMITS:
        limits.check(name, value, limits.PAGE_LIMITS)
    allowed = {"decay": stops["decay"], "learning_rate": stops["learning_rate"], "image": happymaps.IMAGES,
               "start": happymaps.START_IMAGES}.get(name)
    if allowed is not None and value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


def read_link():
    """A pasted link (?layer=...&units=...&settings) reopens the same view, once per session. What
    cannot be used is said and left at its default; the rest of the link still applies."""
    if st.session_state.get("hm_link_read"):
        return
    st.session_state["hm_link_read"] = True
    link = st.query_params
    if "layer" not in link:
        return
    problems, values = [], {}
    for name in (*TUNED, "seed"):
        if name in link:
            try:
                values[name] = link_value(name, link[name])
            except ValueError as error:
                problems.append(str(error))
    layer, units, units_read = link["layer"], None, True
    if layer not in layers:
        problems.append(f"layer must be one of {layers}, got {layer!r}")
    elif link.get("units"):
        n = int(network.get_layer(layer).output.shape[-1])
        try:
            units = [as_number("units", u, int) for u in link["units"].split(",")]
            if not all(0 <= u < n for u in units):
                raise ValueError(f"units must be in [0, {n}), got {units}")
        except ValueError as error:
            problems.append(str(error))
            units_read = False
    if problems:
        st.warning("Part of the link's HappyMaps settings could not be used, so the defaults stand for "
                   f"{'them' if len(problems) > 1 else 'it'}: {'; '.join(problems)}.")
    if layer in layers:
        st.session_state[f"hm_layer_{variant}"] = layer
        if units_read:
            st.session_state[f"hm_all_{variant}_{layer}"] = units is None
            if units is not None:
                st.session_state[f"hm_units_{variant}_{layer}"] = units
    for name, value in values.items():
        st.session_state[f"hm_{name}"] = value
    if link.get("preset") in happymaps.PRESETS and not problems:  # else the box would name settings not in use
        st.session_state["hm_preset"] = link["preset"]
    if link.get("reading") in READINGS:
        st.session_state["hm_reading"] = link["reading"]


def write_link(layer, units, all_units):
    """The address bar always holds a link to what is on screen."""
    st.query_params.update({
        "layer": layer, "units": "" if all_units else ",".join(map(str, units)),
        "preset": st.session_state["hm_preset"], "reading": st.session_state["hm_reading"],
        "seed": str(int(st.session_state["hm_seed"])),
        **{k: str(st.session_state[f"hm_{k}"]) for k in TUNED}})

stops = {name: sorted(set(base) | {p.values[name] for p in happymaps.PRESETS.values()})
         for name, base in (("decay", limits.DECAY_STOPS), ("learning_rate", limits.LEARNING_RATE_STOPS))}

read_link()
with st.sidebar:
    st.subheader("Settings")
    layer = st.selectbox(
        "Layer", layers, format_func=layer_caption, key=f"hm_layer_{variant}", persist_state=KEEP,
        help="A **unit** is one number the network computes from the picture. A convolution unit responds to a "
             "small pattern wherever it appears; a dense unit combines them; a **decision** unit scores one class "
             "(its answer is the class with the highest score). Deeper layers see larger, more face-like patterns.")
    n_units = int(network.get_layer(layer).output.shape[-1])
    st.caption(f"Each unit here scores one class ({', '.join(spec.classes)}): the network answers the class "
               "whose unit scores highest." if layer == decision else
               "Each unit here detects one small pattern, wherever it appears in the picture."
               if len(network.get_layer(layer).output.shape) == 4 else
               "Each unit here combines the patterns found below it into one number.")
    # defaults through the session state, like a link's values: a widget given both warns in the log
    st.session_state.setdefault(f"hm_all_{variant}_{layer}", n_units <= 64)
    st.session_state.setdefault(f"hm_units_{variant}_{layer}", list(range(min(8, n_units))))
    all_units = st.toggle("All units", key=f"hm_all_{variant}_{layer}", persist_state=KEEP,
                          help="Large layers default to a few units: every unit takes a while on a CPU.")
    if all_units:
        units = list(range(n_units))
    else:
        units = st.multiselect("Units", list(range(n_units)),
                               format_func=lambda u: engine.unit_labels(layer, [u])[0],
                               key=f"hm_units_{variant}_{layer}", persist_state=KEEP)
    st.selectbox("Preset", list(happymaps.PRESETS), key="hm_preset", on_change=apply_preset, persist_state=KEEP,
                 format_func=lambda n: happymaps.PRESETS[n].label,
                 help="'Legible' (the default) optimises in the space of faces; 'smoothed' adds jitter and blur at "
                      "every step, for networks that see only local contrast; 'steady' takes smaller steps and "
                      "forgets slower, for networks that also learned how far the head is turned. The 'Yosinski "
                      "row N' presets use the regulariser values of Table 1 of Yosinski et al. 2015 on pixels, with "
                      "our step size and 128 steps: not the paper's own runs (500-1000 steps at its learning rates).")
    st.selectbox("Picture made of", happymaps.IMAGES, key="hm_image", persist_state=KEEP, on_change=apply_image_default,
                 format_func={"faces": "faces (mean face + eigenfaces)", "pixels": "free pixels (the paper's)",
                              "fourier": "a smooth spectrum (lucid's)"}.get)
    st.select_slider("L2 decay θ (log scale)", stops["decay"], key="hm_decay", persist_state=KEEP,
                     format_func=lambda v: f"{v:g}",
                     help="Each step, pull the picture back toward its origin (gray, or the mean face) by this "
                          "fraction. In face space it is the prior that keeps the picture a plausible face.")
    for name, label, step, note in (
            ("blur_sigma", "Blur width σ (pixels)", 0.1, None),
            ("blur_every", "Blur every N steps", 1, "0: never blur."),
            ("norm_pct", "Clip pixels of small norm (percentile)", 1.0, "Set the faintest pixels to the origin."),
            ("contrib_pct", "Clip pixels of small contribution (percentile)", 1.0,
             "Set to the origin the pixels that add least to the unit's response.")):
        low, high = limits.PAGE_LIMITS[name]  # one source of truth for the sliders and a link's checks
        never_blurs = name == "blur_sigma" and not st.session_state.get("hm_blur_every")
        st.slider(label, type(step)(low), type(step)(high), step=step, key=f"hm_{name}", persist_state=KEEP,
                  help="Used only when **Blur every N steps** is above 0." if never_blurs else note,
                  disabled=never_blurs, format="%.0f" if name.endswith("_pct") else None)
    with st.expander("More", key="hm_more", on_change="rerun"):  # keyed: stays open as pickers above come and go
        st.slider("Steps", *limits.PAGE_LIMITS["steps"], step=8, key="hm_steps", persist_state=KEEP)
        st.select_slider("Learning rate (mean pixel change a step)", stops["learning_rate"], key="hm_learning_rate",
                         format_func=lambda v: f"{v:g}", persist_state=KEEP)
        st.slider("Jitter (pixels)", *limits.PAGE_LIMITS["jitter"], key="hm_jitter", persist_state=KEEP,
                  help="Each step the network sees the picture shifted by a random amount up to this.")
        st.slider("Random scale (± share)", *limits.PAGE_LIMITS["scale"], step=0.05, key="hm_scale",
                  persist_state=KEEP, help="Each step the network sees the picture scaled by a random amount within "
                                           "this share of its size (lucid's transformation robustness): what stays "
                                           "is what excites the unit at any size nearby.")
        st.slider("Random turn (± degrees)", *limits.PAGE_LIMITS["rotate"], step=1.0, key="hm_rotate",
                  persist_state=KEEP, help="Each step the network sees the picture turned by a random angle up to "
                                           "this (lucid's transformation robustness).")
        st.number_input("Seed", *limits.PAGE_LIMITS["seed"], key="hm_seed", persist_state=KEEP)
        st.selectbox("Start picture", happymaps.START_IMAGES, key="hm_start", persist_state=KEEP)
        st.selectbox("Read units", list(READINGS), key="hm_reading", persist_state=KEEP,
                     help="auto: decision units on their **logit**, the score before softmax, every other unit on "
                          "its activation. A softmax probability stops growing near 1 and can rise by lowering "
                          "the other class, so maximising it says little about the class itself.")
    for key, value in VIEW.items():  # defaults through the session state, so that Reset can set them
        st.session_state.setdefault(key, value)
    stretch = st.toggle("Stretch each tile's contrast", key="hm_stretch", persist_state=KEEP)
    adds = st.toggle("Show what the network adds (map − mean face)", key="hm_adds", persist_state=KEEP)
    sanity = st.toggle("Sanity check: same settings, random weights", key="hm_sanity", persist_state=KEEP)
    faces_here = data.present()  # the training faces are read from the data sets, never shipped
    top = st.toggle("Training faces that excite each unit most", key="hm_top", persist_state=KEEP,
                    disabled=not faces_here,
                    help=None if faces_here else f"Needs the data sets, which are not here: {settings.how_to_fetch()}."
                    ) and faces_here
    if not faces_here:  # said where it is seen, not only on hover
        st.caption("The training faces need the data sets, which are not here (hover the switch for how to get "
                   "them).")
    others = [v for v in zoo.shipped_variants() if v != variant]
    compare = st.selectbox("Compare with", ["(none)", *others], key="hm_compare", persist_state=KEEP,
                           format_func=lambda n: n if n == "(none)" else zoo.VARIANTS[n].label,
                           help="The original team's test: same HappyMaps, same network?")
    st.button("Reset settings", on_click=reset, icon=":material/restart_alt:", key="hm_reset",
              help="Back to the default settings (the legible preset), the default view, and no comparison.")

write_link(layer, units, all_units)
chosen = happymaps.Settings(
    seed=int(st.session_state["hm_seed"]), pre_activation=READINGS[st.session_state["hm_reading"]],
    **{k: st.session_state[f"hm_{k}"] for k in TUNED})
if chosen.preset_name() is None:
    st.caption("Settings moved away from the preset: custom settings.")
if layer == decision:
    reading = ("their logit, the score before softmax (a probability stops near 100%, and can also rise by "
               "lowering the other classes)" if engine.reads_logit(layer, chosen) else "their output")
    st.caption(f"Decision units are optimised on {reading}. Units: "
               + ", ".join(f"{i} = **{c}**" for i, c in enumerate(spec.classes)) + ".")
suggested = happymaps.suggested_preset(spec)
# offered at the default only: a person who moved the sliders on purpose is not asked again
hinted = bool(suggested) and chosen.preset_name() == happymaps.DEFAULT_PRESET
hint = happymaps.why_suggested(spec) if hinted else ""
if hint:
    st.info(hint)
actions = st.container(horizontal=True)  # buttons side by side, wrapping where the page is narrow
if hinted:
    words, icon = {"legible-smooth": ("smoothed", ":material/blur_on:"),
                   "legible-steady": ("steady", ":material/timeline:")}[suggested]
    actions.button(f"Use the {words} preset", on_click=draw_with_preset, args=(suggested,),
                   key=f"hm_use_{suggested}", icon=icon)
draw_now = st.session_state.pop("hm_draw_now", False)
regenerate = actions.button("Regenerate", type="primary", icon=":material/refresh:", key="hm_regenerate") or draw_now
if not units:
    st.info("No unit chosen: pick one or more units in the sidebar (or turn on **All units**).")
    st.stop()

results = st.session_state.setdefault("hm_results", {})
last = st.session_state.setdefault("hm_last", {})
problem = ui.atlas_problem(variant)
if problem:
    st.warning(problem)


def described(name: str, layer: str, labels) -> str:
    """A sheet of HappyMaps in words, for a screen reader."""
    units = ", ".join(map(str, labels)) if len(labels) <= 8 else f"{len(labels)} units"
    return f"HappyMaps of {name}'s {layer}: {units}"


def picture(where, image, caption=None, alt=None):
    """A montage at its own size (`ui.image`), or the column's width side by side; `alt` for a screen reader."""
    if compare == "(none)":
        ui.image(where, image, caption, alt=alt)
        return
    box = where.container()
    box.image(image, width="stretch", alt=alt or caption)
    if caption:
        box.caption(caption)


def on_screen(name, here_layer, here, key, shown, labels, live, silent):
    """What a panel shows: (images, units, labels, out of date, start, note), or None when there is nothing yet."""
    result = results.get(key)
    if result is None:
        return without_regenerating(name, here_layer, here, shown, labels)
    last[(name, here_layer)] = key
    done = " (including compiling the loop once; slider changes reuse it)" if result.compiled else ""
    note = (f"{ui.count(len(live), 'unit')} × {ui.count(chosen.steps, 'step')} in {result.seconds:.2f} s "
            f"on {result.device}{done}.")
    if silent:
        note += (f" {len(silent)} chosen unit{'s never fire' if len(silent) > 1 else ' never fires'} on any "
                 f"training face: said in words, not optimised.")
    return result.images, shown, labels, False, result.settings.start, note


def made_sheet(never_fire, images, shown, labels, stale, start, note):
    """A panel's sheet as drawn: (the tiles, their words, the sheet)."""
    pictures, words = tiles(images, shown, never_fire)
    return pictures, words, plots.montage(pictures, labels, cols=compare_cols, scale=scale, words=words)


def colour_limit(added, words) -> float:
    """Full colour for what the network adds: its largest change, and no less than the flat span (a difference
    nobody could see stays white); tiles drawn as words do not count."""
    return max([happymaps.FLAT_SPAN] + [float(np.abs(added[i]).max()) for i in range(len(added)) if i not in words])


def made_additions(added, tile_labels, words, limit, side_by_side=False):
    """The sheet of what the network adds, and its caption."""
    coloured, _ = plots.diverging(added, limit)
    return (plots.montage(coloured, tile_labels, cols=compare_cols, scale=scale, words=words),
            f"What the network adds: the map minus the mean training face. Red: brighter than the mean face, "
            f"blue: darker, white: the same (full colour at ±{limit:.2f}"
            + (", as in the other network's panel)." if side_by_side else ")."))


def in_line(ahead: int) -> str:
    """Where this session's regeneration stands in the server's line."""
    return ("Your maps are next: one regeneration is running before them." if ahead == 0 else
            f"Your maps are next but {ahead}: other people's regenerations run first, one at a time.")


def keep(key, result):
    results[key] = result
    while len(results) > MAX_KEPT_RESULTS:  # keep the session's memory bounded
        results.pop(next(iter(results)))


def tiles(images, shown, dead):
    """The maps as a person sees them: stretched if asked, dead units in words."""
    level = np.asarray(images).mean(axis=(1, 2))
    flat = {i: "no pattern:\nall white" if level[i] > 0.9 else "no pattern:\nall black" if level[i] < 0.1
            else "no pattern:\nthe picture\nstays flat" for i in np.flatnonzero(happymaps.flat(images))}
    words = {**flat, **{i: "never fires on\nany training\nface" for i, u in enumerate(shown) if u in dead}}
    shown_images = plots.stretch(images) if stretch else images
    return shown_images, words


def without_regenerating(name, here_layer, here, shown, labels):
    """What a panel shows when these settings were not computed: (images, units, labels, out of date, start,
    note), or None when there is nothing to show."""
    book = ui.atlas(name)
    found = book.lookup(here_layer, chosen) if book is not None else None
    if found is not None:
        return found[0][shown], shown, labels, False, chosen.start, ("From the precomputed atlas (this picture "
                                                                     "type's default settings).")
    if (name, here_layer) in last and last[(name, here_layer)] in results:
        old = results[last[(name, here_layer)]]
        return (old.images, old.units, here.unit_labels(here_layer, old.units), True, old.settings.start,
                "**Out of date**: computed with earlier settings or units. Press **Regenerate** to compute these "
                "settings.")
    if book is not None and chosen.image in book.by_image:
        atlas_maps = book.lookup(here_layer, book.by_image[chosen.image])
        if atlas_maps is not None:  # nothing regenerated yet: the atlas's maps stay on screen, marked
            return (atlas_maps[0][shown], shown, labels, True, book.by_image[chosen.image].start,
                    "**Out of date**: the precomputed atlas's maps, at this picture type's default settings. "
                    "Press **Regenerate** to compute these settings.")
    return None


panels = [variant] + ([compare] if compare != "(none)" else [])
drawn = {}  # panel -> (what its maps built, labels): the side-by-side comparison as a number
stale_panels = set()  # panels whose maps on screen are out of date
top_sheets = []  # (network, sheet, caption): side by side, a column is too narrow for ten tiles a row
additions = []  # (where, what the maps built, labels, words, own colour limit): side by side, drawn again on one scale
compare_cols = 4 if len(panels) > 1 else None
ui.least_height("hm_head_", HEAD_HEIGHT["alone" if len(panels) == 1 else "side by side"])
scale = 3
for index, (column, name) in enumerate(zip(st.columns(len(panels)), panels)):
    with column:
        model = ui.load_or_stop(ui.model, name)
        here = ui.load_or_stop(ui.engine, name)
        # the other network's counterpart: its decision for the decision, else the same name if hidden there too
        here_layer = layer if name == variant else comparing.counterparts(network, model).get(layer)
        st.subheader(f"{name} · {here_layer or '–'}")
        if here_layer is None or here_layer not in zoo.unit_layers(model):
            st.info(f"{name} has no layer that does the work of {variant}'s {layer}"
                    + (f" ({name}'s {layer} is its decision layer)." if layer in zoo.unit_layers(model) else "."))
            continue
        n_here = int(model.get_layer(here_layer).output.shape[-1])
        notes = []  # about this sheet: said under it, so that the two sheets side by side start level
        if layer == decision and name != variant and zoo.variant(name).classes != spec.classes:
            shown = list(range(n_here))  # every class: unit numbers mean different classes here
            notes.append(f"{name}'s decision layer has {n_here} classes ({', '.join(zoo.variant(name).classes)}); "
                         f"all are shown, since unit numbers name different classes in the two networks.")
        else:
            shown = [u for u in units if u < n_here]
            if len(shown) < len(units):
                notes.append(f"{name}'s {layer} has {n_here} units; the others are not shown.")
        if layer == decision and name == variant and compare != "(none)" and n_here < len(zoo.variant(compare).classes):
            notes.append(f"{compare} has {len(zoo.variant(compare).classes)} classes; {name} has {n_here}.")
        if not shown:
            for words in notes:
                st.caption(words)
            continue
        key = (name, here_layer, tuple(shown), chosen)
        cols = compare_cols  # side by side, both sheets have as many columns: tiles of one size in both
        labels = here.unit_labels(here_layer, shown)
        # a unit that never fires on a training face is said in words: optimising it is wasted time
        never_fire = set(ui.dead_units(name, here_layer))
        silent = never_fire & set(shown)
        live = [u for u in shown if u not in silent]
        # the sheet on screen is made before its canvas, and drawn in it at once: an empty canvas made everything
        # under it jump up until the new sheet came
        view = on_screen(name, here_layer, here, key, shown, labels, live, silent)
        made = made_sheet(never_fire, *view) if view is not None else None
        # the note (out of date, in line, where the maps come from) and the progress above the maps: below
        # a tall sheet, a phone showed neither
        # one slot of a fixed least height for the note and the progress bar that takes its place during a run,
        # so that the sheet under them stays where it is (without it, side by side, it moved by up to 60 px)
        head = st.container(key=f"hm_head_{index}")
        status, progress_slot, canvas = head.empty(), head.empty(), st.empty()
        if made is not None:
            picture(canvas, made[2], alt=described(name, here_layer, view[2]))
            status.caption(view[-1])
        for words in notes:
            st.caption(words)
        try:
            if regenerate and not live:
                progress_slot.info("Every chosen unit never fires on any training face, so there is nothing to "
                                   "optimise: pick other units.")  # (the status slot says where the maps come from)
            elif regenerate:
                with workqueue.REGENERATIONS.turn(on_wait=lambda ahead, status=status: status.info(in_line(ahead))):
                    status.empty()
                    bar = progress_slot.progress(0.0, text="Optimising…")

                    def show(progress, bar=bar, canvas=canvas, shown=shown, live=live, labels=labels,
                             dead=never_fire, mean_face=here.mean_image):
                        bar.progress(progress.step / progress.steps, text=f"Step {progress.step} of {progress.steps}")
                        every_unit = happymaps.spread(progress.images, live, shown, mean_face)
                        pictures, words = tiles(every_unit, shown, dead)
                        picture(canvas, plots.montage(pictures, labels, cols=cols, scale=scale, words=words),
                                alt=described(name, here_layer, labels))

                    try:
                        maps = workers.REGENERATORS.regenerate(name, here_layer, live, chosen, on_progress=show,
                                                               every=16)
                        keep(key, happymaps.spread_result(maps, shown, here.mean_image))
                    finally:
                        bar.empty()
        except ValueError as error:  # bad settings, or the worker failed or died (workers.JobError): in words
            status.error(str(error))
            continue
        if regenerate and live:  # the new maps, in place of the sheet kept on screen while they were made
            view = on_screen(name, here_layer, here, key, shown, labels, live, silent)
            made = made_sheet(never_fire, *view)
            picture(canvas, made[2], alt=described(name, here_layer, view[2]))
            status.caption(view[-1])
        if view is None:
            status.info("Press **Regenerate** to compute HappyMaps with these settings.")
            continue
        images, shown, labels, stale, start, note = view
        pictures, words, sheet = made
        if stale:
            stale_panels.add(name)
        alive = [i for i, u in enumerate(shown) if u not in never_fire]  # the units a picture stands for
        st.download_button("Download these HappyMaps (PNG)", plots.png_bytes(sheet), icon=":material/download:",
                           file_name=f"happymaps-{name}-{here_layer}.png", mime="image/png", key=f"hm_png_{name}")
        from_mean = start == "mean"  # what the network adds is measured from the picture it started from
        added = happymaps.built(images, here.mean_image, start)
        flat_here = happymaps.flat(added)
        adds_nothing = {i: "adds nothing:\nthe mean face" for i in np.flatnonzero(flat_here)} if from_mean else {}
        unmoved = [i for i in alive if i in adds_nothing]
        kept = [i for i in alive if not flat_here[i]]  # the maps a picture stands for, and that show something
        drawn[name] = (added[kept], [labels[i] for i in kept])
        if unmoved:
            st.caption(f"{len(unmoved)} of {len(alive)} maps stayed the mean face (what the network adds is flat): "
                       "with these settings the regularisers leave the optimiser no room. Lower the decay or the "
                       "clipping, or press **Reset settings**.")
        elif not from_mean and (flat_maps := [i for i in alive if flat_here[i]]) and 2 * len(flat_maps) >= len(alive):
            st.caption(f"{len(flat_maps)} of {len(alive)} maps stayed flat: with these settings the optimiser "
                       "cannot move them far enough from where they start. Lower the decay or the clipping, take "
                       "more steps, or press **Reset settings**.")
        harsh = [i for i in np.flatnonzero(happymaps.mostly_black_and_white(images)) if i in alive]
        if harsh and 2 * len(harsh) >= len(alive):
            st.caption(f"{len(harsh)} of {len(alive)} maps are mostly black and white (over half their pixels at the "
                       "ends of the grey scale), which reads as blobs: the steps carry the picture past what the "
                       "regularisers hold back. Lower the learning rate or raise the decay, or press **Reset "
                       "settings**.")
        if adds and not from_mean:
            st.caption(f"What the network adds is drawn for pictures that start from the mean face; these start "
                       f"from {'flat gray' if start == 'gray' else 'random noise'}, so the picture itself is what "
                       f"the optimiser built.")
        elif adds:
            tile_words = {**adds_nothing, **words}
            own = colour_limit(added, tile_words)
            shown_added = made_additions(added, labels, tile_words, own)
            # side by side it is drawn again on the two panels' common scale, so it needs a slot; alone, it takes
            # the old sheet's place at once (an emptied slot made the page under it jump up)
            slot = st.empty() if compare_cols else st
            picture(slot, *shown_added)
            additions.append((slot, added, labels, tile_words, own))
        if sanity and not stale:
            check_key = ("randomized",) + key
            if check_key not in results:
                waiting = st.empty()
                with workqueue.REGENERATIONS.turn(on_wait=lambda ahead: waiting.info(in_line(ahead))), \
                        st.spinner("Running the same settings on the randomised network…"):
                    waiting.empty()
                    try:
                        check = workers.REGENERATORS.regenerate(name, here_layer, live, chosen, randomized=True)
                        keep(check_key, happymaps.spread_result(check, shown, here.mean_image))
                    except ValueError as error:
                        st.error(str(error))
                        continue
            check = results[check_key]
            similar, comparable = happymaps.sanity_correlation(images, check.images, here.mean_image, start)
            compared = [i for i in alive if comparable[i]]  # a map that stayed flat, here or there: no r
            picture(st, plots.montage(plots.stretch(check.images) if stretch else check.images,
                                      [f"{l} · r={similar[i]:.2f}" if i in compared else f"{l} · r: –" if i in alive
                                       else l for i, l in enumerate(labels)], cols=cols, scale=scale,
                                      words={i: w for i, w in words.items() if i not in alive}),
                    caption="The same settings on a copy of the network with random weights (Adebayo et al. 2018).")
            resemblance = float(np.median(np.abs(similar[compared]))) if compared else None
            st.metric("Resemblance to the random network's maps (median |r|)",
                      "–" if resemblance is None else f"{resemblance:.2f}",
                      help=f"Correlation between {'what each map adds to the mean face' if from_mean else 'the maps'} "
                           "here and on the random network, without its sign (a picture and its negative share "
                           "their shapes). Near 0: the picture comes from what the network learned. Near 1: from "
                           "the method alone, whatever the network.")
            if resemblance is not None:  # in words, not only on hover
                verdict = happymaps.sanity_verdict(resemblance)
                st.caption(f"{verdict[0].upper()}{verdict[1:]}. Measured anew for each setting, so it moves a "
                           f"little with them.")
            if len(compared) < len(alive):
                st.caption(f"r: – for {len(alive) - len(compared)} of {len(alive)} units: their map, here or on "
                           f"the random network, stayed {'the mean face' if from_mean else 'flat'}, so there is "
                           f"nothing to compare.")
        if stale and (sanity or top) and not stale_panels - {name}:  # said once, in the first panel out of date
            st.info(f"The {' and the '.join(w for w, on in (('sanity check', sanity), ('training faces', top)) if on)} "
                    "are shown only beside maps of the settings chosen: press **Regenerate** to see them.")
        if top and not stale:  # both networks side by side: what excites each unit, in either
            try:
                reads_logit = here.reads_logit(here_layer, chosen)
                order, values = ui.top_faces(name, here_layer, reads_logit)
                faces, _ = ui.training_faces(name)
            except data.DataNotFoundError as error:
                if name == variant:  # said once, not in both panels side by side
                    st.info(f"The training faces are not available, so they cannot be shown beside the maps: {error}")
            else:
                top_sheets.append((name, plots.exemplar_sheet(pictures, labels, words, faces[..., 0],
                                                              order[shown], values[shown]),
                                   f"Each row: a unit's HappyMap, then the 9 CMU training faces that excite it most, as "
                                   f"{name} saw them "
                                   f"(with its response to each; “no response” where it answers none of them). "
                                   f"{settings.CMU_CITATION}"))
if len(additions) > 1:  # side by side, one scale, so that equal colours mean equal changes
    shared = max(own for *_, own in additions)
    for slot, added, tile_labels, tile_words, _ in additions:
        picture(slot, *made_additions(added, tile_labels, tile_words, shared, side_by_side=True))
for name, sheet, caption in top_sheets:  # under the columns, full width: its numbers stay readable
    if len(panels) > 1:
        st.markdown(f"**{name}** · the training faces that excite each unit most")
    picture(st, sheet, caption=caption)
if len(drawn) == 2 and all(len(maps) for maps, _ in drawn.values()):
    (maps_a, labels_a), (maps_b, labels_b) = drawn.values()
    similarity = comparing.correlation_matrix(maps_a, maps_b)  # what each built: `happymaps.built`
    rows, cols = comparing.best_matching(similarity)
    if stale_panels:
        whose = " and ".join(f"{n}'s" for n in panels if n in stale_panels)
        st.warning(f"The number below is **out of date**, like {whose} maps: it measures the maps on screen, not "
                   "these settings. Press **Regenerate** to compare these settings.")
    st.metric("How alike the two sets of HappyMaps are (matched r)",
              f"{similarity[rows, cols].mean():.2f}",
              help="Each unit on the left is paired with its closest twin on the right (one to one), comparing "
                   + ("what each map adds to its network's mean face" if chosen.start == "mean" else
                      "the maps themselves (they start from noise or gray, not from the mean face)")
                   + "; 1.0: the same pictures. The Compare page does this for every layer, with the layers' "
                     "representation similarity (CKA).")
    st.caption(f"Units paired at random give {similarity.mean():.2f} on average. Pairs: "
               + ", ".join(f"{labels_a[r]} ↔ {labels_b[c]} ({similarity[r, c]:.2f})" for r, c in zip(rows, cols)))
for name in panels:  # a network that normalises its input shows other things: say what (once)
    kind = zoo.variant(name).preprocess
    if kind and not (name == variant and preprocessing.how_maps_read(kind) in hint):  # said in the hint already
        st.caption(f"{name}: " + preprocessing.how_maps_read(kind))
st.caption(
    ("Each tile's contrast is stretched on its own (1st to 99th percentile), so compare shapes, not brightness. "
     if stretch else "Mid-gray is the average training pixel. ") +
    "Numbers: unit index (and class, for decision units). Units that never respond to any CMU training face, "
    "and maps that stay flat (less than 3% of the gray range), are said in words instead of a picture.")
ui.cite_pointing04(*panels)
