"""HappyMaps library: data, model zoo, training, activation maximisation and attribution.

Never imports streamlit; only `vislib.autodiff` imports a deep-learning framework.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of logs
# TensorFlow turns its oneDNN kernels on by default only on some Intel CPUs; on this project's AMD
# machine they halve a HappyMaps step (python -m vislib.bench happymaps: 5.9 s -> 3.3 s).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
