import json

import pytest
import torch

from tests.conftest import SPEC_STATE_DICT, need_shared
from uir_cli.nn.unet import DiffUIRNet, UNetConfig, UpsampleConv, count_parameters, standardize_weight
from uir_cli.vocab import VARIANT_PARAMS, VARIANTS


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_parameter_counts_match_the_spec_table(variant):
    dim, mults = VARIANTS[variant]
    with torch.device("meta"):
        net = DiffUIRNet(UNetConfig(dim, mults))
    expected = {"diffuir-t": 886_435, "diffuir-s": 3_268_643, "diffuir-b": 12_406_851, "diffuir-l": 36_261_187}
    assert count_parameters(net) == expected[variant] == VARIANT_PARAMS[variant]


def test_keys_and_shapes_match_the_published_state_dicts():
    spec = json.loads(need_shared(SPEC_STATE_DICT).read_text())
    letter = {"T": "diffuir-t", "S": "diffuir-s", "B": "diffuir-b", "L": "diffuir-l"}
    for key, entry in spec.items():
        dim, mults = VARIANTS[letter[key]]
        assert (dim, list(mults)) == (entry["dim"], entry["dim_mults"])
        with torch.device("meta"):
            ours = {f"model.unet0.{k}": list(v.shape) for k, v in DiffUIRNet(UNetConfig(dim, mults)).state_dict().items()}
        theirs = {k: v for k, v in entry["state_dict"].items() if k.startswith("model.")}
        assert ours == theirs, key


@pytest.mark.parametrize("size", [(1, 1), (5, 3), (17, 33), (40, 24)])
def test_any_size_in_gives_the_same_size_out(size):
    torch.manual_seed(0)
    net = DiffUIRNet(UNetConfig(8, (1, 2, 2))).freeze()
    x = torch.randn(2, 3, *size)
    out = net(x, x, torch.tensor([10.0, 500.0]))
    assert out.shape == (2, 3, *size)
    assert torch.isfinite(out).all()


def test_freeze_gives_the_same_output_as_standardising_every_call():
    torch.manual_seed(0)
    net = DiffUIRNet(UNetConfig(16, (1, 2))).eval()
    x = torch.randn(1, 3, 24, 20)
    with torch.no_grad():
        before = net(x, -x, torch.tensor(900.0))
        net.freeze()
        after = net(x, -x, torch.tensor(900.0))
    # the same sums; the up-sampling convolutions add their taps in another order once frozen
    torch.testing.assert_close(after, before, rtol=0, atol=1e-5)
    assert not any(p.requires_grad for p in net.parameters())
    assert not any("frozen" in k for k in net.state_dict()), "frozen weights must stay out of checkpoints"
    net.unfreeze()
    assert all(p.requires_grad for p in net.parameters())


def test_weight_standardisation_is_per_output_channel():
    w = torch.randn(4, 3, 3, 3) * 5 + 2
    s = standardize_weight(w)
    assert torch.allclose(s.mean(dim=(1, 2, 3)), torch.zeros(4), atol=1e-5)
    assert torch.allclose(s.var(dim=(1, 2, 3), unbiased=False), torch.ones(4), atol=1e-3)


def test_bad_configs_are_refused():
    with pytest.raises(ValueError):
        UNetConfig(12, (1, 2))  # not a multiple of the 8 GroupNorm groups
    with pytest.raises(ValueError):
        UNetConfig(32, ())


def test_mixed_precision_training_standardises_as_float32_inference_does():
    """Under bf16 autocast the weights are standardised from the float32 parameter (eps 1e-5), as freeze() does."""
    from uir_cli.nn.unet import WSConv2d

    torch.manual_seed(0)
    conv = WSConv2d(8, 8)
    conv.weight.data *= 0.05  # small weights: the epsilon matters
    x = torch.randn(1, 8, 12, 12)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        training = conv(x.bfloat16()).float()
    reference = torch.nn.functional.conv2d(x, standardize_weight(conv.weight), conv.bias, padding=1)
    assert (training - reference).abs().max() < 0.05 * reference.abs().max()


def test_layer_norm_under_autocast_uses_float32s_epsilon():
    """A bf16 input under autocast is normalised with eps 1e-5 (float32's), not 1e-3: a near-constant
    channel vector, where eps decides the output, comes out as float32 computes it."""
    from uir_cli.nn.unet import ChannelLayerNorm

    norm = ChannelLayerNorm(8)
    x = torch.linspace(-0.01, 0.01, 8).reshape(1, 8, 1, 1).expand(1, 8, 4, 4).contiguous()
    reference = norm(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = norm(x.bfloat16()).float()
    loose = (x - x.mean(1, keepdim=True)) / torch.sqrt(x.var(1, unbiased=False, keepdim=True) + 1e-3)
    assert (mixed - reference).abs().max() < 0.05 * reference.abs().max()
    assert (reference - loose).abs().max() > 0.5 * reference.abs().max(), "the test input must tell the epsilons apart"


@pytest.mark.parametrize("batch,size", [(1, (24, 40)), (2, (17, 33)), (1, (1, 1))])
def test_the_channels_last_layout_computes_the_same_network(batch, size):
    torch.manual_seed(1)
    net = DiffUIRNet(UNetConfig(16, (1, 2, 2))).freeze()
    x_t, x_in = torch.randn(batch, 3, *size), torch.randn(batch, 3, *size)
    time = torch.tensor([700.0] * batch)
    with torch.no_grad():
        plain = net(x_t, x_in, time)
        fast = net.set_channels_last()(x_t, x_in, time)
        net.set_channels_last(False)
        again = net(x_t, x_in, time)
    assert fast.shape == plain.shape
    assert (fast - plain).abs().max() < 1e-4 * plain.abs().max()
    assert torch.equal(again, plain), "switching the layout back must restore the plain path"


def test_the_channels_last_layout_trains_like_the_plain_one():
    """Gradients flow through the channels-last path (as `benchmarks/train_speed.py`'s -cl modes train)."""
    torch.manual_seed(4)
    net = DiffUIRNet(UNetConfig(16, (1, 2)))
    x_t, x_in = torch.randn(2, 3, 20, 24), torch.randn(2, 3, 20, 24)
    grads = []
    for layout in (False, True):
        net.zero_grad()
        net.channels_last = layout
        net(x_t, x_in, torch.tensor([10.0, 500.0])).square().mean().backward()
        grads.append(torch.cat([p.grad.flatten() for p in net.parameters()]))
    assert (grads[1] - grads[0]).abs().max() < 1e-4 * grads[0].abs().max()


def test_attention_equals_the_written_out_softmax():
    from uir_cli.nn.unet import DIM_HEAD, _attend

    torch.manual_seed(2)
    q, k, v = (torch.randn(2, 4, 300, DIM_HEAD) for _ in range(3))
    scores = (q * DIM_HEAD**-0.5) @ k.transpose(-1, -2)
    expected = scores.softmax(dim=-1) @ v
    assert torch.allclose(_attend(q, k, v), expected, atol=1e-5)


def test_the_linear_attention_in_runs_of_positions_equals_the_whole_sum(monkeypatch):
    """Runs of 7 positions (a running maximum rescaled 24 times) give the one-run result."""
    import uir_cli.nn.unet as unet

    torch.manual_seed(3)
    la = unet.LinearAttention(16).eval()
    x = (torch.randn(2, 16, 12, 14) * 4).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        plain = la(x.contiguous())
        whole = la(x)
        monkeypatch.setattr(unet, "LINEAR_CHUNK", 7)
        runs = la(x)
    assert torch.allclose(whole, plain, atol=1e-5)
    assert torch.allclose(runs, whole, atol=1e-5)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("size", [(5, 7), (16, 12)])
def test_the_frozen_upsampling_convolution_equals_upsampling_then_convolving(channels_last, size):
    torch.manual_seed(0)
    up = UpsampleConv(6, 4)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(2, 6, *size).contiguous(memory_format=fmt)
    with torch.no_grad():
        plain = up(x)
        up.freeze_phases(fmt)
        phased = up(x)
    assert phased.shape == (2, 4, 2 * size[0], 2 * size[1])
    assert phased.is_contiguous(memory_format=fmt)
    torch.testing.assert_close(phased, plain, rtol=0, atol=1e-5)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        torch.testing.assert_close(up(x).float(), plain, rtol=0.02, atol=0.05)
    # training computes the authors' way (gradients flow to the 3x3 kernel)
    x.requires_grad_(True)
    up(x).sum().backward()
    assert up[1].weight.grad is not None
    # the phase kernels follow .to() (a device, a dtype) and never enter a state dict
    assert up.to(torch.float64).phase_weight.dtype == torch.float64
    assert not any("phase" in k for k in up.state_dict())
    up.unfreeze_phases()
    assert up.phase_weight is None
    # frozen where the weights live (a GPU: freeze runs after .to(device)); "meta" stands in for one here
    up.to("meta").freeze_phases(fmt)
    assert up.phase_weight.device.type == "meta"
