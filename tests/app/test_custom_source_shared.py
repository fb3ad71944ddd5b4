"""A custom network written on the Network page is kept in session_state["custom_source"]
(a key no widget owns, so it survives page switches) and the Feature maps page starts from it;
the Network page's ledger is traced once per network and input, not on every rerun."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from cnnlab.models.examples import BROKEN_LINEAR

PAGES = Path(__file__).resolve().parents[2] / "pages"
SOURCE = "nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))"


def test_network_page_keeps_the_source_for_other_pages() -> None:
    at = AppTest.from_file(str(PAGES / "network.py"), default_timeout=60).run()
    at.segmented_control(key="network_mode").set_value("Custom code").run()
    assert "custom_source" not in at.session_state  # untouched example: nothing to carry
    at.text_area(key="network_source").set_value(SOURCE).run()
    assert not at.exception and at.session_state["custom_source"] == SOURCE
    at.button[1].click().run()  # "Broken example"
    assert at.session_state["custom_source"] == BROKEN_LINEAR


def test_network_page_starts_from_a_kept_source() -> None:
    at = AppTest.from_file(str(PAGES / "network.py"), default_timeout=60)
    at.session_state["custom_source"] = SOURCE
    at.run()
    at.segmented_control(key="network_mode").set_value("Custom code").run()
    assert at.text_area(key="network_source").value == SOURCE
    assert list(at.dataframe[0].value["layer"]) == ["0", "1", "2", "total"]


def test_feature_maps_page_starts_from_the_kept_source(runs_dir: Path) -> None:
    at = AppTest.from_file(str(PAGES / "feature_maps.py"), default_timeout=90)
    at.session_state["custom_source"] = SOURCE
    at.run()
    at.selectbox(key="fm_preset").set_value("custom").run()
    assert not at.exception, at.exception
    assert at.text_area(key="fm_custom_source").value == SOURCE
    assert "`0`" in " ".join(m.value for m in at.markdown)  # the conv of SOURCE, 8 channels
    assert "all 8 channels" in str([c.proto.spec for c in at.get("plotly_chart")])


def test_ledger_is_not_traced_again_on_a_rerun(monkeypatch) -> None:
    import cnnlab.shapes.ledger as ledger_module

    calls: list[int] = []
    real = ledger_module.trace

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("cnnlab.shapes.trace", counting)
    at = AppTest.from_file(str(PAGES / "network.py"), default_timeout=60).run()
    at.selectbox(key="network_preset").set_value("mnist_cnn").run()
    traced = len(calls)
    at.run()
    at.selectbox(key="network_formula").set_value(1).run()
    assert not at.exception and len(calls) == traced
    at.toggle(key="network_bn_mnist_cnn").set_value(True).run()  # another network: traced once
    assert len(calls) == traced + 1
