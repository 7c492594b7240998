#!/usr/bin/env bash
# Every operation of the MoCo step alone, moco-ref's cpu device beside PyTorch (oneDNN), as a
# markdown table: the per-layer comparison of docs/performance.md.
#
#   scripts/layers-vs-pytorch.sh [--width 16] [--threads 2] [--reps 10] [--isa native|avx2]
#
# moco-ref's rows come from mocoref.float32.LayerTiming (a test class: every distinct convolution
# shape forward, input and weight gradient; BatchNorm+ReLU per geometry; the head; the logits over
# the queue; SGD and the momentum update); scripts/layers_pytorch.py times the same rows with
# PyTorch as its MoCo step runs them. --isa avx2 runs both as on an AVX2 machine: the JVM with
# -XX:UseAVX=2, PyTorch with ATEN_CPU_CAPABILITY=avx2 and ONEDNN_MAX_CPU_ISA=AVX2. The FMA peak
# that "% peak" divides by is measured by LayerTiming in the same JVM (the same ceiling for both
# sides at one instruction set).
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
width=16; threads=2; reps=10; isa=native
while (($#)); do
  case "$1" in
    --width) width="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --isa) isa="$2"; shift 2 ;;
    *) echo "layers-vs-pytorch: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$isa" in
  native) java_isa=(); torch_env=() ;;
  avx2) java_isa=(-XX:UseAVX=2); torch_env=(ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2) ;;
  *) echo "layers-vs-pytorch: --isa: unknown '$isa' (expected native, avx2)" >&2; exit 2 ;;
esac
/usr/bin/python3 -c "import torch, torchvision" 2>/dev/null || { echo "layers-vs-pytorch: needs Debian's python3-torch and python3-torchvision (the encoder comes from torchvision)" >&2; exit 1; }
(cd "$root" && mvn -q -B -DskipTests test-compile && mvn -q -B dependency:build-classpath -Dmdep.outputFile=target/classpath.txt) >&2
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
# the launcher's flags for the kernels (the object alignment: see moco-ref): without the last one the Vector API checks every load's
# bounds itself, on top of the kernels' own checks (docs/performance.md, sixth sitting). The convolution's constructor stays
# interpreted: built once per shape here, it got hot and C2 compiled it on the second core while a layer's reps ran (twentieth sitting)
java -XX:+UseSerialGC -XX:ObjectAlignmentInBytes=64 -Xss8m "${java_isa[@]}" --add-modules jdk.incubator.vector -Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0 \
  -XX:CompileCommand=quiet '-XX:CompileCommand=exclude,mocoref.cpu.CpuConv2d::<init>' \
  -cp "$root/target/classes:$root/target/test-classes:$(cat "$root/target/classpath.txt")" \
  mocoref.float32.LayerTiming cpu "$width" "$threads" "$reps" 2>/dev/null > "$tmp/rows"
env "${torch_env[@]}" /usr/bin/python3 "$root/scripts/layers_pytorch.py" "$tmp/rows" --threads "$threads" --reps "$reps" \
  --width "$width" > "$tmp/joined"
echo "- machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; ISA: $isa; $(java -version 2>&1 | head -1)"
/usr/bin/python3 "$root/scripts/layers_pytorch.py" --table "$tmp/joined"
