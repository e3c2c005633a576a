#!/usr/bin/env bash
# Gathers the clean photos uir's default weights were trained and validated on:
# natural photos from Debian's wallpaper packages and scikit-image's bundled data.
#
#   bash scripts/default-weights/prepare-photos.sh DEST
#
# writes DEST/train (23 photos) and DEST/val (7 held-out photos). Needs apt-get
# (Debian/Ubuntu) and scikit-image (pip install scikit-image).
#
# The held-out set includes scikit-image's four CC0 / public-domain colour photos
# (chelsea, coffee, astronaut, rocket): uir ships those (uir_cli/data/photos) for
# `uir benchmark --dataset synthetic` and the examples, so they are never trained on.
# The wallpapers are GPL-2+ and are used for training and validation only.
set -euo pipefail
dest=${1:?usage: prepare-photos.sh DEST}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$dest/train" "$dest/val"
(cd "$work" && apt-get download mate-backgrounds plasma-workspace-wallpapers >/dev/null)
for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/root"; done
mate="$work/root/usr/share/backgrounds/mate/nature"
plasma="$work/root/usr/share/wallpapers"

for name in Aqua Blinds Dune FreshFlower GreenMeadow LadyBird RainDrops Storm TwoWings Wood YellowFlower; do
  cp "$mate/$name.jpg" "$dest/train/$name.jpg"
done
for name in BytheWater ColdRipple DarkestHour FallenLeaf Grey OneStandsOut summer_1am; do
  cp "$plasma/$name/contents/images/2560x1600.jpg" "$dest/train/$name.jpg"
done
cp "$mate/Garden.jpg" "$dest/val/Garden.jpg"
for name in EveningGlow Path; do
  cp "$plasma/$name/contents/images/2560x1600.jpg" "$dest/val/$name.jpg"
done

skdata=$(python3 -c "import os, skimage; print(os.path.join(os.path.dirname(skimage.__file__), 'data'))")
for name in motorcycle_left.png camera.png brick.png grass.png gravel.png; do
  cp "$skdata/$name" "$dest/train/skimage-$name"
done
for name in chelsea.png coffee.png astronaut.png rocket.jpg; do
  cp "$skdata/$name" "$dest/val/skimage-$name"
done
echo "$(ls "$dest/train" | wc -l) training photos, $(ls "$dest/val" | wc -l) held-out photos in $dest"
