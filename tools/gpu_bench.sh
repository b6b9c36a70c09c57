#!/usr/bin/env bash
# Run on the lent GPU machine (the `device` tool), from the repository root, with `.whl` carried:
# installs Keras 3 and its two missing dependencies, then times the engine on the JAX backend
# (KERAS_BACKEND=torch for PyTorch; the machine has both, and no TensorFlow).
#   bash tools/gpu_bench.sh [bench arguments...]   (default: engine, then images: each image parameterisation)
# The wheels, fetched beforehand on a machine with network (.whl/ is git-ignored):
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl keras==3.15.1 namex==0.1.0 optree==0.20.0
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 KERAS_BACKEND=${KERAS_BACKEND:-jax}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,memory.used --format=csv,noheader || true
python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)"
if [ $# -eq 0 ]; then
  python3 -m vislib.bench engine
  exec python3 -m vislib.bench images
fi
python3 -m vislib.bench "$@"
