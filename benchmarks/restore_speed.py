"""Throughput and peak memory of `uir restore` against a naive loop, in one run.

    python benchmarks/restore_speed.py                       # DiffUIR-T on a 1 MP image, CPU
    python benchmarks/restore_speed.py --variants T,S --sizes 0.196608 --images 3   # 3 images of 512x384
    python benchmarks/restore_speed.py --variants T,S,B,L --sizes 1,12
    python benchmarks/restore_speed.py --device cuda --precision bf16 --batch-size auto

The naive loop is the authors' way of restoring a photo: the whole image at
once, batch 1, float32, the convolution weights re-standardised on every
call, the middle attention's full (N x N) score matrix in one piece, the
linear attention in its direct order; decode, model and encode one after the
other.  The engine is `uir restore`'s batch engine (run_batch), once with
whole images (--tile 0, so its picture must equal the naive one) and once
with its automatic tiles.  Each method runs in its own process, so peak
memory (the largest resident set, from wait4) is its own.  Weights are
random: speed does not depend on their values.  Each method's time is given
twice: from its weights loaded to its last picture written (its throughput), and
its whole process (interpreter start, imports and loading included), as a user's
command sees it.  Pairs are run in turn (naive, engine, naive, engine ...) with
--repeat, and the ratio is taken pair by pair, so a machine that changes speed
affects both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VARIANT_IDS = {"T": "diffuir-t", "S": "diffuir-s", "B": "diffuir-b", "L": "diffuir-l"}


# --- the measured child processes -----------------------------------------------------------


def _make_image(path: Path, megapixels: float, seed: int = 0) -> None:
    """A deterministic photo-like test image of about ``megapixels`` (a shipped photo, resized, with rain)."""
    import cv2
    import numpy as np

    from uir_cli.degrade import degrade
    from uir_cli.imageio import read_image, write_image
    from uir_cli.registry import PACKAGE_DATA

    src = read_image(PACKAGE_DATA / "photos" / "coffee.png").rgb
    h = int(round((megapixels * 1e6 * 3 / 4) ** 0.5))
    w = int(round(h * 4 / 3))
    big = cv2.resize(src, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    if megapixels <= 2:
        big = degrade(big.astype(np.float32), "rain", np.random.default_rng(seed))
    write_image(path, big)


def _naive_network(net):
    """Make ``net`` compute as the authors' code does (same math, their order and memory use)."""
    import torch

    from uir_cli.nn import unet

    def linear_attention(self, x):
        b, _, h, w = x.shape
        n = h * w
        q, k, v = (t.reshape(b, unet.HEADS, unet.DIM_HEAD, n) for t in self.to_qkv(x).chunk(3, dim=1))
        q = q.softmax(dim=-2) * unet.DIM_HEAD**-0.5
        k = k.softmax(dim=-1)
        v = v / n
        context = torch.einsum("bhdn,bhen->bhde", k, v)
        out = torch.einsum("bhde,bhdn->bhen", context, q)
        return self.to_out(out.reshape(b, unet.HEADS * unet.DIM_HEAD, h, w))

    def attention(self, x):
        b, _, h, w = x.shape
        q, k, v = (t.reshape(b, unet.HEADS, unet.DIM_HEAD, h * w) for t in self.to_qkv(x).chunk(3, dim=1))
        q = q * unet.DIM_HEAD**-0.5
        sim = torch.einsum("bhdi,bhdj->bhij", q, k)
        out = torch.einsum("bhij,bhdj->bhid", sim.softmax(dim=-1), v)
        return self.to_out(out.permute(0, 1, 3, 2).reshape(b, unet.HEADS * unet.DIM_HEAD, h, w))

    for m in net.modules():
        if isinstance(m, unet.LinearAttention):
            m.forward = linear_attention.__get__(m)
        elif isinstance(m, unet.Attention):
            m.forward = attention.__get__(m)
    return net


def child_naive(args) -> dict:
    import numpy as np
    import torch
    from PIL import Image

    from uir_cli.diffusion.sampler import sample, starting_noise
    from uir_cli.engine.weights import load_weights
    from uir_cli.nn.unet import DiffUIRNet

    loaded = load_weights(args.weights)
    net = DiffUIRNet(loaded.config)
    net.load_state_dict(loaded.state_dict)
    net = _naive_network(net.eval().to(args.device))  # not frozen: weights standardised on every call
    t0 = time.perf_counter()
    with torch.no_grad():
        for image in _images(args.image):  # one file after another, as the authors' test script does
            rgb = np.asarray(Image.open(image).convert("RGB"), dtype=np.float32) / 255.0
            x_in = torch.from_numpy(rgb).permute(2, 0, 1)[None].to(args.device) * 2 - 1
            out = sample(net, x_in, starting_noise(*rgb.shape[:2], 0).to(args.device), steps=3)
            img = ((out + 1) / 2).clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
            Image.fromarray(np.floor(img * 255 + 0.5).astype(np.uint8)).save(Path(args.out) / image.name)
    return {"seconds": time.perf_counter() - t0}


def _images(folder: str) -> list[Path]:
    return sorted(Path(folder).glob("*.png"))


def child_engine(args) -> dict:
    from uir_cli.engine.batch import BatchOptions, plan_outputs, run_batch
    from uir_cli.engine.batch.inputs import discover
    from uir_cli.engine.restorer import load_restorer

    restorer = load_restorer(args.weights, device=args.device, precision=args.precision)
    tile = None if args.tile == "auto" else int(args.tile)
    batch = None
    if args.batch_size == "auto":
        from uir_cli.engine.memory import auto_batch

        batch = auto_batch(512 * 512, restorer.net.config, restorer.place.precision, restorer.device)
    else:
        batch = int(args.batch_size)
    opts = BatchOptions(out_dir=Path(args.out), steps=3, seed=0, task="rain", tile=tile, batch_size=batch)
    items, missing = discover([str(p) for p in _images(args.image)])
    todo, _ = plan_outputs(items, missing, opts)
    t0 = time.perf_counter()
    results = run_batch(restorer, todo, opts)
    seconds = time.perf_counter() - t0
    plan = restorer.plan(results[0].height, results[0].width, tile=tile)
    return {"seconds": seconds, "status": results[0].status, "reason": results[0].reason, "tiles": plan.count,
            "tile_shape": list(plan.tile_shape), "batch_size": batch}


def child_main(argv) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("method")
    for name in ("--weights", "--image", "--out", "--device", "--precision", "--tile", "--batch-size"):
        p.add_argument(name)
    args = p.parse_args(argv)
    if args.device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats()
    result = child_naive(args) if args.method == "naive" else child_engine(args)
    if args.device.startswith("cuda"):
        import torch

        result["gpu_peak_bytes"] = torch.cuda.max_memory_allocated()
    print("RESULT " + json.dumps(result))


# --- the parent: orchestration and the table ----------------------------------------------


def run_child(method: str, **kw) -> dict:
    """One measured child: its own timing (``seconds``, from weights loaded to pictures written), its
    whole process's wall time (``process_seconds``: start, imports, loading included) and peak memory."""
    cmd = [sys.executable, __file__, "--child", method] + [f"--{k.replace('_', '-')}={v}" for k, v in kw.items()]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)  # the child prints a line or two: its pipes never fill
    wall = time.perf_counter() - t0
    out, errtext = proc.stdout.read(), proc.stderr.read()
    line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
    if os.waitstatus_to_exitcode(status) != 0 or line is None:
        return {"error": (errtext.strip().splitlines() or ["failed"])[-1][:200], "peak_rss_bytes": usage.ru_maxrss * 1024}
    return {**json.loads(line[7:]), "process_seconds": wall, "peak_rss_bytes": usage.ru_maxrss * 1024}


def compare_pngs(a: Path, b: Path) -> dict:
    import numpy as np
    from PIL import Image

    x = np.asarray(Image.open(a)).astype(int)
    y = np.asarray(Image.open(b)).astype(int)
    d = np.abs(x - y)
    return {"max_level_diff": int(d.max()), "identical_fraction": float((d == 0).mean())}


def compare_folders(a: Path, b: Path) -> dict:
    """The worst of :func:`compare_pngs` over the pictures of folder ``a`` and their namesakes in ``b``."""
    found = [compare_pngs(p, b / p.name) for p in sorted(a.glob("*.png"))]
    if not found:
        return {"max_level_diff": -1, "identical_fraction": 0.0}
    return {"max_level_diff": max(c["max_level_diff"] for c in found),
            "identical_fraction": min(c["identical_fraction"] for c in found)}


def naive_memory_estimate(megapixels: float, variant: str) -> float:
    """Bytes the naive loop needs: activations plus the full attention matrix (and its softmax)."""
    from uir_cli.vocab import VARIANTS

    dim, mults = VARIANTS[VARIANT_IDS[variant]]
    n = megapixels * 1e6 / (4 ** (len(mults) - 1))
    return megapixels * 1e6 * 4000 + 2 * 4 * n * n * 4


def whole_memory_estimate(megapixels: float, variant: str, precision: str, device: str = "cpu") -> float:
    """Bytes the engine needs for one whole image (its attention in chunks): the memory model of tiles."""
    from uir_cli.engine.memory import CPU_OVERHEAD, STATE_BYTES_PER_PIXEL, bytes_per_pixel
    from uir_cli.nn.unet import UNetConfig
    from uir_cli.vocab import VARIANTS

    dim, mults = VARIANTS[VARIANT_IDS[variant]]
    import torch

    per_pixel = bytes_per_pixel(UNetConfig(dim, mults), precision, torch.device(device)) + STATE_BYTES_PER_PIXEL
    return megapixels * 1e6 * per_pixel + CPU_OVERHEAD


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default="T", help="comma-separated: T,S,B,L")
    ap.add_argument("--sizes", default="1", help="megapixels, comma-separated, e.g. 1,12")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="fp32", help="the engine's precision (the naive loop is always fp32)")
    ap.add_argument("--batch-size", default="auto")
    ap.add_argument("--repeat", type=int, default=1, help="naive/engine pairs per case")
    ap.add_argument("--images", type=int, default=1, help="images of each size per run (different rain on each)")
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--methods", default="naive,whole,auto",
                    help="which of naive, whole (the engine with --tile 0), auto (the engine's own tiles) to run")
    args = ap.parse_args()

    import torch

    from uir_cli.engine.memory import _available_ram
    from uir_cli.engine.weights import save_safetensors
    from uir_cli.nn.unet import DiffUIRNet, UNetConfig
    from uir_cli.vocab import VARIANTS

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for size in (float(s) for s in args.sizes.split(",")):
            image = tmp / f"images_{size:g}mp"  # the folder the children restore
            image.mkdir()
            for i in range(args.images):
                _make_image(image / f"image_{i}.png", size, seed=i)
            for letter in args.variants.split(","):
                dim, mults = VARIANTS[VARIANT_IDS[letter]]
                torch.manual_seed(0)
                weights = save_safetensors(DiffUIRNet(UNetConfig(dim, mults)).state_dict(), tmp / f"{letter}.safetensors",
                                           config=UNetConfig(dim, mults), which="ema")
                common = dict(weights=weights, image=image, device=args.device, precision=args.precision)
                methods = set(args.methods.split(",")) - ({"naive"} if args.no_naive else set())
                need = naive_memory_estimate(size, letter)
                do_naive = "naive" in methods and (args.device != "cpu" or need < 0.8 * _available_ram())
                need_whole = whole_memory_estimate(size, letter, args.precision, args.device)
                do_whole = "whole" in methods and (args.device != "cpu" or need_whole < 0.8 * _available_ram())
                for rep in range(args.repeat):
                    outs = {m: tmp / f"{m}-{letter}-{size:g}-{rep}" for m in ("naive", "whole", "auto")}
                    for o in outs.values():
                        o.mkdir()
                    res = {}
                    if do_naive:
                        res["naive"] = run_child("naive", out=outs["naive"], tile="0", batch_size="1", **{**common, "precision": "fp32"})
                    if do_whole:
                        res["whole"] = run_child("engine", out=outs["whole"], tile="0", batch_size=args.batch_size, **common)
                    if "auto" in methods:
                        res["auto"] = run_child("engine", out=outs["auto"], tile="auto", batch_size=args.batch_size, **common)
                    row = {"variant": letter, "megapixels": size, "images": args.images, "repeat": rep, "results": res}
                    if "whole" in methods and not do_whole:
                        row["whole_skipped"] = f"needs about {need_whole / 2**30:.0f} GiB"
                    if do_naive and "error" not in res["naive"]:
                        for m in ("whole", "auto"):
                            if m in res and "error" not in res[m]:
                                row[f"{m}_vs_naive"] = compare_folders(outs["naive"], outs[m])
                                row[f"{m}_speedup"] = res["naive"]["seconds"] / res[m]["seconds"]
                                row[f"{m}_process_speedup"] = res["naive"]["process_seconds"] / res[m]["process_seconds"]
                    elif not do_naive:
                        row["naive_skipped"] = f"needs about {need / 2**30:.0f} GiB" if "naive" in methods else "not asked for"
                    rows.append(row)
                    _print_row(row, size)
    print(json.dumps(rows, indent=1))


def _print_row(row: dict, size: float) -> None:
    def fmt(r: dict) -> str:
        if "error" in r:
            return f"error: {r['error']}"
        mp_s = size * row["images"] / r["seconds"]
        mem = r.get("gpu_peak_bytes", r["peak_rss_bytes"]) / 2**30
        extra = f", {r['tiles']} tile(s) {r['tile_shape']}" if "tiles" in r else ""
        return (f"{r['seconds']:7.1f} s  {mp_s:6.3f} MP/s  (whole process {r['process_seconds']:6.1f} s)  "
                f"peak {mem:5.2f} GiB{extra}")

    print(f"\nDiffUIR-{row['variant']}, {row['images']} x {size:g} MP (run {row['repeat'] + 1})", flush=True)
    for m, label in (("naive", "naive loop     "), ("whole", "engine, tile 0 "), ("auto", "engine, auto   ")):
        if m in row["results"]:
            print(f"  {label} {fmt(row['results'][m])}", flush=True)
    if "naive_skipped" in row:
        print(f"  naive loop      not run: {row['naive_skipped']}")
    if "whole_skipped" in row:
        print(f"  engine, tile 0  not run: {row['whole_skipped']}")
    for m in ("whole", "auto"):
        if f"{m}_speedup" in row:
            c = row[f"{m}_vs_naive"]
            print(f"  {m:>5} vs naive: {row[f'{m}_speedup']:.2f}x throughput ({row[f'{m}_process_speedup']:.2f}x whole "
                  f"process); max difference {c['max_level_diff']} level(s), "
                  f"{100 * c['identical_fraction']:.2f}% of values identical", flush=True)


if __name__ == "__main__":
    main()
