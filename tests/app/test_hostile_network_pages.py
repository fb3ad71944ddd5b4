"""Hostile custom networks on the pages that take one: a short, clear refusal, never a
traceback, and never a forward pass that would need gigabytes (issue 9)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from cnnlab import runs

PAGES = Path(__file__).resolve().parents[2] / "pages"
TIMEOUT = 90
BLOWUP = (
    "nn.Sequential(nn.ConvTranspose2d(3, 3, 1, stride=300), nn.AdaptiveAvgPool2d(1), "
    "nn.Flatten(), nn.Linear(3, 10))"
)


def network_page(source: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / "network.py"), default_timeout=TIMEOUT)
    at.run()
    at.segmented_control(key="network_mode").set_value("Custom code").run()
    at.text_area(key="network_source").set_value(source).run()
    assert not at.exception, at.exception
    return at


def test_network_page_refuses_deep_and_huge_sources_in_a_few_words(runs_dir: Path) -> None:
    for source in (
        "nn.Sequential(nn.Linear(" + "-" * 100_000 + "1, 2))",
        "nn.Sequential(nn.Linear(" + "1+" * 100_000 + "1, 2))",
        'nn.Sequential(nn.Conv2d(3, 16, 3, padding="' + "x" * 2**20 + '"))',
        'nn.Sequential(nn.Conv2d(3, 16, 3, padding="' + "x" * 15_000 + '"))',
    ):
        at = network_page(source)
        assert len(at.error) == 1 and len(at.error[0].value) < 300, at.error[0].value
        assert all(len(code.value) < 300 for code in at.code)
        assert not at.metric  # nothing traced


def test_network_page_fix_keeps_every_argument(runs_dir: Path) -> None:
    at = network_page(
        "nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 64, 5, padding=2),"
        " nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 16 * 16, 10))"
    )
    errors = " ".join(e.value for e in at.error) + " ".join(m.value for m in at.markdown)
    assert "nn.Conv2d(32, 64, 5, padding=2)" in errors


def test_feature_maps_page_refuses_a_network_too_large_to_run(runs_dir: Path) -> None:
    at = AppTest.from_file(str(PAGES / "feature_maps.py"), default_timeout=TIMEOUT)
    at.run()
    at.selectbox(key="fm_preset").set_value("custom").run()
    at.text_area(key="fm_custom_source").set_value(BLOWUP).run()
    assert not at.exception, at.exception
    refusal = " ".join(e.value for e in at.sidebar.error)
    assert "256 MiB" in refusal and "ConvTranspose2d" in refusal and "(1, 3, 9301, 9301)" in refusal
    assert not at.get("plotly_chart")


def test_train_page_refuses_a_network_too_large_to_check(runs_dir: Path) -> None:
    at = AppTest.from_file(str(PAGES / "train.py"), default_timeout=TIMEOUT)
    at.run()
    at.selectbox(key="train_model").set_value("custom").run()
    [source] = at.sidebar.text_area
    source.set_value(BLOWUP)
    [button] = [b for b in at.button if b.label == "Start training"]
    at = button.click().run()
    assert not at.exception, at.exception
    [error] = at.sidebar.error
    assert "256 MiB" in error.value and "layer 0 (ConvTranspose2d)" in error.value
    assert runs.list_runs() == []
