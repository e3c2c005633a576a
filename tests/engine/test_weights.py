import json
import pickle

import pytest
import torch

from tests.conftest import SPEC_STATE_DICT, need_shared
from uir_cli.errors import WeightsError
from uir_cli.engine.weights import detect_config, load_weights, save_safetensors, strip_prefixes
from uir_cli.nn.unet import DiffUIRNet, UNetConfig
from uir_cli.vocab import VARIANTS


def _random_state(shapes: dict) -> dict:
    g = torch.Generator().manual_seed(0)
    return {k: torch.randn(v, generator=g) if len(v) else torch.tensor(0.0) for k, v in shapes.items()}


@pytest.mark.parametrize("letter", ["T", "S", "B", "L"])
def test_variant_detected_from_shapes_of_each_published_state_dict(letter, tmp_path):
    spec = json.loads(need_shared(SPEC_STATE_DICT).read_text())[letter]
    state = _random_state(spec["state_dict"])  # includes the 14 schedule buffers, as the authors' files do
    path = tmp_path / f"{letter}.pt"
    torch.save(state, path)
    loaded = load_weights(path)
    assert loaded.variant == f"diffuir-{letter.lower()}"
    assert (loaded.config.dim, list(loaded.config.dim_mults)) == (spec["dim"], spec["dim_mults"])
    assert loaded.parameters == spec["unet_params"]


def test_published_variants_detected_without_shared():
    for variant, (dim, mults) in VARIANTS.items():
        with torch.device("meta"):
            state = DiffUIRNet(UNetConfig(dim, mults)).state_dict()
        cfg = detect_config(state, path="x")
        assert (cfg.dim, cfg.dim_mults) == (dim, mults), variant


@pytest.mark.parametrize("dim,mults", [(16, (1, 2, 3)), (8, (1,)), (48, (1, 1, 2, 2, 4))])
def test_custom_shapes_are_recognised(dim, mults, tmp_path):
    net = DiffUIRNet(UNetConfig(dim, mults))
    path = tmp_path / "custom.pt"
    torch.save({f"module.model.unet0.{k}": v for k, v in net.state_dict().items()}, path)
    loaded = load_weights(path)
    assert loaded.config == UNetConfig(dim, mults)
    assert loaded.variant == "custom"


def _trainer_checkpoint(tmp_path, *, ema=True):
    torch.manual_seed(0)
    online = DiffUIRNet(UNetConfig(8, (1, 2))).state_dict()
    ema_sd = {k: v + 1 for k, v in online.items()}
    ck = {"step": 42, "model": {f"model.unet0.{k}": v for k, v in online.items()}, "opt0": {}, "scaler": None}
    if ema:
        ck["ema"] = {"initted": torch.tensor(True), "step": torch.tensor(42),
                     **{f"online_model.model.unet0.{k}": v for k, v in online.items()},
                     **{f"ema_model.model.unet0.{k}": v for k, v in ema_sd.items()}}
    path = tmp_path / "model-1.pt"
    torch.save(ck, path)
    return path, online, ema_sd


def test_trainer_checkpoint_gives_ema_by_default_and_online_on_request(tmp_path):
    path, online, ema_sd = _trainer_checkpoint(tmp_path)
    ema = load_weights(path)
    assert ema.which == "ema" and ema.available == ("ema", "online") and ema.step == 42
    assert torch.equal(ema.state_dict["init_conv.weight"], ema_sd["init_conv.weight"])
    on = load_weights(path, which="online")
    assert on.which == "online"
    assert torch.equal(on.state_dict["init_conv.weight"], online["init_conv.weight"])


def test_asking_for_ema_when_there_is_none_is_an_error(tmp_path):
    path, _, _ = _trainer_checkpoint(tmp_path, ema=False)
    assert load_weights(path).which == "online"
    with pytest.raises(WeightsError, match="no EMA"):
        load_weights(path, which="ema")


def test_safetensors_round_trip(tmp_path):
    path, _, ema_sd = _trainer_checkpoint(tmp_path)
    loaded = load_weights(path)
    st = save_safetensors(loaded, tmp_path / "w.safetensors")
    again = load_weights(st)
    assert again.file_format == "safetensors" and again.which == "ema"
    assert again.metadata["source_sha256"] == loaded.sha256
    for k, v in ema_sd.items():
        assert torch.equal(again.state_dict[k], v.float())


class _Planted:
    """Unpickling this would create a marker file: a stand-in for arbitrary code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_a_planted_pickle_is_refused_and_its_code_does_not_run(writer, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    payload = {"model": {"init_conv.weight": torch.zeros(8, 6, 7, 7)}, "extra": _Planted(marker)}
    if writer == "torch":
        torch.save(payload, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(payload, f)
    assert not marker.exists()
    with pytest.raises(WeightsError, match="refused") as info:
        load_weights(path)
    assert str(path) in str(info.value)
    assert not marker.exists(), "the planted code ran"


def test_empty_truncated_foreign_and_missing_files_give_one_clear_line(tmp_path):
    good, _, _ = _trainer_checkpoint(tmp_path)
    data = good.read_bytes()
    cases = {
        "empty.pt": (b"", "empty"),
        "truncated.pt": (data[: len(data) // 2], "truncated"),
        "text.pt": (b"hello, this is not a checkpoint\n", "not a checkpoint"),
    }
    for name, (content, words) in cases.items():
        p = tmp_path / name
        p.write_bytes(content)
        with pytest.raises(WeightsError, match=words) as info:
            load_weights(p)
        assert str(p) in str(info.value) and "\n" not in str(info.value)

    foreign = tmp_path / "resnet.pt"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7), "fc.bias": torch.zeros(10)}, foreign)
    with pytest.raises(WeightsError, match="not DiffUIR weights"):
        load_weights(foreign)

    with pytest.raises(WeightsError, match="no such file"):
        load_weights(tmp_path / "nope.pt")


def test_missing_keys_and_shape_mismatch_are_named(tmp_path):
    state = DiffUIRNet(UNetConfig(8, (1, 2))).state_dict()
    missing = dict(state)
    del missing["final_conv.weight"]
    p = tmp_path / "missing.pt"
    torch.save(missing, p)
    with pytest.raises(WeightsError, match="missing keys: final_conv.weight"):
        load_weights(p)
    bad = dict(state)
    bad["final_conv.bias"] = torch.zeros(4)
    p2 = tmp_path / "shape.pt"
    torch.save(bad, p2)
    with pytest.raises(WeightsError, match="shape mismatch at final_conv.bias"):
        load_weights(p2)


def test_prefixes_are_stripped_and_schedule_buffers_dropped():
    out = strip_prefixes({"module.model.unet0.init_conv.weight": 1, "alphas": 2, "ema_model.model.unet0.x": 3})
    assert out == {"init_conv.weight": 1, "x": 3}
