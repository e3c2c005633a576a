#!/usr/bin/env bash
# How uir's default weights (uir-t-synth) were made, step by step.
#
#   bash scripts/default-weights/train-uir-t-synth.sh [PHOTOS_DIR] [RUN_DIR]
#
# Three phases of one run, each continued with --resume (which continues exactly:
# same optimiser, EMA and data stream), on a 2-core x86-64 CPU, about 1.15 s per step:
#   1. steps    0-3050: uir-t-synth.toml (lr 3e-4, tasks mixed haze 1, low light 1, rain 2, snow 2, blur 2)
#   2. steps 3050-4500: lr 1e-4, more low light, snow and blur in each batch
#   3. steps 4500-5000: lr 3e-5, the same mix
# Then the run's EMA weights are copied into the package.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
photos=${1:-/work/data/photos}
run=${2:-runs/default-t}
[ -d "$photos/train" ] || bash "$here/prepare-photos.sh" "$photos"
common=(--out "$run" --synthetic "$photos/train" --val-synthetic "$photos/val")
mix2=haze:1,low-light:2,rain:1,snow:2,blur:4

uir train "${common[@]}" --config "$here/uir-t-synth.toml" --steps 3050
uir train "${common[@]}" --resume --steps 4500 --lr 1e-4 --mix "$mix2" --val-every 750 --val-count 16
uir train "${common[@]}" --resume --steps 5000 --lr 3e-5 --mix "$mix2" --val-every 500 --val-count 16
cp "$run/ema.safetensors" "$here/../../uir_cli/data/uir-t-synth.safetensors"
sha256sum "$run/ema.safetensors"
