"""The seed networks, rebuilt as ``nn.Sequential`` of named leaf layers.

With default options each reproduces its seed exactly: the same layers in the same
order, the same parameter count, and (layers being created in the seed's order) the
same initial weights after the same ``torch.manual_seed``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from torch import nn

from cnnlab.models.options import ModelOptions, activation_prefix, make_activation, scale_channels
from cnnlab.models.registry import BuildContext, ModelInfo, TrainingRecipe, register_model

ALL_OPTIONS = ("activation", "batchnorm", "dropout", "width")
Layers = OrderedDict[str, nn.Module]


class _Stack:
    """Appends named layers: conv1, bn1, relu1, pool1 ... honouring the options."""

    def __init__(self, context: BuildContext) -> None:
        self.context = context
        self.options = context.options
        self.layers: Layers = OrderedDict()
        self._counts: dict[str, int] = {}

    def _name(self, stem: str) -> str:
        self._counts[stem] = self._counts.get(stem, 0) + 1
        return f"{stem}{self._counts[stem]}"

    def conv(self, in_channels: int, out_channels: int, kernel_size: int, **kwargs: int) -> int:
        """Conv2d (+ BatchNorm2d if enabled); returns the real (width-scaled) out channels."""
        out_channels = scale_channels(out_channels, self.options.width or 1.0)
        self.layers[self._name("conv")] = nn.Conv2d(
            in_channels, out_channels, kernel_size, **kwargs
        )
        if self.options.batchnorm:
            self.layers[self._name("bn")] = nn.BatchNorm2d(out_channels)
        return out_channels

    def act(self) -> None:
        kind = self.options.activation or "none"
        if kind != "none":
            self.layers[self._name(activation_prefix(kind))] = make_activation(kind)

    def pool(self, kernel_size: int, stride: int | None = None) -> None:
        self.layers[self._name("pool")] = nn.MaxPool2d(kernel_size, stride)

    def flatten(self) -> None:
        self.layers["flatten"] = nn.Flatten()

    def linear(self, in_features: int, out_features: int) -> int:
        """Dropout (if enabled) then Linear; returns out_features."""
        if self.options.dropout:
            self.layers[self._name("drop")] = nn.Dropout(self.options.dropout)
        self.layers[self._name("fc")] = nn.Linear(in_features, out_features)
        return out_features


def _assemble(
    context: BuildContext,
    features: Callable[[_Stack], None],
    classifier: Callable[[_Stack, int], None],
    seed_flat: int,
    seed_flat_text: str,
) -> nn.Sequential:
    """Features, then the classifier sized from the real flattened features.

    ``features`` is first built on the meta device to measure its output, then for real,
    so random numbers are drawn in the seed's layer order.
    """

    def make_features() -> Layers:
        stack = _Stack(context)
        features(stack)
        return stack.layers

    flat = context.flat_features(make_features)
    stack = _Stack(context)
    features(stack)
    classifier(stack, flat)
    if flat != seed_flat:
        native = (context.in_channels, context.height, context.width)[1:] == (
            context.info.native_input[1:]
        )
        why = (
            "the width multiplier changed the channel count"
            if native
            else f"the input is {context.height}x{context.width}"
        )
        context.notes.append(
            f"fc1 takes {flat} inputs instead of the seed's {seed_flat_text} because {why}; "
            "its size was recomputed from the real flattened feature map."
        )
    return nn.Sequential(stack.layers)


def _conv_pool_blocks(
    context: BuildContext, stack: _Stack, specs: list[tuple[int, int, int]]
) -> None:
    """conv -> act -> pool per (out_channels, kernel, padding), the LeNet/seed-004 order."""
    channels = context.in_channels
    for out_channels, kernel, padding in specs:
        extra = {"padding": padding} if padding else {}
        channels = stack.conv(channels, out_channels, kernel, **extra)
        stack.act()
        stack.pool(2)


@register_model(
    ModelInfo(
        name="lenet5",
        title="LeNet-5 for CIFAR-10",
        source="seed 003 (CIFAR-10 classifier, the Net class)",
        description=(
            "Two 5x5 convolutions with ReLU and 2x2 max pooling, then three Linear layers "
            "400 -> 120 -> 84 -> 10. The network of the PyTorch CIFAR-10 tutorial."
        ),
        native_input=(3, 32, 32),
        dataset="cifar10",
        options=ALL_OPTIONS,
        defaults=ModelOptions(activation="relu", batchnorm=False, dropout=0.0, width=1.0),
        recipe=TrainingRecipe(
            optimizer="sgd", lr=0.001, momentum=0.9, batch_size=4, epochs=2,
            note="Seed 003 normalises with mean 0.5, std 0.5 per channel.",
        ),
    )
)  # fmt: skip
def lenet5(context: BuildContext) -> nn.Sequential:
    def features(stack: _Stack) -> None:
        _conv_pool_blocks(context, stack, [(6, 5, 0), (16, 5, 0)])
        stack.flatten()

    def classifier(stack: _Stack, flat: int) -> None:
        stack.linear(flat, 120)
        stack.act()
        stack.linear(120, 84)
        stack.act()
        stack.linear(84, context.num_classes)

    return _assemble(context, features, classifier, 400, "400 = 16x5x5")


@register_model(
    ModelInfo(
        name="seq_cifar",
        title="The Sequential CIFAR-10 net",
        source="seed 001 (section 7, Sequential)",
        description=(
            "Three 5x5 convolutions with padding 2 (size kept), each followed by 2x2 max "
            "pooling, then Flatten, Linear(1024, 64), Linear(64, 10). As in the seed it has no "
            "activation functions."
        ),
        native_input=(3, 32, 32),
        dataset="cifar10",
        options=ALL_OPTIONS,
        defaults=ModelOptions(activation="none", batchnorm=False, dropout=0.0, width=1.0),
        recipe=TrainingRecipe(
            optimizer="adam", lr=0.001, batch_size=64, epochs=20,
            schedule="step", step_size=10, gamma=0.1,
            note="Seed 001 suggests Adam(lr=0.001) with StepLR(step_size=10, gamma=0.1).",
        ),
        notes=(
            "Without activations the whole network is one linear map: the seed itself "
            "recommends adding nn.ReLU() after each convolution (set activation='relu'), "
            "BatchNorm2d after the convolutions and Dropout before the Linear layers.",
        ),
    )
)  # fmt: skip
def seq_cifar(context: BuildContext) -> nn.Sequential:
    def features(stack: _Stack) -> None:
        channels = context.in_channels
        for out_channels in (32, 32, 64):
            channels = stack.conv(channels, out_channels, 5, padding=2)
            stack.act()
            stack.pool(2)
        stack.flatten()

    def classifier(stack: _Stack, flat: int) -> None:
        stack.linear(flat, 64)
        stack.act()
        stack.linear(64, context.num_classes)

    return _assemble(context, features, classifier, 1024, "1024 = 64x4x4")


@register_model(
    ModelInfo(
        name="mnist_net",
        title="The MNIST CNN of seed 000",
        source="seed 000 (MNIST CNN trained on the GPU)",
        description=(
            "Conv(1, 10, 5) -> MaxPool(2) -> ReLU -> Conv(10, 20, 5) -> MaxPool(2) -> ReLU -> "
            "Linear(320, 10). Note the seed applies ReLU after pooling (same result for max "
            "pooling, which commutes with ReLU)."
        ),
        native_input=(1, 28, 28),
        dataset="mnist",
        options=ALL_OPTIONS,
        defaults=ModelOptions(activation="relu", batchnorm=False, dropout=0.0, width=1.0),
        recipe=TrainingRecipe(
            optimizer="sgd", lr=0.01, momentum=0.5, batch_size=64, epochs=20,
            note="Seed 000 trains 50 epochs but overfits after about 20; its accuracy is "
            "quoted at ~20 epochs.",
        ),
    )
)  # fmt: skip
def mnist_net(context: BuildContext) -> nn.Sequential:
    def features(stack: _Stack) -> None:
        channels = context.in_channels
        for out_channels in (10, 20):
            channels = stack.conv(channels, out_channels, 5)
            stack.pool(2)
            stack.act()
        stack.flatten()

    def classifier(stack: _Stack, flat: int) -> None:
        stack.linear(flat, context.num_classes)

    return _assemble(context, features, classifier, 320, "320 = 20x4x4")


@register_model(
    ModelInfo(
        name="mnist_cnn",
        title="The MNIST CNN of seed 004",
        source="seed 004 (MNIST CNN with Adam)",
        description=(
            "Two blocks Conv 3x3 (padding 1, size kept) -> ReLU -> MaxPool(2) with 16 and 32 "
            "channels, then Linear(32*7*7, 10)."
        ),
        native_input=(1, 28, 28),
        dataset="mnist",
        options=ALL_OPTIONS,
        defaults=ModelOptions(activation="relu", batchnorm=False, dropout=0.0, width=1.0),
        recipe=TrainingRecipe(optimizer="adam", lr=0.001, batch_size=64, epochs=10),
    )
)  # fmt: skip
def mnist_cnn(context: BuildContext) -> nn.Sequential:
    def features(stack: _Stack) -> None:
        _conv_pool_blocks(context, stack, [(16, 3, 1), (32, 3, 1)])
        stack.flatten()

    def classifier(stack: _Stack, flat: int) -> None:
        stack.linear(flat, context.num_classes)

    return _assemble(context, features, classifier, 1568, "1568 = 32x7x7")
