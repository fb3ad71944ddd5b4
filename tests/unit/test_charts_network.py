"""The layer-stack diagram drawn from a traced ledger."""

from __future__ import annotations

from torch import nn

from cnnlab.charts.network import BROKEN, ledger_figure
from cnnlab.shapes import trace


def hover_texts(ledger_net: nn.Module, shape: tuple[int, ...]) -> list[str]:
    figure = ledger_figure(trace(ledger_net, shape))
    return list(figure.data[0].hovertext)


def test_one_block_per_layer_after_the_input_with_sequential_numbers_named() -> None:
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
    texts = hover_texts(net, (1, 1, 28, 28))
    assert len(texts) == 5
    assert texts[0].startswith("<b>input</b> · Input<br>out: 1×28×28")
    assert texts[1].startswith("<b>0 Conv2d</b> · Conv2d<br>out: 4×26×26")
    assert texts[4].startswith("<b>3 Linear</b> · Linear<br>out: 10")


def test_the_broken_layer_is_outlined_without_a_shape() -> None:
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(400, 10))
    figure = ledger_figure(trace(net, (1, 1, 28, 28)))
    assert "broken here" in figure.data[0].hovertext[3] and "out: ?" in figure.data[0].hovertext[3]
    assert [s.line.color for s in figure.layout.shapes].count(BROKEN) == 1
