"""Benchmarks that print numbers (never timed assertions in tests).

    python -m vislib.bench happymaps --vs tf-keras-vis   # last line: ratio: X (their s / ours)
    python -m vislib.bench quality                        # last line: units reaching 1.0: P%
    python -m vislib.bench photo                          # last line: ms: X
    python -m vislib.bench engine                         # every layer, warm; last line: all layers ms: X
    python -m vislib.bench legibility                     # last line: legibility: trained X, randomised Y, saturated Z%
                                                          # (the line before: as the page offers them)
    python -m vislib.bench images                         # one layer, 128 steps, each image parameterisation
    python -m vislib.bench pages | load | uploads         # a real browser (vislib.loadtest)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import fields, replace

import keras
import numpy as np
from keras import ops

from vislib import autodiff, happymaps, regularizers, settings, zoo


PIXEL_PRESET = happymaps.DEFAULT_FOR_IMAGE["pixels"]


def _conv_flops(model: keras.Model, layer: str, batch: int) -> float:
    """Multiply-adds x 2 of one forward pass plus the input-gradient pass, up to `layer`, with
    all of `layer`'s units (tf-keras-vis's work; ours computes only each image's own unit)."""
    flops = 0.0
    for l in model.layers:
        if isinstance(l, keras.layers.Conv2D):
            _, h, w, cout = l.output.shape
            kh, kw, cin, _ = l.kernel.shape
            flops += 2 * h * w * cin * cout * kh * kw
        elif isinstance(l, keras.layers.Dense):
            flops += 2 * l.kernel.shape[0] * l.kernel.shape[1]
        if l.name == layer:
            break
    return 2 * flops * batch  # forward + backward to the input


def conv_peak_gflops(seconds: float = 1.0) -> float:
    """This machine's measured rate on a convolution like the zoo's (forward, float32)."""
    x = ops.convert_to_tensor(np.random.default_rng(0).normal(size=(256, 30, 32, 32)).astype("float32"))
    k = ops.convert_to_tensor(np.random.default_rng(1).normal(size=(3, 3, 32, 32)).astype("float32"))
    conv = autodiff.compile(lambda x, k: ops.conv(x, k, padding="same"))
    autodiff.to_numpy(conv(x, k))
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        autodiff.to_numpy(conv(x, k))
        runs += 1
    per_run = (time.perf_counter() - started) / runs
    return 2 * 256 * 30 * 32 * 32 * 32 * 9 / per_run / 1e9


def _cpu_ticks() -> list[int] | None:
    """This machine's CPU time counters (Linux /proc/stat: user ... steal), or None."""
    try:
        with open("/proc/stat") as stat:
            return [int(v) for v in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None


def _stolen_share(before: list[int] | None, after: list[int] | None) -> str:
    """The share of CPU time the hypervisor gave to other guests between two readings."""
    if before is None or after is None:
        return "n/a (no /proc/stat)"
    delta = [b - a for a, b in zip(before, after)]
    return f"{delta[7] / max(sum(delta), 1):.0%}"


class _YosinskiModifier:
    """Our decay and blur, as a tf-keras-vis input modifier (applied before each step, which
    is the same as after the previous one)."""

    def __init__(self, s: happymaps.Settings, offset: float):
        self.s, self.offset, self.step = s, offset, 0

    def __call__(self, x):
        self.step += 1
        x = (x - self.offset) * (1.0 - self.s.decay)
        if self.s.blur_every and self.s.blur_sigma and self.step > 1 and (self.step - 1) % self.s.blur_every == 0:
            x = regularizers.blur(x, self.s.blur_sigma)
        return x + self.offset


def happymaps_vs_tf_keras_vis(variant: str, layer: str, steps: int, preset: str, repeats: int) -> float:
    if autodiff.backend() != "tensorflow":
        raise SystemExit(f"tf-keras-vis needs KERAS_BACKEND=tensorflow, got {autodiff.backend()!r}; "
                         f"use `python -m vislib.bench engine` to time our engine alone")
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.utils.model_modifiers import ExtractIntermediateLayer

    engine = happymaps.engine_for(variant)
    model = engine.model
    n_units = int(model.get_layer(layer).output.shape[-1])
    units = np.arange(n_units)
    s = happymaps.Settings.from_preset(preset, steps=steps)
    if s.image != "pixels":
        raise SystemExit(f"pick a preset on pixels (tf-keras-vis optimises pixels), got image {s.image!r}")
    if s.norm_pct or s.contrib_pct:
        raise SystemExit("pick a preset without percentile clipping: tf-keras-vis has no gradient-aware modifier")
    print(f"device: {autodiff.device_name()}; backend {autodiff.backend()}; {variant} {layer}: "
          f"{n_units} units, {steps} steps, preset {preset} {s.decay, s.blur_sigma, s.blur_every}")

    def ours_once(seed):
        return engine.layer(layer, settings=happymaps.Settings.from_preset(preset, steps=steps, seed=seed), every=steps)

    started = time.perf_counter()
    ours_once(0)
    print(f"ours, first run (compiles): {time.perf_counter() - started:.2f} s")

    am = ActivationMaximization(model, model_modifier=ExtractIntermediateLayer(layer), clone=True)
    chosen = ops.convert_to_tensor(np.stack([np.arange(n_units), units], axis=1).astype("int32"))

    def score(output):
        per_unit = ops.mean(output, axis=(1, 2)) if len(output.shape) == 4 else output
        return ops.take_along_axis(per_unit, ops.expand_dims(chosen[:, 1], 1), axis=1)[:, 0]

    def normalise(grad):
        return grad / (ops.mean(ops.abs(grad), axis=(1, 2, 3), keepdims=True) + 1e-12)

    def theirs_once(n_steps, seed):
        start = engine.start_pictures(happymaps.Settings.from_preset(preset, seed=seed), n_units)[..., None]
        return am(score, seed_input=start, steps=n_steps, input_range=(0.0, 1.0),
                  input_modifiers=[_YosinskiModifier(s, engine.offset)], regularizers=[],
                  optimizer=keras.optimizers.SGD(s.learning_rate), gradient_modifier=normalise)

    theirs_once(2, 0)  # warm up
    # taken in turns, so that both see the same machine: a shared 2-core VM swings by +-20%;
    # who goes first alternates, as the first of a pair tends to run slower
    ours, theirs = [], []
    ticks = _cpu_ticks()

    def timed(run, times):
        started = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - started)
        return out

    for r in range(repeats):
        if r % 2 == 0:
            result = timed(lambda: ours_once(r + 1), ours)
            images = timed(lambda: theirs_once(steps, r + 1), theirs)
        else:
            images = timed(lambda: theirs_once(steps, r + 1), theirs)
            result = timed(lambda: ours_once(r + 1), ours)
        print(f"  run {r + 1}: ours {ours[-1]:.2f} s, tf-keras-vis {theirs[-1]:.2f} s, ratio {theirs[-1] / ours[-1]:.2f}")
    print(f"CPU time stolen by the hypervisor during these runs: {_stolen_share(ticks, _cpu_ticks())}")
    ours_s, theirs_s = min(ours), min(theirs)
    their_values = engine.activations(happymaps.objectives.unit_batch(layer), np.asarray(images), units)

    flops = _conv_flops(model, layer, n_units) * steps
    peak = conv_peak_gflops()
    print(f"best of {repeats}: ours {ours_s:.3f} s  mean activation reached {result.values.mean():.3f}")
    print(f"best of {repeats}: tf-keras-vis {theirs_s:.3f} s  mean activation reached {their_values.mean():.3f}")
    print(f"throughput, counting the whole network up to {layer}: "
          f"ours {flops / ours_s / 1e9:.1f} GFLOP/s, tf-keras-vis {flops / theirs_s / 1e9:.1f} GFLOP/s, "
          f"this machine's measured convolution peak {peak:.1f} GFLOP/s "
          f"(ours at {flops / ours_s / 1e9 / peak:.0%} of it)")
    ratio = theirs_s / ours_s
    print(f"median of the paired ratios: {statistics.median(t / o for t, o in zip(theirs, ours)):.2f}")
    print(f"ratio: {ratio:.2f}")
    return ratio


def engine_speed(variant: str, steps: int, preset: str, repeats: int = 3) -> float:
    """Warm time of every layer's HappyMaps (all units), and whether a slider move recompiles.

    Each layer runs `repeats` times, each with the sliders moved; the last line is the sum over
    layers of each layer's median."""
    engine = happymaps.engine_for(variant)
    layers = zoo.unit_layers(engine.model)
    settings_ = happymaps.Settings.from_preset(preset, steps=steps)
    for layer in layers:
        engine.layer(layer, settings=settings_, every=steps)  # compile once per layer
    compiled = engine.compilations
    medians, bests = [], []
    for layer in layers:
        times = []
        for r in range(repeats):
            moved = happymaps.Settings.from_preset(preset, steps=steps, decay=0.001 * (r + 1), seed=r + 1)
            result = engine.layer(layer, settings=moved, every=steps)
            times.append(result.seconds * 1000)
        medians.append(statistics.median(times))
        bests.append(min(times))
        print(f"{layer}: {len(result.units)} units x {steps} steps in {medians[-1]:.0f} ms "
              f"(median of {repeats}; best {bests[-1]:.0f} ms)")
    print(f"device: {autodiff.device_name()}; backend {autodiff.backend()}; "
          f"recompiles after slider moves: {engine.compilations - compiled}")
    print(f"all layers, best runs: {sum(bests):.0f} ms")
    print(f"all layers ms: {sum(medians):.0f}")
    return sum(medians) / 1000


def quality(variant: str, preset: str, steps: int, overrides: dict | None = None) -> float:
    """Activation each HappyMap reaches / the highest any CMU training image reaches, at a preset with
    `overrides` (a "steps" among them wins over `steps`)."""
    settings_ = happymaps.Settings.from_preset(preset, **{"steps": steps, **(overrides or {})})
    engine = happymaps.engine_for(variant)
    stats = zoo.read_json(variant, "unit_stats.json")
    reached, total, skipped = 0, 0, 0
    for layer in zoo.unit_layers(engine.model):
        result = engine.layer(layer, settings=settings_, every=settings_.steps)
        best = np.asarray(stats[layer]["max"])
        live = best > 0
        ratios = result.values[live] / best[live]
        reached += int((ratios >= 1.0).sum())
        total += int(live.sum())
        skipped += int((~live).sum())
        print(f"{layer}: {int((ratios >= 1.0).sum())}/{int(live.sum())} units reach 1.0 "
              f"(median ratio {np.median(ratios) if ratios.size else float('nan'):.2f}, "
              f"{result.seconds:.1f} s){f'; {int((~live).sum())} silent on all training faces, skipped' if (~live).any() else ''}")
    changed = "".join(f", {k}={v}" for k, v in (overrides or {}).items() if k != "steps")
    print(f"{variant}, preset {preset}{changed}, {settings_.steps} steps; {skipped} dead units excluded")
    share = 100.0 * reached / max(total, 1)
    print(f"units reaching 1.0: {share:.1f}%")
    return share


def pose_direction(examples) -> np.ndarray:
    """Mean "left" minus mean "not left" of training examples (train.Examples), (H, W)."""
    images, left = examples.x[..., 0], examples.poses == "left"
    return images[left].mean(axis=0) - images[~left].mean(axis=0)


RANDOM_SEEDS = (0, 1, 2)


def legibility(variants=None, preset: str = happymaps.DEFAULT_PRESET, overrides: dict | None = None,
               random_seeds=RANDOM_SEEDS) -> tuple:
    """For each binary variant, how much its "left" decision map looks like a face turned left.

    The correlation between (map - mean face) and (mean "left" face - mean "not left" face) of
    the variant's own training faces (`pose_direction`), for the trained network and for copies with
    re-randomised weights (Adebayo et al. 2018; the median over `random_seeds`, since one copy
    can land anywhere), and the share of the decision maps' pixels within 0.02 of black or white.
    At the default settings, the networks the page offers another preset (happymaps.suggested_preset)
    are measured there too, and summed up on the line before the last."""
    from vislib import train

    settings_ = happymaps.Settings.from_preset(preset, **(overrides or {}))
    variants = variants or [v for v in zoo.shipped_variants() if zoo.variant(v).task == "binary"]
    print(f"preset {preset}: {settings_}")
    measured, offered = {}, {}
    for variant in variants:
        spec = zoo.variant(variant)
        # the faces it was trained on, as it saw them: CMU's 64x60 files for the originals, the
        # upload path's crops for Experiment 2 (with its Pointing'04 training people)
        examples = train.training_sets(spec)[0]
        measured[variant] = _legibility_of(variant, settings_, examples, random_seeds)
        suggested = happymaps.suggested_preset(spec)
        if suggested and preset == happymaps.DEFAULT_PRESET and not overrides:
            offered[variant] = _legibility_of(variant, happymaps.Settings.from_preset(suggested), examples,
                                              random_seeds, f" at {suggested}, the preset the page suggests for it")
    if any(len(zoo.variant(v).training_data) > 1 for v in measured):  # the issue words the reference as CMU's
        worst = {name: min(m[3] for m in figures.values()) for name, figures in
                 (("at the default", measured), ("as the page offers them", {**measured, **offered}))}
        print("against CMU's training faces alone (each network's own CMU people; the two-studio networks "
              "without their Pointing'04 faces): worst trained "
              + ", ".join(f"{v:.2f} {name}" for name, v in worst.items() if name == "at the default" or offered))
    if offered:
        print("as the page offers them (the suggested preset where there is one): "
              + _summary({**measured, **offered}))
    print(f"legibility: {_summary(measured)}")
    return _summary_values(measured)


def _legibility_of(variant: str, settings_: happymaps.Settings, examples, random_seeds, label: str = "") -> tuple:
    """(trained, randomised median, saturated %) of one variant's "left" map; printed as a line."""
    spec = zoo.variant(variant)
    direction = pose_direction(examples)
    engine = happymaps.engine_for(variant)
    layer, left = engine.decision_layer, spec.classes.index("left")
    ours = engine.layer(layer, settings=settings_, every=settings_.steps)
    added = ours.images[left:left + 1] - engine.mean_image
    trained = float(happymaps.correlation(added, direction)[0])
    copies = []
    for seed in random_seeds:
        check = engine.randomized(seed).layer(layer, settings=settings_, every=settings_.steps)
        copies.append(float(happymaps.correlation(check.images[left:left + 1] - engine.mean_image, direction)[0]))
    saturated = 100 * happymaps.saturated_share(ours.images)
    also, against_cmu = "", trained
    if len(spec.training_data) > 1:
        against_cmu = float(happymaps.correlation(added, pose_direction(examples.take(examples.source == "cmu")))[0])
        also = f"; against its CMU faces alone {against_cmu:.2f}"
    print(f"{variant}{label}: trained {trained:.2f}, randomised {statistics.median(copies):.2f} "
          f"(median of seeds {', '.join(f'{c:.2f}' for c in copies)}), "
          f"saturated {saturated:.1f}% ({ours.reading} of {layer}, {ours.seconds:.1f} s{also})")
    return trained, statistics.median(copies), saturated, against_cmu


def _summary_values(measured: dict) -> tuple:
    """The worst trained figure, the highest randomised one, the most saturated share."""
    return tuple(f(m[i] for m in measured.values()) for i, f in enumerate((min, max, max)))


def _summary(measured: dict) -> str:
    x, y, z = _summary_values(measured)
    return f"trained {x:.2f}, randomised {y:.2f}, saturated {z:.1f}%"


def image_speed(variant: str, layer: str, steps: int, repeats: int = 3) -> dict:
    """Warm time of one layer's HappyMaps (all units) for each image parameterisation's default."""
    engine = happymaps.engine_for(variant)
    n_units = int(engine.model.get_layer(layer).output.shape[-1])
    silent = set(zoo.never_firing(zoo.read_json(variant, "unit_stats.json"), layer))
    live = [u for u in range(n_units) if u not in silent]
    batches = {f"all {n_units} units": list(range(n_units))}
    if len(live) < n_units:  # the page optimises these only: the others never fire and are said in words
        batches[f"the {len(live)} that fire (what the page optimises)"] = live
    times = {}
    for image, preset in happymaps.DEFAULT_FOR_IMAGE.items():
        settings_ = happymaps.Settings.from_preset(preset, steps=steps)
        for label, units in batches.items():
            engine.layer(layer, units, settings=settings_, every=steps)  # compiles
            runs = [engine.layer(layer, units, settings=replace(settings_, seed=r + 1), every=steps).seconds
                    for r in range(repeats)]
            times[image] = statistics.median(runs)
            print(f"{image} ({preset}): {variant} {layer}, {label}, {steps} steps: {times[image]:.2f} s "
                  f"(median of {repeats}; best {min(runs):.2f} s)")
    print(f"slowest image parameterisation s: {max(times.values()):.2f}"
          + (" (the units that fire)" if len(live) < n_units else ""))
    return times


def _overrides(pairs) -> dict:
    """['decay=0.1', 'image=pixels'] -> {'decay': 0.1, 'image': 'pixels'}, typed like Settings."""
    types = {f.name: str(f.type) for f in fields(happymaps.Settings)}
    out = {}
    for pair in pairs or []:
        name, _, value = pair.partition("=")
        if name not in types:
            raise SystemExit(f"--set expects NAME=VALUE with NAME one of {list(types)}, got {pair!r}")
        kind = types[name]
        if kind.startswith("bool"):
            out[name] = {"true": True, "false": False, "none": None}[value.lower()]
        else:
            out[name] = {"str": str, "int": int, "float": float}[kind](value)
    return out


def photo(variant: str, repeats: int) -> float:
    from vislib import activations, attribution, imaging

    path = sorted(settings.SAMPLES_DIR.glob("*.jpg"))[0]
    payload = path.read_bytes()
    model = zoo.load(variant)
    classes = zoo.variant(variant).classes

    def once():
        gray = imaging.load_photo(payload)
        face = imaging.detect_face(gray)
        box = imaging.cmu_frame(face.box, gray.shape) if face else imaging.whole_frame(gray.shape)
        x = imaging.to_network_input(gray, box)
        decision = activations.decide(model, x, classes)
        activations.layer_activations(model, x)
        attribution.attribute(model, x, "gradcam", class_index=decision.index)

    once()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        once()
        times.append((time.perf_counter() - started) * 1000)
    print(f"{path.name} ({len(payload) / 1024:.0f} KB), {variant}, {repeats} warm runs on {autodiff.device_name()}: "
          f"min {min(times):.0f} ms, median {statistics.median(times):.0f} ms")
    print(f"ms: {statistics.median(times):.0f}")
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vislib.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    hm = sub.add_parser("happymaps")
    hm.add_argument("--vs", choices=["tf-keras-vis"], default="tf-keras-vis")
    hm.add_argument("--variant", default="exp0")
    hm.add_argument("--layer", default="conv2d_3")
    hm.add_argument("--steps", type=int, default=128)
    hm.add_argument("--preset", default=PIXEL_PRESET, help="on pixels: tf-keras-vis has no other parameterisation")
    hm.add_argument("--repeats", type=int, default=5)
    q = sub.add_parser("quality")
    q.add_argument("--variant", default="exp0")
    q.add_argument("--preset", default=happymaps.DEFAULT_PRESET)
    q.add_argument("--steps", type=int, default=128)
    q.add_argument("--set", action="append", metavar="NAME=VALUE", help="override one setting")
    e = sub.add_parser("engine")
    e.add_argument("--variant", default="exp0")
    e.add_argument("--steps", type=int, default=128)
    e.add_argument("--preset", default=happymaps.DEFAULT_PRESET)
    e.add_argument("--repeats", type=int, default=3)
    lg = sub.add_parser("legibility")
    lg.add_argument("--variant", action="append")
    lg.add_argument("--preset", default=happymaps.DEFAULT_PRESET)
    lg.add_argument("--set", action="append", metavar="NAME=VALUE", help="override one setting")
    im = sub.add_parser("images")
    im.add_argument("--variant", default="exp0")
    im.add_argument("--layer", default="conv2d_3")
    im.add_argument("--steps", type=int, default=128)
    im.add_argument("--repeats", type=int, default=3)
    p = sub.add_parser("photo")
    p.add_argument("--variant", default="exp0")
    p.add_argument("--repeats", type=int, default=20)
    pg = sub.add_parser("pages", help="a real browser: cold first title, warm page, variant and sample changes")
    pg.add_argument("--repeats", type=int, default=3)
    ld = sub.add_parser("load", help="a real browser: many sessions on one server")
    ld.add_argument("--sessions", type=int, default=20)
    ld.add_argument("--seconds", type=float, default=120)
    ld.add_argument("--settle", type=float, default=60, help="seconds to wait before reading memory again")
    ld.add_argument("--browser-nice", type=int, default=None,
                    help="Chromium's CPU priority; by default (vislib.loadtest.BROWSER_NICE, 0) as Chromium "
                         "sets it (some threads at -8 as root, above the server); 10: below the server, as "
                         "when the browsers are the clients' own")
    up = sub.add_parser("uploads", help="a real browser: server memory after large uploads and after the session")
    up.add_argument("--count", type=int, default=10)
    up.add_argument("--size", type=int, default=3000, help="photo side, pixels")
    up.add_argument("--settle", type=float, default=150, help="seconds after the last session closed")
    up.add_argument("--sessions", type=int, default=2, help="sessions one after another")
    args = parser.parse_args(argv)
    if args.what in ("pages", "load", "uploads"):
        from vislib import loadtest  # Selenium: a development package

        if args.what == "pages":
            loadtest.pages_benchmark(args.repeats)
        elif args.what == "uploads":
            loadtest.uploads_benchmark(args.count, args.size, args.settle, args.sessions)
        else:
            nice = loadtest.BROWSER_NICE if args.browser_nice is None else args.browser_nice
            loadtest.load_benchmark(args.sessions, args.seconds, args.settle, nice)
        return 0
    if args.what == "happymaps":
        happymaps_vs_tf_keras_vis(args.variant, args.layer, args.steps, args.preset, args.repeats)
    elif args.what == "engine":
        engine_speed(args.variant, args.steps, args.preset, args.repeats)
    elif args.what == "legibility":
        legibility(args.variant, args.preset, _overrides(args.set))
    elif args.what == "images":
        image_speed(args.variant, args.layer, args.steps, args.repeats)
    elif args.what == "quality":
        quality(args.variant, args.preset, args.steps, _overrides(args.set))
    else:
        photo(args.variant, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
