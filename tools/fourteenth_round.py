"""The fourteenth round (BENCHMARKS.md): issue 10, ex2-4's recipe with random backdrops, judged without the amigos.

    python tools/recipe_sweep.py cache            # once (needs the data), then:
    python tools/fourteenth_round.py backdrop     # 3 trainings (~4 min on 2 cores)
    python tools/fourteenth_round.py confirm      # 6 more, only if it passed (~9 min)
    python tools/fourteenth_round.py robustness   # 6 trainings: the backdrop edit on other people (~9 min)

Why: Why it fails now replaces only the backdrop behind the amigos (the head, neck and shoulders kept) by the
average CMU picture, and ex2-4 then finds 56% of their "left" faces instead of 93%: what lies behind the head
still counts in its decision. The augmentation that teaches a network to ignore it exists (`mild+backdrop`:
ex2-2's mild changes, and the wall behind the head replaced by a random backdrop four times in ten); in the
fourth round, with ex2-2's recipe and without the pan output, it gained 1.7 points by face box on persons 06
and 13 and lost 5.1 as uploads. It was never asked with the pan output. One idea, one value, fixed before the
run: ex2-4's recipe with `augment="mild+backdrop"`.

The rule, written in this file before its first run (2026-11-27 04:49; the file was committed before the run),
the twelfth round's word for word, so that the eleventh round's baseline stands: ex2-4's recipe, Pointing'04
persons 02 and 04 held out (the other seven trained on), CMU fold 0 held out, seeds 9, 10, 11, against the
recipe's own figures there (as uploads 93.1%, face box 94.7%, CMU fold 0 97.9%). The idea passes if its mean
over the seeds gains at least one point by face box, loses nothing as uploads and at most half a point on CMU
fold 0. It is then confirmed on people it was never looked at on (`confirm`: persons 06 and 13 held out, fresh
seeds 18, 19, 20, against the recipe on the same split and seeds): at least half a point by face box, nothing
lost as uploads. Only then would it become a variant of its own (ex2-5), chosen before its three-amigos figure
is seen. The amigos are not scored in this round.

`robustness`, added after `backdrop` failed its rule. Seen after that verdict (a scratch look, seeds 9 and 10 on
persons 02 and 04, not part of any rule): with Why it fails' fifth edit (the backdrop behind the head replaced by
the average CMU picture, head, neck and shoulders kept), ex2-4's recipe finds 7% to 53% of the held-out "left"
faces it found 78% to 88% of as they are, and the recipe with random backdrops 82% to 92% of 82% to 90%. A second
question, then, with its own rule, written here before its run (2026-11-27 05:39; the file was committed before
the run): on people neither look saw (persons 06 and 13 held out, fresh seeds 18, 19, 20, CMU fold 0 held out),
is the recipe with random backdrops robust to the backdrop where ex2-4's is not, at no cost? It is if, on the
means over the seeds, by face box and as uploads: its "left" recall with the CMU backdrop lies within 10 points
of its recall as is, while ex2-4's recipe loses more than 20; and its accuracy is no more than 0.5 point below
ex2-4's recipe's by face box, as uploads and on CMU fold 0. Passing makes it a candidate for a variant of its own,
to be decided by the owner before any amigo figure of it is seen; it changes no shipped model here.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PEOPLE, SEEDS = ("person02", "person04"), (9, 10, 11)
CONFIRMATION_PEOPLE, CONFIRMATION_SEEDS = ("person06", "person13"), (18, 19, 20)
IDEA = {"augment": "mild+backdrop"}


def _fitter(spec, examples, with_idea: bool):
    """seed -> (network, seconds): ex2-4's recipe (ex2-2's with the pan output), with the idea or without."""
    from vislib import train

    changed = replace(spec, pan_output=1.0, **(IDEA if with_idea else {}))

    def train_one(seed):
        model, _, seconds = train.fit(changed, examples, None, seed, changed.epochs)
        return model, seconds

    return changed, train_one


def _run(people, seeds, baseline: bool) -> None:
    from ninth_round import _judge, _protocol

    spec, examples, _, held_out = _protocol(people)
    for label, with_idea in ((("ex2-4's recipe", False),) if baseline else ()) + (("with random backdrops", True),):
        changed, train_one = _fitter(spec, examples, with_idea)
        _judge(label, changed, held_out, train_one, seeds)


def robustness() -> None:
    import numpy as np

    from ninth_round import _protocol
    from vislib import augment, train

    spec, examples, _, held_out = _protocol(CONFIRMATION_PEOPLE)
    cmu_mean = held_out["CMU fold 0"].x[..., 0].mean(axis=0)
    for label, with_idea in (("ex2-4's recipe", False), ("with random backdrops", True)):
        changed, train_one = _fitter(spec, examples, with_idea)
        figures = {}
        for seed in ROBUSTNESS_SEEDS:
            model, seconds = train_one(seed)
            for name, part in held_out.items():
                figures.setdefault(f"{name}: accuracy", []).append(
                    float((train.predict(model, part.x) == part.labels(spec.task)).mean()))
                if name.startswith("CMU"):
                    continue
                x = part.x[..., 0]
                head = augment.head_mask(x.shape[1:])[None]
                backdrop = (head * x + (1 - head) * cmu_mean[None])[..., None].astype(np.float32)
                left = part.labels(spec.task) == 1
                for tag, inputs in (("left recall as is", part.x), ("left recall, CMU backdrop", backdrop)):
                    figures.setdefault(f"{name}: {tag}", []).append(float((train.predict(model, inputs)[left] == 1).mean()))
            print(f"{label}, seed {seed}: trained in {seconds:.0f} s", flush=True)
        for name, values in figures.items():
            print(f"{label}, {name}: seeds {', '.join(f'{v:.1%}' for v in values)} (mean {np.mean(values):.1%})",
                  flush=True)


ROBUSTNESS_SEEDS = (18, 19, 20)


if __name__ == "__main__":
    import recipe_sweep

    sys.exit(recipe_sweep.run_command({"backdrop": lambda: _run(PEOPLE, SEEDS, baseline=False), "robustness": robustness,
                                       "confirm": lambda: _run(CONFIRMATION_PEOPLE, CONFIRMATION_SEEDS, baseline=True)},
                                      "fourteenth_round.py"))
