"""The Feature maps page in AppTest: gallery, upload (validated on the server), caching, and a
trained checkpoint from a real quick training run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from image_corpus import gradient_png_bytes
from streamlit.testing.v1 import AppTest

from cnnlab import features

REPO = Path(__file__).resolve().parents[2]
PAGE = str(REPO / "pages" / "feature_maps.py")
TIMEOUT = 90


def figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def titled(at: AppTest, text: str) -> list[dict]:
    return [f for f in figures(at) if text in f["layout"].get("title", {}).get("text", "")]


def channel_grids(at: AppTest) -> list[dict]:
    return [f for f in figures(at) if "channels" in f["layout"].get("title", {}).get("text", "")]


def page(runs_dir: Path) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def upload(at: AppTest, name: str, data: bytes, mime: str = "image/png") -> None:
    at.segmented_control(key="fm_source").set_value("Upload an image").run()
    at.file_uploader(key="fm_upload").upload(name, data, mime)
    at.run()
    assert not at.exception, at.exception


def test_gallery_image_shows_every_layer_as_a_channel_grid(runs_dir: Path) -> None:
    at = page(runs_dir)
    grids = channel_grids(at)
    # lenet5 by default: conv1 relu1 pool1 conv2 relu2 pool2
    assert [g["layout"]["title"]["text"] for g in grids] == [
        "all 6 channels",
        "all 6 channels",
        "all 6 channels",
        "all 16 channels",
        "all 16 channels",
        "all 16 channels",
    ]
    markdown = " ".join(m.value for m in at.markdown)
    for name in ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2"):
        assert f"`{name}`" in markdown
    assert "[1, 3, 32, 32] → **[1, 6, 28, 28]**" in markdown
    latex = [item.value for item in at.latex]
    assert any(r"\frac{32 + 2\cdot 0 - 5}{1}" in value and "= 28" in value for value in latex)


def test_uploaded_png_is_resized_cropped_and_run(runs_dir: Path) -> None:
    at = page(runs_dir)
    upload(at, "gradient.png", gradient_png_bytes(96, 64))
    assert not at.error
    captions = " ".join(caption for image in at.image for caption in image.captions)
    assert "gradient.png" in captions and "96×64" in captions
    view = next(f for f in figures(at) if f["data"][0]["type"] == "image")
    assert len(channel_grids(at)) == 6
    assert view["layout"]["xaxis"]["range"] == [-0.5, 31.5]  # the 32x32 the network receives


def test_a_renamed_text_file_is_refused_by_content(runs_dir: Path) -> None:
    at = page(runs_dir)
    upload(at, "notes.png", b"just some text, not a picture\n" * 20)
    assert at.error and "notes.png" in at.error[0].value
    assert "not an image" in at.error[0].value
    assert channel_grids(at) == []


def test_rerun_and_display_changes_do_not_run_the_network_again(runs_dir: Path) -> None:
    at = page(runs_dir)
    passes = features.forward_passes()
    at.run()
    at.slider(key="fm_channels").set_value(4).run()
    at.segmented_control(key="fm_norm").set_value("layer").run()
    at.selectbox(key="fm_cmap").set_value("gray").run()
    assert not at.exception
    assert features.forward_passes() == passes
    assert channel_grids(at)[-1]["layout"]["title"]["text"] == "channels 0–3 of 16"
    # another seed is other weights: exactly one new forward pass
    at.number_input(key="fm_seed").set_value(7).run()
    assert features.forward_passes() == passes + 1


def test_other_preset_uses_its_own_input_pipeline(runs_dir: Path) -> None:
    at = page(runs_dir)
    at.selectbox(key="fm_preset").set_value("mnist_cnn").run()
    assert not at.exception
    markdown = " ".join(m.value for m in at.markdown)
    assert "[1, 1, 28, 28]" in markdown and "grayscale" in markdown
    assert [g["layout"]["title"]["text"] for g in channel_grids(at)][:1] == ["all 16 channels"]


def test_custom_sequential_and_a_broken_one(runs_dir: Path) -> None:
    at = page(runs_dir)
    at.selectbox(key="fm_preset").set_value("custom").run()
    assert not at.exception, at.exception
    titles = [g["layout"]["title"]["text"] for g in channel_grids(at)]
    assert titles == ["all 16 channels"] * 3 + ["all 32 channels"] * 3
    at.selectbox(key="fm_custom_input").set_value("mnist").run()  # 1 channel into Conv2d(3, ...)
    assert not at.exception, at.exception
    assert channel_grids(at) == []
    assert any("cannot take a [1, 1, 28, 28] input" in e.value for e in at.error)


@pytest.fixture
def trained_run(runs_dir: Path, quick_run) -> str:
    """A real checkpoint: one quick epoch of lenet5 by the real trainer process."""
    return quick_run(runs_dir)


@pytest.mark.slow
def test_trained_checkpoint_from_the_run_link_shows_probabilities(trained_run: str) -> None:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.query_params["run"] = trained_run
    at.run()
    assert not at.exception, at.exception
    assert at.radio(key="fm_mode").value == "Trained checkpoint"
    (top5,) = titled(at, "Top-5 class probabilities")
    bars = top5["data"][0]
    assert len(bars["y"]) == 5
    assert set(bars["y"]) <= {
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    }  # fmt: skip
    assert len(titled(at, "Grad-CAM")) == 1
    assert len(channel_grids(at)) == 6

    at.session_state["fm_tab"] = "🎲 Random vs trained"  # the tab a user would click
    at.run()
    assert not at.exception, at.exception
    assert len(titled(at, "Random init: conv1")) == 1 and len(titled(at, "Trained: conv1")) == 1


@pytest.mark.parametrize("wanted", ["20991231-000000-abcdef", "../../etc"])
def test_a_run_in_the_url_without_a_checkpoint_is_explained(runs_dir: Path, wanted: str) -> None:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.query_params["run"] = wanted
    at.run()
    assert not at.exception, at.exception
    [warning] = at.warning
    assert repr(wanted) in warning.value and "no checkpoint" in warning.value
    assert at.radio(key="fm_mode").value == "Random weights"  # the page still works
