"""Network: the layer ledger of a preset or of the learner's own nn.Sequential.

Thin page: widgets -> cnnlab.models (build / parse_sequential / to_code) ->
cnnlab.shapes.trace (the ledger) -> cnnlab.charts.network (the layer-stack diagram).
"""

from __future__ import annotations

import streamlit as st
from torch import nn

from app_shell import ensure_app_navigation
from cnnlab import models
from cnnlab.charts.network import LayerBox, layer_stack_figure
from cnnlab.data import DATASETS
from cnnlab.errors import ModelSpecError
from cnnlab.shapes import trace

ensure_app_navigation()

EXAMPLE = """import torch.nn as nn

# The CIFAR-10 network of seed 001, with ReLUs added as it recommends.
model = nn.Sequential(
    nn.Conv2d(3, 32, 5, padding=2),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(32, 32, 5, padding=2),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 5, padding=2),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(64 * 4 * 4, 64),
    nn.ReLU(),
    nn.Linear(64, 10),
)
"""

BROKEN_EXAMPLE = """import torch.nn as nn

# LeNet's classifier glued onto seed 001's convolutions: the classic
# "mat1 and mat2 shapes cannot be multiplied (64x1024 and 400x120)".
model = nn.Sequential(
    nn.Conv2d(3, 32, 5, padding=2),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(32, 32, 5, padding=2),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 5, padding=2),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(400, 120),
    nn.ReLU(),
    nn.Linear(120, 10),
)
"""

INPUTS = ["cifar10", "mnist", "fashion_mnist", "custom"]
SEED_DEFAULT = "as in the source"
WIDTHS = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0]


def _input_label(key: str) -> str:
    if key == "custom":
        return "Custom C × H × W"
    info = DATASETS[key]
    return f"{info.title} ({info.channels}×{info.size}×{info.size})"


@st.cache_resource(max_entries=32, show_spinner=False)
def _preset(name: str, shape: tuple[int, int, int], num_classes: int, options: tuple) -> nn.Module:
    return models.build(
        name, in_channels=shape[0], num_classes=num_classes, input_size=shape[1:], **dict(options)
    )


@st.cache_resource(max_entries=32, show_spinner=False)
def _custom(source: str) -> nn.Module:
    return models.parse_sequential(source)


def _set_source(text: str) -> None:
    st.session_state["network_source"] = text


def _source_error(error: ModelSpecError, source: str) -> None:
    """The parser's message, plus the offending line with a caret under the column."""
    st.error(str(error), icon="🚫")
    lines = source.splitlines()
    if error.line is not None and 1 <= error.line <= len(lines):
        line = lines[error.line - 1]
        caret = " " * (error.col or 0) + "^"
        st.code(f"{error.line:>3} | {line}\n    | {caret}", language=None)


st.title("🧱 Network")
st.caption(
    "Every layer's shape, formula, parameters, cost and receptive field, computed from the "
    "formulas before torch ever runs it; the first broken layer is caught with its fix."
)

controls, shape_column = st.columns([3, 2], gap="large")  # network | input shape
with controls:
    mode = st.segmented_control(
        "Network", ["Preset", "Custom code"], default="Preset", key="network_mode"
    )
    mode = mode or "Preset"
    name: str | None = None
    if mode == "Preset":
        name = st.selectbox(
            "Preset",
            models.list_models(),
            format_func=lambda n: f"{models.model_info(n).title}  ·  {n}",
            key="network_preset",
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
        st.session_state.setdefault("network_source", EXAMPLE)
        e1, e2, _ = st.columns([1, 1.4, 2])
        e1.button("Example", on_click=_set_source, args=(EXAMPLE,), icon="📄")
        e2.button(
            "Broken example", on_click=_set_source, args=(BROKEN_EXAMPLE,), icon="💥",
            help="Linear(400, 120) after a 64×4×4 feature map: the classic mat1/mat2 error.",
        )  # fmt: skip
        st.text_area(
            "Your nn.Sequential",
            key="network_source",
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

model: nn.Module | None = None
try:
    if name is not None:
        options = (
            ("activation", None if activation == SEED_DEFAULT else activation),
            ("batchnorm", batchnorm),
            ("dropout", dropout),
            ("width", width),
        )
        model = _preset(name, shape, num_classes, options)
    else:
        model = _custom(st.session_state["network_source"])
except ModelSpecError as error:
    if name is None:
        _source_error(error, st.session_state["network_source"])
    else:
        st.error(str(error), icon="🚫")

if model is not None:
    for note in getattr(model, "cnnlab_notes", ()):
        st.warning(note, icon="📐")
    ledger = trace(model, (1, *shape))  # a batch of one image
    if ledger.error is not None:
        st.error(
            f"Layer **{ledger.error.layer}** breaks: {ledger.error.message}.  \n"
            f"**Fix:** {ledger.error.fix}.",
            icon="💥",
        )
    rows = ledger.rows
    last_rf = next((r.receptive_field for r in reversed(rows) if r.receptive_field), None)
    final = rows[-1].output_shape if rows and ledger.error is None else None
    m1, m2, m3, m4, m5 = st.columns(5)
    m1.metric("Parameters", f"{ledger.totals.params:,}")
    m2.metric("MACs per image", f"{ledger.totals.macs / 1e6:,.2f} M")
    m3.metric("Activations per image", f"{ledger.totals.activation_bytes / 2**20:,.2f} MiB")
    m4.metric(
        "Receptive field",
        f"{last_rf.h.size}×{last_rf.w.size}" if last_rf else "—",
        help="In input pixels, of the last layer that still has a spatial map.",
    )
    m5.metric("Output", "×".join(str(d) for d in final[1:]) if final else "broken")

    boxes = (
        [LayerBox("input", "Input", shape)]
        + [
            LayerBox(
                f"{r.name} {r.type}" if r.name.isdigit() else r.name,  # unnamed Sequential layers
                r.type,
                r.output_shape[1:] if r.output_shape else None,
            )
            for r in rows
        ]
    )
    broken = ledger.error.row + 1 if ledger.error is not None else None
    st.plotly_chart(layer_stack_figure(boxes, broken), width="stretch")

    st.subheader("Layer ledger")
    st.caption(
        f"Computed by {ledger.method}. Receptive field: size / jump / start of one output "
        "pixel in input pixels. " + " ".join(ledger.notes)
    )
    table = [{**row, "#": str(row["#"])} for row in ledger.to_rows()]  # totals row has no index
    st.dataframe(table, hide_index=True, width="stretch", height=min(35 * len(table) + 38, 1400))

    explained = [r for r in rows if r.formula is not None and r.formula.dims]
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
