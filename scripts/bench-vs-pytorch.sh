#!/usr/bin/env bash
# moco-ref's cpu backend and PyTorch on the same MoCo step, side by side, in one go.
#
#   scripts/bench-vs-pytorch.sh [--widths "16 32 64"] [--rounds 3] [--threads 2] [--steps 20]
#                               [--baseline DIR] [--java-opts "..."] [--isa native|avx2]
#                               [--torch-malloc tuned|default] [-- extra bench options]
#
# For each width it alternates moco-ref and PyTorch runs (--rounds of each, so drift on a noisy
# machine hits both alike), takes the median of each side's per-run medians, and prints both and
# the ratio moco-ref / PyTorch in images/s. With --baseline DIR (another moco-ref checkout, e.g. a
# git worktree of an earlier commit) that build runs too, in the same rotation, for a before/after
# table. --java-opts goes to every moco-ref JVM. --isa avx2 runs both sides as on an AVX2 machine:
# moco-ref with -XX:UseAVX=2 (the Vector API's 256-bit species and its 4x16 tiles), PyTorch with
# ATEN_CPU_CAPABILITY=avx2 and ONEDNN_MAX_CPU_ISA=AVX2 (oneDNN's AVX2 kernels), so that neither side
# uses AVX-512 where the machine has it. PyTorch runs with glibc's malloc tuned to keep freed memory
# (bench_pytorch.py --malloc tuned: PyTorch at its fastest here); --torch-malloc default runs it as it comes.
# Installs python3-torch and python3-torchvision (the step's ResNet comes from torchvision) when missing and root.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
widths="16 32 64"; rounds=3; threads=2; steps=20; warmup=3; baseline=""; java_opts=""; isa=native; torch_malloc=tuned
while (($#)); do
  case "$1" in
    --widths) widths="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --baseline) baseline="$(cd "$2" && pwd)"; shift 2 ;;
    --java-opts) java_opts="$2"; shift 2 ;;
    --isa) isa="$2"; shift 2 ;;
    --torch-malloc) torch_malloc="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "bench-vs-pytorch: unknown option $1" >&2; exit 2 ;;
  esac
done
extra=("$@")
case "$isa" in
  native) torch_env=() ;;
  avx2) java_opts="$java_opts -XX:UseAVX=2"; torch_env=(ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2) ;;
  *) echo "bench-vs-pytorch: --isa: unknown '$isa' (expected native, avx2)" >&2; exit 2 ;;
esac

if ! /usr/bin/python3 -c "import torch, torchvision" 2>/dev/null; then
  if [[ "$(id -u)" -eq 0 ]]; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch python3-torchvision
  else
    echo "bench-vs-pytorch: needs Debian's python3-torch and python3-torchvision (sudo apt-get install -y python3-torch python3-torchvision)" >&2; exit 1
  fi
fi
"$root/moco-ref" --version >/dev/null  # builds the jar first, outside the timings
[[ -n "$baseline" ]] && "$baseline/moco-ref" --version >/dev/null
export MOCOREF_JAVA_OPTS="${MOCOREF_JAVA_OPTS:-} $java_opts"

echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, ISA $isa, PyTorch malloc $torch_malloc, $(java -version 2>&1 | head -1), moco-ref JVM options:${MOCOREF_JAVA_OPTS}"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.stdin.readline())['$1'])"; }
# one moco-ref bench run of the checkout $1 at width $w, as JSON
bench() { "$1/moco-ref" bench --backend cpu --threads "$threads" --width "$w" --steps "$steps" --warmup "$warmup" --json "${extra[@]}"; }

if [[ -n "$baseline" ]]; then
  printf '%-6s %14s %14s %14s %8s %8s %12s %12s %12s\n' width baseline/s moco-ref/s pytorch/s base/pt ratio rss-base rss-mocoref rss-pytorch
else
  printf '%-6s %14s %14s %8s %12s %12s\n' width moco-ref/s pytorch/s ratio rss-mocoref rss-pytorch
fi
for w in $widths; do
  m_ips=(); p_ips=(); m_rss=(); p_rss=(); b_ips=(); b_rss=()
  for ((r = 0; r < rounds; r++)); do
    # with a baseline, the two builds take turns in going first, so that neither always runs right
    # after PyTorch (a fixed order, baseline first, suspected when the baseline led at width 16 in
    # three rotations; it led in the fourth, alternating, too: short width-16 runs spread by 4%)
    if [[ -n "$baseline" && $((r % 2)) -eq 1 ]]; then m=$(bench "$root"); fi
    if [[ -n "$baseline" ]]; then
      b=$(bench "$baseline")
      b_ips+=("$(field images_per_s <<<"$b")"); b_rss+=("$(field peak_rss_mib <<<"$b")")
    fi
    if [[ -z "$baseline" || $((r % 2)) -eq 0 ]]; then m=$(bench "$root"); fi
    p=$(env "${torch_env[@]}" /usr/bin/python3 "$root/scripts/bench_pytorch.py" --malloc "$torch_malloc" --threads "$threads" --width "$w" --steps "$steps" --warmup "$warmup" "${extra[@]}")
    m_ips+=("$(field images_per_s <<<"$m")"); p_ips+=("$(field images_per_s <<<"$p")")
    m_rss+=("$(field peak_rss_mib <<<"$m")"); p_rss+=("$(field peak_rss_mib <<<"$p")")
  done
  mi=$(printf '%s\n' "${m_ips[@]}" | median); pi=$(printf '%s\n' "${p_ips[@]}" | median)
  mr=$(printf '%s\n' "${m_rss[@]}" | median); pr=$(printf '%s\n' "${p_rss[@]}" | median)
  if [[ -n "$baseline" ]]; then
    bi=$(printf '%s\n' "${b_ips[@]}" | median); br=$(printf '%s\n' "${b_rss[@]}" | median)
    printf '%-6s %14s %14s %14s %8.2f %8.2f %12s %12s %12s\n' "$w" "$bi" "$mi" "$pi" "$(awk -v a="$bi" -v b="$pi" 'BEGIN {print a/b}')" \
      "$(awk -v a="$mi" -v b="$pi" 'BEGIN {print a/b}')" "$br" "$mr" "$pr"
  else
    printf '%-6s %14s %14s %8.2f %12s %12s\n' "$w" "$mi" "$pi" "$(awk -v a="$mi" -v b="$pi" 'BEGIN {print a/b}')" "$mr" "$pr"
  fi
done
