"""Network: the layer ledger of a preset or of the learner's own nn.Sequential.

Thin page: widgets -> a RunConfig built by cnnlab.config.build_model -> cnnlab.shapes.trace
(the ledger, cached by cnnlab.networks.network_key and the input shape) ->
cnnlab.charts.network (the layer-stack diagram). The custom source is kept in
st.session_state["custom_source"], which the Train and Feature maps pages start from.
"""

from __future__ import annotations

import streamlit as st
from torch import nn

from app_shell import ensure_app_navigation
from cnnlab import models, networks
from cnnlab.charts.network import ledger_figure
from cnnlab.config import CUSTOM, RunConfig, build_model
from cnnlab.data import DATASETS
from cnnlab.errors import ModelSpecError
from cnnlab.models.examples import BROKEN_LINEAR, SEED_001
from cnnlab.shapes import Ledger, trace

ensure_app_navigation()

INPUTS = ["cifar10", "mnist", "fashion_mnist", "custom"]
SEED_DEFAULT = "as in the source"
WIDTHS = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0]
# The ledger's columns, the ones a learner reads first on the left: at 1280 px the
# receptive field is on screen without scrolling; the wide formula and the costs follow.
LEDGER_COLUMNS = (
    "#", "layer", "type", "input", "output", "params", "receptive field", "formula", "MACs",
    "FLOPs", "activations", "notes",
)  # fmt: skip
LEDGER_CONFIG = {
    "#": st.column_config.TextColumn("#", width=36),
    "receptive field": st.column_config.TextColumn(
        "receptive field", help="Size / jump / start of one output pixel, in input pixels."
    ),
    "formula": st.column_config.TextColumn("formula", width="large"),
}
METRIC_HELP = {
    "Receptive field": "In input pixels, of the last layer that still has a spatial map."
}


def _input_label(key: str) -> str:
    if key == "custom":
        return "Custom C × H × W"
    info = DATASETS[key]
    return f"{info.title} ({info.channels}×{info.size}×{info.size})"


@st.cache_resource(max_entries=32, show_spinner=False)
def _model(config: RunConfig, shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    return build_model(config, shape, num_classes)


@st.cache_resource(max_entries=32, show_spinner="Tracing the layers…")
def _ledger(model_key: str, _model: nn.Module, input_shape: tuple[int, ...]) -> Ledger:
    return trace(_model, input_shape)  # the first FLOP count costs seconds: once per network


def _set_source(text: str) -> None:
    st.session_state["network_source"] = text
    _keep_source()


def _keep_source() -> None:
    """Copy the editor's text to a key that outlives the widget (other pages read it)."""
    st.session_state["custom_source"] = st.session_state["network_source"]


def _source_error(error: ModelSpecError, source: str) -> None:
    """The parser's message, plus the offending line with a caret under the column."""
    st.error(str(error), icon="🚫")
    excerpt = models.error_excerpt(source, error)
    if excerpt is not None:
        st.code(excerpt, language=None)


def _open_linked_preset() -> None:
    """A link (a home-page card) names a preset as ``?preset=<name>``: open that preset.

    Once per link: ``network_linked`` remembers it until the home page clears it, so a
    preset chosen here afterwards is not overridden on the next rerun.
    """
    linked = st.query_params.get("preset")
    if linked in models.list_models() and st.session_state.get("network_linked") != linked:
        st.session_state.network_linked = linked
        st.session_state.network_mode = "Preset"
        st.session_state.network_preset = linked


def _preset_chosen() -> None:
    """The URL follows the chosen preset, so a refresh or a shared link opens it again."""
    st.session_state.network_linked = st.query_params["preset"] = st.session_state.network_preset


_open_linked_preset()
st.session_state.setdefault("network_mode", "Preset")
st.title("🧱 Network")
st.caption(
    "Every layer's shape, formula, parameters, cost and receptive field, computed from the "
    "formulas before torch ever runs it; the first broken layer is caught with its fix."
)

controls, shape_column = st.columns([3, 2], gap="large")  # network | input shape
with controls:
    mode = st.segmented_control("Network", ["Preset", "Custom code"], key="network_mode")
    mode = mode or "Preset"
    name: str | None = None
    if mode == "Preset":
        name = st.selectbox(
            "Preset",
            models.list_models(),
            format_func=lambda n: f"{models.model_info(n).title}  ·  {n}",
            key="network_preset",
            on_change=_preset_chosen,
        )
        info = models.model_info(name)
        st.caption(f"{info.description}  \nSource: {info.source}.")
        defaults = info.defaults
        a, b = st.columns(2)
        activation = a.selectbox(
            "Activation",
            [SEED_DEFAULT, *models.ACTIVATIONS],
            key=f"network_act_{name}",
            help=f"The source uses {defaults.activation}.",
        )
        batchnorm = b.toggle(
            "BatchNorm after every conv", value=bool(defaults.batchnorm), key=f"network_bn_{name}",
        )  # fmt: skip
        c, d = st.columns(2)
        dropout = c.slider(
            "Dropout before every Linear", 0.0, 0.9, float(defaults.dropout or 0.0), 0.05,
            key=f"network_drop_{name}",
        )  # fmt: skip
        width = d.select_slider(
            "Width × (conv channels)", WIDTHS, value=float(defaults.width or 1.0),
            key=f"network_width_{name}",
            help="Multiplies every convolution's channels; the first Linear follows.",
        )  # fmt: skip
        for note in info.notes:
            st.info(note, icon="💡")
    else:
        # The widget's own key is dropped when another page runs; "custom_source" is not.
        st.session_state.setdefault(
            "network_source", st.session_state.get("custom_source") or SEED_001
        )
        e1, e2, _ = st.columns([1, 1.4, 2])
        e1.button("Example", on_click=_set_source, args=(SEED_001,), icon="📄")
        e2.button(
            "Broken example", on_click=_set_source, args=(BROKEN_LINEAR,), icon="💥",
            help="Linear(400, 120) after a 64×4×4 feature map: the classic mat1/mat2 error.",
        )  # fmt: skip
        st.text_area(
            "Your nn.Sequential",
            key="network_source",
            on_change=_keep_source,
            height=380,
            help="Only torch.nn layers with literal arguments; nothing you type is executed.",
        )

with shape_column:
    default_input = INPUTS.index(models.model_info(name).dataset) if name else 0
    input_key = st.selectbox(
        "Input", INPUTS, index=default_input, format_func=_input_label,
        key=f"network_input_{name or 'custom'}",
    )  # fmt: skip
    if input_key == "custom":
        cc, hh, ww = st.columns(3)
        shape = (
            int(cc.number_input("C", 1, 512, 3, key="network_c")),
            int(hh.number_input("H", 1, 1024, 32, key="network_h")),
            int(ww.number_input("W", 1, 1024, 32, key="network_w")),
        )
        num_classes = 10
    else:
        dataset = DATASETS[input_key]
        shape = dataset.input_shape
        num_classes = dataset.num_classes
    st.caption(
        f"Input tensor: **[N, {shape[0]}, {shape[1]}, {shape[2]}]**, batch size N = 1 "
        "for the costs below."
    )

config: RunConfig
if name is not None:
    config = RunConfig(
        model=name,
        activation=None if activation == SEED_DEFAULT else activation,
        batchnorm=batchnorm,
        dropout=dropout,
        width=width,
    )
else:
    config = RunConfig(model=CUSTOM, custom_source=st.session_state["network_source"])
model: nn.Module | None = None
try:
    model = _model(config, shape, num_classes)
except ModelSpecError as error:
    if name is None:
        _source_error(error, st.session_state["network_source"])
    else:
        st.error(str(error), icon="🚫")

if model is not None:
    for note in getattr(model, "cnnlab_notes", ()):
        st.warning(note, icon="📐")
    ledger = _ledger(networks.network_key(config, shape, num_classes), model, (1, *shape))
    if ledger.error is not None:
        st.error(
            f"Layer **{ledger.error.layer}** breaks: {ledger.error.message}.  \n"
            f"**Fix:** {ledger.error.fix}.",
            icon="💥",
        )
    for column, (label, value) in zip(st.columns(5), ledger.headline(), strict=True):
        column.metric(label, value, help=METRIC_HELP.get(label))
    st.plotly_chart(ledger_figure(ledger), width="stretch")

    st.subheader("Layer ledger")
    st.caption(
        f"Computed by {ledger.method}. Receptive field: size / jump / start of one output "
        "pixel in input pixels. " + " ".join(ledger.notes)
    )
    table = ledger.to_rows()
    st.dataframe(
        table, hide_index=True, width="stretch", height=min(35 * len(table) + 38, 1400),
        column_order=LEDGER_COLUMNS, column_config=LEDGER_CONFIG,
    )  # fmt: skip

    explained = ledger.explained_rows()
    if explained:
        with st.expander("Formulas, with the numbers", icon="🧮"):
            pick = st.selectbox(
                "Layer", range(len(explained)), key="network_formula",
                format_func=lambda i: f"{explained[i].name} · {explained[i].type}",
            )  # fmt: skip
            formula = explained[pick].formula
            for dim in formula.dims:
                st.latex(dim.latex)
            if formula.params_latex:
                st.latex(r"\text{params} = " + formula.params_latex)

    st.subheader("PyTorch code")
    code = models.to_code(model)
    st.code(code, language="python")
    st.download_button(
        "Download network.py", code, file_name="network.py", mime="text/x-python", icon="⬇️"
    )
