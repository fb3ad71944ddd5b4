"""cnnlab.features: hooks capture the right layers in forward order and never stay behind."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab import features
from cnnlab.features import (
    build_seeded,
    feature_maps,
    grad_cam,
    kernel_rgb,
    kernels,
    layer_kind,
    predict,
    receptive_region,
)
from cnnlab.models import build, list_models, model_info
from cnnlab.shapes import trace


def all_hooks(model: nn.Module) -> list:
    return [
        hook
        for module in model.modules()
        for hook in (*module._forward_hooks.values(), *module._forward_pre_hooks.values())
    ]


def preset(name: str, **options) -> tuple[nn.Module, torch.Tensor]:
    model = build_seeded(lambda: build(name, **options), seed=0)
    x = torch.randn(1, *model_info(name).native_input, generator=torch.Generator().manual_seed(1))
    return model, x


@pytest.mark.parametrize("name", list_models())
def test_maps_match_the_ledger_for_every_preset(name: str) -> None:
    model, x = preset(name)
    maps = feature_maps(model, x)
    ledger = trace(model, tuple(x.shape))
    expected = [
        (row.name, tuple(row.output_shape))
        for row in ledger.rows
        if layer_kind(model.get_submodule(row.name)) and len(row.output_shape) == 4
    ]
    assert [(name, tuple(out.shape)) for name, out in maps] == expected
    assert expected, "every preset has at least one conv layer"
    assert all_hooks(model) == []


def test_forward_order_and_kinds_with_batchnorm_and_activation() -> None:
    model, x = preset("lenet5", batchnorm=True, activation="tanh")
    names = [name for name, _ in feature_maps(model, x)]
    assert names == ["conv1", "bn1", "tanh1", "pool1", "conv2", "bn2", "tanh2", "pool2"]
    # the tanh after fc1 and fc2 works on vectors, not maps, and is left out
    assert "tanh3" in dict(model.named_modules())


def test_outputs_equal_a_manual_forward() -> None:
    model, x = preset("seq_cifar")
    maps = dict(feature_maps(model, x))
    with torch.no_grad():
        conv1 = model.conv1(x)
        pool1 = model.pool1(conv1)
    torch.testing.assert_close(maps["conv1"], conv1)
    torch.testing.assert_close(maps["pool1"], pool1)


def test_inplace_relu_does_not_overwrite_the_conv_output() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2))
    maps = dict(feature_maps(model, torch.randn(1, 3, 8, 8)))
    assert (maps["0"] < 0).any()  # conv output keeps its negatives
    assert (maps["1"] >= 0).all()


def test_module_called_twice_is_reported_twice_in_forward_order() -> None:
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.pool(self.pool(self.conv(x)))

    maps = feature_maps(Twice(), torch.randn(1, 1, 8, 8))
    assert [(name, tuple(out.shape)) for name, out in maps] == [
        ("conv", (1, 2, 8, 8)),
        ("pool", (1, 2, 4, 4)),
        ("pool#2", (1, 2, 2, 2)),
    ]


def test_hooks_are_removed_and_mode_restored_when_the_forward_raises() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(999, 2))
    model.train()
    with pytest.raises(RuntimeError):
        feature_maps(model, torch.randn(1, 3, 8, 8))  # 4*6*6 = 144 features, not 999
    assert all_hooks(model) == []
    assert model.training
    with pytest.raises(RuntimeError):
        grad_cam(model, torch.randn(1, 3, 8, 8), 0)
    assert all_hooks(model) == []


def test_batchnorm_running_stats_are_untouched() -> None:
    model, x = preset("lenet5", batchnorm=True)
    model.train()
    before = model.bn1.running_mean.clone()
    feature_maps(model, x)
    predict(model, x, [str(i) for i in range(10)])
    grad_cam(model, x, 0)
    torch.testing.assert_close(model.bn1.running_mean, before)
    assert model.training


def test_forward_counter_counts_every_pass() -> None:
    model, x = preset("lenet5")
    before = features.forward_passes()
    feature_maps(model, x)
    predict(model, x, [str(i) for i in range(10)])
    assert features.forward_passes() == before + 2


def test_build_seeded_is_deterministic_and_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = build_seeded(lambda: build("lenet5"), seed=5)
    after = torch.rand(1)
    b = build_seeded(lambda: build("lenet5"), seed=5)
    c = build_seeded(lambda: build("lenet5"), seed=6)
    torch.testing.assert_close(after, expected_next)
    torch.testing.assert_close(a.conv1.weight, b.conv1.weight)
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


def test_predict_returns_sorted_probabilities_with_labels() -> None:
    model, x = preset("lenet5")
    classes = [f"class{i}" for i in range(10)]
    top = predict(model, x, classes)
    assert len(top) == 5
    probabilities = [p.probability for p in top]
    assert probabilities == sorted(probabilities, reverse=True)
    with torch.no_grad():
        expected = model(x).softmax(1)[0]
    assert top[0].index == int(expected.argmax())
    assert top[0].label == classes[top[0].index]
    assert top[0].probability == pytest.approx(float(expected.max()), rel=1e-5)


@pytest.mark.parametrize("name", ["lenet5", "mnist_cnn"])
def test_grad_cam_has_the_input_size_and_is_non_negative(name: str) -> None:
    model, x = preset(name)
    cam = grad_cam(model, x, class_index=3)
    assert cam.shape == tuple(x.shape[-2:])
    assert cam.dtype == np.float32
    assert (cam >= 0).all() and cam.max() <= 1.0 + 1e-6
    assert x.grad is None and all(p.grad is None for p in model.parameters())


def test_grad_cam_follows_the_class_evidence() -> None:
    """One conv channel that copies a half-bright image; class 0 counts it, class 1 counts
    against it. Class 0's map is the bright half; class 1 has no positive evidence at all."""
    conv = nn.Conv2d(1, 1, 1, bias=False)
    nn.init.ones_(conv.weight)
    linear = nn.Linear(64, 2, bias=False)
    with torch.no_grad():
        linear.weight.copy_(torch.stack([torch.ones(64), -torch.ones(64)]))
    model = nn.Sequential(conv, nn.Flatten(), linear)
    image = torch.zeros(1, 1, 8, 8)
    image[..., :4] = 1.0  # left half bright
    cam = grad_cam(model, image, class_index=0)
    assert cam[:, :3].min() > 0.99 and cam[:, 5:].max() < 0.01
    assert grad_cam(model, image, class_index=1).max() == 0.0


def test_kernels_and_rgb_images() -> None:
    model, _ = preset("lenet5")
    weights = kernels(model)
    assert [(name, tuple(w.shape)) for name, w in weights] == [
        ("conv1", (6, 3, 5, 5)),
        ("conv2", (16, 6, 5, 5)),
    ]
    rgb = kernel_rgb(weights[0][1])
    assert rgb.shape == (6, 5, 5, 3) and rgb.dtype == np.uint8
    assert (rgb.reshape(6, -1).min(1) == 0).all() and (rgb.reshape(6, -1).max(1) == 255).all()
    with pytest.raises(ValueError):
        kernel_rgb(weights[1][1])  # 6 input channels are not a colour image


def _avg_pool_twin(model: nn.Module) -> nn.Module:
    """The same net with max pools as average pools (same windows) and activations removed,
    so every input pixel in a unit's window gets a non-zero gradient."""
    for name, module in list(model.named_children()):
        if isinstance(module, nn.MaxPool2d):
            setattr(
                model,
                name,
                nn.AvgPool2d(
                    module.kernel_size, module.stride, module.padding, module.ceil_mode, False
                ),
            )
        elif layer_kind(module) == "activation":
            setattr(model, name, nn.Identity())
    return model


@pytest.mark.parametrize(("layer", "y", "x"), [("pool2", 3, 5), ("conv2", 0, 0), ("pool3", 3, 3)])
def test_receptive_region_agrees_with_gradients(layer: str, y: int, x: int) -> None:
    """seq_cifar (padding 2, so regions clip at the border): the input pixels whose
    gradient is non-zero for one feature-map pixel span exactly the ledger's region."""
    model, _ = preset("seq_cifar")
    model = _avg_pool_twin(model).double()
    inputs = torch.randn(1, 3, 32, 32, dtype=torch.float64, requires_grad=True)
    outputs = {}
    handle = model.get_submodule(layer).register_forward_hook(
        lambda module, args, out: outputs.setdefault("map", out)
    )
    try:
        model(inputs)
    finally:
        handle.remove()
    outputs["map"][0, :, y, x].sum().backward()
    seen = inputs.grad[0].abs().sum(0) > 0  # [32, 32]
    rows, cols = torch.nonzero(seen.any(1)).flatten(), torch.nonzero(seen.any(0)).flatten()
    from_gradients = (int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max()))

    region = receptive_region(trace(model, (1, 3, 32, 32)), layer, y, x)
    assert region == from_gradients


def test_receptive_region_is_none_after_flatten() -> None:
    model, x = preset("lenet5")
    assert receptive_region(trace(model, tuple(x.shape)), "fc1", 0, 0) is None
    assert receptive_region(trace(model, tuple(x.shape)), "no_such_layer", 0, 0) is None


def test_map_kind_summary_and_shape_text() -> None:
    from cnnlab.features import map_kind, map_summary, shape_text

    model = nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 2, 3), act=nn.ReLU(), pool=nn.MaxPool2d(2)))
    assert [map_kind(model, n) for n in ("conv", "act#2", "pool", "nope")] == [
        "conv", "activation", "pool", None,
    ]  # fmt: skip
    maps = np.array([[[0.0, 1.0], [2.0, 0.0]]])  # [C, H, W]
    assert map_summary(maps) == "min 0 · max 2 · mean 0.75 · 50 % zeros"
    assert map_summary(maps + 1) == "min 1 · max 3 · mean 1.75"
    assert shape_text(torch.Size([1, 6, 28, 28])) == "[1, 6, 28, 28]"


def test_receptive_field_text_centres_the_pixel() -> None:
    from cnnlab.features import receptive_field_text

    model = nn.Sequential(nn.Conv2d(3, 4, 5), nn.MaxPool2d(2))
    field = trace(model, (1, 3, 32, 32)).rows[1].receptive_field  # size 6, jump 2, start 2.5
    text = receptive_field_text("1", field, 3, 4)
    assert "**6×6** input pixels" in text and "**2** input pixels apart" in text
    assert "pixel (3, 4) is centred on (8.5, 10.5)" in text
