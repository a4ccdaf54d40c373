#!/usr/bin/env bash
# Coordinate images (issue 13): the sub-gallery gallery/fields/ (index.html + pieces/).
#   python bench/fields.py ...; python bench/fields_zoom.py ...   (the runs it shows)
#   bash gallery/build_fields.sh                                     (from the repository root)
# Shows, side by side with pixels at the same CPU budget: hash grids, CPPNs with Fourier
# features and photo pre-fit, the faithful CPPN; a seamless hash-grid tile shown 2x2; the
# zoom-trained hash grid's 7680x4320 render (preview + full-resolution crop) and a zoom GIF.
set -euo pipefail
cd "$(dirname "$0")/.."
IMG=${IMG:-../shared/images}
BENCH=${BENCH:-outputs/bench_fields}
RUNS=${RUNS:-gallery_runs/5-fields}
[ -d "$BENCH" ] || { echo "gallery/build_fields.sh: run bench/fields.py first ($BENCH)" >&2; exit 2; }
rm -rf "$RUNS" && mkdir -p "$RUNS"
i=0
for name in texture_pixel texture_fft texture_hashgrid texture_cppn+ff texture_cppn texture_fourier_cppn \
            transfer_pixel transfer_fft transfer_hashgrid transfer_cppn+ff transfer_cppn transfer_fourier_cppn; do
  src=$(ls -d "$BENCH/${name}_${FIELDS_SIZE:-256}px_"*s 2>/dev/null | head -1) || true
  [ -n "$src" ] && [ -f "$src/final.png" ] || continue
  i=$((i + 1)); dest=$RUNS/$(printf %02d $i)-$name
  mkdir -p "$dest" && cp -r "$src"/{final.png,timelapse.gif,losses.png,run.json,inputs} "$dest"/ 2>/dev/null || true
done

# a seamless tile: torus coordinates, rendered 2 x 2
if [ -n "${TILE:-}" ]; then  # reuse a finished periodic run
  cp -r "$TILE" $RUNS/20-seamless_tile
else
  paramart param=hashgrid param.periodic=true objective=texture style=$IMG/starry_night.jpg optim=adam optim.lr=0.01 \
    size=128 steps=${TILE_STEPS:-150} progress=false timelapse.frames=16 hydra.run.dir=$RUNS/20-seamless_tile
fi
rm -f $RUNS/20-seamless_tile/render_*.png
paramart-render run=$RUNS/20-seamless_tile repeat=2 progress=false

# the zoom-trained hash grid: its 8K render and a zoom into it
zoom=$(ls -d "$BENCH"/texture_hashgrid+zoom_* | head -1)
mkdir -p $RUNS/30-zoom && cp -r "$zoom"/{final.png,timelapse.gif,losses.png,run.json,inputs,checkpoint.pt} $RUNS/30-zoom/
if [ -f "$zoom"_8k.png ]; then
  cp "$zoom"_8k.png $RUNS/30-zoom/render_7680x4320.png
else  # no whole 8K render: its centre 512 px, exactly as the whole render has them
  python -c "
from paramart.io.images import to_pil
from paramart.runner.checkpoint import param_from_checkpoint
p = param_from_checkpoint('$RUNS/30-zoom').eval()
to_pil(p.render_region((4320, 7680), 1904, 3584, 512, 512)).save('$RUNS/30-zoom/render_8k_centre_512.png')"
fi
paramart-render run=$RUNS/30-zoom width=${ZOOM_SIZE:-192} zoom.to=32 zoom.frames=${ZOOM_FRAMES:-24} zoom.fps=8 \
  zoom.center=[0.37,0.41] out=$RUNS/30-zoom/zoom_${ZOOM_SIZE:-192}.gif progress=false

paramart-gallery runs=$RUNS out=gallery/fields title="paramart: coordinate images" \
  "intro='Hash grids, CPPNs with Fourier features and photo pre-fit, the faithful CPPN and Fourier-CPPN, next to pixels and FFT at the same CPU budget (bench/fields.py, 256 px, 180 CPU-seconds); a seamless tile shown 2x2; a zoom-trained hash grid rendered at 7680x4320, and a zoom into it. Inputs: public-domain paintings and CC0 photos.'"
