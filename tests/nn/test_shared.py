"""Shared statistics: partials over parts of an image merge to the statistics of the whole."""

import pytest
import torch

from uir_cli.nn import unet
from uir_cli.nn.shared import ContextPartial, GroupPartial, KeysPartial, merge, run_alone
from uir_cli.nn.unet import DiffUIRNet, UNetConfig


def test_group_statistics_of_parts_merge_to_those_of_the_whole():
    torch.manual_seed(0)
    y = torch.randn(1, 16, 6, 10) * 3 + 5  # a large mean, where a naive sum of squares loses digits
    # three tiles: columns 0..2, 0..6 (owning only 3..6, as an overlapping tile does) and 7..9
    owner = torch.ones(1, 1, 6, 7)
    owner[..., :3] = 0
    parts = [GroupPartial.of(y[..., :3], torch.ones(1, 1, 6, 3), 4), GroupPartial.of(y[..., :7], owner, 4),
             GroupPartial.of(y[..., 7:], torch.ones(1, 1, 6, 3), 4)]
    mean, var = merge(parts).shared()
    expected_var, expected_mean = torch.var_mean(y.reshape(1, 4, -1), dim=-1, unbiased=False)
    assert torch.allclose(mean, expected_mean, atol=1e-5) and torch.allclose(var, expected_var, rtol=1e-5)


def test_linear_attention_context_of_parts_merges_to_that_of_the_whole():
    torch.manual_seed(0)
    k, v = torch.randn(1, 4, 32, 50) * 4, torch.randn(1, 4, 32, 50)
    a = ContextPartial.of(k[..., :20], v[..., :20], torch.ones(1, 1, 4, 5))
    b = ContextPartial.of(k[..., 20:], v[..., 20:], torch.ones(1, 1, 6, 5))
    expected = torch.matmul(k.softmax(dim=-1), v.transpose(-1, -2)) * (0.5 / 50)
    assert torch.allclose(merge([a, b]).shared(0.5), expected, atol=1e-6)


def test_keys_of_parts_give_the_attention_over_the_whole():
    torch.manual_seed(0)
    k, v, q = torch.randn(1, 4, 32, 40), torch.randn(1, 4, 32, 40), torch.randn(4, 7, 32)
    merged = merge([KeysPartial.of(k[..., :15], v[..., :15], torch.ones(1, 1, 3, 5)),
                    KeysPartial.of(k[..., 15:], v[..., 15:], torch.ones(1, 1, 5, 5))])
    got = torch.matmul((torch.matmul(q, merged.keys[0]) + merged.logw[0]).softmax(dim=-1), merged.values[0].transpose(-1, -2))
    expected = torch.matmul(torch.matmul(q, k[0]).softmax(dim=-1), v[0].transpose(-1, -2))
    assert torch.allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("chunk", [64 * 1024, 100])
def test_the_shared_forward_with_its_own_statistics_is_the_forward(chunk, channels_last, monkeypatch):
    monkeypatch.setattr(unet, "SHARED_CHUNK", chunk)  # the linear attention in runs of positions
    monkeypatch.setattr(unet, "LINEAR_CHUNK", chunk)  # (the channels-last layout's runs)
    torch.manual_seed(0)
    net = DiffUIRNet(UNetConfig(16, (1, 2, 2))).freeze().set_channels_last(channels_last)
    x_t, x_in = torch.randn(2, 3, 32, 40), torch.randn(2, 3, 32, 40)
    time = torch.tensor([10.0, 700.0])
    with torch.inference_mode():
        expected = net(x_t, x_in, time)
        got = run_alone(net.forward_shared(x_t, x_in, time, torch.ones(2, 1, 32, 40)))
    assert (got - expected).abs().max() < 1e-5


def _in_lockstep(gens: list) -> list:
    """Run forward_shared generators of one image's tiles together (each a batch of one)."""
    parts = [next(g) for g in gens]
    while True:
        merged = merge(parts)
        parts, outs = [], []
        for g in gens:
            try:
                parts.append(g.send([merged]))
            except StopIteration as stop:
                outs.append(stop.value)
        if outs:
            return outs


def test_tiles_share_the_same_statistics_in_either_layout():
    """Two overlapping tiles in lockstep: channels-last (the CPU's inference layout) gives NCHW's numbers."""
    torch.manual_seed(0)
    net = DiffUIRNet(UNetConfig(16, (1, 2))).freeze()
    x_t, x_in = torch.randn(1, 3, 24, 40), torch.randn(1, 3, 24, 40)
    boxes = [(0, 24), (16, 40)]  # columns; the second tile owns from column 24 on
    owners = [torch.ones(1, 1, 24, 24), torch.ones(1, 1, 24, 24)]
    owners[1][..., :8] = 0
    outs = {}
    for layout in (False, True):
        net.set_channels_last(layout)
        with torch.inference_mode():
            outs[layout] = _in_lockstep([net.forward_shared(x_t[..., a:b], x_in[..., a:b], torch.tensor(300.0), o)
                                         for (a, b), o in zip(boxes, owners)])
    assert outs[True][0].is_contiguous(memory_format=torch.channels_last)
    for nchw, last in zip(outs[False], outs[True]):
        assert (nchw - last).abs().max() < 1e-5
