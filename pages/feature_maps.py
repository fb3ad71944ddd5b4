"""Feature maps: what every conv, activation, BatchNorm and pooling layer sees.

Thin page: widgets -> cnnlab (networks, gallery, images, features, shapes) -> charts.
Everything expensive is cached by the picture's content key and the network's key
(cnnlab.networks: architecture + options + seed, or run id + checkpoint version), so
moving a slider re-draws charts without running the network again.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch
from PIL import Image
from torch import nn

from app_shell import ensure_app_navigation
from cnnlab import features, gallery, images, models, networks
from cnnlab.charts import features as charts
from cnnlab.config import CUSTOM, RunConfig
from cnnlab.data import DATASETS, DatasetInfo, TensorSplit
from cnnlab.errors import CNNLabError
from cnnlab.gallery import Picture
from cnnlab.models.examples import SMALL_CONVS
from cnnlab.networks import Network
from cnnlab.shapes import Ledger, trace

ensure_app_navigation()

KIND_ICON = {"conv": "🟧", "activation": "⚡", "batchnorm": "📏", "pool": "🔽"}
NORMALIZATION_LABELS = {"layer": "per layer", "channel": "per channel"}


# ---------------------------------------------------------------------------- cached work
@st.cache_resource(max_entries=16, show_spinner=False)
def _random(config: RunConfig, info: DatasetInfo) -> Network:
    return networks.random_network(config, info)


@st.cache_resource(max_entries=4, show_spinner="Loading the checkpoint…")
def _trained(run_id: str, which: str, version: float) -> Network:
    return networks.trained_network(run_id, which)


@st.cache_resource(show_spinner="Decoding the CIFAR-10 test split…")
def _split(source: str) -> TensorSplit:
    return gallery.load_source(source)


@st.cache_data(max_entries=64, show_spinner=False)
def _view(view_key: str, _image: Image.Image, _info: DatasetInfo) -> np.ndarray:
    return np.asarray(images.model_view(_image, _info))  # uint8 [S, S] or [S, S, 3]


@st.cache_data(max_entries=64, show_spinner="Running the network…")
def _maps(model_key: str, image_key: str, _model: nn.Module, _x: torch.Tensor) -> list:
    return [(name, out[0].float().numpy()) for name, out in features.feature_maps(_model, _x)]


@st.cache_data(max_entries=64, show_spinner=False)
def _predict(model_key: str, image_key: str, _model: nn.Module, _x: torch.Tensor, classes: tuple):
    top = features.predict(_model, _x, classes)
    cam = features.grad_cam(_model, _x, top[0].index)
    return top, cam


@st.cache_resource(max_entries=16, show_spinner=False)
def _ledger(model_key: str, _model: nn.Module, input_shape: tuple[int, ...]) -> Ledger:
    return trace(_model, input_shape)


# ---------------------------------------------------------------------------- the page
def main() -> None:
    st.title("🔍 Feature maps")
    st.caption(
        "Every convolution, activation, BatchNorm and pooling output, channel by channel: "
        "no reshaping 6 channels into fake RGB to get them into TensorBoard."
    )
    network = _choose_network()
    if network is None:
        return
    picture = _choose_picture()
    if picture is None:
        st.info("Choose a CIFAR-10 image or upload one of your own to see its feature maps.")
        return

    info = network.info
    view = _view(picture.view_key(info), picture.image, info)
    x = images.to_model_input(Image.fromarray(view), info)  # [1, C, S, S]; view is already S×S
    _show_input(picture, view, info)

    ledger = _ledger(network.key, network.model, tuple(x.shape))
    if ledger.error is not None:
        st.error(
            f"This network cannot take a {features.shape_text(x.shape)} input: layer "
            f"`{ledger.error.layer}`: {ledger.error}"
        )
        return
    maps = _maps(network.key, picture.key, network.model, x)
    if not maps:
        st.warning("This network has no convolution, activation or pooling layer with a map.")
        return
    if network.run_id is not None:
        _show_prediction(network, picture, view, x)

    st.sidebar.subheader("Display")
    widest = max(m.shape[0] for _, m in maps)
    channels = st.sidebar.slider(
        "Channels per layer", 1, widest, min(widest, 32), key="fm_channels"
    )
    normalization = st.sidebar.segmented_control(
        "Normalisation",
        list(NORMALIZATION_LABELS),
        format_func=NORMALIZATION_LABELS.get,
        default="channel",
        required=True,
        key="fm_norm",
        help="Per channel stretches every map to its own range (shapes show); per layer keeps "
        "one scale for the whole layer (which channels fire most shows).",
    )
    colorscale = st.sidebar.selectbox("Colour map", charts.COLORSCALES, key="fm_cmap")

    titles = ["🧩 Feature maps", "🎯 Receptive field", "🔬 Kernels"]
    if network.random_twin is not None:
        titles.append("🎲 Random vs trained")
    tabs = st.tabs(titles, key="fm_tab", on_change="rerun")
    with tabs[0]:
        if tabs[0].open:
            _show_layers(network, maps, x, channels, normalization, colorscale)
    with tabs[1]:
        if tabs[1].open:
            _show_receptive_field(network, maps, x, view, colorscale)
    with tabs[2]:
        if tabs[2].open:
            _show_kernels(network.model)
    if len(tabs) > 3:
        with tabs[3]:
            if tabs[3].open:
                _show_random_vs_trained(network, picture, x, channels, colorscale)


def _choose_network() -> Network | None:
    st.sidebar.header("Network")
    runs_available = networks.finished_runs()
    wanted_run = st.query_params.get("run")
    if wanted_run and wanted_run not in runs_available:  # a stale, mistyped or foreign link
        st.warning(
            f"Run {wanted_run!r} has no checkpoint to show (unknown, deleted, still training or "
            "failed before its first epoch): choose a network or a finished run in the sidebar."
        )
    modes = ["Random weights", "Trained checkpoint"]
    if "fm_mode" not in st.session_state:
        st.session_state.fm_mode = modes[1] if wanted_run in runs_available else modes[0]
    mode = st.sidebar.radio("Weights", modes, key="fm_mode", horizontal=True)
    if mode == modes[1]:
        return _trained_network(runs_available, wanted_run)
    if "run" in st.query_params:
        del st.query_params["run"]
    name = st.sidebar.selectbox(
        "Network",
        [*models.list_models(), CUSTOM],
        key="fm_preset",
        format_func=lambda n: (
            "Your own nn.Sequential" if n == CUSTOM else models.model_info(n).title
        ),
    )
    if name == CUSTOM:
        return _custom_network()
    preset = models.model_info(name)
    with st.sidebar.expander("Options and seed"):
        activation = st.selectbox(
            "Activation",
            [None, *models.ACTIVATIONS],
            format_func=lambda a: (
                f"as in the source ({preset.defaults.activation})" if a is None else a
            ),
            key="fm_activation",
        )
        batchnorm = st.toggle(
            "BatchNorm after each conv", value=bool(preset.defaults.batchnorm), key="fm_bn"
        )
        seed = int(st.number_input("Seed", 0, 2**31 - 1, 0, key="fm_seed"))
    batchnorm_option = None if batchnorm == bool(preset.defaults.batchnorm) else batchnorm
    config = RunConfig(model=name, activation=activation, batchnorm=batchnorm_option, seed=seed)
    try:
        network = _random(config, DATASETS.get(preset.dataset, DATASETS["cifar10"]))
    except CNNLabError as error:
        st.error(str(error))
        return None
    st.sidebar.caption(preset.description)
    return network


def _trained_network(runs_available: dict[str, str], wanted_run: str | None) -> Network | None:
    if not runs_available:
        st.sidebar.info("No finished run has a checkpoint yet: train one on the Train page.")
        return None
    ids = list(runs_available)
    if "fm_run" not in st.session_state or st.session_state.fm_run not in ids:
        st.session_state.fm_run = wanted_run if wanted_run in ids else ids[0]
    run_id = st.sidebar.selectbox(
        "Run", ids, key="fm_run", format_func=lambda rid: runs_available[rid]
    )
    which = st.sidebar.segmented_control(
        "Checkpoint", list(networks.CHECKPOINTS), default="best", required=True, key="fm_which"
    )
    st.query_params["run"] = run_id
    try:
        return _trained(run_id, which, networks.checkpoint_version(run_id, which))
    except (CNNLabError, OSError) as error:
        st.error(f"Cannot load run {run_id}: {error}")
        return None


def _custom_network() -> Network | None:
    # The Network page keeps its editor's text in "custom_source"; start from it if present.
    st.session_state.setdefault(
        "fm_custom_source", st.session_state.get("custom_source") or SMALL_CONVS
    )
    source = st.sidebar.text_area(
        "nn.Sequential source",
        key="fm_custom_source",
        height=230,
        help="torch.nn layers with literal arguments only; nothing you type is executed.",
    )
    dataset = st.sidebar.selectbox(
        "Input", list(DATASETS), key="fm_custom_input", format_func=lambda d: DATASETS[d].title
    )
    seed = int(st.sidebar.number_input("Seed", 0, 2**31 - 1, 0, key="fm_custom_seed"))
    try:
        return _random(RunConfig(model=CUSTOM, custom_source=source, seed=seed), DATASETS[dataset])
    except CNNLabError as error:
        st.sidebar.error(str(error))
        st.error("Fix the network source in the sidebar to see its feature maps.")
        return None


def _choose_picture() -> Picture | None:
    st.subheader("1 · Input")
    source = st.segmented_control(
        "Input",
        ["CIFAR-10 test images", "Upload an image"],
        default="CIFAR-10 test images",
        required=True,
        key="fm_source",
        label_visibility="collapsed",
    )
    if source == "Upload an image":
        upload = st.file_uploader(
            "PNG, JPEG, WebP, BMP, GIF or TIFF (checked on the server, up to 20 MB)",
            type=list(images.UPLOAD_TYPES),
            key="fm_upload",
        )
        if upload is None:
            return None
        try:
            # cached in cnnlab by content, as a small copy, in a cache bounded by bytes
            return gallery.upload_picture(upload.name, upload.getvalue())
        except CNNLabError as error:
            st.error(str(error))
            return None
    return _gallery()


def _gallery() -> Picture | None:
    sources = gallery.sources()
    classes = gallery.load_source(gallery.SAMPLE).classes
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen_class = left.pills("Class", classes, default=classes[3], required=True, key="fm_class")
    source = right.selectbox(
        "Images", sources, key="fm_split", format_func=gallery.SOURCE_TITLES.get
    )
    try:
        split = _split(source)
    except CNNLabError as error:
        st.error(str(error))
        source, split = gallery.SAMPLE, _split(gallery.SAMPLE)
    indices = gallery.class_indices(split, classes.index(chosen_class))
    page = 0
    if len(indices) > gallery.PER_PAGE:
        pages = gallery.page_count(indices)
        page = st.slider("Page", 1, pages, 1, key=f"fm_page_{chosen_class}") - 1
    shown = gallery.page_of(indices, page)
    state_key = "fm_picked"
    if st.session_state.get(state_key) not in [gallery.picture_key(source, i) for i in indices]:
        st.session_state[state_key] = gallery.picture_key(source, shown[0])
    for column, index in zip(st.columns(10, gap="small"), shown, strict=False):
        key = gallery.picture_key(source, index)
        with column:
            st.image(gallery.thumbnail(split, index), width="stretch")
            st.button(
                f"#{index}",
                key=f"fm_pick_{key}",
                type="primary" if st.session_state[state_key] == key else "secondary",
                on_click=st.session_state.__setitem__,
                args=(state_key, key),
                width="stretch",
            )
    return gallery.split_picture(split, st.session_state[state_key])


def _show_input(picture: Picture, view: np.ndarray, info: DatasetInfo) -> None:
    width, height = picture.size  # as uploaded; picture.image may be a reduced copy
    left, middle, right = st.columns([1, 1, 1.2])
    with left:
        st.markdown("**Original**")
        st.image(images.enlarged(picture.image), caption=f"{picture.caption} · {width}×{height}")
    with middle:
        st.markdown("**What the network receives**")
        st.plotly_chart(
            charts.input_image(view, height=260),
            key="fm_view",
            config={"displayModeBar": False},
        )
    with right:
        st.markdown(images.pipeline_text(info))
        if info.channels == 1:
            st.caption("MNIST digits are white on black: a dark digit on paper looks inverted.")


def _show_prediction(network: Network, picture: Picture, view: np.ndarray, x) -> None:
    st.subheader("2 · Prediction")
    top, cam = _predict(network.key, picture.key, network.model, x, network.info.classes)
    left, right = st.columns(2)
    with left:
        figure = charts.top_predictions(
            [(p.label, p.probability) for p in top],
            title="Top-5 class probabilities",
            true_label=picture.label,
        )
        st.plotly_chart(figure, key="fm_top5", config={"displayModeBar": False})
        verdict = (
            ""
            if picture.label is None
            else (" ✅" if top[0].label == picture.label else f" (true class: {picture.label})")
        )
        st.markdown(f"Predicted **{top[0].label}** at {100 * top[0].probability:.1f} %{verdict}")
    with right:
        figure = charts.grad_cam_overlay(
            view, cam, title=f"Grad-CAM for “{top[0].label}” (last conv layer)", height=300
        )
        st.plotly_chart(figure, key="fm_cam", config={"displayModeBar": False})
        st.caption(
            "Warm colours: where the last convolution's channels, weighted by how much they "
            "raise this class's score, are active."
        )


def _show_layers(network, maps, x, channels: int, normalization: str, colorscale: str) -> None:
    ledger = _ledger(network.key, network.model, tuple(x.shape))
    rows = {row.name: row for row in ledger.rows}
    for name, output in maps:
        row = rows.get(name)
        kind = features.map_kind(network.model, name) or ""
        c, h, w = output.shape
        with st.container(border=True):
            head, body = st.columns([1.5, 3])
            with head:
                st.markdown(f"#### {KIND_ICON.get(kind, '')} `{name}`")
                if row is not None:
                    st.markdown(
                        f"**{row.type}**  \n{features.shape_text(row.input_shape)} → "
                        f"**{features.shape_text((1, c, h, w))}**"
                    )
                    if row.formula is not None:
                        for dim in row.formula.dims:
                            st.latex(dim.latex)
                        if row.formula.note:
                            st.caption(row.formula.note)
                st.caption(features.map_summary(output))
            with body:
                shown = min(channels, c)
                figure = charts.channel_grid(
                    output,
                    title=f"channels 0–{shown - 1} of {c}" if shown < c else f"all {c} channels",
                    normalization=normalization,
                    colorscale=colorscale,
                    max_channels=channels,
                )
                st.plotly_chart(
                    figure,
                    key=f"fm_grid_{name}",
                    width="content",
                    config={"displayModeBar": False},
                )
    with st.container(border=True):
        st.markdown("##### One channel, full size")
        names = [name for name, _ in maps]
        left, middle = st.columns(2)
        layer = left.selectbox("Layer", names, key="fm_full_layer")
        output = dict(maps)[layer]
        channel = middle.number_input("Channel", 0, output.shape[0] - 1, 0, key="fm_full_ch")
        st.plotly_chart(
            charts.channel_view(
                output[channel], title=f"{layer}, channel {channel}", colorscale=colorscale
            ),
            key="fm_full",
        )


def _show_receptive_field(network: Network, maps, x, view: np.ndarray, colorscale: str) -> None:
    ledger = _ledger(network.key, network.model, tuple(x.shape))
    fields = {row.name: row.receptive_field for row in ledger.rows if row.receptive_field}
    names = [name for name, _ in maps if name in fields]
    if not names:
        st.info("The shape ledger has no receptive field for this network's layers.")
        return
    st.caption(
        "Pick a pixel of any feature map: the outlined region of the input is everything "
        "that pixel can see. Deeper layers see more, and pooling makes them jump further."
    )
    controls = st.columns([2, 1, 1, 1])
    layer = controls[0].selectbox("Feature map", names, index=len(names) - 1, key="fm_rf_layer")
    output = dict(maps)[layer]  # [C, H, W]
    c, h, w = output.shape
    channel = controls[1].number_input("Channel", 0, c - 1, 0, key=f"fm_rf_ch_{layer}")
    y = controls[2].slider("y", 0, h - 1, h // 2, key=f"fm_rf_y_{layer}")
    x_ = controls[3].slider("x", 0, w - 1, w // 2, key=f"fm_rf_x_{layer}")
    region = features.receptive_region(ledger, layer, y, x_)
    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            charts.channel_view(
                output[channel],
                title=f"{layer}, channel {channel}: pixel ({y}, {x_})",
                colorscale=colorscale,
                pixel=(y, x_),
                height=380,
            ),
            key="fm_rf_map",
        )
    with right:
        if region is None:
            st.warning("This pixel sees only padding.")
        else:
            top, lft, bottom, rgt = region
            st.plotly_chart(
                charts.receptive_field(
                    view,
                    region,
                    title=f"Input rows {top}–{bottom}, columns {lft}–{rgt}",
                    height=380,
                ),
                key="fm_rf_input",
            )
    st.markdown(features.receptive_field_text(layer, fields[layer], y, x_))


def _show_kernels(model: nn.Module) -> None:
    weights = features.kernels(model)
    if not weights:
        st.info("This network has no convolution.")
        return
    first_name, first = weights[0]
    st.markdown(f"##### First layer `{first_name}`: {features.shape_text(first.shape)}")
    if first.shape[1] == 3:
        st.caption(
            "Each RGB kernel as a tiny image, stretched to its own range: the colour and "
            "edge each one responds to."
        )
        st.plotly_chart(
            charts.kernel_images(features.kernel_rgb(first)),
            key="fm_kernels_rgb",
            width="content",
            config={"displayModeBar": False},
        )
    else:
        st.plotly_chart(charts.kernel_grid(first.numpy()), key="fm_kernels_first")
    if len(weights) > 1:
        names = [name for name, _ in weights[1:]]
        chosen = st.selectbox("Deeper layer", names, key="fm_kernel_layer")
        weight = dict(weights)[chosen]
        st.caption(
            f"`{chosen}`: {features.shape_text(weight.shape)} = [out, in, kh, kw]. Row = output "
            "channel, column = the input channel it reads; red positive, blue negative."
        )
        st.plotly_chart(charts.kernel_grid(weight.numpy()), key="fm_kernels_deep")


def _show_random_vs_trained(network: Network, picture: Picture, x, channels, colorscale) -> None:
    assert network.random_twin is not None and network.random_key is not None
    trained = _maps(network.key, picture.key, network.model, x)
    random = _maps(network.random_key, picture.key, network.random_twin, x)
    names = [name for name, _ in trained]
    layer = st.selectbox("Layer", names, key="fm_compare_layer")
    st.caption("The same image through the weights training started from, and the trained ones.")
    left, right = st.columns(2)
    for column, label, source in ((left, "Random init", random), (right, "Trained", trained)):
        with column:
            st.plotly_chart(
                charts.channel_grid(
                    dict(source)[layer],
                    title=f"{label}: {layer}",
                    normalization="channel",
                    colorscale=colorscale,
                    max_channels=min(channels, 16),
                    columns=4,
                    width_px=300,
                ),
                key=f"fm_compare_{label}",
                width="content",
                config={"displayModeBar": False},
            )


main()
