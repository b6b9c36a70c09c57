"""Puts the repository root on sys.path so `pytest` finds vislib and ui from any folder."""

import vislib  # noqa: E402,F401  (before any test imports keras: sets TensorFlow's oneDNN switch)
