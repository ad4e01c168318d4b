#!/usr/bin/env bash
# The GPU checks in one command on a GPU machine: the test suite with its device-aware tests on CUDA, the
# GPU-marked claim mathl2o.beats-gd.fig4a on CUDA, and the Math-L2O training-step benchmark at both scales
# (ours, and the authors' code when a prepared copy travels in .theirs/, see benchmarks/prepare_theirs.sh).
#
# On the device machine, from the repository root (its python3 holds torch with CUDA and every dependency):
#     bash benchmarks/gpu_session.sh                 # with the prepared .theirs/ copied beside the checkout
# Outputs go to $OUT (default /tmp/gpu-session) as at most 8 flat files.
# DEVICE=cpu runs the same steps on a CPU (a dry run: the claim is then skipped). FIG4A_BUDGET=full runs the
# authors' 5000 SGD steps instead of the quick 300. TESTS=0 leaves out the tests, SCALES="fig5" the Fig. 4a
# benchmark (the authors' code needs > 20 GB there).
set -uo pipefail
OUT=${OUT:-/tmp/gpu-session}
DEVICE=${DEVICE:-cuda}
FIG4A_BUDGET=${FIG4A_BUDGET:-quick}
TESTS=${TESTS:-1}
SCALES=${SCALES:-fig4a fig5}
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d)
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1

"$PYTHON" -c "import platform, torch; print(platform.node(), 'torch', torch.__version__, 'CUDA device:',
torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)" 2>&1 | tee "$OUT/environment.txt"

if [ "$TESTS" = 1 ]; then
    "$PYTHON" -m pytest -q -p no:cacheprovider --device "$DEVICE" 2>&1 | tee "$OUT/tests.log"
fi

"$PYTHON" -m verify run mathl2o.beats-gd.fig4a --budget "$FIG4A_BUDGET" --device "$DEVICE" --out "$WORK/fig4a" \
    2>&1 | tee "$OUT/fig4a.log"
cp "$WORK/fig4a/report.md" "$OUT/fig4a_report.md"
cp "$WORK/fig4a/results.json" "$OUT/fig4a_results.json"
find "$WORK/fig4a/figures" -name '*.png' -exec cp {} "$OUT/fig4a_loss_curves.png" \; 2>/dev/null

if [ -d .theirs ]; then theirs=(--theirs .theirs); else theirs=(--ours-only); fi
for scale in $SCALES; do
    "$PYTHON" benchmarks/mathl2o_train_step.py --device "$DEVICE" --scale "$scale" --repeats 5 "${theirs[@]}" \
        2>&1 | tee "$OUT/benchmark_$scale.log"
done
rm -rf "$WORK"
