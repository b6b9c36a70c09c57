"""The eleventh round (BENCHMARKS.md): issue 11, a preset of its own for each local-contrast network
("Legible HappyMaps"); issue 10, label smoothing for ex2-4's recipe, on people never looked at ("Experiment 2").

    python tools/recipe_sweep.py cache             # once (needs the data), then:
    python tools/eleventh_round.py smoothing       # issue 10: 6 trainings (~10 min on 2 cores)

    python tools/eleventh_round.py presets ex2-1     # about 3 minutes on 2 cores
    python tools/eleventh_round.py presets ex2-3
    python tools/eleventh_round.py settling ex2-3   # the "left" map's figure every 8 steps
    python tools/eleventh_round.py look ex2-3       # artifacts/eleventh-ex2-3.png: the decision maps, three ways
    python tools/eleventh_round.py jitter ex2-3     # jitter alone with small steps (JITTER_CELLS)
    python tools/eleventh_round.py light-blur ex2-3 # lighter blur with small steps (LIGHT_BLUR_CELLS)
    python tools/eleventh_round.py blind ex2-1      # the look, judged blind (BLIND): two sheets and their key

`presets` measures, for one network, the cells below: each setting as it ends ("last") and as the
average of the pictures of its second half, every 4 steps ("averaged"), over optimisation seeds 0, 1, 2
where jitter makes them differ, each against copies with re-randomised weights (seeds 0, 1, 2, median).

The rule, written in a scratch copy of this tool before its first run (2026-11-26, 23:05; the tool was
committed after the runs): a cell is adoptable for a network if, over optimisation seeds 0, 1, 2, the
mean "left" figure (bench.legibility's) is at least 0.80, the worst seed at least 0.75, every seed's
randomised median at most 0.50 and at most 5% of pixels saturated; and it lies on a plateau: each of
its neighbouring cells (learning rate and decay together x0.75 and x1.5, same averaging) reaches a mean
over the seeds of 0.78. Among adoptable cells: no averaging first, then fewer steps, then the highest
mean. The three amigos are not involved. The cells below x0.75 and at x1.125 and x0.84375 were added
after the first runs, to apply the plateau test to the smaller steps too; and, as for the presets
adopted before (ex2-4's steady one), the candidate's figure at 96 and 192 steps.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STEADY = {"learning_rate": 0.005, "decay": 0.05}
SMOOTH = {"jitter": 6, "blur_sigma": 1.0, "blur_every": 1}


def _scaled(factor: float, **also) -> dict:
    return {"learning_rate": round(STEADY["learning_rate"] * factor, 6), "decay": round(STEADY["decay"] * factor, 6),
            **also}


# (settings over the "legible" default, averaged?)
CELLS = {
    "ex2-1": [({}, True), (STEADY, True), (SMOOTH, True), (STEADY, False),
              (_scaled(0.75), True), (_scaled(0.75), False), (_scaled(1.5), True), (_scaled(1.5), False),
              (_scaled(0.5625), True), (_scaled(0.5625), False), (_scaled(1.125), True), (_scaled(1.125), False),
              (_scaled(0.421875), False), (_scaled(0.84375), False), (_scaled(0.5625, steps=96), False),
              (_scaled(0.5625, steps=192), False),
              (_scaled(2), True), ({**STEADY, "steps": 256}, True), ({**STEADY, "steps": 256}, False),
              ({**STEADY, "jitter": 2}, True), ({**STEADY, **SMOOTH}, True), ({**STEADY, **SMOOTH}, False),
              ({**SMOOTH, **_scaled(2)}, True), ({**SMOOTH, **_scaled(1.5)}, True), ({**SMOOTH, **_scaled(1.5)}, False),
              ({**SMOOTH, "jitter": 4}, True), ({**SMOOTH, "jitter": 8}, True), ({**SMOOTH, "decay": 0.3}, True),
              ({"blur_sigma": 1.0, "blur_every": 1}, True)],
    "ex2-3": [(STEADY, True), (SMOOTH, True), (SMOOTH, False), ({**SMOOTH, **STEADY}, True),
              ({**SMOOTH, **STEADY}, False), ({**SMOOTH, **_scaled(0.75)}, False),
              ({**SMOOTH, **_scaled(1.125)}, False), ({**SMOOTH, **_scaled(1.5)}, True),
              ({**SMOOTH, **_scaled(1.5)}, False), ({**SMOOTH, **_scaled(2)}, True), ({**SMOOTH, **_scaled(2)}, False),
              ({**SMOOTH, **_scaled(2.25)}, False), ({**SMOOTH, **_scaled(3)}, True),
              ({**SMOOTH, **_scaled(2), "jitter": 4}, True), ({**SMOOTH, **_scaled(2), "jitter": 8}, True),
              ({**SMOOTH, **STEADY, "steps": 96}, False), ({**SMOOTH, **STEADY, "steps": 192}, False)],
}


def _maps(engine, settings, averaged: bool) -> np.ndarray:
    """The decision layer's maps as the run ends, or averaged over its second half (every 4 steps)."""
    if not averaged:
        return engine.layer(engine.decision_layer, settings=settings, every=settings.steps).images
    pictures = []
    result = engine.layer(engine.decision_layer, settings=settings, every=4,
                          on_progress=lambda p: pictures.append(p.images) if p.step >= settings.steps // 2 else None)
    return np.mean([*pictures, result.images], axis=0)


# ex2-3 with jitter alone (no blur) and small steps: a second look, its rule written before its runs (23:58): the
# rule above, and also every layer within 0.05 of legible-smooth's (bench quality) and a "left" map that shows the
# turn at least as clearly, eyes and brows visible
JITTER_CELLS = [({**STEADY, "jitter": j}, False) for j in (4, 6, 8)] + [
    ({"learning_rate": 0.003, "decay": 0.03, "jitter": j}, False) for j in (4, 6, 8)]

# ex2-3 with lighter smoothing and small steps: a third look, its rule (the same) written before its runs (00:21)
LIGHT_BLUR_CELLS = [({**rate, "jitter": 6, "blur_sigma": sigma, "blur_every": every}, False)
                    for rate in (STEADY, {"learning_rate": 0.003, "decay": 0.03})
                    for sigma, every in ((0.5, 1), (0.75, 1), (1.0, 2))] + [
    # the candidate's neighbours (0.003 / 0.03, the steady preset's steps, with jitter 6 and blur 0.5), and 96 / 192 steps
    ({"learning_rate": lr, "decay": 10 * lr, "jitter": 6, "blur_sigma": 0.5, "blur_every": 1, **more}, False)
    for lr, more in ((0.00225, {}), (0.0045, {}), (0.003, {"steps": 96}), (0.003, {"steps": 192}))]


# Issue 10. In the eighth round, label smoothing 0.2 leaned the right way on every held-out set of ex2-2's
# recipe (persons 06 + 13: +1.1 points by face box, +0.4 as uploads; CMU fold 0 +0.8) but its rule asked a point
# as uploads too. Asked once more, of ex2-4's recipe (with its pan output), on Pointing'04 persons 02 and 04 held
# out (the other seven trained on), CMU fold 0 held out, fresh seeds. The rule, written before the run
# (2026-11-27 00:12): adopt only if the mean over the seeds gains at least one point by face box (the two-studio
# goal's framing), loses nothing as uploads, and at most half a point on CMU fold 0. The amigos are not scored.
SMOOTHING_PEOPLE, SMOOTHING_SEEDS, LABEL_SMOOTHING = ("person02", "person04"), (9, 10, 11), 0.2


def smoothing() -> None:
    import keras
    from ninth_round import _judge, _protocol, fit_with_pan

    spec, examples, _, held_out = _protocol(SMOOTHING_PEOPLE)
    _judge("ex2-4's recipe", spec, held_out, lambda seed: fit_with_pan(spec, examples, seed, spec.epochs),
           SMOOTHING_SEEDS)
    smoothed = replace(spec, loss=keras.losses.CategoricalCrossentropy(label_smoothing=LABEL_SMOOTHING))
    _judge(f"with label smoothing {LABEL_SMOOTHING:g}", smoothed, held_out,
           lambda seed: fit_with_pan(smoothed, examples, seed, smoothed.epochs), SMOOTHING_SEEDS)


def presets(variant: str, cells=None) -> None:
    from vislib import bench, happymaps, surgery, train, zoo

    spec = zoo.variant(variant)
    direction = bench.pose_direction(train.training_sets(spec)[0])
    engine = happymaps.engine_for(variant)
    left = spec.classes.index("left")
    copies = [happymaps.Engine(surgery.randomized_copy(engine.model, seed), engine.mean_image, engine.face_basis,
                               engine.classes, engine.transforms) for seed in bench.RANDOM_SEEDS]

    def figure(maps):
        return float(happymaps.correlation(maps[left:left + 1] - engine.mean_image, direction)[0])

    for overrides, averaged in cells or CELLS[variant]:
        base = happymaps.Settings.from_preset("legible", **overrides)
        trained, randomised, saturated = [], [], []
        for seed in (0, 1, 2) if base.jitter else (0,):
            settings = replace(base, seed=seed)
            maps = _maps(engine, settings, averaged)
            trained.append(figure(maps))
            randomised.append(statistics.median(figure(_maps(c, settings, averaged)) for c in copies))
            saturated.append(100 * happymaps.saturated_share(maps))
        print(f"{variant} {overrides or 'legible'} {'averaged' if averaged else 'last'}: "
              f"trained mean {np.mean(trained):.2f} ({', '.join(f'{t:.2f}' for t in trained)}), "
              f"randomised {', '.join(f'{r:.2f}' for r in randomised)}, saturated {max(saturated):.1f}%", flush=True)


def settling(variant: str) -> None:
    from vislib import bench, happymaps, train, zoo

    spec = zoo.variant(variant)
    direction = bench.pose_direction(train.training_sets(spec)[0])
    engine = happymaps.engine_for(variant)
    left = spec.classes.index("left")
    for overrides in (SMOOTH, {**SMOOTH, **STEADY}):
        for seed in (0, 1, 2):
            settings = happymaps.Settings.from_preset("legible", seed=seed, **overrides)
            figures = []
            result = engine.layer(engine.decision_layer, settings=settings, every=8, on_progress=lambda p: figures.append(
                float(happymaps.correlation(p.images[left:left + 1] - engine.mean_image, direction)[0])))
            figures.append(float(happymaps.correlation(result.images[left:left + 1] - engine.mean_image, direction)[0]))
            tail = figures[7:]  # steps 64 to 128
            print(f"{variant} {overrides} seed {seed}: steps 64-128 {min(tail):.2f}-{max(tail):.2f}; every 8 steps "
                  + " ".join(f"{f:.2f}" for f in figures), flush=True)


def look(variant: str) -> None:
    """The decision maps ("left", then "not left") at the default, the smoothed preset and the smoothed one with
    small steps, one row each, enlarged 4 times."""
    from PIL import Image

    from vislib import happymaps, settings, zoo

    engine = happymaps.engine_for(variant)
    order = [zoo.variant(variant).classes.index(c) for c in ("left", "not left")]
    rows = []
    for overrides in ({}, SMOOTH, {**SMOOTH, **STEADY}):
        maps = engine.layer(engine.decision_layer, settings=happymaps.Settings.from_preset("legible", **overrides),
                            every=128).images
        rows.append(np.concatenate([maps[order[0]], np.ones((maps.shape[1], 4)), maps[order[1]]], axis=1))
    sheet = np.concatenate([np.concatenate([row, np.ones((4, row.shape[1]))]) for row in rows])
    path = settings.REPO_ROOT / "artifacts" / f"eleventh-{variant}.png"
    path.parent.mkdir(exist_ok=True)
    Image.fromarray((sheet * 255).astype(np.uint8)).resize((sheet.shape[1] * 4, sheet.shape[0] * 4),
                                                           Image.NEAREST).save(path)
    print(path)


# The look, judged blind: two sheets, A and B in an order drawn at random (the key is written apart), each the
# "left" and "not left" maps over optimisation seeds 0, 1, 2, shown to a helper who knows neither the presets nor
# the figures, with four questions (which shows a head turned to one side more clearly, which faces are easier to
# recognise, in which the two columns differ more clearly, which to show in a client demo)
BLIND = {"ex2-1": {"smoothed (offered)": ("legible-smooth", {}), "steady 0.003": ("legible-steady", {})},
         "ex2-3": {"smoothed (offered)": ("legible-smooth", {}),
                   "light blur": ("legible-smooth", {"learning_rate": 0.003, "decay": 0.03, "blur_sigma": 0.5})},
         "ex2-4": {"steady 0.005 (offered)": ("legible-steady", {"learning_rate": 0.005, "decay": 0.05}),
                   "steady 0.003": ("legible-steady", {})}}


def blind(variant: str) -> None:
    import random

    from PIL import Image

    from vislib import happymaps, settings, zoo

    engine = happymaps.engine_for(variant)
    classes = zoo.variant(variant).classes
    order = list(BLIND[variant])
    random.shuffle(order)
    folder = settings.REPO_ROOT / "artifacts" / f"blind-{variant}"
    folder.mkdir(parents=True, exist_ok=True)
    for letter, key in zip("AB", order):
        name, overrides = BLIND[variant][key]
        rows = []
        for seed in (0, 1, 2):
            maps = engine.layer(engine.decision_layer, settings=happymaps.Settings.from_preset(name, seed=seed, **overrides),
                                every=128).images
            rows.append(np.concatenate([maps[classes.index("left")], np.ones((maps.shape[1], 4)),
                                        maps[classes.index("not left")]], axis=1))
        sheet = np.concatenate([np.concatenate([row, np.ones((4, row.shape[1]))]) for row in rows])
        Image.fromarray((np.clip(sheet, 0, 1) * 255).astype(np.uint8)).resize(
            (sheet.shape[1] * 4, sheet.shape[0] * 4), Image.NEAREST).save(folder / f"{letter}.png")
    (folder.parent / f"blind-{variant}-key.txt").write_text(f"A: {order[0]}\nB: {order[1]}\n")
    print(f"{folder}/A.png, B.png; the key in {folder.parent}/blind-{variant}-key.txt")


if __name__ == "__main__":
    {"presets": presets, "settling": settling, "look": look,
     "jitter": lambda variant: presets(variant, JITTER_CELLS),
     "light-blur": lambda variant: presets(variant, LIGHT_BLUR_CELLS),
     "blind": blind,
     "smoothing": lambda: smoothing()}[sys.argv[1]](*sys.argv[2:])
