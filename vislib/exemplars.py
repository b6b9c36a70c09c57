"""The dataset-centric view (as in the Deep Visualization Toolbox): for each unit, the training
faces that excite it most. The faces are read from the data folder at run time, never stored."""

from __future__ import annotations

import keras
import numpy as np

from vislib import autodiff, data, objectives, zoo
from vislib.features import FeatureExtractor


def training_faces(spec: zoo.Variant) -> tuple[np.ndarray, tuple[str, ...]]:
    """The CMU faces a variant was trained on, as it saw them, (N, H, W, 1) in [0, 1], and their file
    names: the original study's split by image in CMU's framing, or an Experiment 2 network's own
    people (never those held out) framed by the upload path. Raises data.DataNotFoundError without
    the data folder."""
    from vislib import train

    cmu = train.cmu_examples(spec.framing)
    files = data.load_cmu(1 if spec.framing == "detector" else 2).files
    train_idx, _ = train.variant_split(spec, cmu)
    return cmu.x[train_idx], tuple(files[i] for i in train_idx)


def unit_responses(model: keras.Model, layer: str, images: np.ndarray, pre_activation: bool = False,
                   batch: int = 128) -> np.ndarray:
    """Each image's response of each unit of a layer, (N, units): a conv unit's mean over the
    picture, as the HappyMaps objective reads it."""
    key = objectives.layer_key(layer, pre_activation)
    extractor = FeatureExtractor(model, {key})
    out = []
    for start in range(0, len(images), batch):
        act = autodiff.to_numpy(extractor(keras.ops.convert_to_tensor(np.asarray(images[start:start + batch], np.float32)))[key])
        out.append(act.mean(axis=(1, 2)) if act.ndim == 4 else act)
    return np.concatenate(out)


def top_faces(responses: np.ndarray, k: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """(units, k) indices of the k images with the highest response of each unit, best first, and
    those responses."""
    order = np.argsort(-responses, axis=0, kind="stable")[:k].T
    return order, np.take_along_axis(responses.T, order, axis=1)
