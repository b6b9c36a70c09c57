"""The client report: one self-contained HTML page per variant that prints on one or two sheets.

    html = export("ex1-1")                       # str: inline CSS, PNGs as data: URIs, nothing fetched
    html = export("ex1-1", photo_bytes=data)     # explain another photo than the sample

What the variant is, its accuracy figures, its decision-layer HappyMaps with the honesty check
(the same settings on a copy with random weights), the comparison with the baseline
(vislib.compare), and one photo's explanation (occlusion). No CMU or Pointing'04 picture is
embedded, so the page can be shared outside: only figures measured on them, with their citations.

`python -m vislib.client_report VARIANT [--photo PATH] [--out FILE]` writes the page.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import html
import re
import sys
import time
from pathlib import Path

import numpy as np

from vislib import compare, data, happymaps, report, settings, zoo

BASELINE = "exp0"  # the network every report compares with
HONEST_BELOW = happymaps.LEARNED_BELOW
QUESTIONS = {"binary": "is this face looking left?", "pose": "which way is this face looking: left, right, straight or up?"}
DEFAULT_PHOTO = settings.SAMPLES_DIR / "astronaut.jpg"
DEFAULT_PHOTO_CREDIT = ("Sample photo: NASA portrait of astronaut Eileen Collins (public domain; "
                        "scikit-image's skimage.data.astronaut).")

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222; max-width: 60em;
       margin: 1.5em auto; padding: 0 1em; font-size: 14px; line-height: 1.4; }
h1 { font-size: 1.6em; margin: 0 0 .2em; } h2 { font-size: 1.15em; margin: 1.1em 0 .3em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .3em 0; } td, th { border: 1px solid #ccc; padding: .15em .5em; }
th { background: #f3f3f3; text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #666; font-size: .9em; } .warn { background: #fff4e0; border-left: 4px solid #e69500; padding: .3em .6em; }
.row { display: flex; gap: 1.5em; flex-wrap: wrap; align-items: flex-start; } figure { margin: .3em 0; }
figcaption { font-size: .85em; color: #555; max-width: 28em; } img { image-rendering: pixelated; }
@media print {
  body { margin: 0; max-width: none; font-size: 9px; line-height: 1.25; } h1 { font-size: 1.4em; }
  h2 { break-after: avoid; margin: .5em 0 .2em; } p { margin: .25em 0; } td, th { padding: .05em .4em; }
  section, figure, table { break-inside: avoid; } .noprint { display: none; }
  figure img { max-height: 30mm; width: auto; } .row { gap: .8em; }
  @page { size: A4; margin: 9mm; }
}
"""


def _png_uri(image: np.ndarray | bytes) -> str:
    from vislib import plots

    raw = image if isinstance(image, bytes) else plots.png_bytes(image)
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def _img(image, alt: str, caption: str = "") -> str:
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{_png_uri(image)}" alt="{html.escape(alt)}">{cap}</figure>'


def _pct(value) -> str:
    return "not measured" if value is None else f"{value:.1%}"


def accuracy_rows(metrics: dict) -> list[tuple[str, float | None, str]]:
    """(label, value or None, what it means) for the figures in metrics.json (missing ones None)."""
    a = metrics.get("accuracy", {})

    def get(key, field="overall"):
        value = a.get(key)
        if isinstance(value, dict):
            return value.get(field)
        return value if field == "overall" else None

    test_label, test_meaning = report.cmu_test_label(metrics)
    return [
        ("CMU train", a.get("train"), "the faces it was trained on"),
        (test_label, a.get("test"), test_meaning),
        ("CMU, new people", get("cmu_new_people"), "the recipe retrained with people held out, scored on them"),
        ("Three amigos (face framed)", get("three_amigos"),
         "photos of three people from another studio (Pointing'04), never used for training"),
        ("“Left” found among the three amigos", get("three_amigos", "left_recall"),
         "of their photos looking left, the share it calls left (0% for a network that never answers “left”)"),
        ("Three amigos (whole frame)", get("three_amigos_full_frame"), "the same photos, not cropped to the face"),
    ]


# ---------------------------------------------------------------- sections


def _what_it_is(variant: str, spec: zoo.Variant, metrics: dict) -> str:
    items = [f"<b>{html.escape(variant)}</b>: {html.escape(spec.title)} ({html.escape(getattr(spec, 'series', 'Original study'))})."]
    if spec.notes:
        items.append(html.escape(spec.notes[0].upper() + spec.notes[1:]) + ".")
    if getattr(spec, "hypothesis", ""):
        items.append(f"<b>Hypothesis.</b> {html.escape(spec.hypothesis)}")
    items.append(f"Task: {' / '.join(html.escape(c) for c in spec.classes)}. Trained on "
                 f"{html.escape(', '.join(zoo.training_data_names(spec, cmu='CMU Face Images')))}. "
                 f"{metrics.get('params', 0):,} parameters; conv filters {', '.join(map(str, spec.conv_filters))}; "
                 f"hidden dense units {', '.join(map(str, spec.dense_units)) or 'none'}; "
                 f"decision: {html.escape(spec.decision_activation)}, {html.escape(spec.loss.replace('_', ' '))}.")
    return "<section><h2>What it is</h2><p>" + "<br>".join(items) + "</p></section>"


def _accuracy(metrics: dict) -> str:
    rows = "".join(f"<tr><th>{html.escape(label)}</th><td class='n'>{_pct(value)}</td>"
                   f"<td class='muted'>{html.escape(meaning)}</td></tr>" for label, value, meaning in accuracy_rows(metrics))
    said = report.constant_answer_warning(metrics.get("variant", "It"), metrics)
    warning = f"<p class='warn'>{html.escape(said)}</p>" if said else ""
    return (f"<section><h2>Accuracy</h2><table>{rows}</table>{warning}"
            f"<p class='muted'>CMU: {html.escape(settings.CMU_CITATION)} Three amigos: Head Pose Image Database "
            f"(Pointing'04), INRIA; {html.escape(settings.POINTING04_CITATION)}</p></section>")


def decision_maps(variant: str, honesty: bool = True) -> dict | None:
    """The decision layer's HappyMaps from the atlas (None without one) and, when `honesty`, the
    same settings on a copy with random weights, with each map's correlation to its twin (what each
    adds to the mean face): {"maps", "labels", "random", "r"}."""
    from vislib import atlas as atlas_lib
    from vislib import happymaps

    try:
        saved = atlas_lib.load(variant)
    except atlas_lib.AtlasError:
        return None
    spec = zoo.variant(variant)
    if saved is None or spec.decision_layer not in saved.images:
        return None
    maps = saved.images[spec.decision_layer]
    out = {"maps": maps, "labels": [f"{i} · {c}" for i, c in enumerate(spec.classes)], "random": None, "r": None}
    if honesty and saved.settings is not None:
        engine = happymaps.engine_for(variant)
        check = engine.randomized().layer(spec.decision_layer, settings=saved.settings, every=saved.settings.steps)
        out["random"] = check.images
        r, comparable = happymaps.sanity_correlation(maps, check.images, engine.mean_image, saved.settings.start)
        out["r"] = np.where(comparable, r, np.nan)  # a map that stayed its start has no r
    return out


def _happymaps(variant: str, honesty: bool) -> str:
    from vislib import plots

    found = decision_maps(variant, honesty)
    head = "<section><h2>What makes it say each answer (decision HappyMaps)</h2>"
    if found is None:
        return head + f"<p>Not available: no usable HappyMaps atlas for {html.escape(variant)} " \
                      f"(<code>python -m vislib.atlas --variant {html.escape(variant)}</code>).</p></section>"
    figures = [_img(plots.montage(found["maps"], found["labels"], cols=len(found["maps"]), scale=2), "decision HappyMaps",
                    "For each answer, the picture that makes the network most sure of it (built in the space of "
                    "faces, from the average training face).")]
    if found["random"] is not None:
        r = found["r"]
        figures.append(_img(plots.montage(found["random"], [f"{l} · r={v:.2f}" if np.isfinite(v) else f"{l} · r: –"
                                                            for l, v in zip(found["labels"], r)],
                                          cols=len(r), scale=2),
                            "honesty check", "Honesty check: the same method on a copy of the network with random "
                            "weights (Adebayo et al. 2018). r: how alike the two pictures' departures from the average face are."))
        comparable = r[np.isfinite(r)]
        if comparable.size:
            resemblance = round(float(np.median(np.abs(comparable))), 2)  # the figure judged is the figure printed
            verdict = happymaps.sanity_verdict(resemblance) + (
                " (each picture's own r is printed beneath it)" if resemblance < HONEST_BELOW else "")
            note = (f"<p>Resemblance to the random network's pictures (median of |r|): <b>{resemblance:.2f}</b>, "
                    f"{verdict}.</p>")
        else:
            note = ("<p>Honesty check: the pictures, here or on the random copy, did not move from where they "
                    "started, so there is nothing to compare.</p>")
    else:
        note = "<p class='muted'>Honesty check: not available.</p>"
    return head + f"<div class='row'>{''.join(figures)}</div>{note}</section>"


def _comparison(variant: str, baseline: str) -> str:
    head = f"<section><h2>Compared with the baseline ({html.escape(baseline)})</h2>"
    if variant == baseline:
        return head + "<p>This is the baseline itself.</p></section>"
    try:
        c = compare.compare(variant, baseline)
    except (zoo.ModelLoadError, data.DataNotFoundError) as error:
        return head + f"<p>Not available: {html.escape(str(error))}</p></section>"
    same = {name: c.same_layer_cka(name) for name in c.cka}
    rows = []
    for layer in same[compare.CMU]:
        m = c.happymaps.get(layer)
        rows.append(f"<tr><th>{html.escape(c.label(layer))}</th>"
                    + "".join(f"<td class='n'>{same[name][layer]:.2f}</td><td class='n muted'>{c.cka_random[name][layer]:.2f}</td>"
                              for name in c.cka)
                    + (f"<td class='n'>{m.mean:.2f}</td><td class='n muted'>{m.baseline:.2f}</td>" if m else "<td>–</td><td>–</td>")
                    + "</tr>")
    sets = "".join(f"<th colspan='2'>CKA, {html.escape(name)}</th>" for name in c.cka)
    sub = "".join("<th>vs baseline</th><th>random copy</th>" for _ in c.cka)
    agreement = "; ".join(f"{r['agreement']:.0%} of the {r['n']} {html.escape(name)}" for name, r in c.agreement.items())
    pose = " (four poses counted as “left” or “not left”)" if "pose" in (zoo.variant(variant).task, zoo.variant(baseline).task) else ""
    return (head + f"<p><b>In short</b>: {html.escape(c.in_short())}</p>"
            f"<p>Same answer as {html.escape(baseline)}{pose}: <b>{agreement}</b>.</p>"
            f"<table><tr><th rowspan='2'>layer</th>{sets}<th colspan='2'>HappyMaps, matched units</th></tr>"
            f"<tr>{sub}<th>matched r</th><th>paired at random</th></tr>{''.join(rows)}</table>"
            f"<p class='muted'>CKA (Kornblith et al. 2019): 1 means the layer holds the same information as the "
            f"baseline's layer of the same name, or its decision layer (up to rotation and scale), 0 nothing in common. The gray column is "
            f"the same figure for a copy of the baseline with random weights: only a value clearly above it shows "
            f"something learned in common. On these faces the conv layers of any network, even a random one, stay "
            f"close to the picture itself, so their CKA is high everywhere; the dense layers tell networks apart.</p></section>")


def photo_explanation(model, classes, photo_bytes: bytes) -> dict:
    """The photo framed as an upload, the network's answer, its occlusion map for that answer, and where
    that map lies against the face ("where", in words; None without a face)."""
    from vislib import activations, attribution, diagnosis, imaging

    gray = imaging.load_photo(photo_bytes)
    face = imaging.detect_face(gray)
    framed = imaging.frame(gray, face, use_whole_photo=face is None)
    decision = activations.decide(model, framed.input, classes)
    heat = attribution.attribute(model, framed.input, "occlusion", class_index=decision.index)
    where = None if face is None else diagnosis.where_it_looks_here(
        heat.heatmap, diagnosis.face_mask(framed.box, face.box))
    return {"input": framed.input[..., 0], "source": framed.source, "label": decision.label,
            "scores": decision.scores, "probabilities": decision.probabilities, "heatmap": heat.heatmap,
            "where": where}


def _photo(variant: str, model, photo_bytes: bytes, credit: str) -> str:
    from vislib import imaging, plots

    e = photo_explanation(model, zoo.variant(variant).classes, photo_bytes)
    score = (f"{e['scores'].max():.1%} sure" if e["probabilities"] else f"output {e['scores'].max():.2f}")  # as Your photo
    figure = plots.explanation_png(e["input"], e["heatmap"], 0.5, f"{variant}: “{e['label']}” ({score})", scale=3)
    return ("<section><h2>One photo, explained</h2><div class='row'>"
            + _img(figure, "the photo as the network sees it, and the occlusion map",
                   "Left: the 64x60 picture the network sees (framed from the photo: "
                   f"{imaging.framing_in_words(e['source'])}). Right: occlusion, the places whose hiding lowers its answer most (bright).")
            + f"<p>The network answers <b>“{html.escape(e['label'])}”</b> ({html.escape(score)}).<br>"
            + (f"{_bold(e['where'])}<br>" if e["where"] else "")
            + f"<span class='muted'>{html.escape(credit)}</span></p></div></section>")


def _bold(markdown: str) -> str:
    """A sentence with **bold** figures (as the pages write them) as HTML."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(markdown))


# ---------------------------------------------------------------- the page


def export(variant: str, photo_bytes: bytes | None = None, baseline: str = BASELINE, honesty: bool = True,
           model=None) -> str:
    """The client report of a shipped variant as one self-contained HTML page."""
    spec = zoo.variant(variant)
    metrics = zoo.read_json(variant, "metrics.json")
    model = model if model is not None else compare._model(variant)
    credit = DEFAULT_PHOTO_CREDIT if photo_bytes is None else "The photo chosen for this report."
    photo_bytes = DEFAULT_PHOTO.read_bytes() if photo_bytes is None else photo_bytes
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join([
        f"<h1>HappyMaps report: {html.escape(variant)} · {html.escape(spec.title)}</h1>",
        f"<p class='muted'>A small convolutional network answering “{QUESTIONS[spec.task]}”. Generated {when} "
        f"by <code>python -m vislib.client_report {html.escape(variant)}</code>.</p>",
        _what_it_is(variant, spec, metrics),
        _accuracy(metrics),
        _happymaps(variant, honesty),
        _comparison(variant, baseline),
        _photo(variant, model, photo_bytes, credit),
    ])
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>HappyMaps report · {html.escape(variant)}</title><style>{CSS}</style></head>"
            f"<body>{body}</body></html>\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vislib.client_report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", choices=list(zoo.VARIANTS))
    parser.add_argument("--photo", type=Path, help=f"the photo to explain (default {DEFAULT_PHOTO.name})")
    parser.add_argument("--out", type=Path, help="where to write the page (default report_VARIANT.html)")
    parser.add_argument("--baseline", default="exp0", choices=list(zoo.VARIANTS))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        page = export(args.variant, args.photo.read_bytes() if args.photo else None, args.baseline)
    except (zoo.ModelLoadError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    out = args.out or Path(f"report_{args.variant}.html")
    out.write_text(page, encoding="utf-8")
    print(f"wrote {out} ({len(page.encode()) / 1e3:.0f} kB)")
    print(f"report: {time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
