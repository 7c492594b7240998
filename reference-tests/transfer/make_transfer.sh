#!/usr/bin/env bash
# Regenerates the transfer-test files, in order: the moco-ref checkpoint (Java), its export
# (moco-ref export), then PyTorch's side (make_transfer.py). Run from anywhere; each step is
# seeded, so a rerun rewrites the same bytes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
mvn -B -q -DskipTests package test-compile
java -cp target/moco-ref.jar:target/test-classes mocoref.eval.MakeTransferCheckpoint \
    reference-tests/transfer/mocoref_checkpoint.safetensors
java --add-modules jdk.incubator.vector -jar target/moco-ref.jar export \
    --checkpoint reference-tests/transfer/mocoref_checkpoint.safetensors \
    --out reference-tests/transfer/mocoref_backbone.safetensors
/usr/bin/python3 reference-tests/transfer/make_transfer.py
