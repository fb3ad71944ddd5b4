"""Every home-page card opens its own note's example: each link is followed, with its
query parameters, into the page it names, and that page must show the note's numbers."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from streamlit.testing.v1 import AppTest

from cnnlab.seed_examples import SEED_GUIDE, example_id

APP = Path(__file__).resolve().parents[2] / "app.py"

# (page, the link's one query value) -> what that page must show, taken from the notes.
EXPECTED: dict[tuple[str, str], tuple[str, ...]] = {
    ("output_size", example_id("seed 000: padding=1 with kernel 1..9")): ("91", "168", "224"),
    ("output_size", example_id("seed 000: stride=2 with kernel 1..9")): ("211", "262", "251", "169"),
    ("output_size", example_id("seed 000: 4x4 MaxPool2d(2)")): ("    4      8\n    9      8", "(1, 1, 2, 2)"),
    ("network", "mnist_net"): ("8,490", "320"),
    ("network", "seq_cifar"): ("145,578", "1024"),
    ("output_size", example_id("seed 001: 5x5 with 3x3 kernel")): ("= 10`", "(1, 1, 3, 3)"),
    ("output_size", example_id("seed 001: the same at stride 2")): ("(1, 1, 2, 2)", "{2}"),
    ("output_size", example_id("seed 001/002: MaxPool2d(3) ceil_mode=True")): (r"\left\lceil", "(1, 1, 2, 2)"),
    ("output_size", example_id("seed 001/002: MaxPool2d(3) ceil_mode=False")): ("(1, 1, 1, 1)",),
    ("output_size", example_id("seed 002: CIFAR-10 [64,3,32,32] -> Conv2d(3, 6, 3)")): ("(64, 6, 30, 30)",),
    ("feature_maps", ""): ("Feature maps",),
    ("network", "lenet5"): ("62,006", "400"),
    ("train", ""): ("Train",),
    ("output_size", example_id("seed 004: 224x224, 5x5 kernels: how many layers to reach 4x4?")): (
        "**55 layers**", "224x224 to **4x4**", "224 → 220 → 216", "8 → 4", "55 × 25 parameters"),
    ("output_size", example_id("seed 004: reflect padding, 1x1 kernel on 1..16")): ("(1, 1, 6, 6)", "reflect"),
    ("network", "mnist_cnn"): ("20,490", "1568"),
}  # fmt: skip


def _page_text(at: AppTest) -> str:
    """Everything a user reads on the page: text, formulas, code, metrics and tables."""
    parts = [
        e.value for kind in ("title", "markdown", "caption", "latex", "code") for e in at.get(kind)
    ]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [df.value.to_string() for df in at.dataframe]
    parts += [str(s.value) for s in at.selectbox]
    return "\n".join(str(p) for p in parts)  # fmt: skip


def _card_links() -> list[tuple[str, str, dict[str, str]]]:
    home = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not home.exception
    links = []
    for link in home.get("page_link"):
        query = dict(parse_qsl(link.proto.query_string))
        if query or link.proto.label not in {
            "Output size",
            "Network",
            "Feature maps",
            "Train",
            "Runs",
        }:
            links.append((link.proto.label, link.proto.page, query))
    return links


@pytest.fixture(autouse=True)
def _repo_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(APP.parent))


def test_every_card_link_has_the_notes_expectation(monkeypatch: pytest.MonkeyPatch) -> None:
    links = _card_links()
    assert len(links) == sum(len(card[2]) for card in SEED_GUIDE)
    keys = {(page, next(iter(query.values()), "")) for _, page, query in links}
    assert keys == set(EXPECTED)
    # every note's first link opens an example of that note, not a page's default
    firsts = [card[2][0] for card in SEED_GUIDE]
    assert [next(iter(link.params.values())) for link in firsts] == [
        example_id("seed 000: padding=1 with kernel 1..9"), "seq_cifar",
        example_id("seed 001/002: MaxPool2d(3) ceil_mode=True"), "lenet5",
        example_id("seed 004: 224x224, 5x5 kernels: how many layers to reach 4x4?"),
    ]  # fmt: skip


@pytest.mark.parametrize("key", list(EXPECTED), ids=lambda key: f"{key[0]}-{key[1][:32]}")
def test_following_a_card_opens_the_notes_example(key: tuple[str, str]) -> None:
    page, value = key
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    # the user looked at another example first: the card must still open its own
    at.switch_page("pages/output_size.py").run()
    at.switch_page("pages/network.py").run()
    at.switch_page(f"pages/{page}.py")
    if value:
        at.query_params["example" if page == "output_size" else "preset"] = value
    at.run()
    assert not at.exception, at.exception
    text = _page_text(at)
    for expected in EXPECTED[key]:
        assert expected in text, f"{expected!r} missing on {page} for {value!r}"
