"""Does torch.compile make `uir restore`'s network faster here?  Eager against compiled, one process.

    python3 benchmarks/compile_speed.py [--variant T] [--size 384x512] [--precision fp32|bf16]
                                        [--threads N] [--cache DIR] [--calls 3]

One network call = the forward `uir restore` makes at each sampler step, on an
image of ``--size``, batch 1, with the inference setup of `uir restore` on the
CPU (weights standardised once, channels-last layout).  Prints the eager time
per call, the compiled model's first call (the compile: cold when ``--cache`` is
empty, a warm start when an earlier run filled it; inductor's persistent caches
live there), its time per call afterwards, the largest difference of the two
outputs, and the CPU model.  Weights are random (speed does not depend on them).

Run it twice with the same ``--cache`` to see both the cold and the warm first
call.  A compiled model is specialised to one input shape: every new image or
tile size compiles again (or reads the cache).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import cpu_model  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--variant", default="T", choices=["T", "S", "B", "L"])
    p.add_argument("--size", default="384x512", help="HxW")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--cache", default=str(Path.home() / ".cache" / "uir-compile-bench"),
                   help="inductor's cache folder (TORCHINDUCTOR_CACHE_DIR)")
    p.add_argument("--calls", type=int, default=3)
    args = p.parse_args()
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", args.cache)

    import torch

    from uir_cli.nn.unet import DiffUIRNet, UNetConfig
    from uir_cli.vocab import VARIANTS

    if args.threads:
        torch.set_num_threads(args.threads)
    dim, mults = VARIANTS["diffuir-" + args.variant.lower()]
    torch.manual_seed(0)
    net = DiffUIRNet(UNetConfig(dim, mults)).freeze().set_channels_last(True)
    h, w = (int(v) for v in args.size.lower().split("x"))
    x_t, x_in = torch.rand(1, 3, h, w) * 2 - 1, torch.rand(1, 3, h, w) * 2 - 1
    time_in = torch.tensor(500.0)
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32

    def timed(fn, calls: int) -> tuple[float, torch.Tensor]:
        with torch.inference_mode(), torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
            t0 = time.perf_counter()
            for _ in range(calls):
                out = fn(x_t, x_in, time_in)
            return (time.perf_counter() - t0) / calls, out.float()

    timed(net, 1)  # oneDNN's first-call set-up, as a long run amortises it
    eager, ref = timed(net, args.calls)
    compiled = torch.compile(net)
    first, _ = timed(compiled, 1)
    per_call, out = timed(compiled, args.calls)
    print(f"{cpu_model()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"DiffUIR-{args.variant} {h}x{w} {args.precision}, cache {os.environ['TORCHINDUCTOR_CACHE_DIR']}")
    print(f"eager          {eager:8.3f} s per call")
    print(f"compiled       {per_call:8.3f} s per call ({eager / per_call:.2f}x eager)")
    print(f"compile        {first:8.1f} s (the first call)")
    gain = eager - per_call
    if gain > 0:
        print(f"worth it after {first / gain:8.0f} calls of this shape")
    else:
        print("never worth it here: compiled calls are not faster")
    print(f"max |compiled - eager| {float((out - ref).abs().max()):.2e}")


if __name__ == "__main__":
    main()
