"""How far do HappyMaps move when every weight of exp0 moves by TF32's rounding (a relative 2^-11)?

    HAPPYMAPS_DATA=../shared/datasets .venv/bin/python tools/precision_sensitivity.py

A stand-in, on the CPU, for a GPU's TF32 arithmetic (BENCHMARKS.md, "GPU"): the same settings on
the shipped weights and on weights perturbed at that scale, twice; prints the pixel differences.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from vislib import happymaps, zoo, faceprior
rng = np.random.default_rng(0)
folder = zoo.model_dir("exp0")
basis, mean = faceprior.load(folder), zoo.read_array("exp0", "mean_image.npy")
def engine(noise):
    m = zoo.load("exp0")
    if noise:
        m.set_weights([(w * (1 + rng.uniform(-noise, noise, w.shape))).astype(w.dtype) for w in m.get_weights()])
    return happymaps.Engine(m, mean, basis, zoo.variant("exp0").classes)
cases = [("legible", "dense_3", [0, 1]), ("legible", "conv2d_3", list(range(32))), ("legible", "dense_1", list(range(64))),
         ("regularisers-3", "conv2d_3", list(range(32))), ("regularisers-3", "dense_3", [0, 1])]
def runs(e):
    return [e.layer(l, u, happymaps.Settings.from_preset(p)).images for p, l, u in cases]
base = runs(engine(0))
for noise in (4.9e-4, 4.9e-4):
    other = runs(engine(noise))
    for c, a, b in zip(cases, base, other):
        d = np.abs(a - b)
        print("noise", noise, c[0], c[1], "max %.3f mean %.4f p99 %.3f" % (d.max(), d.mean(), np.percentile(d, 99)))
