"""Time to a regeneration's result through the worker (vislib.workers), with the page's drawing of each
snapshot modelled as DRAW seconds (a 64-tile montage and its PNG take about 55 ms on the 2-core VM).
BENCHMARKS.md, "GPU", 2026-11-27 11:20. To set the code before beside it (it drew every snapshot, and
its worker's sends waited for each drawing):
    git show f9d2de7:vislib/workers.py | sed 's/\[sys.executable, "-m", "vislib.workers",/[sys.executable, os.path.abspath(__file__),/' > .gpu/workers_before.py
    BEFORE=.gpu/workers_before.py DRAW=0.055 python tools/gpu_progress_probe.py
On the lent GPU, with Keras carried as in tools/gpu_bench.sh: PYTHONPATH=/tmp/site:. KERAS_BACKEND=jax."""
import importlib.util, os, statistics, sys, time
sys.path.insert(0, os.getcwd())
from vislib import happymaps, workers, zoo
DRAW = float(os.environ.get("DRAW", "0.055"))
runs = [("skipping", workers)]
if os.environ.get("BEFORE"):
    spec = importlib.util.spec_from_file_location("workers_before", os.environ["BEFORE"])
    before = importlib.util.module_from_spec(spec); spec.loader.exec_module(before)
    runs.insert(0, ("every snapshot", before))
engine = happymaps.engine_for("exp0")
layers = zoo.unit_layers(engine.model)
settings = happymaps.Settings.from_preset("legible", steps=128)
print("engine alone, every 128 / every 16 steps (ms, median of 5):")
for layer in layers:
    engine.layer(layer, settings=settings, every=128); engine.layer(layer, settings=settings, every=16, on_progress=lambda p: None)
    a = statistics.median(engine.layer(layer, settings=settings, every=128).seconds for _ in range(5))
    b = statistics.median(engine.layer(layer, settings=settings, every=16, on_progress=lambda p: None).seconds for _ in range(5))
    print(f"  {layer}: {a*1000:.0f} / {b*1000:.0f}")
def draw(p): time.sleep(DRAW)
for name, module in runs:
    pool = module.Pool(1)
    units = {l: list(range(int(engine.model.get_layer(l).output.shape[-1]))) for l in layers}
    for l in layers: pool.regenerate("exp0", l, units[l], settings, on_progress=draw, every=16)
    total = 0
    for l in layers:
        times, drawn = [], []
        for _ in range(3):
            seen = []
            t = time.perf_counter()
            pool.regenerate("exp0", l, units[l], settings, on_progress=lambda p: (seen.append(p.step), draw(p)), every=16)
            times.append(time.perf_counter() - t); drawn.append(len(seen))
        total += statistics.median(times)
        print(f"{name}: {l}: result after {statistics.median(times)*1000:.0f} ms, snapshots drawn {drawn}")
    print(f"{name}: every layer, one after the other: {total*1000:.0f} ms")
    pool.close()
