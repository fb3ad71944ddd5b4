"""The output-size page, driven through Streamlit's AppTest (the page file on its own)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGE = Path(__file__).resolve().parents[2] / "pages" / "output_size.py"


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.syspath_prepend(str(PAGE.parents[1]))  # `import cnnlab` as under `streamlit run`
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.run()
    assert not app.exception
    return app


def _latex(app: AppTest) -> str:
    return "\n".join(element.value for element in app.latex)


def _mac(app: AppTest) -> str:
    return next(m.value for m in app.markdown if m.value.startswith("**out["))


def test_default_is_seed_001_and_torch_agrees(at: AppTest) -> None:
    latex = _latex(at)
    assert r"\left\lfloor \frac{5 + 2\cdot 0 - 3}{1} \right\rfloor + 1 = 3" in latex
    assert "= 9" in latex  # 1·3·3·1 weights, no bias
    assert any("checked against torch: (1, 1, 3, 3)" in m.value for m in at.markdown)
    assert _mac(at).endswith("= 10`")
    assert not at.error


def test_changing_stride_changes_the_result(at: AppTest) -> None:
    at.number_input(key="os_sh").set_value(2).run()
    at.number_input(key="os_sw").set_value(2).run()
    assert not at.exception
    assert r"\frac{5 + 2\cdot 0 - 3}{2} \right\rfloor + 1 = 2" in _latex(at)
    assert any("checked against torch: (1, 1, 2, 2)" in m.value for m in at.markdown)
    at.slider(key="os_step").set_value(3).run()  # seed 001 at stride 2: [[10, 12], [13, 3]]
    assert _mac(at).startswith("**out[1, 1]**") and _mac(at).endswith("= 3`")


@pytest.mark.parametrize(
    ("preset", "cell", "text"),
    [
        ("seed 000: padding=1 with kernel 1..9", 2, "= 224`"),
        ("seed 000: stride=2 with kernel 1..9", 1, "= 262`"),
        ("seed 000: 4x4 MaxPool2d(2)", 2, "max(1, 6, 9, 7) = 9`"),
        ("seed 001/002: MaxPool2d(3) ceil_mode=True", 2, "max(5, 2, 3, 2, 1, 0) = 5`"),
    ],
)
def test_presets_reproduce_the_seeds(at: AppTest, preset: str, cell: int, text: str) -> None:
    at.selectbox(key="os_preset").set_value(preset).run()
    at.slider(key="os_step").set_value(cell).run()
    assert not at.exception
    assert _mac(at).endswith(text)


def test_ceil_mode_preset_explains_the_dropped_window(at: AppTest) -> None:
    at.selectbox(key="os_preset").set_value(
        "ceil_mode drops a window: MaxPool2d(3, stride=3, padding=1)"
    ).run()
    assert r"\left\lceil" in _latex(at)
    assert any("torch drops it" in w.value for w in at.warning)


def test_invalid_configuration_shows_an_error_not_an_exception(at: AppTest) -> None:
    at.number_input(key="os_kh").set_value(7).run()  # a 7-row kernel on a 5-row input
    assert not at.exception
    assert at.error and "7" in at.error[0].value
    assert not any("checked against torch" in m.value for m in at.markdown)
    at.number_input(key="os_kh").set_value(3).run()
    at.number_input(key="os_c").set_value(4).run()  # channel mismatch: in_channels is 1
    assert not at.exception and at.error


def test_reflect_padding_too_large_is_explained(at: AppTest) -> None:
    at.selectbox(key="os_pmode").set_value("reflect").run()
    at.number_input(key="os_ph").set_value(5).run()
    assert not at.exception
    assert at.error  # reflect needs padding < 5 rows
    padding_errors = [e.value for e in at.error]
    assert any("reflect" in message for message in padding_errors)


def test_other_layer_types_render(at: AppTest) -> None:
    for layer_type in ("Linear", "Flatten", "AdaptiveAvgPool2d", "ConvTranspose2d", "ReLU"):
        at.selectbox(key="os_layer").set_value(layer_type).run()
        assert not at.exception, layer_type
    at.selectbox(key="os_preset").set_value("seed 001: Linear(1024, 64)").run()
    assert not at.exception and "65600" in _latex(at)  # 64·1024 + 64
