"""Figures for the app: Plotly charts and image montages. No streamlit here."""

from __future__ import annotations

import functools
import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from PIL import Image, ImageDraw, ImageFont

COLORS = {"train": "#1f77b4", "test": "#ff7f0e", "three amigos": "#2ca02c", "full frame": "#9467bd"}
CHOSEN = "#238023"  # the class a network chose: white text on it reads at 5:1 (Plotly's green, 3.4:1)
INK = "#5c5f6a"  # chart labels: 6.4:1 on white (Streamlit's chart gray, 3.7:1, is below WCAG's 4.5:1)


def _luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG's contrast ratio of two '#rrggbb' colours: 1 (the same) to 21 (black on white)."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_on(colour: str) -> str:
    """White or near-black, whichever reads better on a '#rrggbb' fill."""
    return max(("#ffffff", "#1a1a1a"), key=lambda ink: contrast(ink, colour))


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one small bitmap font
        return ImageFont.load_default()


# a bar chart's legend above its bars: below, it covered the bars' names, which Plotly turns on a narrow screen
LEGEND_ABOVE = {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"}


def exemplar_sheet(maps: np.ndarray, map_labels, map_words: dict, faces: np.ndarray, order: np.ndarray,
                   responses: np.ndarray, scale: int = 2) -> np.ndarray:
    """One row a unit: its HappyMap (or its words), then the training faces that excite it most, each
    labelled with the unit's response. maps (U, H, W), faces (N, H, W), order and responses (U, k).

    A face the unit does not respond to at all (exactly 0: a ReLU at rest) is said in words: it came
    from the order alone, and showing it would say that the unit likes it (a dead unit's "best" faces
    were the first nine files)."""
    k = order.shape[1]
    tiles, labels, words = [], [], {}
    for i, picture in enumerate(maps):
        row = i * (k + 1)
        tiles += [picture[None], faces[order[i]]]
        labels += [map_labels[i]] + [f"{v:.2f}" for v in responses[i]]
        if i in map_words:
            words[row] = map_words[i]
        words.update({row + 1 + j: "no response" for j, v in enumerate(responses[i]) if v == 0})
    return montage(np.concatenate(tiles), labels, cols=k + 1, scale=scale, words=words)


def grid_columns(n: int) -> int:
    """Columns for n tiles in a roughly square sheet, leaving the fewest empty cells (4: 2 x 2, not 3 + 1;
    16: 4 x 4), the squarer sheet where two leave as few (36: 6 x 6, not 9 x 4)."""
    if n <= 2:
        return max(n, 1)
    widths = range(math.ceil(math.sqrt(n)), math.ceil(math.sqrt(2 * n)) + 1)
    return min(widths, key=lambda c: (c * math.ceil(n / c) - n, c))


def montage(images: np.ndarray, labels=None, cols: int | None = None, scale: int = 2,
            pad: int = 2, label_height: int | None = None, marked=(), words: dict | None = None) -> np.ndarray:
    """Tile (N, H, W) gray or (N, H, W, 3) RGB images in [0, 1] into one RGB uint8 picture, a
    label above each tile, in a font that grows with the tiles.

    Tiles whose index is in `marked` get a red frame and a cross, white-edged, which read without
    colour too (e.g. dead units); tiles whose index is a
    key of `words` show that text instead of the image (e.g. "never fires")."""
    images = np.asarray(images, dtype=np.float32)
    n, h, w = images.shape[:3]
    cols = cols or grid_columns(n)
    rows = int(math.ceil(n / cols))
    th, tw = h * scale, w * scale
    font_size = max(11, min(22, 6 * scale + 2))
    font = _font(font_size)
    lh = (font_size + 4 if label_height is None else label_height) if labels is not None else 0
    canvas = Image.new("RGB", (cols * (tw + pad) + pad, rows * (th + lh + pad) + pad), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    marked, words = set(marked), dict(words or {})
    for i in range(n):
        r, c = divmod(i, cols)
        x0, y0 = pad + c * (tw + pad), pad + r * (th + lh + pad)
        if i in words:
            draw.rectangle([x0, y0 + lh, x0 + tw - 1, y0 + lh + th - 1], fill=(236, 236, 236), outline=(190, 190, 190))
            small = _font(max(10, font_size - 2))
            for k, line in enumerate(str(words[i]).split("\n")):
                draw.text((x0 + 6, y0 + lh + th // 3 + k * (font_size + 2)), line, fill=(70, 70, 70), font=small)
        else:
            pixels = (np.clip(images[i], 0, 1) * 255).astype(np.uint8)
            canvas.paste(Image.fromarray(pixels).convert("RGB").resize((tw, th), Image.NEAREST), (x0, y0 + lh))
        if labels is not None:
            draw.text((x0 + 1, y0 + 1), str(labels[i]), fill=(40, 40, 40), font=font)
        if i in marked:
            corners = (x0, y0 + lh, x0 + tw - 1, y0 + lh + th - 1)
            a, b, c, d = corners[0] + 3, corners[1] + 3, corners[2] - 3, corners[3] - 3  # the cross stays on its tile
            for colour, width in (((255, 255, 255), 4), ((220, 30, 30), 2)):
                draw.line([(a, b), (c, d)], fill=colour, width=width)
                draw.line([(a, d), (c, b)], fill=colour, width=width)
            draw.rectangle(corners, outline=(220, 30, 30), width=2)
    return np.asarray(canvas)


def stretch(images: np.ndarray, low: float = 1.0, high: float = 99.0) -> np.ndarray:
    """Each (H, W) image's contrast stretched on its own: its low-th percentile to black, its
    high-th to white. Flat images stay as they are."""
    images = np.asarray(images, dtype=np.float32)
    lo = np.percentile(images, low, axis=(1, 2), keepdims=True)
    hi = np.percentile(images, high, axis=(1, 2), keepdims=True)
    span = hi - lo
    return np.where(span > 1e-3, np.clip((images - lo) / np.where(span > 1e-3, span, 1), 0, 1), images)


def diverging(deltas: np.ndarray, limit: float | None = None) -> tuple[np.ndarray, float]:
    """Signed (N, H, W) maps as RGB in [0, 1]: red above 0, blue below, white at 0, full colour at
    +-limit (default: the largest |value|, one scale for all tiles). Returns (RGB, limit)."""
    deltas = np.asarray(deltas, dtype=np.float32)
    limit = float(limit if limit is not None else max(np.abs(deltas).max(), 1e-6))
    t = np.clip(deltas / limit, -1, 1)[..., None]
    red, blue, white = np.array([0.80, 0.10, 0.10]), np.array([0.10, 0.25, 0.80]), np.ones(3)
    rgb = np.where(t >= 0, white + t * (red - white), white - t * (blue - white))
    return rgb.astype(np.float32), limit


def normalise_maps(maps: np.ndarray) -> np.ndarray:
    """Scale each map to [0, 1] on its own (for showing feature maps)."""
    maps = np.asarray(maps, dtype=np.float32)
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    return np.where(span > 0, (maps - low) / np.where(span > 0, span, 1), 0.0)


def training_curves(history: dict, test_name: str = "test") -> go.Figure:
    """Loss and accuracy by epoch, on the training faces and on the test faces (named `test_name` in the legend:
    Experiment 2's are held-out people)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    for col, metric in ((1, "loss"), (2, "accuracy")):
        for split in ("train", "test"):
            fig.add_trace(go.Scatter(x=history["epoch"], y=history[split][metric],
                                     name=test_name if split == "test" else split,
                                     line={"color": COLORS[split]}, showlegend=col == 1), row=1, col=col)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1, col=2)  # in percent, as the app's other figures
    fig.update_layout(height=320, margin={"t": 40, "b": 10, "l": 10, "r": 10})
    return fig


def confusion_matrix(matrix, classes, title: str) -> go.Figure:
    matrix = np.asarray(matrix)
    fig = go.Figure(go.Heatmap(z=matrix, x=list(classes), y=list(classes), colorscale="Blues",
                               text=matrix, texttemplate="%{text}", showscale=False,
                               hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_layout(title=title, height=300, margin={"t": 40, "b": 10, "l": 10, "r": 10},
                      xaxis_title="predicted", yaxis_title="true", yaxis_autorange="reversed")
    return fig


def _percent(value) -> str:
    """A share as a bar's label: whole percents, but never "100%" or "0%" for a figure that is not."""
    if value is None:
        return ""
    return f"{value:.1%}" if 0.995 <= value < 1.0 or 0.0 < value < 0.005 else f"{value:.0%}"


def _label_positions(values, small: float = 0.15) -> list[str]:
    """Each bar's label inside it, or just outside where the bar is too short to hold it: Plotly
    draws no label at all on a bar of height 0 (a 0% that matters, like no "left" face found)."""
    return ["inside" if v is not None and abs(v) >= small else "outside" for v in values]


def probabilities(classes, scores, title: str = "", as_probability: bool = True) -> go.Figure:
    """One bar per class; the chosen class in green. Raw scores (a linear output) get a free axis."""
    scores = np.asarray(scores, dtype=float)
    text = [f"{p:.1%}" for p in scores] if as_probability else [f"{p:.2f}" for p in scores]
    fills = [CHOSEN if i == scores.argmax() else "#aaaaaa" for i in range(len(scores))]
    fig = go.Figure(go.Bar(x=scores, y=list(classes), orientation="h", text=text, cliponaxis=False,
                           textposition=_label_positions(scores / max(np.abs(scores).max(), 1e-12)),
                           marker_color=fills, insidetextfont={"color": [text_on(c) for c in fills]}))
    xaxis = {"range": [0, 1.05], "tickformat": ".0%"} if as_probability else {"autorange": True}
    fig.update_layout(title=title, xaxis=xaxis, height=60 + 40 * len(scores),
                      margin={"t": 30 if title else 10, "b": 10, "l": 10, "r": 10})
    return fig


def unit_strip(values, dead=(), title: str = "", names=None) -> go.Figure:
    """A dense layer's response: one bar per unit, dead units marked with a red cross (their bar has
    no height to colour). names: the decision layer's class names, one per unit."""
    values = np.asarray(values, dtype=float)
    dead = sorted(set(dead))
    x = [f"{i} · {n}" for i, n in enumerate(names)] if names is not None else list(range(len(values)))
    fig = go.Figure(go.Bar(x=x, y=values, marker_color=["#d62728" if i in dead else "#1f77b4"
                                                         for i in range(len(values))],
                           hovertemplate="unit %{x}: %{y:.3f}<extra></extra>", showlegend=False))
    if dead:
        fig.add_trace(go.Scatter(x=[x[i] for i in dead], y=[0.0] * len(dead), mode="markers", showlegend=False,
                                 marker={"color": "#d62728", "symbol": "x", "size": 7},
                                 hovertemplate="unit %{x}: never fires on a training face<extra></extra>"))
    axis = {"type": "category"} if names is not None else {"dtick": 1} if len(values) <= 20 else {"tickformat": "d"}
    fig.update_layout(title=title, height=220, margin={"t": 30, "b": 10, "l": 10, "r": 10},
                      xaxis={"title": "class" if names is not None else "unit", **axis}, yaxis_title="response")
    return fig


def overlay(gray: np.ndarray, heatmap: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """A heat map ([0, 1]) blended over a grayscale image, resized to the map's shape: RGB uint8."""
    gray = np.clip(np.asarray(gray, dtype=np.float32), 0, 1)
    if gray.shape != np.shape(heatmap):
        gray = np.asarray(Image.fromarray(gray).resize(np.shape(heatmap)[::-1], Image.BILINEAR))
    heat = np.clip(np.asarray(heatmap, dtype=np.float32), 0, 1)
    # a small "inferno"-like ramp, enough to read hot and cold without matplotlib
    stops = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], np.float32) / 255
    pos = heat * (len(stops) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(stops) - 2)
    frac = (pos - lo)[..., None]
    colour = stops[lo] * (1 - frac) + stops[lo + 1] * frac
    rgb = np.repeat(gray[..., None], 3, axis=-1) * (1 - opacity) + colour * opacity
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def with_box(gray: np.ndarray, box, max_side: int = 480, min_side: int = 48) -> np.ndarray:
    """The photo (grayscale, [0, 1]) as RGB with the crop box drawn, shrunk to max_side; a long thin
    strip is centred on a light margin at least min_side across, so that it is not drawn a pixel high."""
    image = Image.fromarray((np.clip(gray, 0, 1) * 255).astype(np.uint8)).convert("RGB")
    scale = min(1.0, max_side / max(image.size))
    if scale < 1.0:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    size = (max(image.width, min_side), max(image.height, min_side))
    dx, dy = (size[0] - image.width) // 2, (size[1] - image.height) // 2
    if size != image.size:
        margin = Image.new("RGB", size, (235, 235, 235))
        margin.paste(image, (dx, dy))
        image = margin
    x0, y0, x1, y1 = (v * scale for v in box)
    width = max(2, image.width // 160)
    draw = ImageDraw.Draw(image)
    for grow, colour, w in ((1, (255, 255, 255), width + 2), (0, (255, 60, 60), width)):  # white-edged: seen on any photo
        draw.rectangle([x0 + dx - grow, y0 + dy - grow, x1 + dx + grow, y1 + dy + grow], outline=colour, width=w)
    return np.asarray(image)


def enlarge(image: np.ndarray, scale: int = 4) -> np.ndarray:
    """A small image made bigger with crisp pixels (for the 64x60 input)."""
    return np.kron(np.asarray(image), np.ones((scale, scale) + (1,) * (np.ndim(image) - 2), dtype=np.asarray(image).dtype))


def resize_map(heatmap: np.ndarray, shape) -> np.ndarray:
    """A [0, 1] map resized (bilinear) to shape (H, W), for overlaying on a bigger picture."""
    h, w = shape[:2]
    scale = min(1.0, 640 / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    image = Image.fromarray(np.asarray(heatmap, np.float32)).resize(size, Image.BILINEAR)
    return np.clip(np.asarray(image), 0, 1)


@functools.cache
def app_icon(size: int = 64) -> Image.Image:
    """The browser tab's icon, drawn here so that it needs no file and no font from the internet: a face on
    the diverging scale of "what the network adds" (red brighter, blue darker), smiling."""
    ramp = np.linspace(0.0, 1.0, size)[None, :].repeat(size, axis=0)  # left red, right blue
    red, blue = np.array([203, 24, 29]), np.array([33, 102, 172])
    colours = (red * (1 - ramp[..., None]) + blue * ramp[..., None]).astype(np.uint8)
    face = Image.fromarray(colours, "RGB").convert("RGBA")
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).ellipse((1, 1, size - 2, size - 2), fill=255)
    face.putalpha(mask)
    pen = ImageDraw.Draw(face)
    eye, line = size // 10, max(2, size // 14)
    for x in (0.34, 0.66):
        pen.ellipse((x * size - eye, 0.36 * size - eye, x * size + eye, 0.36 * size + eye), fill="white")
    pen.arc((0.25 * size, 0.3 * size, 0.75 * size, 0.76 * size), 20, 160, fill="white", width=line)
    return face


def png_bytes(image: np.ndarray) -> bytes:
    """A PNG file of an (H, W) float image in [0, 1] or an (H, W, 3) uint8 picture, for downloads."""
    import io

    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG")
    return out.getvalue()


def explanation_png(gray: np.ndarray, heatmap: np.ndarray, opacity: float, title: str, scale: int = 5) -> bytes:
    """A downloadable figure: the network's input and the heat map over it, side by side, titled."""
    left = Image.fromarray((np.clip(gray, 0, 1) * 255).astype(np.uint8)).convert("RGB")
    right = Image.fromarray(overlay(gray, heatmap, opacity))
    w, h = left.width * scale, left.height * scale
    canvas = Image.new("RGB", (2 * w + 30, h + 40), (255, 255, 255))
    canvas.paste(left.resize((w, h), Image.NEAREST), (10, 30))
    canvas.paste(right.resize((w, h), Image.NEAREST), (w + 20, 30))
    ImageDraw.Draw(canvas).text((10, 6), title, fill=(20, 20, 20), font=_font(14))  # the montages' font: its spaces show
    return png_bytes(np.asarray(canvas))


def grouped_bars(groups: dict, title: str = "", percent: bool = True) -> go.Figure:
    """{series: {category: value}} as grouped bars."""
    fig = go.Figure([go.Bar(name=series, x=list(values), y=list(values.values()), cliponaxis=False,
                            text=[_percent(v) if percent else f"{v:.2f}" for v in values.values()],
                            textposition=_label_positions(values.values()) if percent else "auto")
                     for series, values in groups.items()])
    fig.update_layout(barmode="group", height=360, title=title, legend=LEGEND_ABOVE,
                      yaxis={"tickformat": ".0%"} if percent else {}, margin={"t": 75, "b": 10, "l": 10, "r": 10})
    return fig


# Okabe and Ito's colours, which stay apart under every common colour-vision deficiency, each with its
# own dash and marker
SERIES_STYLES = (("#0072B2", "solid", "circle"), ("#D55E00", "dash", "square"), ("#009E73", "dashdot", "diamond"),
                 ("#000000", "dot", "triangle-up"), ("#E69F00", "longdashdot", "x"), ("#56B4E9", "solid", "star"))


def deletion_curves(curves: dict, title: str = "") -> go.Figure:
    """{method: deletion_curve result}: the decided class's score as pixels are removed, each
    method's order against a random order (thick gray dashes, no markers). Each method has its own colour, dash and
    marker, so that the curves stay apart for a colour-blind reader and in print."""
    fig = go.Figure()
    for (method, curve), (colour, dash, symbol) in zip(curves.items(), SERIES_STYLES):
        x = [100 * f for f in curve["fractions"]]
        fig.add_trace(go.Scatter(x=x, y=curve["attributed"], name=method, mode="lines+markers",
                                 line={"color": colour, "dash": dash}, marker={"symbol": symbol, "size": 7}))
    first = next(iter(curves.values()))
    fig.add_trace(go.Scatter(x=[100 * f for f in first["fractions"]], y=first["random"], name="random order",
                             mode="lines", line={"color": "#999", "dash": "longdash", "width": 3}))
    fig.update_layout(title=title, height=340, xaxis_title="% of pixels removed (most attributed first)",
                      yaxis_title="score of the decided class", legend={"orientation": "h", "y": -0.3},
                      margin={"t": 50, "b": 10, "l": 10, "r": 10})
    return fig


def histograms(samples: dict, title: str = "", x_title: str = "") -> go.Figure:
    """{name: values} as overlaid normalised histograms."""
    fig = go.Figure([go.Histogram(x=np.asarray(v).ravel(), name=k, opacity=0.6, histnorm="probability",
                                  xbins={"start": 0, "end": 1, "size": 0.02}) for k, v in samples.items()])
    fig.update_layout(barmode="overlay", title=title, height=300, xaxis_title=x_title, yaxis_tickformat=".0%",
                      legend={"orientation": "h", "y": -0.3}, margin={"t": 50, "b": 10, "l": 10, "r": 10})
    return fig


FACE_BOX_COLOR = (30, 110, 230)  # blue: red boxes mark the crop the network gets (Your photo, `with_box`)


def outlined(image: np.ndarray, mask: np.ndarray, scale: int = 3) -> np.ndarray:
    """A [0, 1] gray image enlarged, with the outline of a face box mask drawn in blue (RGB uint8)."""
    rgb = np.repeat(enlarge((np.clip(image, 0, 1) * 255).astype(np.uint8), scale)[..., None], 3, axis=-1)
    return with_face_box(rgb, mask, scale)


def with_face_box(rgb: np.ndarray, mask: np.ndarray, scale: int) -> np.ndarray:
    """A picture enlarged `scale` times (RGB uint8) with the outline of a face box mask, given over the
    picture before it was enlarged, drawn in blue."""
    rgb = np.array(rgb, dtype=np.uint8, copy=True)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size and cols.size:
        top, bottom, left, right = rows[0] * scale, (rows[-1] + 1) * scale - 1, cols[0] * scale, (cols[-1] + 1) * scale - 1
        for r, c in ((slice(top, top + 2), slice(left, right + 1)), (slice(bottom - 1, bottom + 1), slice(left, right + 1)),
                     (slice(top, bottom + 1), slice(left, left + 2)), (slice(top, bottom + 1), slice(right - 1, right + 1))):
            rgb[r, c] = FACE_BOX_COLOR
    return rgb


HONEST_GROUPS = (("test", "CMU test, same people"), ("cmu_new_people", "CMU, new people"),
                 ("three_amigos", "three amigos, face framed"), ("three_amigos_full_frame", "three amigos, whole frame"))


def honest_bars(accuracy: dict, test_label: str = HONEST_GROUPS[0][1]) -> go.Figure:
    """Accuracy and, where measured, the recall of "left" on each evaluation: a constant answer
    can score 67% accuracy but never a "left" recall above 0. `test_label` names the CMU test split."""
    names, overall, recall = [], [], []
    for key, name in ((HONEST_GROUPS[0][0], test_label), *HONEST_GROUPS[1:]):
        value = accuracy.get(key)
        if value is None:
            continue
        names.append(name.replace(", ", ",<br>"))  # two lines: Plotly would turn long names on a narrow screen
        overall.append(value if isinstance(value, float) else value.get("overall"))
        recall.append(value.get("left_recall") if isinstance(value, dict) else None)
    fig = go.Figure([
        go.Bar(name="accuracy", x=names, y=overall, text=[_percent(v) for v in overall],
               textposition=_label_positions(overall), cliponaxis=False),
        go.Bar(name="“left” faces found (recall)", x=names, y=recall,
               text=[_percent(v) for v in recall],
               textposition=_label_positions(recall), cliponaxis=False),
    ])
    fig.update_layout(barmode="group", yaxis={"range": [0, 1.05], "tickformat": ".0%"}, height=340,
                      margin={"t": 40, "b": 10, "l": 10, "r": 10}, xaxis={"tickangle": 0}, legend=LEGEND_ABOVE)
    return fig


# ---------------------------------------------------------------- comparing two networks (vislib.compare)


def cka_heatmap(layers_a, layers_b, matrix, title: str = "", name_a: str = "A", name_b: str = "B") -> go.Figure:
    """Linear CKA of every layer of A (rows, top to bottom) with every layer of B (columns), values
    in the cells, one colour scale from 0 (unrelated) to 1 (the same up to rotation and scale)."""
    matrix = np.asarray(matrix, dtype=float)
    fig = go.Figure(go.Heatmap(
        z=matrix, x=list(layers_b), y=list(layers_a),  # the names every page and table uses
        zmin=0.0, zmax=1.0, colorscale="Viridis", text=[[f"{v:.2f}" for v in row] for row in matrix],
        texttemplate="%{text}", hovertemplate=f"{name_a} %{{y}} · {name_b} %{{x}}: %{{z:.3f}}<extra></extra>",
        colorbar={"title": "CKA", "thickness": 12}))
    fig.update_layout(title=title, height=170 + 34 * len(layers_a), margin={"t": 40, "b": 10, "l": 10, "r": 10},
                      xaxis={"title": name_b, "side": "bottom", "tickangle": -40},
                      yaxis={"title": name_a, "autorange": "reversed"})
    return fig


def matched_similarity_bars(layers, matched, baseline, title: str = "") -> go.Figure:
    """Per layer: the mean correlation of best-matched units' HappyMaps, beside what units paired
    at random give."""
    fig = go.Figure([
        go.Bar(name="best one-to-one matching", x=list(layers), y=list(matched), text=[f"{v:.2f}" for v in matched]),
        go.Bar(name="units paired at random", x=list(layers), y=list(baseline), text=[f"{v:.2f}" for v in baseline],
               marker_color="#bbbbbb"),
    ])
    lowest = min(0.0, *baseline, *matched)
    fig.update_traces(cliponaxis=False)  # a negative bar's label sits below it: room for it under the axis
    fig.update_layout(title=title, barmode="group", yaxis={"range": [lowest - (0.12 if lowest < 0 else 0.05), 1.05],
                                                          "title": "mean correlation"},
                      height=350, margin={"t": 75, "b": 10, "l": 10, "r": 10}, legend=LEGEND_ABOVE)
    return fig


def timelapse_animation(epochs, logs: dict, happymaps: np.ndarray, classes, scores: np.ndarray, input_names,
                        probabilities: bool = True, title: str = "", narrow: bool = False) -> go.Figure:
    """Watch a network learn (issue 13): one animation frame an epoch, with a slider and a play
    button. Top: the decision layer's HappyMap of each class, and the decision on each fixed
    input; bottom: the loss and accuracy curves (train and test), a marker at the frame's epoch.
    `narrow` (a phone): the maps, the decision and each curve on rows of their own, one under another.

    epochs (F,), logs {"loss", "accuracy", "val_loss", "val_accuracy": (F,)}, happymaps
    (F, C, H, W) in [0, 1], scores (F, N, C)."""
    epochs = [int(e) for e in epochs]
    happymaps, scores = np.asarray(happymaps, float), np.asarray(scores, float)
    n_classes = len(classes)
    # the subplots number their axes in the same order either way: the maps 1..C, the decision C + 1, the curves
    if narrow:
        full = [{"colspan": n_classes}] + [None] * (n_classes - 1)
        specs, heights, spacing = [[{}] * n_classes, full, full, full], [0.3, 0.26, 0.22, 0.22], 0.085
        bars_at, curves = (2, 1), {"accuracy": (3, 1), "loss": (4, 1)}
    else:
        cols = n_classes + 2
        specs = [[{}] * n_classes + [{"colspan": 2}, None],
                 [{"colspan": cols // 2}] + [None] * (cols // 2 - 1) + [{"colspan": cols - cols // 2}]
                 + [None] * (cols - cols // 2 - 1)]
        heights, spacing = [0.55, 0.45], 0.14
        bars_at, curves = (1, n_classes + 1), {"accuracy": (2, 1), "loss": (2, cols // 2 + 1)}
    fig = make_subplots(rows=len(specs), cols=len(specs[0]), specs=specs, row_heights=heights,
                        vertical_spacing=spacing, horizontal_spacing=0.04,
                        # two short lines: one line ran into its neighbour's on a narrow screen
                        subplot_titles=[(f"HappyMap<br>“{c}”" if n_classes <= 2 else f"“{c}”") for c in classes]
                        + ["Decision on each picture", "Accuracy", "Loss"])
    split_keys = {"train": "", "test": "val_"}

    def values(key):
        return [None if v is None or not np.isfinite(v) else float(v) for v in np.asarray(logs[key], float)]

    for metric, (row, col) in curves.items():
        for split, prefix in split_keys.items():
            fig.add_trace(go.Scatter(x=epochs, y=values(prefix + metric), mode="lines", name=split,
                                     line={"color": COLORS[split]}, showlegend=metric == "accuracy",
                                     legendgroup=split), row=row, col=col)
    # the traces the frames move: HappyMaps, bars, then the curve markers
    moving = []

    def heat(image):
        # plain lists: plotly.js decodes numpy's binary arrays in a figure's data, not in its frames
        return go.Heatmap(z=np.round(image * 255).astype(int).tolist(), colorscale="gray", zmin=0, zmax=255,
                          showscale=False, hoverinfo="skip")

    palette = (["#aaaaaa", CHOSEN] if list(classes) == ["not left", "left"]
               else [CHOSEN, "#7b4fa6", "#aaaaaa", "#8c564b", "#e377c2", "#17becf"])  # each 4.5:1 with `text_on`

    def bars(frame):
        out = []
        for c, name in enumerate(classes):
            shown = [float(v) for v in scores[frame, :, c]]
            out.append(go.Bar(y=list(input_names), x=shown, orientation="h", name=name, legendgroup="classes",
                              text=[("" if v < 0.08 else f"{v:.0%}") if probabilities else f"{v:.2f}" for v in shown],
                              textposition="inside", showlegend=True, marker_color=palette[c % len(palette)],
                              insidetextfont={"color": text_on(palette[c % len(palette)])}))
        return out

    def markers(frame):
        out = []
        for metric in curves:
            for split, prefix in split_keys.items():
                v = values(prefix + metric)[frame]
                out.append(go.Scatter(x=[epochs[frame]], y=[v], mode="markers", showlegend=False,
                                      marker={"color": COLORS[split], "size": 11, "line": {"width": 1, "color": "black"}},
                                      hovertemplate=f"{split} {metric}, epoch %{{x}}: %{{y:.3f}}<extra></extra>"))
        return out

    for c in range(n_classes):
        fig.add_trace(heat(happymaps[0, c]), row=1, col=c + 1)
        moving.append(len(fig.data) - 1)
    for trace in bars(0):
        fig.add_trace(trace, row=bars_at[0], col=bars_at[1])
        moving.append(len(fig.data) - 1)
    k = 0
    for metric, (row, col) in curves.items():
        for _ in split_keys:
            fig.add_trace(markers(0)[k], row=row, col=col)
            moving.append(len(fig.data) - 1)
            k += 1

    def label(frame):
        return "before training" if epochs[frame] == 0 else f"epoch {epochs[frame]}"

    fig.frames = [go.Frame(name=str(e), traces=moving,
                           data=[heat(happymaps[f, c]) for c in range(n_classes)] + bars(f) + markers(f),
                           layout={"title": {"text": f"<b>{title}{label(f)}</b>"}})
                  for f, e in enumerate(epochs)]
    for c in range(n_classes):
        axis = "" if c == 0 else str(c + 1)
        fig.layout[f"xaxis{axis}"].update(showticklabels=False, ticks="", showgrid=False, zeroline=False,
                                          scaleanchor=f"y{axis}", constrain="domain")  # a picture: no scale
        fig.layout[f"yaxis{axis}"].update(showticklabels=False, ticks="", showgrid=False, zeroline=False,
                                          autorange="reversed", constrain="domain")
    bar_axis = str(n_classes + 1)
    fig.layout[f"xaxis{bar_axis}"].update(range=[0, 1.0] if probabilities else None, tickformat=".0%" if probabilities else None)
    if narrow:  # the pictures' names on the left of their own row, inside the figure: a margin would narrow every row
        names_width = min(0.45, 0.02 + 0.022 * max(len(str(n)) for n in input_names))
        fig.layout[f"xaxis{bar_axis}"].update(domain=[names_width, 1.0])
        fig.layout[f"yaxis{bar_axis}"].update(autorange="reversed")
    else:
        fig.layout[f"yaxis{bar_axis}"].update(autorange="reversed", side="right")  # the names clear of the maps
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=curves["accuracy"][0], col=curves["accuracy"][1])
    for row, col in curves.values():
        fig.update_xaxes(title_text="epoch", range=[epochs[0] - 0.6, epochs[-1] + 0.6], row=row, col=col)
    step = {"mode": "immediate", "frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0}}
    height = 1400 if narrow else 680
    margin = ({"t": 100, "b": 260, "l": 10, "r": 10} if narrow else
              {"t": 90, "b": 40, "l": 10, "r": 10 + 7 * max(len(str(n)) for n in input_names)})
    below = -95 / (height - margin["t"] - margin["b"])  # buttons and slider below the last "epoch" title, not on it
    fig.update_layout(
        # bold in every frame: a frame's title loses the weight the theme gave the first
        barmode="stack" if probabilities else "group", height=height, title={"text": f"<b>{title}{label(0)}</b>"},
        margin=margin,
        # on a phone the legend's entries wrap onto rows of their own: below everything, clear of the title
        legend=({"orientation": "h", "x": 0.0, "xanchor": "left", "y": below - 0.19, "yanchor": "top"} if narrow else
                {"orientation": "h", "x": 1.0, "xanchor": "right", "y": 1.13, "yanchor": "bottom"}),
        updatemenus=[{"type": "buttons", "direction": "left", "x": 0.0, "y": below, "xanchor": "left", "yanchor": "top",
                      "showactive": False,
                      "buttons": [
                          {"label": "▶ Play", "method": "animate",
                           "args": [None, {**step, "frame": {"duration": 600, "redraw": True}, "fromcurrent": True}]},
                          {"label": "❚❚ Pause", "method": "animate", "args": [[None], step]}]}],
        # on a phone the slider under the buttons, the whole width (beside them, "Pause" covered its label)
        sliders=[{"active": 0, "x": 0.0 if narrow else 0.14, "y": below - (0.045 if narrow else 0),
                  "len": 1.0 if narrow else 0.86, "yanchor": "top", "currentvalue": {"prefix": "epoch ", "xanchor": "right"},
                  "steps": [{"label": str(e), "method": "animate", "args": [[str(e)], step]} for e in epochs]}])
    return fig
