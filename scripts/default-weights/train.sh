#!/usr/bin/env bash
# How uir's default weights (uir-t-v6; uir-t-v5, uir-t-v4, uir-t-v3 and uir-t-v2 before it) are made, end to end, from ../shared.
#
#   bash scripts/default-weights/train.sh            # or: ... train.sh STEPS (stop there; run again to go on)
#
# 1. prepare-data.py splits ../shared/photos and ../shared/train-pairs into train and held-out
#    folders of links (fixed rules on the names; nothing held out is ever trained on).
# 2. uir train fine-tunes uir-t-synth (the earlier default, made by train-uir-t-synth.sh) with
#    uir-t-v2.toml: real LOL/GoPro/RESIDE pairs plus synthetic degradations of the training photos,
#    half of them lightened (strength 0.05-1), clean photos as their own target, 192-px crops,
#    bf16 autocast on the CPU.  The run folder is run/ beside this script; model-last.pt there is
#    committed, so any session continues it exactly with --resume.
#    Phases (each continued with --resume; the toml holds the current one):
#      steps    0-518: mix haze:3,rain:3,snow:2,blur:2,low-light:2,clean:2, light-share 0.5
#      steps  518-584: mix haze:2,rain:2,snow:3,blur:2,low-light:3,clean:2, light-share 0.5
#      steps  584-965: mix haze:1,rain:3,snow:3,blur:2,low-light:2,clean:1, light-share 0.3
#                      (uir-t-v2 is the EMA at step 841; from step 841 on clean samples are never equalised)
#      steps  965-   : mix haze:1,rain:3,snow:4,blur:3,low-light:2,clean:1, light-share 0.25
#                      (held-out snow and blur had not moved); from step 1063 the layer norms use
#                      float32's eps under bf16 autocast, as float32 inference does (before, bf16
#                      training had used 1e-3, and float32 inference of uir-t-v2 lost 0.1-0.3 dB)
#                      (uir-t-v3 is the EMA at step 1500, uir-t-v4 the EMA at step 2000)
#      steps 2219-3105: the same mix, 4 crops of 256 px a step instead of 6 of 192 (closer to whole photos)
#      steps 3105-3679: low light 3 (was 2), light-share 0.3 (the EMA at 3014 gained on heavy rain, haze and
#                      snow but lost on synthetic low light and came out 0.15 dB under the input on light rain)
#      steps 3679-   : lr 3e-5 (was 1e-4), EMA decay 0.999 (was 0.998), light-share 0.4: the EMA at 3503
#                      still came out under the input on light snow and independent haze and 2.5 dB under
#                      uir-t-v4 on our low light, while gaining 4 dB on our haze; a lower rate to settle
#                      (the EMA at 4156 came out 0.8 dB under the input on light rain and 0.6 on light
#                      snow: not shipped; uir-t-v5 is the mean of the EMAs at 2000 and 3679, see 3.)
#      steps 4156-4521: clean 2 (was 1): two warm-lit held-out clean photos came back at 24-27 dB
#                      (darkened, as found later); light rain and snow had lost the most
#      steps 4521-5240: cast-share 0.5: half the photo crops under a random light colour, warm to cool,
#                      in input and target alike (on the guess, wrong, that the warm photos lost their cast);
#                      from 4551 max-side 512 (was 384), the scale of the held-out photos
#      steps 5240-   : cast-share 0, clean 4 (was 2): the two warm photos turned out darkened by 6-8
#                      levels in every channel, not recoloured (a haze false positive); the online weights
#                      at 5000 brought them to 25.0 dB (24.0 before) and came out under the input on light
#                      rain (34.12 < 34.90) and light snow (30.28 < 30.69)
#      steps 5521-5950: light-share 0.7 (was 0.4), haze 2 (was 1), clean 3 (was 4): no weights so far had
#                      removed the own generator's degradations at a quarter strength (light haze left
#                      within a level of its input, 5-26 levels too bright); such samples were rare
#                      (haze at strength <= 0.3: about 0.2% of samples, clean 22%). The online weights at
#                      5800: clean photos 45.1 dB (worst 32.6), but light haze, rain and snow 0.5-1.3 levels
#                      brighter still than the input
#      steps 5950-   : objective "sampler" (was "forward"): the states the 3-step sampler reaches (noise of
#                      std 0.1) instead of the forward process's (std 0.8-1.0 at those timesteps). Swept over
#                      strength (one hazy photo), uir-t-v5 leaves haze at half strength exactly as given and
#                      removes it only at full strength; the online weights 250 steps later remove it at half
#                      strength too (16.4 -> 22.0 dB), not yet at a quarter. The online weights then swung
#                      (at 6600: clean photos 35.9 dB, the worst 16.3, some brightened by 16-20 levels, others
#                      darkened: each step now trusts the previous step's guess), but their EMA at 6600 came out
#                      above the input on every light row for the first time, and +3.1 dB on our snow. Stopped
#                      at 6714 (the run's clock: 13.0 h); uir-t-v6 is the mean of uir-t-v5 and that EMA, see 3.
#      steps 6714-   : clean 4 (was 3) and hard photos: mine-hard.py restored every training photo
#                      unchanged with uir-t-v6 and listed the 11 it changed most (23.1 to 44.9 dB) in
#                      hard-photos.txt; prepare-data.py links them again 2-6 times under train/hard, a
#                      second synthetic folder. The held-out clean photos uir-t-v6 harmed lost thin bright
#                      near-vertical lines (a ceiling grid, columns) as if rain streaks; the worst training
#                      photo (urban100/img_063, window mullions, 23.1 dB) the same way. The EMA at 7200 left
#                      img_063 at 28.5 dB and img_009 above 45, but brightened mcmaster/mcm07 by 6.9 levels
#                      (30.3 dB); on the held-out clean photos it scored 44.9 dB, the worst still 23.3
#                      (img_065) and the Trevi fountain darkened by 19 levels. Stopped at 7817 (the run's
#                      clock: 15.0 h)
#      steps 7817-7846: hard-photos.txt as the union of uir-t-v6's and the EMA at 7200's lists
#                      (mine-hard.py --weights uir-t-v6 --weights ema-7200.safetensors; 15 photos)
#      steps 7846-   : lines-share 0.3: long thin straight lines (grids, mullions, cables, at least 120 px
#                      or across the crop) drawn into 30% of the photo crops, input and target alike, before
#                      any degradation (a rain streak is at most 58 px long here). 450 steps on, the EMA at
#                      8300 returned the ceiling grid (img_044) at 30.2 dB (uir-t-v6: 23.3) and the columns
#                      (img_065) at 27.2 (24.4); the Trevi fountain stayed darkened (23.8 dB, -18 levels).
#                      The EMA at 9046 (run clock 16.6 h): clean photos 47.8 dB (worst 28.6, img_065), our
#                      snow +3.5, haze +9.6, real LOL +7.7, every light row above its input, but our rain only
#                      +0.8 (uir-t-v6 +3.7): streaks left as well as lines. Not shipped
#      steps 9046-9519: lines-share 0.15, rain 4 (was 3); validation rain +1.05 dB at 9000, +1.39 at 9500
#                      (clean 48.0). Stopped at 9519 (run clock 17.1 h); the EMA there: clean photos 48.3 dB
#                      (worst 26.4, img_065), our snow +3.9, our rain +1.1. Not shipped
#      steps 9519-11638: rain 5 (was 4); validation rain +1.75 dB at 10000, +2.07 at 11000, +2.00 at 11500
#                      (clean crops 48.9 dB). The EMA at 10000 and at 11638 darkened the held-out columns
#                      (img_065, 25.2-25.6 dB, -8 levels); at 11638 it darkened the Trevi fountain by 25 levels
#                      (20.9 dB) again. Stopped at 11638 (run clock 19.6 h). Not shipped
#    (validation at step 500: clean photos 41 dB, haze and low light well restored, rain +1.3 dB,
#    snow and blur nothing: the clean and lightened samples had taught restraint faster than
#    the network relearned rain and snow, so their share went down)
# 3. evaluate.py scores the EMA weights on the held-out material beside the baselines; when they
#    are shipped, run/ema.safetensors is copied to uir_cli/data/uir-t-vN.safetensors, registered
#    in weights.toml with its sha256, and made the default there.
#    uir-t-v5 is the mean (average.py) of uir-t-v4 and the EMA at step 3679 (run/ema.safetensors as
#    committed at that step, in git: `git log -- scripts/default-weights/run/ema.safetensors`):
#      python3 average.py uir-t-v5.safetensors uir_cli/data/uir-t-v4.safetensors ema-3679.safetensors
#    uir-t-v6 is the mean of uir-t-v5 and the EMA at step 6600 (from model-6600.pt, not kept in git; run/ema.safetensors
#    as committed is the EMA at 6714):
#      python3 average.py uir-t-v6.safetensors uir_cli/data/uir-t-v5.safetensors ema-6600.safetensors
#
# On a 2-core CPU, run it with the OpenMP threads spinning (OMP_WAIT_POLICY=ACTIVE); with other
# work on the machine, OMP_NUM_THREADS=1 is faster than two threads that wait for each other.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
steps=${1:-}
# hard-photos.txt as committed; to list them from other weights, run mine-hard.py after
# prepare-data.py (it reads the split's training photos), then prepare-data.py again:
#   python3 "$here/mine-hard.py" --weights uir-t-v6
python3 "$here/prepare-data.py"
resume=()
[ -f "$here/run/model-last.pt" ] && resume=(--resume)
uir train --config "$here/uir-t-v2.toml" "${resume[@]}" ${steps:+--steps "$steps"}
python3 "$here/evaluate.py" --weights uir-t-synth --weights "$here/run/ema.safetensors"
