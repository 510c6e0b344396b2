#!/usr/bin/env bash
# Rebuild the shipped detector model (src/cameoguard/detection/models/face_cnn.onnx + card)
# from ../shared/data with the project's own commands: synthetic face swaps, then training.
# Usage: scripts/train_builtin_detector.sh [WORK_DIR]   (about 5 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
SHARED="${SHARED_DATA:-../shared/data}"
WORK="${1:-$(mktemp -d)}"
OUT=src/cameoguard/detection/models/face_cnn.onnx
if [ ! -d "$SHARED/real_fake" ]; then
    echo "error: the shared test data is not at $SHARED (set SHARED_DATA=...)" >&2
    exit 2
fi
export CAMEOGUARD_DATA_DIR="$WORK/data"   # its watermark key marks the synthetic pairs
.venv/bin/cameoguard detect synth "$WORK/synthetic" \
    --people "$SHARED/faces/face_recognition" --people "$SHARED/faces/faceapi_js" \
    --people "$SHARED/real_fake/videos/ffpp/original" --exclude multi_face \
    --fakes-per-target 2 --video-seconds 6
.venv/bin/cameoguard detect train \
    --dataset csv --root "$WORK/synthetic" --dataset csv --root "$SHARED/real_fake/labels.csv" \
    --detector face_cnn --param epochs=20 --param self_blend=1 --frames 32 \
    --cache "$WORK/crops" -o "$OUT"
echo "==> wrote $OUT and its card; run the reproduction test: ./scripts/test.sh -k builtin"
