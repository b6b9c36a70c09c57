"""Objectives that compose, lucid style: `channel("conv2d_2", 3) - 0.05 * l2()`.

An objective maps a context to one value per batch item. The context holds the activations
of the layers the objective names (`acts`), the image batch (`image`) and, for
`unit_batch`, the run-time unit index of each batch item (`units`). Layer keys are a layer's
name, "<name>:pre" for its pre-activation (what the layer computes before its activation), and
either with ":own" appended: only batch item i's own unit `units[i]`, shape (B, H, W, 1) or
(B, 1), which the engine computes without the layer's other units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from keras import ops

PRE = ":pre"
OWN = ":own"


def layer_key(layer: str, pre_activation: bool = False, own_unit: bool = False) -> str:
    return layer + (PRE if pre_activation else "") + (OWN if own_unit else "")


def parse_key(key: str) -> tuple[str, bool, bool]:
    """layer key -> (layer name, pre-activation?, own unit only?)"""
    own = key.endswith(OWN)
    key = key.removesuffix(OWN)
    return key.removesuffix(PRE), key.endswith(PRE), own


@dataclass(frozen=True)
class Objective:
    """A per-batch-item score to maximise, and the layer keys it reads."""

    fn: Callable
    layers: frozenset
    name: str

    def __call__(self, context) -> object:
        return self.fn(context)

    def __add__(self, other):
        other = _lift(other)
        return Objective(lambda c: self(c) + other(c), self.layers | other.layers, f"{self.name} + {other.name}")

    __radd__ = __add__

    def __neg__(self):
        return Objective(lambda c: -self(c), self.layers, f"-{self.name}")

    def __sub__(self, other):
        return self + (-_lift(other))

    def __rsub__(self, other):
        return _lift(other) + (-self)

    def __mul__(self, weight):
        if isinstance(weight, Objective):
            raise TypeError("objectives scale by numbers, not by other objectives")
        return Objective(lambda c: weight * self(c), self.layers, f"{weight} * {self.name}")

    __rmul__ = __mul__


def _lift(value) -> Objective:
    if isinstance(value, Objective):
        return value
    if isinstance(value, (int, float)):
        return Objective(lambda c: value, frozenset(), repr(value))
    raise TypeError(f"expected an Objective or a number, got {type(value).__name__}")


def _per_unit(activation):
    """(B, H, W, C) -> (B, C) channel means; (B, C) stays as it is."""
    return ops.mean(activation, axis=(1, 2)) if len(activation.shape) == 4 else activation


def channel(layer: str, index: int, pre_activation: bool = False) -> Objective:
    """The mean of one channel of a conv layer, or one unit of a dense layer, for every item."""
    key = layer_key(layer, pre_activation)
    return Objective(lambda c: _per_unit(c["acts"][key])[:, index], frozenset({key}), f"{key}[{index}]")


unit = channel


def unit_batch(layer: str, pre_activation: bool = False) -> Objective:
    """Batch item i maximises unit `units[i]` of the layer: all units of a layer in one batch."""
    key = layer_key(layer, pre_activation, own_unit=True)
    return Objective(lambda c: _per_unit(c["acts"][key])[:, 0], frozenset({key}), f"{key}[units]")


def l2() -> Objective:
    """Mean squared pixel value of each image (use with a minus sign, as a penalty)."""
    return Objective(lambda c: ops.mean(ops.square(c["image"]), axis=(1, 2, 3)), frozenset(), "l2")


def total_variation() -> Objective:
    """Mean absolute difference between neighbouring pixels (a penalty, as in lucid)."""

    def fn(c):
        x = c["image"]
        dy = ops.mean(ops.abs(x[:, 1:, :, :] - x[:, :-1, :, :]), axis=(1, 2, 3))
        dx = ops.mean(ops.abs(x[:, :, 1:, :] - x[:, :, :-1, :]), axis=(1, 2, 3))
        return dy + dx

    return Objective(fn, frozenset(), "total_variation")
