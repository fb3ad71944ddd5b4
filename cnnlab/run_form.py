"""The Train page's form as data: its fields, the values it starts from, the RunConfig it sends.

``config.config_from_args`` is the command line's way to a RunConfig; ``config_from_form``
is the sidebar form's. The fields carry their labels and help (what each setting does),
so the page only draws them. Nothing here draws a widget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cnnlab import models
from cnnlab.config import (
    ACTIVATIONS,
    AMP_CHOICES,
    COMPILE_CHOICES,
    CUSTOM,
    DEVICE_CHOICES,
    OPTIMIZERS,
    SCHEDULERS,
    RunConfig,
    defaults_for,
)

MODEL_OPTIONS = ("activation", "batchnorm", "dropout", "width")


@dataclass(frozen=True)
class FormField:
    """One setting of the form: a RunConfig field with its label and what it does."""

    name: str  # the RunConfig field
    label: str
    kind: str  # "number", "choice", "check" or "text"
    help: str
    step: float | None = None
    format: str | None = None
    options: tuple[str, ...] = ()
    placeholder: str | None = None
    max_chars: int | None = None


@dataclass(frozen=True)
class FormGroup:
    """A titled section of the form; each row holds one field or two side by side."""

    title: str
    rows: tuple[tuple[FormField, ...], ...]
    expanded: bool = False
    model_options: bool = False  # only a preset has them (disabled for a custom network)


def _number(name: str, label: str, help: str, step: float, fmt: str | None = None,
            placeholder: str | None = None) -> FormField:  # fmt: skip
    return FormField(name, label, "number", help, step, fmt, placeholder=placeholder)


def _choice(name: str, label: str, options: tuple[str, ...], help: str) -> FormField:
    return FormField(name, label, "choice", help, options=options)


def _check(name: str, label: str, help: str) -> FormField:
    return FormField(name, label, "check", help)


FORM_GROUPS = (
    FormGroup("Optimisation", expanded=True, rows=(
        (_number("epochs", "Epochs", "Passes over the training set. More epochs learn more, "
                 "until the test accuracy stops rising (overfitting).", 1),),
        (_number("batch_size", "Batch size", "Images per optimizer step. Larger batches are "
                 "faster per image but take fewer steps per epoch; scale the learning rate "
                 "with it.", 1),),
        (_choice("optimizer", "Optimizer", OPTIMIZERS, "SGD follows the gradient (with "
                 "momentum); Adam/AdamW adapt the step per weight and usually want a smaller "
                 "learning rate (1e-3)."),),
        (_number("lr", "Learning rate", "Size of each step. Too small learns slowly; too large "
                 "makes the loss jump or diverge (NaN).", 0.001, "%.5f"),),
        (_number("momentum", "Momentum (SGD)", "Fraction of the previous step kept in the next "
                 "one; smooths and speeds up SGD. Ignored by Adam.", 0.05, "%.2f"),),
        (_check("nesterov", "Nesterov momentum (SGD)", "Looks ahead along the momentum before "
                "taking the gradient; often a little better than plain momentum."),),
        (_number("weight_decay", "Weight decay", "Pulls every weight towards zero each step "
                 "(L2); reduces overfitting.", 0.0001, "%.5f"),),
        (_choice("scheduler", "LR scheduler", SCHEDULERS, "How the learning rate changes: none "
                 "keeps it, step multiplies it by gamma every few epochs, cosine lowers it "
                 "smoothly to 0, onecycle warms up then anneals."),),
        (_number("step_size", "Step size (epochs)", "Step scheduler: epochs between "
                 "learning-rate drops.", 1),
         _number("gamma", "Gamma", "Step scheduler: factor applied to the learning rate at "
                 "each drop.", 0.05, "%.2f")),
        (_number("label_smoothing", "Label smoothing", "Trains towards 1-ε on the true class "
                 "and ε spread over the others; discourages over-confident predictions.",
                 0.05, "%.2f"),),
    )),
    FormGroup("Data", rows=(
        (_check("augment", "Augment (random crop + flip)", "Randomly shifts and mirrors "
                "training images each epoch, so the network sees new variants and overfits "
                "less."),),
        (_number("crop_padding", "Crop padding (px)", "Augmentation: pixels of padding before "
                 "the random crop (how far an image can shift); 0 = flip only.", 1),),
        (_number("limit_train", "Train images", "Quick runs: train on a fixed random subset "
                 "of N images (empty = all).", 256, placeholder="all"),
         _number("limit_test", "Test images", "Quick runs: evaluate on a fixed random "
                 "subset of N test images (empty = all).", 256, placeholder="all")),
        (_number("eval_every", "Evaluate every N epochs", "Test-set evaluation frequency; the "
                 "last epoch is always evaluated.", 1),),
        (_check("download", "Download if missing", "Fetch the dataset through torchvision "
                "when it is not on disk (needs internet); otherwise the run says which files "
                "to put where."),),
    )),
    FormGroup("Model options", model_options=True, rows=(
        (_choice("activation", "Activation", ACTIVATIONS, "The non-linearity after each layer. "
                 "Without one (none), stacked layers collapse into a single linear map."),),
        (_check("batchnorm", "BatchNorm after each conv", "Normalises every channel per batch; "
                "trains faster and tolerates larger learning rates."),),
        (_number("dropout", "Dropout", "Probability of zeroing each input of the classifier's "
                 "Linear layers during training; fights overfitting.", 0.05, "%.2f"),),
        (_number("width", "Width ×", "Multiplies every convolution's channel count: more "
                 "capacity, more time.", 0.25, "%.2f"),),
    )),
    FormGroup("Hardware and run", rows=(
        (_choice("device", "Device", DEVICE_CHOICES, "auto uses the GPU when one is visible, "
                 "else the CPU."),),
        (_choice("amp", "Mixed precision", AMP_CHOICES, "bf16 autocast: about twice as fast on "
                 "a GPU with the same accuracy; auto turns it on for CUDA only."),
         _choice("compile", "torch.compile", COMPILE_CHOICES, "Compiles the network into fused "
                 "kernels: faster steps after a warm-up; auto compiles on CUDA only.")),
        (_number("seed", "Seed", "Fixes the initial weights and batch order, so a run can be "
                 "repeated.", 1),),
        (_number("checkpoint_minutes", "Checkpoint every (min)", "Also saves last.pt this "
                 "often inside an epoch, so a crash or kill loses at most these minutes; "
                 "0 = at epoch ends only.", 1.0, "%.1f"),),
        (FormField("name", "Run name", "text", "A label to find the run on the Runs page "
                   "(optional).", placeholder="e.g. lenet5 lr 0.01", max_chars=200),),
    )),
)  # fmt: skip
FORM_FIELDS = tuple(field.name for group in FORM_GROUPS for row in group.rows for field in row)


def model_label(name: str) -> str:
    """How the model picker names a model: ``lenet5 · LeNet-5 ...`` or the custom choice."""
    if name == CUSTOM:
        return "Custom nn.Sequential"
    return f"{name} · {models.model_info(name).title}"


def model_caption(name: str) -> str:
    """What a preset is and where its recipe comes from ("" for a custom network)."""
    if name == CUSTOM:
        return ""
    info = models.model_info(name)
    return f"{info.description} Recipe from {info.source}. {info.recipe.note}".strip()


def recommended(model: str, dataset: str) -> dict[str, Any]:
    """Form values that train well: the preset's recipe and its own model options."""
    values = RunConfig().to_dict() | defaults_for(model, dataset)
    # A custom network ignores these (its source says it all); the widgets still need values.
    preset = models.model_info(model if model != CUSTOM else "lenet5").defaults
    return values | {option: getattr(preset, option) for option in MODEL_OPTIONS}


def config_from_form(
    model: str, dataset: str, values: Mapping[str, Any], custom_source: str | None = None
) -> RunConfig:
    """The RunConfig the form describes; model options only where they differ from the preset.

    Not validated: call ``.validate()`` (a TypeError means a value of the wrong type).
    """
    values = {field: values[field] for field in FORM_FIELDS}
    if model == CUSTOM:
        for option in MODEL_OPTIONS:
            values[option] = None
    else:
        preset = models.model_info(model).defaults
        for option in MODEL_OPTIONS:
            if values[option] == getattr(preset, option):
                values[option] = None
    values["name"] = (values["name"] or "").strip()
    return RunConfig(model=model, dataset=dataset, custom_source=custom_source, **values)
