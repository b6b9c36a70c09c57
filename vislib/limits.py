"""Each HappyMaps setting's accepted range: one source of truth for the engine's checks and the
page's sliders. Values outside are refused with a message, never clipped silently."""

from __future__ import annotations

import math

LIMITS = {
    "steps": (1, 1024),
    "learning_rate": (0.0, 100.0),
    "decay": (0.0, 1.0),
    "blur_sigma": (0.0, 3.0),
    "blur_every": (0, 64),
    "norm_pct": (0.0, 100.0),
    "contrib_pct": (0.0, 100.0),
    "jitter": (0, 16),
    "scale": (0.0, 0.5),  # each step's random scale: within this share of none
    "rotate": (0.0, 45.0),  # each step's random turn: within this many degrees of none
    "tv_weight": (0.0, 100.0),
    "seed": (0, 2**31 - 1),
}

# What the page's controls offer: the engine's ranges, except the Steps slider, which starts at 8
# (a picture after fewer steps has barely left its start). A link is checked against these.
PAGE_LIMITS = {**LIMITS, "steps": (8, LIMITS["steps"][1])}

# The decay slider's stops, log-spaced: 0.0001 (the paper's row 3) and 0.3 (its row 2) alike
DECAY_STOPS = (0.0, 0.00001, 0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
# The learning rate's stops, log-spaced
LEARNING_RATE_STOPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0)


def check(name: str, value, ranges: dict = LIMITS) -> None:
    """Raise ValueError naming the setting, its range and the value received, when out of range
    (the engine's `LIMITS`, or the page's `PAGE_LIMITS`)."""
    low, high = ranges[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    if isinstance(low, int) and isinstance(high, int) and not float(value).is_integer():
        raise ValueError(f"{name} must be a whole number in [{low}, {high}], got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")


def nearest_stop(value: float, stops) -> float:
    """The stop closest to a value on a log scale (0 stays 0): what a log slider shows for it."""
    if value <= 0:
        return min(stops)
    positive = [s for s in stops if s > 0]
    return min(positive, key=lambda s: abs(math.log(s) - math.log(value)))
