"""The autodiff shim: the one module that imports a deep-learning framework.

Everything else in vislib uses `keras.ops`. This module supplies what `keras.ops` lacks:
gradients, compilation, seeding, the name of the device in use, and two convolutions whose
gradients stay fast on TensorFlow's CPU (grouped, and of one-channel images), for the backend
Keras runs on (KERAS_BACKEND: 'tensorflow' by default, 'jax' or 'torch').
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
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
    """fn(x, *args) -> scalar  ==>  g(x, *args) -> (scalar, d scalar / d x); call it inside `compile`."""
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

    _quiet_retracing_warnings()
    # A function of its own, never inlined into a compiled loop. TensorFlow's oneDNN pass turns a
    # max-pool gradient into its fast kernel only when it meets the forward pool first; in the
    # cyclic graph of a loop the order it meets them varies from process to process, and a
    # third of processes ran HappyMaps 50% slower. A function's own graph has no cycle.
    return tf.function(tf_value_and_grad, autograph=False, reduce_retracing=True,
                       experimental_attributes={"_noinline": True})


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

    _quiet_retracing_warnings()
    # keras.ops already builds graph control flow (cond, fori_loop): no AutoGraph rewriting needed
    return tf.function(fn, reduce_retracing=True, autograph=False)


class _NotRetracing(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


@lru_cache(maxsize=1)
def _quiet_retracing_warnings() -> None:
    """Drop TensorFlow's "N out of the last N calls ... triggered tf.function retracing" warning.

    TensorFlow counts traces per source function, not per compiled one. The app compiles a
    function once for each network it shows (and each randomised copy of one), so its log
    filled with that warning although nothing is compiled twice for one network."""
    logging.getLogger("tensorflow").addFilter(_NotRetracing())


def grouped_conv(x, kernel):
    """Stride-1, 'same'-padded 2-D convolution in groups, channels last: x (N, H, W, G*C) and
    kernel (kh, kw, C, G*O) give (N, H, W, G*O), group g seeing only its own C channels.

    keras.ops.conv computes the same, but sends TensorFlow on the CPU through XLA, a hundred
    times slower there. TensorFlow's own kernel has a CPU gradient only with oneDNN on; without
    it, a depthwise convolution and a sum over each group's channels do the same work."""
    if backend() != "tensorflow":
        return keras.ops.conv(x, kernel, padding="same")
    import tensorflow as tf

    if _tf_grouped_conv_has_gradient():
        return tf.nn.conv2d(x, kernel, strides=1, padding="SAME")
    kh, kw, c, go = kernel.shape
    groups = x.shape[-1] // c
    per_channel = tf.reshape(tf.transpose(tf.reshape(kernel, (kh, kw, c, groups, go // groups)), (0, 1, 3, 2, 4)),
                             (kh, kw, groups * c, go // groups))
    out = tf.nn.depthwise_conv2d(x, per_channel, strides=(1, 1, 1, 1), padding="SAME")
    n, h, w = tf.unstack(tf.shape(out)[:3])
    return tf.reshape(tf.reduce_sum(tf.reshape(out, (n, h, w, groups, c, go // groups)), axis=4), (n, h, w, go))


def one_channel_conv(x, kernel):
    """Stride-1, 'same'-padded 2-D convolution of one-channel images, channels last: x (N, H, W, 1)
    and an odd-sized kernel (kh, kw, 1, O) give (N, H, W, O), as keras.ops.conv does.

    On TensorFlow its input gradient is a depthwise convolution by the flipped kernel and a sum
    over the O channels: on the CPU, TensorFlow's own gradient for one input channel takes twice
    as long (3.6 against 1.4 ms at 32 x 60 x 64 x 16), a fifth of a HappyMaps step."""
    kh, kw, c, o = kernel.shape
    if c != 1 or kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"expected a kernel (odd, odd, 1, O), got {tuple(kernel.shape)}")
    if backend() != "tensorflow":
        return keras.ops.conv(x, kernel, padding="same")
    import tensorflow as tf

    @tf.custom_gradient
    def conv(x, kernel):
        def gradient(dy):
            flipped = tf.reshape(tf.transpose(tf.reverse(kernel, [0, 1]), (0, 1, 3, 2)), (kh, kw, o, 1))
            dx = tf.reduce_sum(tf.nn.depthwise_conv2d(dy, flipped, (1, 1, 1, 1), "SAME"), -1, keepdims=True)
            dkernel = tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=tf.shape(kernel), out_backprop=dy,
                                                      strides=[1, 1, 1, 1], padding="SAME")
            return dx, dkernel

        return tf.nn.conv2d(x, kernel, strides=1, padding="SAME"), gradient

    return conv(tf.convert_to_tensor(x), tf.convert_to_tensor(kernel))


@lru_cache(maxsize=1)
def _tf_grouped_conv_has_gradient() -> bool:
    # a thread of its own: eager, and outside any tape or tf.function being traced
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_try_grouped_conv_gradient).result()


def _try_grouped_conv_gradient() -> bool:
    import tensorflow as tf

    x, kernel = tf.ones((1, 3, 3, 2)), tf.ones((1, 1, 1, 2))
    try:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.nn.conv2d(x, kernel, strides=1, padding="SAME")
        return tape.gradient(y, x) is not None
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError):
        return False


def set_seed(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and the backend; make TensorFlow's kernels deterministic."""
    keras.utils.set_random_seed(seed)
    if deterministic and backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def limit_threads(n: int) -> None:
    """Run the backend's CPU kernels on at most n threads (call before its first operation):
    several single-threaded training processes get more from a small CPU than one that spreads
    a small network over every core."""
    if backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
    elif backend() == "torch":
        import torch

        torch.set_num_threads(n)


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


def full_float32() -> None:
    """Float32 matrix products and convolutions in full float32 on every device, so a HappyMap is
    the same picture on a GPU as on the CPU. A GPU runs them in TF32 (a 10-bit mantissa) by default,
    and over 128 steps an H200 on JAX drew maps up to 0.07 away from the CPU's (BENCHMARKS.md, "GPU")."""
    if backend() == "jax":
        import jax

        jax.config.update("jax_default_matmul_precision", "highest")
    elif backend() == "torch":
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    else:
        import tensorflow as tf

        tf.config.experimental.enable_tensor_float_32_execution(False)


NCHW_FLAG = "--xla_gpu_force_conv_nchw"


def gpu_convolutions_channels_first() -> None:
    """Ask XLA to lay out GPU convolutions channels first (JAX only; no effect on a CPU). In full float32
    (no tensor cores), cuDNN's channels-first kernels are the faster ones for these small networks: on an
    H200, exp0's conv2d_2 HappyMaps took 37-41 ms instead of 57-79 (BENCHMARKS.md, "GPU"). XLA reads the
    flag when JAX first starts a device, so it must be set before any computation; the user's own
    XLA_FLAGS are kept."""
    flags = os.environ.get("XLA_FLAGS", "")
    if backend() == "jax" and NCHW_FLAG not in flags.split():
        os.environ["XLA_FLAGS"] = f"{flags} {NCHW_FLAG}".strip()


def share_the_gpu() -> None:
    """Let several processes compute on one GPU: the app's server and its HappyMaps worker both do. By
    default JAX takes three quarters of a GPU's memory at its first computation, and the second process
    then logged failed allocations (of 105 GiB and down, on an H200) before it got any; TensorFlow takes
    all of it. Each allocates what it needs instead; the user's own setting is kept."""
    if backend() == "jax":
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    elif backend() == "tensorflow":
        os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")


full_float32()  # on import: JAX reads the setting when it traces, before any model is called
gpu_convolutions_channels_first()
share_the_gpu()
