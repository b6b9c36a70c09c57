"""Streamlit helpers shared by the pages: the variant picker, cached loaders, charts (the page shell: shell.py).

Models live in st.cache_resource, results in st.cache_data; the library (vislib) knows
nothing of Streamlit.
"""

from __future__ import annotations

import gc
import io
import re

import numpy as np
import streamlit as st
from PIL import Image

import shell

from vislib import atlas as atlas_lib
from vislib import autodiff, happymaps, plots, report, settings, zoo

VARIANT_KEY = "variant"


def freeze_imported_objects() -> int:
    """Leave the objects alive now (TensorFlow's, Keras's, Plotly's: about 430,000) out of every
    later garbage collection; returns how many were set aside.

    After each script run Streamlit collects garbage twice (its own `runner.postScriptGC`, and
    Keras's `clear_session`, which Streamlit calls), and each full collection walks every object
    in the server: 0.24 s a time, two thirds of a warm page's CPU. Collected once and frozen
    here, right after the heavy imports, a collection walks only what came after. Objects alive
    now are modules, classes and functions that stay alive; anything freed later by reference
    counting is freed as before."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


freeze_imported_objects()  # this module is imported once per server, after TensorFlow


@st.cache_resource(show_spinner="Loading the model…")
def model(variant: str):
    return zoo.load(variant)


def engine(variant: str) -> happymaps.Engine:
    """The variant's HappyMaps engine, from the one registry (happymaps.engine_for)."""
    return happymaps.engine_for(variant)


@st.cache_data(show_spinner=False)
def metrics(variant: str) -> dict:
    return zoo.read_json(variant, "metrics.json")


@st.cache_data(show_spinner=False)
def history(variant: str) -> dict:
    return zoo.read_json(variant, "history.json")


@st.cache_data(show_spinner=False)
def results_rows() -> list[dict]:
    return report.results_rows()


@st.cache_data(show_spinner=False)
def unit_stats(variant: str) -> dict:
    return zoo.read_json(variant, "unit_stats.json")


@st.cache_resource(show_spinner="Loading the atlas…")
def _atlas(variant: str):
    try:
        return atlas_lib.load(variant), None
    except atlas_lib.AtlasError as error:
        return None, str(error)


def atlas(variant: str):
    """The variant's precomputed atlas, or None (missing, damaged or stale: see atlas_problem)."""
    return _atlas(variant)[0]


def atlas_problem(variant: str) -> str | None:
    """Why the variant's atlas file cannot be used, and how to rebuild it; None when fine or absent."""
    return _atlas(variant)[1]


@st.cache_resource(show_spinner="Reading the faces this network was trained on…")
def training_faces(variant: str):
    """(faces, file names) the variant was trained on, as it saw them (`exemplars.training_faces`);
    raises data.DataNotFoundError without the data folder."""
    from vislib import exemplars

    return exemplars.training_faces(zoo.variant(variant))


@st.cache_data(show_spinner="Finding the training faces that excite each unit…")
def top_faces(variant: str, layer: str, pre_activation: bool, k: int = 9):
    """(indices into `training_faces(variant)` (units, k), their responses): computed at run time
    from the data folder; raises data.DataNotFoundError without it."""
    from vislib import exemplars

    images, _ = training_faces(variant)
    return exemplars.top_faces(exemplars.unit_responses(model(variant), layer, images, pre_activation), k)


def dead_units(variant: str, layer: str) -> list[int]:
    """Units of a layer that never respond to any CMU training face."""
    return zoo.never_firing(load_or_stop(unit_stats, variant), layer)


CHOSEN_KEY = "variant_chosen_by_hand"


def _chosen_by_hand():
    st.session_state[CHOSEN_KEY] = True
    st.query_params["variant"] = st.session_state[VARIANT_KEY]


def variant_picker(default: str | None = None) -> str:
    """The sidebar's variant picker; the choice is kept across pages and written into the page's
    address (?variant=...), so a copied link reopens the same view. Until the user picks one, a
    page may offer its own `default` (Your photo offers the recommended variant)."""
    shipped = zoo.shipped_variants()
    if not shipped:
        st.error(f"No trained models found in {settings.MODELS_DIR}. Train them with `make train`.")
        st.stop()
    linked = st.query_params.get("variant")
    if linked is not None and linked not in shipped:  # a mistyped or outdated link: said, and taken off
        del st.query_params["variant"]
        st.warning(f"This link names a network that is not here ({linked!r}), so the page shows another. "
                   f"The networks: {', '.join(shipped)}.")
    if linked in shipped and not st.session_state.get(CHOSEN_KEY):
        st.session_state[VARIANT_KEY], st.session_state[CHOSEN_KEY] = linked, True  # a link chooses
    if not st.session_state.get(CHOSEN_KEY):
        st.session_state[VARIANT_KEY] = default if default in shipped else shipped[0]
    elif st.session_state.get(VARIANT_KEY) not in shipped:
        st.session_state[VARIANT_KEY] = shipped[0]
    shell.page_links(st.sidebar)
    st.sidebar.divider()
    # Re-assigning a widget's key keeps its value when the user moves to another page.
    st.session_state[VARIANT_KEY] = st.session_state[VARIANT_KEY]
    st.sidebar.selectbox("Network variant", shipped, key=VARIANT_KEY, on_change=_chosen_by_hand,
                         format_func=lambda n: zoo.VARIANTS[n].label,
                         help="The original study's seven networks (exp0, ex1-*) and Experiment 2's (ex2-*), "
                              "trained to generalise; every page shows the one chosen here."
                              + (f" For your own photos: {zoo.RECOMMENDED}." if getattr(zoo, "RECOMMENDED", None)
                                 else ""))
    name = st.session_state[VARIANT_KEY]
    spec = zoo.VARIANTS[name]
    recommended = " · recommended for your photos" if name == getattr(zoo, "RECOMMENDED", None) else ""
    st.sidebar.caption(f"**{name}**: {spec.title} ({getattr(spec, 'series', 'Original study')}{recommended}). "
                       f"Trained on: {', '.join(zoo.training_data_names(spec))}.")
    if st.session_state.get(CHOSEN_KEY):
        st.query_params["variant"] = name
    st.sidebar.caption(f"Computing on **{autodiff.device_name()}** (Keras backend: {autodiff.backend()})")
    return name


def image(where, picture, caption: str | None = None, clamp: bool = False, alt: str | None = None) -> None:
    """A picture at its own size: narrowed to its column, never enlarged (a blurred 64x60 input), with
    its caption below. A screen reader reads `alt`, else the caption.

    The caption is drawn apart: Streamlit 1.67 narrows a fixed-width image to its column only when it
    has no caption, and stretches a captioned "content"-width one to the column's width."""
    box = where.container()
    width = Image.open(io.BytesIO(picture)).width if isinstance(picture, bytes) else int(np.shape(picture)[1])
    box.image(picture, width=width, clamp=clamp, alt=alt or caption)
    if caption:
        box.caption(caption)


def least_height(key_prefix: str, height: str, from_width: int = 0) -> None:
    """Give every container whose key starts with `key_prefix` at least `height` (CSS), on screens from
    `from_width` px wide: what comes under it then stays in place when its content changes height, or
    starts level with the neighbouring column's, whatever either wraps to."""
    st.html(f"<style>@media (min-width: {from_width}px) {{ [class*='st-key-{key_prefix}'] "
            f"{{ min-height: {height}; }} }}</style>")


def count(n: int, noun: str) -> str:
    """'1 unit', '2 units': a count with its noun, in the singular where it is one."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def on_a_phone() -> bool:
    """Whether the visitor's browser says it is a phone ("Mobi" in its user agent, as browsers agree), for the
    one figure that needs a layout of its own there (Plotly lays out subplots in fixed proportions)."""
    return "Mobi" in (st.context.headers.get("User-Agent") or "")  # none without a browser (AppTest): wide


def title_as_markdown(title: str) -> str:
    """A Plotly title as Markdown text: its line breaks spaces, its other tags gone, and the characters
    Markdown would read as emphasis, links or LaTeX ($) escaped."""
    text = re.sub(r"<[^>]*>", "", re.sub(r"<br\s*/?>", " ", title, flags=re.IGNORECASE))
    return re.sub(r"([\\`*_\[\]$#|~])", r"\\\1", text)


def chart(figure) -> None:
    """A Plotly chart at full width, without the toolbar that would cover its title, and that does
    not zoom: on a phone, a finger that swipes across it scrolls the page (Plotly's drag would zoom
    the chart instead, and a phone has no double click to zoom back). Values show on hover or tap.
    The figure is changed in place: its title becomes text above it."""
    figure.update_layout(dragmode=False, legend_font_color=plots.INK)
    # labels readable on a projector: Streamlit's own chart gray is 3.7:1 on white
    for update in (figure.update_xaxes, figure.update_yaxes):
        update(fixedrange=True, tickfont_color=plots.INK, title_font_color=plots.INK)
    figure.update_traces(outsidetextfont_color=plots.INK, selector={"type": "bar"})
    figure.update_traces(colorbar_tickfont_color=plots.INK, selector={"type": "heatmap"})
    for note in figure.layout.annotations:  # subplot titles
        if note.font.color is None:
            note.font.color = plots.INK
    title = figure.layout.title.text
    if title and not figure.frames:  # (an animation's title changes with its frames)
        # Plotly never wraps a title: on a phone it was cut at the edge, and a legend above the plot
        # climbed into it; as text above the chart it wraps, and the legend has the top to itself (the
        # title stays as the figure's meta, which Streamlit tells two charts apart by)
        st.markdown(f"**{title_as_markdown(title)}**")
        legend_above = (figure.layout.legend.y or 0) > 1
        figure.update_layout(title=None, meta=title,
                             margin_t=min(figure.layout.margin.t or 40, 60 if legend_above else 20))
    st.plotly_chart(figure, width="stretch", config={"displayModeBar": False, "scrollZoom": False,
                                                     "doubleClick": False})


def load_or_stop(loader, *args):
    """Call a loader; on a missing or damaged file show a clear message and stop the page."""
    try:
        return loader(*args)
    except (zoo.ModelLoadError, OSError, ValueError) as error:
        st.error(str(error))
        st.stop()


def cite_pointing04(*variants: str) -> None:
    """Pointing'04's citation: always, or, given variants, where one of them learned from its photos
    (its training curves, mean face and eigenfaces come from them too)."""
    if variants and not any("pointing04_train" in zoo.variant(n).training_data for n in variants):
        return
    st.caption(f"Pointing'04 photos: Head Pose Image Database, INRIA. Cite: {settings.POINTING04_CITATION}")
