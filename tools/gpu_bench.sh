#!/usr/bin/env bash
# Run on the lent GPU machine (the `device` tool), from the repository root, with `.whl` carried:
# installs Keras 3 and its two missing dependencies, then times the engine on the JAX backend.
#   bash tools/gpu_bench.sh [bench arguments...]   (default: engine)
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 KERAS_BACKEND=${KERAS_BACKEND:-jax}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,memory.used --format=csv,noheader || true
python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)"
if [ $# -eq 0 ]; then set -- engine; fi
python3 -m vislib.bench "$@"
