"""CNN Lab: the entry point. `streamlit run app.py` (or `make run`)."""

from __future__ import annotations

import streamlit as st

from cnnlab import warmup
from cnnlab.seed_examples import SEED_GUIDE

st.set_page_config(page_title="CNN Lab", page_icon="🧪", layout="wide")
warmup.start()  # torch, plotly, pandas: imported once per server, while the home page shows

PAGES = [
    (
        "pages/output_size.py",
        "Output size",
        "📐",
        "Every size formula as a live calculator, checked against torch.",
    ),
    (
        "pages/network.py",
        "Network",
        "🧱",
        "The layer ledger: shapes, parameters, FLOPs, receptive field.",
    ),
    (
        "pages/feature_maps.py",
        "Feature maps",
        "🔍",
        "What every layer sees, on CIFAR-10 or your own image.",
    ),
    ("pages/train.py", "Train", "🏋️", "Start a training run and watch it learn, live."),
    ("pages/runs.py", "Runs", "📊", "Compare, resume, download and delete runs."),
]


@st.cache_data(show_spinner=False)
def _device_summary() -> tuple[str, str]:
    warmup.torch_ready.wait(120)  # the title shows first; torch is imported by the warm-up
    from cnnlab.device import describe_device

    info = describe_device()
    return info.kind, info.summary


def home() -> None:
    st.title("🧪 CNN Lab")
    st.markdown(
        "See and test every idea of convolutional networks in PyTorch: the output-size "
        "formulas as live calculators checked against real torch layers, the feature maps "
        "of every layer on CIFAR-10 or your own image, and training runs you start here "
        "and watch learn."
    )
    kind, summary = _device_summary()
    if kind == "cuda":
        st.success(f"Training runs on the GPU: **{summary}**", icon="⚡")
    else:
        st.info(f"Training runs on the **{summary}**; no CUDA GPU is visible.", icon="🖥️")
    columns = st.columns(len(PAGES))
    for column, (path, title, icon, blurb) in zip(columns, PAGES, strict=True):
        with column, st.container(border=True):
            st.page_link(path, label=title, icon=icon)
            st.caption(blurb)
    st.subheader("From your course notes")
    st.caption("Every worked example and network of the five notes, reproduced exactly.")
    # a card clicked again re-opens its example, even if the page was edited since
    for key in ("os_linked", "network_linked"):
        st.session_state.pop(key, None)
    for note, examples, links in SEED_GUIDE:
        with st.container(border=True):
            left, right = st.columns([3, 2], vertical_alignment="center")
            left.markdown(f"**Note {note}**  \n{examples}")
            for index, link in enumerate(links):
                right.page_link(
                    link.page, label=link.label, query_params=link.params,
                    icon=":material/arrow_forward:" if index == 0 else ":material/subdirectory_arrow_right:",
                )  # fmt: skip


navigation = st.navigation(
    [st.Page(home, title="Home", icon="🏠", default=True)]
    + [st.Page(path, title=title, icon=icon) for path, title, icon, _ in PAGES]
)
if navigation.title != "Home":
    warmup.wait()  # a page imports after the warm-up, never beside it
navigation.run()
