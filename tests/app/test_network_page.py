"""The Network page in AppTest: a preset, a custom network, a broken one, a parser error."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "network.py")
TIMEOUT = 60


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    return at


def custom(at: AppTest) -> AppTest:
    at.segmented_control(key="network_mode").set_value("Custom code").run()
    assert not at.exception
    return at


def all_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [w.value for w in at.warning]
    return "\n".join(str(p) for p in parts)


def test_preset_shows_ledger_totals_diagram_and_code(app: AppTest) -> None:
    at = app
    at.selectbox(key="network_preset").set_value("lenet5").run()
    assert not at.exception and not at.error
    params = next(m for m in at.metric if m.label == "Parameters")
    assert params.value == "62,006"
    table = at.dataframe[0].value
    assert list(table["layer"])[:3] == ["conv1", "relu1", "pool1"]
    assert list(table["layer"])[-1] == "total"
    assert len(table) == 13  # 12 layers + totals
    assert list(table["output"])[:3] == ["1×6×28×28", "1×6×28×28", "1×6×14×14"]
    code = at.code[0].value
    assert '("fc1", nn.Linear(400, 120))' in code
    assert len(at.get("plotly_chart")) == 1


def test_preset_options_and_another_input_shape_adapt_the_network(app: AppTest) -> None:
    at = app
    at.selectbox(key="network_preset").set_value("lenet5").run()
    at.toggle(key="network_bn_lenet5").set_value(True).run()
    at.selectbox(key="network_input_lenet5").set_value("mnist").run()
    assert not at.exception and not at.error
    assert any("256" in w.value for w in at.warning)  # fc1 recomputed for 28x28, stated
    code = at.code[0].value
    assert "nn.Conv2d(1, 6, 5)" in code and "nn.BatchNorm2d(6)" in code
    assert '("fc1", nn.Linear(256, 120))' in code


def test_custom_network_gets_its_ledger(app: AppTest) -> None:
    at = custom(app)
    at.text_area(key="network_source").set_value(
        "nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),"
        " nn.Flatten(), nn.Linear(16 * 14 * 14, 10))"
    ).run()
    at.selectbox(key="network_input_custom").set_value("mnist").run()
    assert not at.exception and not at.error
    params = next(m for m in at.metric if m.label == "Parameters")
    assert params.value == f"{16 * 9 + 16 + 16 * 14 * 14 * 10 + 10:,}"
    assert list(at.dataframe[0].value["layer"]) == ["0", "1", "2", "3", "4", "total"]


def test_broken_example_shows_the_diagnosis_not_a_traceback(app: AppTest) -> None:
    at = custom(app)
    at.button[1].click().run()  # "Broken example"
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert "400" in message and "1024" in message and "nn.Linear(1024, 120)" in message


def test_parser_error_points_at_the_line(app: AppTest) -> None:
    at = custom(app)
    at.text_area(key="network_source").set_value(
        "nn.Sequential(\n    nn.Conv2d(3, 16, 3),\n    __import__('os').system('echo hi'),\n)"
    ).run()
    assert not at.exception
    assert at.error[0].value.startswith("line 3:")
    assert "__import__('os')" in at.code[0].value
    assert not at.metric  # nothing traced


def test_fast_net_preset_with_narrower_width(app: AppTest) -> None:
    at = app
    at.selectbox(key="network_preset").set_value("airbench").run()
    at.select_slider(key="network_width_airbench").set_value(0.5).run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert "block3_conv2" in list(table["layer"])
    assert "class FastCifarNet(nn.Sequential)" in at.code[0].value
    assert "nn.Conv2d(128, 128, 3, padding=1, bias=False)" in at.code[0].value
