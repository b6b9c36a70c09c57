"""The twelfth round (BENCHMARKS.md): issue 10, two regularisers for ex2-4's recipe, judged without the amigos.

    python tools/recipe_sweep.py cache         # once (needs the data), then:
    python tools/twelfth_round.py regularise      # 6 trainings (~10 min on 2 cores)
    python tools/twelfth_round.py confirm-mixup   # 6 more, only for an idea that passed (~10 min)

The rounds before asked for more data, a longer fit, a softer target and a second output; two standard
regularisers of the network itself were never asked of the two-studio recipe: dropout (`Variant.dropout`,
0.3 after the flatten and after each hidden dense layer) and mixup (`Variant.mixup`, Zhang et al. 2018:
pictures blended in pairs with their targets, Beta(0.2, 0.2)). One value each, fixed before the run.

The rule, written in this file before its first run (2026-11-27 01:43; the file was committed with the
results), with the eleventh round's protocol so that its baseline stands: ex2-4's recipe (ex2-2's with the pan output), Pointing'04 persons 02 and 04 held out
(the other seven trained on), CMU fold 0 held out, seeds 9, 10, 11, against the recipe's own figures there
(eleventh round: as uploads 93.1%, face box 94.7%, CMU fold 0 97.9%; the code path without the two
ingredients is unchanged, so they are reproduced, not rerun). An idea passes if its mean over the seeds
gains at least one point by face box (the two-studio goal's framing), loses nothing as uploads and at most
half a point on CMU fold 0; if both pass, the higher face-box mean goes on. It is then confirmed on people it
was never looked at on (`confirm-<idea>`: persons 06 and 13 held out, fresh seeds 12, 13, 14, against the recipe on
the same split and seeds): at least half a point by face box, nothing lost as uploads. Only then would it
become a variant of its own (ex2-5), chosen before its three-amigos figure is seen. The amigos are not
scored in this round.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PEOPLE, SEEDS = ("person02", "person04"), (9, 10, 11)
CONFIRMATION_PEOPLE, CONFIRMATION_SEEDS = ("person06", "person13"), (12, 13, 14)
IDEAS = {"dropout": {"dropout": 0.3}, "mixup": {"mixup": 0.2}}


def _idea(spec, name: str):
    """ex2-4's recipe on this protocol with one idea, registered so that `zoo.build` builds it."""
    from vislib import zoo

    changed = replace(spec, name=f"{spec.name}-{name}", **IDEAS[name])
    zoo.VARIANTS[changed.name] = changed
    return changed


def regularise(*names: str) -> None:
    from ninth_round import _judge, _protocol, fit_with_pan

    spec, examples, _, held_out = _protocol(PEOPLE)
    for name in names or IDEAS:
        changed = _idea(spec, name)
        _judge(f"with {name} ({IDEAS[name]})", changed, held_out,
               lambda seed: fit_with_pan(changed, examples, seed, changed.epochs), SEEDS)


def confirm(name: str) -> None:
    from ninth_round import _judge, _protocol, fit_with_pan

    spec, examples, _, held_out = _protocol(CONFIRMATION_PEOPLE)
    _judge("ex2-4's recipe", spec, held_out, lambda seed: fit_with_pan(spec, examples, seed, spec.epochs),
           CONFIRMATION_SEEDS)
    changed = _idea(spec, name)
    _judge(f"with {name} ({IDEAS[name]})", changed, held_out,
           lambda seed: fit_with_pan(changed, examples, seed, changed.epochs), CONFIRMATION_SEEDS)


if __name__ == "__main__":
    import recipe_sweep

    sys.exit(recipe_sweep.run_command({"regularise": regularise, **{f"confirm-{name}": lambda name=name: confirm(name)
                                                                    for name in IDEAS}}, "twelfth_round.py"))
