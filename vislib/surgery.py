"""Model surgery for HappyMaps: reading one unit on its own, a faster twin for input gradients,
and a copy with re-randomised weights (the sanity check of Adebayo et al. 2018)."""

from __future__ import annotations

import keras
from keras import ops

from vislib import autodiff

LEAK = 0.01


def leaky_relu(pre):
    return ops.relu(pre) + LEAK * ops.minimum(pre, 0.0)


def get_layer(model, name: str):
    try:
        return model.get_layer(name)
    except ValueError:
        raise ValueError(f"layer must be one of {[l.name for l in model.layers]}, got {name!r}") from None


class Activation:
    """A layer's activation read on its own (pre-activation) output: true, leaky or none."""

    def __init__(self, layer, pre: bool, leaky: bool):
        name = getattr(getattr(layer, "activation", None), "__name__", "linear")
        self.fn = (None if pre or name == "linear" else leaky_relu if leaky and name == "relu"
                   else layer.activation)
        self.elementwise = self.fn is None or name not in ("softmax", "log_softmax")  # one unit at a time

    def __call__(self, z):
        return z if self.fn is None else self.fn(z)


class PreActivation:
    def __init__(self, linear, activation: Activation):
        self.linear, self.activation = linear, activation

    def __call__(self, inputs, units):
        return self.activation(self.linear(inputs))


def plain_same_conv(layer) -> bool:
    """A Conv2D with stride 1, no dilation, no groups, 'same' padding, channels last."""
    return (isinstance(layer, keras.layers.Conv2D) and layer.padding == "same" and layer.groups == 1
            and tuple(layer.strides) == (1, 1) and tuple(layer.dilation_rate) == (1, 1)
            and layer.data_format == "channels_last")


class OwnUnit:
    """Batch item i's own unit `units[i]` of a Conv2D or Dense layer, (B, H, W, 1) or (B, 1),
    computed from that unit's weights alone: a grouped convolution with one group per batch
    item, or one dot product per item. A fraction of the cost of the whole layer."""

    def __init__(self, layer, activation: Activation):
        self.layer, self.activation = layer, activation
        self.conv = isinstance(layer, keras.layers.Conv2D)

    @staticmethod
    def supports(layer) -> bool:
        return isinstance(layer, keras.layers.Dense) or plain_same_conv(layer)

    def __call__(self, inputs, units):
        kernel = ops.take(self.layer.kernel, units, axis=-1)
        if self.conv:
            _, h, w, _ = inputs.shape
            stacked = ops.reshape(ops.transpose(inputs, (1, 2, 0, 3)), (1, h, w, -1))  # items side by side
            z = ops.expand_dims(ops.transpose(autodiff.grouped_conv(stacked, kernel)[0], (2, 0, 1)), -1)
        else:
            z = ops.sum(inputs * ops.transpose(kernel), axis=-1, keepdims=True)
        if self.layer.use_bias:
            z = z + ops.reshape(ops.take(self.layer.bias, units, axis=0), (-1,) + (1,) * (len(z.shape) - 1))
        return self.activation(z)


class OneChannelConv2D(keras.layers.Conv2D):
    """A Conv2D of one-channel images through `autodiff.one_channel_conv`: the same values, and
    an input gradient twice as fast on TensorFlow's CPU."""

    def convolution_op(self, inputs, kernel):
        return autodiff.one_channel_conv(inputs, kernel)

    @staticmethod
    def supports(layer) -> bool:
        return (type(layer) is keras.layers.Conv2D and plain_same_conv(layer)
                and all(k % 2 for k in layer.kernel_size) and layer.input.shape[-1] == 1)


def fast_input_gradients(model: keras.Model) -> keras.Model:
    """A copy of `model` (same weights, nothing shared) whose convolutions of one-channel images
    are `OneChannelConv2D`s; the model itself when it has none."""
    if not any(OneChannelConv2D.supports(layer) for layer in model.layers):
        return model

    def clone(layer):
        kind = OneChannelConv2D if OneChannelConv2D.supports(layer) else type(layer)
        return kind.from_config(layer.get_config())

    twin = keras.models.clone_model(model, clone_function=clone)
    twin.set_weights(model.get_weights())
    return twin


def randomized_copy(model: keras.Model, seed: int = 0) -> keras.Model:
    """A copy of `model` whose every weight is drawn afresh from its layer's initialiser, seeded:
    the model-randomisation check of Adebayo et al. 2018 (Sanity Checks for Saliency Maps). A
    picture that looks the same on this copy shows the method, not what the network learned."""
    twin = keras.models.clone_model(model)
    for index, layer in enumerate(twin.layers):
        for weight in layer.weights:
            kind = "bias" if weight.path.endswith("bias") else "kernel"
            initializer = getattr(layer, f"{kind}_initializer", None)
            if initializer is None:
                continue
            config = initializer.get_config()
            if "seed" in config:
                config["seed"] = seed * 1000 + index * 2 + (kind == "bias")
            fresh = type(initializer).from_config(config)
            weight.assign(fresh(tuple(weight.shape), dtype=weight.dtype))
    return twin


def own(activation, units):
    """(B, ..., C) -> (B, ..., 1): each item's own unit of a whole layer's output."""
    index = ops.reshape(ops.cast(units, "int32"), (-1,) + (1,) * (len(activation.shape) - 1))
    return ops.take_along_axis(activation, index, axis=-1)
