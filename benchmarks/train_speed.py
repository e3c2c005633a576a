"""How fast one training step of DiffUIR runs here, under each way of running it.

    python3 benchmarks/train_speed.py [--variant T] [--crop 128] [--batch 8] [--steps 4]
                                      [--modes fp32,bf16,fp32-cl,bf16-cl,fp32-compile,bf16-compile]

One step = forward and backward of the authors' L1 objective on a random
batch (lq, gt), gradient clipping and an Adam step: what `uir train` does.
Each mode runs in this process one after another, after ``--warmup`` steps
(compile modes: the first steps compile; their cost is printed apart).
Modes: ``fp32`` (eager), ``bf16`` (CPU autocast to bfloat16; the weights'
standardisation stays in float32, as in `uir train --precision bf16`),
``-cl`` channels_last memory format, ``-compile`` torch.compile (inductor).

Prints seconds per step, crops per second and the ratio to fp32, with the CPU
model and thread count.  Quote the CPU model with the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import time


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def run_mode(mode: str, args, torch) -> tuple[float, float]:
    """(seconds of the first steps, seconds per measured step) for ``mode``."""
    from uir_cli.diffusion.objective import draw_timesteps, training_loss
    from uir_cli.diffusion.schedule import Schedule
    from uir_cli.nn.unet import DiffUIRNet, UNetConfig
    from uir_cli.training.config import VARIANTS

    torch.manual_seed(0)
    dim, mults = VARIANTS[args.variant]
    net = DiffUIRNet(UNetConfig(dim, mults))
    net.train()
    channels_last = "-cl" in mode
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    model = torch.compile(net) if "compile" in mode else net
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.9, 0.99))
    schedule = Schedule.default()
    bf16 = mode.startswith("bf16")
    gen = torch.Generator().manual_seed(1)
    shape = (args.batch, 3, args.crop, args.crop)
    gt = torch.rand(shape, generator=gen) * 2 - 1
    lq = (gt * 0.6 + 0.2 + 0.1 * torch.randn(shape, generator=gen)).clamp(-1, 1)
    if channels_last:
        gt, lq = gt.contiguous(memory_format=torch.channels_last), lq.contiguous(memory_format=torch.channels_last)

    def step() -> None:
        t = draw_timesteps(args.batch, mode="inference", generator=gen)
        eps = torch.randn(shape, generator=gen)
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        with ctx:
            loss = training_loss(model, schedule, gt, lq, t, eps)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    t0 = time.perf_counter()
    for _ in range(args.warmup):
        step()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    return first, (time.perf_counter() - t0) / args.steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", default="T", choices=["T", "S", "B", "L"])
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--modes", default="fp32,bf16,fp32-cl,bf16-cl")
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    flags = cpu_flags()
    units = [f for f in ("avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    print(f"CPU: {cpu_model()} ({', '.join(units) or 'no bf16 units'}); torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"DiffUIR-{args.variant}, batch {args.batch} of {args.crop}x{args.crop}, {args.steps} steps after "
          f"{args.warmup} warm-up steps")
    base = None
    for mode in args.modes.split(","):
        first, per_step = run_mode(mode.strip(), args, torch)
        base = base or per_step
        print(f"{mode:>14}: {per_step:7.3f} s/step  {args.batch / per_step:6.2f} crops/s  "
              f"x{base / per_step:4.2f} of the first mode  (warm-up {first:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
