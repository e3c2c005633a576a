"""Average the weights of several safetensors files of one network (a uniform "model soup").

    python3 scripts/default-weights/average.py OUT.safetensors A.safetensors B.safetensors [...]

Used for uir's default weights: EMA weights taken at different steps of one training run lie
in one basin, and their mean kept what each did best (see train.sh and the README).  Every
file must hold the same tensors with the same shapes; the mean is taken in float64 and stored
in the first file's dtypes.  The output's metadata is the last file's, with ``average_of``
naming the inputs' steps (or file names) and ``step`` the last one's.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import save_file


def read(path: Path) -> tuple[dict, dict]:
    with safe_open(str(path), "pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("inputs", type=Path, nargs="+")
    args = ap.parse_args()
    if len(args.inputs) < 2:
        ap.error("give at least two files to average")
    loaded = [read(p) for p in args.inputs]
    first = loaded[0][0]
    for path, (tensors, _) in zip(args.inputs, loaded):
        if {k: tuple(v.shape) for k, v in tensors.items()} != {k: tuple(v.shape) for k, v in first.items()}:
            print(f"error: {path}: not the same tensors as {args.inputs[0]}", file=sys.stderr)
            return 1
    mean = {}
    for key, ref in first.items():
        if ref.is_floating_point():
            total = sum(t[key].double() for t, _ in loaded)
            mean[key] = (total / len(loaded)).to(ref.dtype).contiguous()
        else:
            mean[key] = ref
    metadata = dict(loaded[-1][1])
    metadata["average_of"] = ",".join(f"{m.get('which', 'weights')}@{m['step']}" if m.get("step") else p.name
                                      for p, (_, m) in zip(args.inputs, loaded))
    save_file(mean, str(args.out), metadata=metadata)
    print(f"{args.out}: mean of {len(loaded)} files ({metadata['average_of']}), "
          f"sha256 {hashlib.sha256(args.out.read_bytes()).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
