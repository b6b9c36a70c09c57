"""The autodiff shim: the one module that imports a deep-learning framework.

Everything else in vislib uses `keras.ops`. This module supplies what `keras.ops` lacks:
gradients, compilation, seeding and the name of the device in use, for the backend Keras
runs on (KERAS_BACKEND: 'tensorflow' by default, 'jax' or 'torch').
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import keras

SUPPORTED = ("tensorflow", "jax", "torch")


def backend() -> str:
    name = keras.backend.backend()
    if name not in SUPPORTED:
        raise RuntimeError(f"HappyMaps supports KERAS_BACKEND in {SUPPORTED}, got {name!r}")
    return name


def value_and_grad(fn: Callable) -> Callable:
    """fn(x, *args) -> scalar  ==>  g(x, *args) -> (scalar, d scalar / d x). Not compiled."""
    if backend() == "jax":
        import jax

        return jax.value_and_grad(fn)
    if backend() == "torch":
        import torch

        def torch_value_and_grad(x, *args):
            x = x.detach().requires_grad_(True)
            with torch.enable_grad():
                value = fn(x, *args)
                (grad,) = torch.autograd.grad(value, x)
            return value.detach(), grad

        return torch_value_and_grad

    import tensorflow as tf

    def tf_value_and_grad(x, *args):
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = fn(x, *args)
        return value, tape.gradient(value, x)

    return tf_value_and_grad


def compile(fn: Callable, static_argnums: tuple[int, ...] = ()) -> Callable:  # noqa: A001
    """Compile a function of tensors once per input signature (tf.function / jax.jit).

    PyTorch runs eagerly: nothing to compile, and no autograd graph kept outside gradients."""
    if backend() == "jax":
        import jax

        return jax.jit(fn, static_argnums=static_argnums)
    if backend() == "torch":
        import torch

        return torch.no_grad()(fn)

    import tensorflow as tf

    # keras.ops already builds graph control flow (cond, fori_loop): no AutoGraph rewriting needed
    return tf.function(fn, reduce_retracing=True, autograph=False)


def set_seed(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and the backend; make TensorFlow's kernels deterministic."""
    keras.utils.set_random_seed(seed)
    if deterministic and backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


@lru_cache(maxsize=1)
def device_name() -> str:
    """The accelerator in use, in words: 'GPU: NVIDIA H100 80GB HBM3' or 'CPU'."""
    if backend() == "jax":
        import jax

        device = jax.devices()[0]
        return f"GPU: {device.device_kind}" if device.platform == "gpu" else "CPU"
    if backend() == "torch":
        import torch

        return f"GPU: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "CPU"

    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    details = tf.config.experimental.get_device_details(gpus[0])
    return f"GPU: {details.get('device_name', gpus[0].name)}"


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)
