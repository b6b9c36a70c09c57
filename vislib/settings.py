"""Where things live: one setting for the data, fixed paths for the shipped models."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ENV_VAR = "HAPPYMAPS_DATA"
MODELS_DIR = REPO_ROOT / "models"
SAMPLES_DIR = REPO_ROOT / "sample_images"
DOWNLOAD_COMMAND = "python -m vislib.data download"

# The network sees 64x60 grayscale images: 60 rows, 64 columns, one channel.
INPUT_SHAPE = (60, 64, 1)

POINTING04_CITATION = (
    "N. Gourier, D. Hall, J. L. Crowley. Estimating Face Orientation from Robust Detection "
    "of Salient Facial Features. Proceedings of Pointing 2004, ICPR, International Workshop "
    "on Visual Observation of Deictic Gestures, Cambridge, UK."
)
CMU_CITATION = (
    "CMU Face Images, Tom Mitchell, Machine Learning (1997); UCI Machine Learning Repository."
)


def data_dir() -> Path:
    """The data folder: $HAPPYMAPS_DATA, or the git-ignored `data/` in the repo."""
    value = os.environ.get(DATA_ENV_VAR, "").strip()
    return Path(value).expanduser().resolve() if value else REPO_ROOT / "data"
