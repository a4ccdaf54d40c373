#!/usr/bin/env bash
# Rebuild the curated gallery: bash gallery/build.sh   (from the repository root)
#
# Runs the sweeps below into gallery_runs/ (scratch, git-ignored), then builds the static
# site gallery/index.html + gallery/pieces/ from them. The inputs are the public-domain
# paintings and CC0 photos of ../shared/images (see its MANIFEST.md); only outputs are
# committed. About 12 minutes on 2 CPU cores (venv activated); SIZE=512 STEPS=300 for a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
IMG=${IMG:-../shared/images}
SIZE=${SIZE:-192}
STEPS=${STEPS:-120}
TEXSIZE=${TEXSIZE:-128}
RUNS=${RUNS:-gallery_runs}
[ -d "$IMG" ] || { echo "gallery/build.sh: $IMG not found (the shared public-domain images)" >&2; exit 2; }
rm -rf "$RUNS"
common=(size=$SIZE steps=$STEPS progress=false seed=0 content=$IMG/chelsea_cat.png)
paintings=$IMG/starry_night.jpg,$IMG/great_wave_off_kanagawa.jpg,$IMG/the_scream.jpg

# 1. every parameterization on three paintings (Adam; each its own learning rate)
# (the CPPN with 128 Fourier features and the photo pre-fit, and the Fourier-CPPN over a global
#  spectrum that starts as the photo: the defaults since issue 23; pieces 009-011)
for p in "a pixel 0.1" "b fft 0.05" "c cppn 0.01 param.fourier_features=128" "d fourier_cppn 0.005" \
         "e hashgrid 0.01"; do
  set -- $p
  paramart -m "${common[@]}" param=$2 optim=adam optim.lr=$3 style=$paintings "${@:4}" \
    hydra.sweep.dir=$RUNS/1-params/$1-$2
done

# 2. texture synthesis from a photo, from noise of three grain sizes
paramart -m experiment=texture size=$TEXSIZE steps=$STEPS progress=false style=$IMG/texture_gravel.png,$IMG/composition_vii.jpg \
  param.grain=1,8,30 hydra.sweep.dir=$RUNS/2-texture

# 3. artists' techniques: two styles placed by masks, colour preservation, a dream
paramart experiment=masked_styles "${common[@]}" \
  "style=[$IMG/starry_night.jpg,$IMG/great_wave_off_kanagawa.jpg]" hydra.run.dir=$RUNS/3-techniques/masked
paramart experiment=preserve_color "${common[@]}" style=$IMG/the_scream.jpg \
  hydra.run.dir=$RUNS/3-techniques/preserve_color
paramart experiment=dream "${common[@]}" hydra.run.dir=$RUNS/3-techniques/dream

# 4. a zoom-trained hash grid learned at 128 px, rendered at 3840x2160 (a crop of it goes in the
#    gallery): every step also scores one crop at up to 32x zoom, so the large render has texture
paramart param=hashgrid objective=texture optim=adam optim.lr=0.01 size=128 steps=200 progress=false \
  param.finest=4096 "zoom.levels=[1,2,4,8,16,32]" style=$IMG/starry_night.jpg hydra.run.dir=$RUNS/4-hashgrid-zoom
paramart-render run=$RUNS/4-hashgrid-zoom width=3840 height=2160 out=$RUNS/4-hashgrid-zoom/render_3840x2160.png

# 5. the city clip (../shared/videos) in two styles beside the original (issue #20): frame by frame
#    with optical flow, 16 frames from 4.2 s (the scene cut included), 128 px
CLIP=${CLIP:-../shared/videos/city_night.mpg}
#    The Great Wave with content weight 100: at 128 px with the default 1 its composition (the wave
#    and its foam) replaces the dark, low-contrast city (looked at: the same with weight 5)
for s in starry_night great_wave_off_kanagawa; do
  extra=(); [ "$s" = great_wave_off_kanagawa ] && extra=(objective.content.weight=100)
  paramart content=$CLIP style=$IMG/$s.jpg size=128 steps=40 video.start=4.2 video.frames=16 "${extra[@]}" \
    video.side_by_side=true video.mp4=false progress=false seed=0 hydra.run.dir=$RUNS/5-video/$s
done
#    and the same clip as one field (video.method=field: per shot a canonical hash-grid image moved
#    along the input's flow, 300 Adam steps of one frame)
paramart content=$CLIP style=$IMG/starry_night.jpg size=128 steps=300 video.start=4.2 video.frames=16 \
  video.method=field param=hashgrid optim=adam optim.lr=0.01 video.side_by_side=true video.mp4=false \
  progress=false seed=0 hydra.run.dir=$RUNS/5-video/starry_night_field
paramart-gallery runs=$RUNS/5-video out=gallery/video title="paramart video" \
  "intro='The city clip (the Kivy CC0 example video, see ../shared/videos/MANIFEST.md), 16 frames with a scene cut, at 128 px: frame by frame with optical flow (video.method=frames, the input on the left) and as one field (video.method=field: per shot a canonical hash-grid image moved along the input flow).'"

paramart-gallery runs=$RUNS out=gallery title="paramart gallery" \
  "intro='Style transfer, texture synthesis and feature visualisation through five image parameterizations (pixels, Fourier, CPPN with Fourier features, Fourier-CPPN, hash grids). Inputs: public-domain paintings and CC0 photos.'"
