"""Do the loop's host round trips cost the GPU its time? (BENCHMARKS.md, "GPU", 2026-11-27 11:05)
Each branch (ops.cond) and the loop's dynamic bounds make XLA read a flag back to the host every step;
"select" computes both branches and picks one, "fixed" runs a fixed number of steps with the extra ones masked.
Run on the lent GPU with Keras carried (tools/gpu_bench.sh), PYTHONPATH=/tmp/site:. KERAS_BACKEND=jax.
python tools/gpu_loop_probe.py CONFIG OUTDIR [variant preset]; CONFIG in base, select, fixed, select+fixed."""
import os, sys, time
import numpy as np
config, out = sys.argv[1], sys.argv[2]
variant = sys.argv[3] if len(sys.argv) > 3 else "exp0"
preset = sys.argv[4] if len(sys.argv) > 4 else "legible"
steps = int(os.environ.get("STEPS", "128"))
import jax, jax.numpy as jnp, keras
if "select" in config.split("+"):
    keras.ops.cond = lambda pred, t, f: jnp.where(pred, t(), f())
if "fixed" in config.split("+"):
    def fori(lower, upper, body, init):
        def masked(i, x):
            s = lower + i
            return jnp.where(s < upper, body(s, x), x)
        return jax.lax.fori_loop(0, steps, masked, init)
    keras.ops.fori_loop = fori
from vislib import bench, happymaps, zoo
t0 = time.perf_counter()
print(f"== {config} {variant} {preset}", flush=True)
total = bench.engine_speed(variant, steps, preset, repeats=int(os.environ.get("REPEATS", "5")))
engine = happymaps.engine_for(variant)
maps = {}
for layer in zoo.unit_layers(engine.model):
    r = engine.layer(layer, settings=happymaps.Settings.from_preset(preset, steps=steps), every=steps)
    maps[layer] = r.images
np.savez(os.path.join(out, f"{config}-{variant}-{preset}.npz"), **maps)
print(f"== {config} done in {time.perf_counter() - t0:.0f} s", flush=True)
