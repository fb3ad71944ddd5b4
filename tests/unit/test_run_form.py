"""cnnlab.run_form: the Train page's form values -> RunConfig, without the page."""

from __future__ import annotations

from dataclasses import fields

import pytest

from cnnlab.config import CUSTOM, RunConfig, settings_line
from cnnlab.errors import ConfigError
from cnnlab.models.examples import SEED_001
from cnnlab.run_form import (
    FORM_FIELDS,
    config_from_form,
    model_caption,
    model_label,
    recommended,
)


def test_the_form_has_every_setting_but_model_dataset_and_paths() -> None:
    outside = {"model", "custom_source", "dataset", "data_dir"}
    assert sorted(FORM_FIELDS) == sorted(f.name for f in fields(RunConfig) if f.name not in outside)
    assert len(set(FORM_FIELDS)) == len(FORM_FIELDS)


def test_recommended_values_follow_the_preset_recipe() -> None:
    values = recommended("seq_cifar", "cifar10")
    assert (values["optimizer"], values["lr"], values["scheduler"]) == ("adam", 0.001, "step")
    assert set(FORM_FIELDS) <= set(values)
    # a custom network still gets values for the (disabled) model-option widgets
    assert recommended(CUSTOM, "mnist")["activation"] == "relu"


def test_model_options_are_sent_only_where_they_differ_from_the_preset() -> None:
    values = recommended("lenet5", "cifar10") | {"name": "  try 1  "}
    config = config_from_form("lenet5", "cifar10", values)
    assert config.model_options == {} and config.name == "try 1"
    changed = config_from_form("lenet5", "cifar10", values | {"dropout": 0.3, "width": 2.0})
    assert changed.model_options == {"dropout": 0.3, "width": 2.0}
    assert changed.validate(check_model=False) is changed


def test_a_custom_network_drops_model_options_and_keeps_its_source() -> None:
    values = recommended(CUSTOM, "cifar10") | {"dropout": 0.5}
    config = config_from_form(CUSTOM, "cifar10", values, SEED_001)
    assert config.model_options == {} and config.custom_source == SEED_001
    assert config.validate() is config  # the seed-001 example fits CIFAR-10
    with pytest.raises(ConfigError, match="does not fit MNIST"):
        config_from_form(CUSTOM, "mnist", values, SEED_001).validate()


def test_labels_and_captions_name_the_model() -> None:
    assert model_label(CUSTOM) == "Custom nn.Sequential"
    assert model_label("lenet5").startswith("lenet5 · ")
    assert model_caption(CUSTOM) == "" and "Recipe from" in model_caption("lenet5")


def test_fingerprint_tells_settings_apart() -> None:
    assert RunConfig(lr=0.1).fingerprint() == RunConfig(lr=0.1).fingerprint()
    assert RunConfig(lr=0.1).fingerprint() != RunConfig(lr=0.2).fingerprint()


def test_settings_line_reads_a_config_dict() -> None:
    line = settings_line(RunConfig(scheduler="cosine", augment=True, limit_train=512).to_dict())
    assert line == (
        "lenet5 on cifar10 · 10 epochs · batch 64 · sgd lr 0.01 · cosine schedule · "
        "augmented · 512 train images"
    )
    assert settings_line(RunConfig().to_dict()).endswith("sgd lr 0.01")
