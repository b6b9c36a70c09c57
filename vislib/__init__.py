"""HappyMaps library: data, model zoo, training, activation maximisation and attribution.

Never imports streamlit; only `vislib.autodiff` imports a deep-learning framework.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of logs
