"""Feature maps: what every conv, activation, BatchNorm and pooling layer sees.

Thin page: widgets -> cnnlab (images, features, models, runs, shapes) -> charts.
Everything expensive is cached by the image's content and the weights' identity
(preset + options + seed, or run id + checkpoint + its mtime), so moving a slider
re-draws charts without running the network again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch
from PIL import Image
from torch import nn

from app_shell import ensure_app_navigation
from cnnlab import features, images, models
from cnnlab.charts import features as charts
from cnnlab.data import DATASETS, DatasetInfo, available_datasets, load_split, normalize
from cnnlab.errors import CNNLabError
from cnnlab.samples import load_sample
from cnnlab.shapes import Ledger, trace

ensure_app_navigation()

CUSTOM = "custom"
CUSTOM_EXAMPLE = """nn.Sequential(
    nn.Conv2d(3, 16, 3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
)"""
KIND_ICON = {"conv": "🟧", "activation": "⚡", "batchnorm": "📏", "pool": "🔽"}
NORMALIZATION_LABELS = {"layer": "per layer", "channel": "per channel"}


@dataclass(frozen=True)
class Network:
    """The chosen network: its weights' identity (cache key), module and input pipeline."""

    key: str
    title: str
    model: nn.Module
    info: DatasetInfo
    run_id: str | None = None
    random_twin: nn.Module | None = None  # same architecture, seeded random weights
    random_key: str | None = None


@dataclass(frozen=True)
class Picture:
    key: str  # content identity: "sample:17", "test:4031" or the sha256 of the upload
    image: Image.Image  # RGB, any size
    caption: str
    label: str | None = None  # the true class of a CIFAR-10 image


# ---------------------------------------------------------------------------- cached work
@st.cache_resource(max_entries=16, show_spinner=False)
def _preset(name: str, activation: str | None, batchnorm: bool | None, seed: int) -> nn.Module:
    options = {"activation": activation, "batchnorm": batchnorm}
    return features.build_seeded(lambda: models.build(name, **options), seed)


@st.cache_resource(max_entries=8, show_spinner=False)
def _custom(source: str, seed: int) -> nn.Module:
    return features.build_seeded(lambda: models.parse_sequential(source), seed)


@st.cache_resource(max_entries=4, show_spinner="Loading the checkpoint…")
def _trained(run_id: str, which: str, mtime: float) -> tuple[nn.Module, dict, nn.Module]:
    from cnnlab import runs
    from cnnlab.config import RunConfig, build_model

    model, payload = runs.load_trained_model(run_id, which)
    payload = {k: v for k, v in payload.items() if k not in ("model", "optimizer", "scheduler")}
    config = RunConfig.from_dict(payload["config"])
    shape = tuple(int(d) for d in payload["input_shape"])
    twin = features.build_seeded(
        lambda: build_model(config, shape, len(payload["classes"])), config.seed
    )
    return model, payload, twin


@st.cache_resource(show_spinner="Decoding the CIFAR-10 test split…")
def _test_split():
    return load_split("cifar10", "test")


@st.cache_data(max_entries=32, show_spinner=False)
def _decode(data: bytes, name: str) -> np.ndarray:
    return np.asarray(images.validate_upload(name, data))  # uint8 [H, W, 3]


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
    view = _view(f"{picture.key}|{info.channels}x{info.size}", picture.image, info)
    pixels = images.to_uint8_tensor(Image.fromarray(view)).unsqueeze(0)  # uint8 [1, C, S, S]
    x = normalize(pixels, info)  # [1, C, S, S]
    _show_input(picture, view, info)

    ledger = _ledger(network.key, network.model, tuple(x.shape))
    if ledger.error is not None:
        st.error(
            f"This network cannot take a {_shape(tuple(x.shape))} input: layer "
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
    runs_available = _finished_runs()
    wanted_run = st.query_params.get("run")
    modes = ["Random weights", "Trained checkpoint"]
    if "fm_mode" not in st.session_state:
        st.session_state.fm_mode = modes[1] if wanted_run in runs_available else modes[0]
    mode = st.sidebar.radio("Weights", modes, key="fm_mode", horizontal=True)
    if mode == modes[1]:
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
            "Checkpoint", ["best", "last"], default="best", required=True, key="fm_which"
        )
        st.query_params["run"] = run_id
        try:
            from cnnlab import runs

            path = runs.checkpoint_path(run_id, which)
            model, payload, twin = _trained(run_id, which, path.stat().st_mtime)
        except (CNNLabError, OSError) as error:
            st.error(f"Cannot load run {run_id}: {error}")
            return None
        seed = payload["config"].get("seed", 0)
        return Network(
            key=f"run:{run_id}:{which}:{path.stat().st_mtime}",
            title=runs_available[run_id],
            model=model,
            info=features.checkpoint_input(payload),
            run_id=run_id,
            random_twin=twin,
            random_key=f"run-init:{run_id}:{seed}",
        )

    if "run" in st.query_params:
        del st.query_params["run"]
    names = [*models.list_models(), CUSTOM]
    name = st.sidebar.selectbox(
        "Network",
        names,
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
    try:
        model = _preset(name, activation, batchnorm_option, seed)
    except CNNLabError as error:
        st.error(str(error))
        return None
    st.sidebar.caption(preset.description)
    return Network(
        key=f"preset:{name}:{activation}:{batchnorm_option}:{seed}",
        title=f"{preset.title} · random weights (seed {seed})",
        model=model,
        info=DATASETS.get(preset.dataset, DATASETS["cifar10"]),
    )


def _custom_network() -> Network | None:
    # The Network page keeps its editor's text in "network_source"; start from it if present.
    st.session_state.setdefault(
        "fm_custom_source", st.session_state.get("network_source") or CUSTOM_EXAMPLE
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
        model = _custom(source, seed)
    except CNNLabError as error:
        st.sidebar.error(str(error))
        st.error("Fix the network source in the sidebar to see its feature maps.")
        return None
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    return Network(
        key=f"custom:{digest}:{seed}",
        title=f"your nn.Sequential · random weights (seed {seed})",
        model=model,
        info=DATASETS[dataset],
    )


def _finished_runs() -> dict[str, str]:
    """run id -> label, for runs with a best checkpoint on disk (empty if runs is unavailable)."""
    try:
        from cnnlab import runs

        listed = runs.list_runs()
    except (ImportError, CNNLabError, OSError):
        return {}
    out: dict[str, str] = {}
    for run in listed:
        if runs.checkpoint_path(run.id, "best").exists():
            accuracy = f" · {100 * run.best_acc:.1f} %" if run.best_acc is not None else ""
            out[run.id] = f"{run.name or run.id} · {run.model} on {run.dataset}{accuracy}"
    return out


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
        data = upload.getvalue()
        try:
            pixels = _decode(data, upload.name)
        except CNNLabError as error:
            st.error(str(error))
            return None
        digest = hashlib.sha256(data).hexdigest()[:20]
        return Picture(f"upload:{digest}", Image.fromarray(pixels), upload.name)
    return _gallery()


def _gallery() -> Picture | None:
    sample = load_sample()
    classes = sample.classes
    full = available_datasets().get("cifar10") is True
    split_names = ["Bundled sample (100)"] + (["Full test split (10,000)"] if full else [])
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen_class = left.pills("Class", classes, default=classes[3], required=True, key="fm_class")
    split = right.selectbox("Images", split_names, key="fm_split")
    class_index = classes.index(chosen_class)
    if split == split_names[0]:
        data, prefix = sample, "sample"
    else:
        try:
            data, prefix = _test_split(), "test"
        except CNNLabError as error:
            st.error(str(error))
            data, prefix = sample, "sample"
    indices = torch.nonzero(data.labels == class_index).flatten().tolist()
    page = 0
    if len(indices) > 10:
        pages = (len(indices) + 9) // 10
        page = st.slider("Page", 1, pages, 1, key=f"fm_page_{chosen_class}") - 1
    shown = indices[page * 10 : page * 10 + 10]
    state_key = "fm_picked"
    if st.session_state.get(state_key) not in [f"{prefix}:{i}" for i in indices]:
        st.session_state[state_key] = f"{prefix}:{shown[0]}"
    columns = st.columns(10, gap="small")
    for column, index in zip(columns, shown, strict=False):
        key = f"{prefix}:{index}"
        with column:
            st.image(data.images[index].permute(1, 2, 0).numpy(), width="stretch")
            st.button(
                f"#{index}",
                key=f"fm_pick_{key}",
                type="primary" if st.session_state[state_key] == key else "secondary",
                on_click=st.session_state.__setitem__,
                args=(state_key, key),
                width="stretch",
            )
    key = st.session_state[state_key]
    index = int(key.split(":")[1])
    array = data.images[index].permute(1, 2, 0).numpy()  # uint8 [32, 32, 3]
    label = classes[int(data.labels[index])]
    return Picture(key, Image.fromarray(array), f"{label} · test image {key}", label)


def _show_input(picture: Picture, view: np.ndarray, info: DatasetInfo) -> None:
    width, height = picture.image.size
    left, middle, right = st.columns([1, 1, 1.2])
    with left:
        st.markdown("**Original**")
        st.image(_enlarged(picture.image), caption=f"{picture.caption} · {width}×{height}")
    with middle:
        st.markdown("**What the network receives**")
        st.plotly_chart(
            charts.input_image(view, height=260),
            key="fm_view",
            config={"displayModeBar": False},
        )
    with right:
        mode = "grayscale" if info.channels == 1 else "RGB"
        st.markdown(
            f"- short side resized to **{info.size}** px, then center-cropped to "
            f"**{info.size}×{info.size}** ({mode})\n"
            f"- normalised like training: (x/255 − mean) / std with mean "
            f"`{_round(info.mean)}`, std `{_round(info.std)}`\n"
            f"- tensor shape **[1, {info.channels}, {info.size}, {info.size}]**"
        )
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
    kinds = {name: features.layer_kind(m) for name, m in network.model.named_modules()}
    for name, output in maps:
        row = rows.get(name)
        kind = kinds.get(name.split("#")[0]) or ""
        c, h, w = output.shape
        with st.container(border=True):
            head, body = st.columns([1.5, 3])
            with head:
                st.markdown(f"#### {KIND_ICON.get(kind, '')} `{name}`")
                if row is not None:
                    st.markdown(
                        f"**{row.type}**  \n{_shape(row.input_shape)} → **{_shape((1, c, h, w))}**"
                    )
                    if row.formula is not None:
                        for dim in row.formula.dims:
                            st.latex(dim.latex)
                        if row.formula.note:
                            st.caption(row.formula.note)
                zero = float((output == 0).mean())
                st.caption(
                    f"min {output.min():.3g} · max {output.max():.3g} · mean {output.mean():.3g}"
                    + (f" · {100 * zero:.0f} % zeros" if zero > 0 else "")
                )
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
    field = fields[layer]
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
    st.markdown(
        f"Receptive field of `{layer}`: **{field.h.size}×{field.w.size}** input pixels; "
        f"neighbouring pixels of this map are **{field.h.jump}** input pixels apart (jump); "
        f"pixel (0, 0) is centred on input ({field.h.start:g}, {field.w.start:g}). "
        f"So pixel ({y}, {x_}) is centred on ({field.h.start + y * field.h.jump:g}, "
        f"{field.w.start + x_ * field.w.jump:g}); where the window passes the border it "
        "sees zero padding, and the outline is clipped to the image."
    )


def _show_kernels(model: nn.Module) -> None:
    weights = features.kernels(model)
    if not weights:
        st.info("This network has no convolution.")
        return
    first_name, first = weights[0]
    st.markdown(f"##### First layer `{first_name}`: {_shape(tuple(first.shape))}")
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
            f"`{chosen}`: {_shape(tuple(weight.shape))} = [out, in, kh, kw]. Row = output "
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


def _enlarged(image: Image.Image, target: int = 240) -> Image.Image:
    """Small images (CIFAR's 32 px) blown up with crisp pixels; large ones shrunk."""
    scale = target / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    method = Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS
    return image.resize(size, method)


def _shape(shape: tuple) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _round(values: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.3f}" for v in values) + ")"


main()
