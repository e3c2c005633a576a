"""The model descriptor: one record of a loaded model, from the file to the restorer and the reports."""

import json

import pytest

from uir_cli.engine.descriptor import ModelDescriptor
from uir_cli.engine.restorer import load_restorer
from uir_cli.engine.weights import load_weights
from uir_cli.nn.unet import UNetConfig


def test_a_loaded_file_is_described_and_holds_its_weights(tiny_weights):
    model = load_weights(tiny_weights)
    assert isinstance(model, ModelDescriptor)
    assert (model.name, model.variant, model.config) == ("tiny.safetensors", "custom", UNetConfig(8, (1, 2)))
    assert model.size_multiple == 4 and model.steps == 3 and model.which == "ema"
    assert model.parameters == sum(t.numel() for t in model.state_dict.values())
    assert set(model.precisions) == {"fp32", "bf16", "fp16"} and model.tiling_changes_picture


def test_the_restorer_keeps_the_description_without_a_second_copy_of_the_weights(tiny_weights):
    model = load_weights(tiny_weights)
    restorer = load_restorer(model, device="cpu", precision="fp32", steps=2, name="mine")
    info = restorer.info
    assert info.state_dict is None and (info.name, info.steps, restorer.steps) == ("mine", 2, 2)
    assert info == model.described(name="mine", steps=2)  # weights are not compared
    with pytest.raises(ValueError, match="holds no weights"):
        info.build()


def test_reports_write_the_same_model_record(tiny_weights, tmp_path):
    from uir_cli.atomic import write_json

    info = load_restorer(tiny_weights, device="cpu", precision="fp32").info
    path = write_json(tmp_path / "r.json", {"model": info})
    record = json.loads(path.read_text())["model"]
    assert record == info.to_json()
    assert {"name", "variant", "dim", "dim_mults", "sha256", "path", "which", "steps", "size_multiple"} <= set(record)
    assert record["path"] == str(tiny_weights.resolve()) and record["dim_mults"] == [1, 2]
