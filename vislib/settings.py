"""Where things live: one setting for the data, fixed paths for the shipped models."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ENV_VAR = "HAPPYMAPS_DATA"
MODELS_DIR = REPO_ROOT / "models"
SAMPLES_DIR = REPO_ROOT / "sample_images"

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


def command(arguments: str) -> str:
    """A command as it can be typed in the repository's folder, with this process's own Python
    (`.venv/bin/python` after `make run`: a plain `python` there lacks the packages)."""
    python = Path(sys.executable)
    if python.is_relative_to(REPO_ROOT):
        python = python.relative_to(REPO_ROOT)
    return f"{python} {arguments}"


def shown_path(path) -> str:
    """A path as a message shows it: from the repository's folder when it lies inside it."""
    path = Path(path)
    return str(path.relative_to(REPO_ROOT)) if path.is_absolute() and path.is_relative_to(REPO_ROOT) else str(path)


def download_command() -> str:
    """The command that fetches the originals into the folder this process reads (`command`)."""
    dest = data_dir()
    return command("-m vislib.data download" + ("" if dest == REPO_ROOT / "data" else f" --dest {dest}"))


def how_to_fetch() -> str:
    """The download command in a clause every message about missing data ends with."""
    return f"`{download_command()}`, run in {REPO_ROOT}, fetches them into {data_dir()}"
