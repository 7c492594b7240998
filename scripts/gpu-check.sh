#!/usr/bin/env bash
# The opencl backend on an NVIDIA GPU in one call: the devices' self-test, the golden cases, and
# `moco-ref bench --backend opencl` beside the same step in PyTorch CUDA (float32, TF32 off and on),
# with the ratios, for the default config and the CIFAR demo's (resnet18 width 64, cifar stem,
# 3x32x32, batch 512, K 4096).
#
#   scripts/gpu-check.sh pack     here: build the jar and pack gpu-pack/ (git-ignored, at most 60 MiB):
#                                 a jlink runtime (runtime.tar.xz), moco-ref.jar, libOpenCL.so.1,
#                                 the float32-held golden cases and the PyTorch side's scripts
#   scripts/gpu-check.sh run      there (a machine with the GPU, its driver, CUDA and PyTorch, maybe no
#                                 Java and no OpenCL loader): runs everything from gpu-pack/, writes an
#                                 ICD file for NVIDIA's OpenCL library when none is installed, prints
#                                 the summary; logs to $OUT (or gpu-pack/out)
#   scripts/gpu-check.sh --local  both, here, on PoCL, with small configs and PyTorch on the CPU: the
#                                 same path end to end (scripts/test.sh runs it after the tests)
#
# The device tool: run `pack` here, then one `run` call with carry ["gpu-pack"] and the command
# `scripts/gpu-check.sh run` (timeout_s 600): it stays within 8 minutes.
set -uo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
pack="${GPU_PACK:-$root/gpu-pack}"
mode="${1:-}"
budget_s=480 # the whole run's deadline: 8 minutes
start_s=$SECONDS

die() { echo "gpu-check: $*" >&2; exit 1; }

# ---- pack (here) ---------------------------------------------------------------------------------

do_pack() {
  local compress="$1"
  command -v jlink >/dev/null && command -v jdeps >/dev/null || die "pack needs a JDK with jlink and jdeps"
  (cd "$root" && mvn -B -q -ntp -DskipTests package 2>&1 | sed -e $'s/\e\\[[0-9;]*m//g' >&2) || die "the build failed"
  local jar="$root/target/moco-ref.jar"
  [[ -f "$jar" ]] || die "no $jar after the build"
  local so1
  so1="$( (ldconfig -p 2>/dev/null || true) | awk '/libOpenCL\.so\.1 / && !found {print $NF; found = 1}')"
  [[ -n "$so1" ]] || die "no libOpenCL.so.1 here to pack: apt-get install ocl-icd-libopencl1"
  rm -rf "$pack" && mkdir -p "$pack/lib" "$pack/cases" "$pack/scripts" "$pack/reference-tests" || die "cannot make $pack"
  # Modules: what jdeps finds, less java.desktop (only train's plots use AWT, and the check does not
  # train: 11 MiB saved), plus java.logging (JOCL logs through it), jdk.unsupported and the Vector API.
  local modules
  modules="$(jdeps --ignore-missing-deps --print-module-deps --multi-release 17 "$jar" 2>/dev/null | tail -1)"
  [[ -n "$modules" ]] || die "jdeps found no modules in $jar"
  modules="$(echo "$modules,java.logging,jdk.unsupported,jdk.incubator.vector" | tr ',' '\n' | grep -v '^java.desktop$' | sort -u | paste -sd,)"
  local tmp
  tmp="$(mktemp -d)"
  # Uncompressed modules and a stripped libjvm: xz then packs the runtime to about a third.
  jlink --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --compress=0 --output "$tmp/jre" 2>&1 \
    | grep -v 'incubator modules' >&2
  [[ -x "$tmp/jre/bin/java" ]] || die "jlink failed"
  strip --strip-unneeded "$tmp/jre/lib/server/libjvm.so" 2>/dev/null || true
  if [[ "$compress" == xz ]]; then
    tar -C "$tmp" -cf - jre | xz -6 -T0 > "$pack/runtime.tar.xz" || die "packing the runtime failed"
  else
    tar -C "$tmp" -czf "$pack/runtime.tar.gz" jre || die "packing the runtime failed"
  fi
  rm -rf "$tmp"
  cp "$jar" "$pack/moco-ref.jar"
  cp -L "$so1" "$pack/lib/libOpenCL.so.1"
  cp -L "$so1" "$pack/lib/libOpenCL.so" # the name JOCL opens
  local c
  for c in "$root"/reference-tests/cases/*/; do
    if grep -q '"held": *true' "$c/case.json"; then cp -r "$c" "$pack/cases/"; fi
  done
  cp "$root/scripts/bench_pytorch.py" "$root/scripts/gpu-check.sh" "$pack/scripts/"
  cp "$root/reference-tests/moco_torch.py" "$pack/reference-tests/"
  {
    echo "moco-ref GPU check pack: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "runtime modules: $modules ($(java -version 2>&1 | head -1))"
    (cd "$pack" && find . -type f -printf '%s %p\n' | sort -k2)
  } > "$pack/MANIFEST.txt"
  local bytes
  bytes="$(du -sb "$pack" | cut -f1)"
  echo "packed $pack: $((bytes / 1048576)) MiB ($modules)"
  ((bytes <= 60 * 1048576)) || die "$pack is $((bytes / 1048576)) MiB, over the 60 MiB limit"
}

# ---- run (there) ---------------------------------------------------------------------------------

left() { echo $((budget_s - (SECONDS - start_s))); }

# Runs a step with what is left of the budget (at most $1 seconds); its output goes to the log.
step() {
  local cap="$1"; shift
  local t
  t="$(left)"
  ((t > cap)) && t=$cap
  if ((t < 10)); then
    echo "gpu-check: no time left for: $*" | tee -a "$log"
    return 124
  fi
  # the whole output to the log; here, all but the golden cases' passing per-tensor lines
  timeout "$t" "$@" 2>&1 | tee -a "$log" | grep -vE '^  [^ ]+ +[0-9.e+-]+ +[0-9.e+-]+ +OK$'
  return "${PIPESTATUS[0]}"
}

field() { python3 -c "import json,sys
for line in sys.stdin:
    line = line.strip()
    if line.startswith('{'):
        v = json.loads(line).get('$1'); print('' if v is None else v); break"; }

do_run() {
  local local_mode="$1"
  [[ -f "$pack/moco-ref.jar" ]] || die "no pack at $pack: run 'scripts/gpu-check.sh pack' first (and carry gpu-pack)"
  local out="${OUT:-$pack/out}"
  mkdir -p "$out" || die "cannot write $out"
  log="$out/gpu-check.log"
  : > "$log"
  local work
  work="$(mktemp -d)"
  if [[ -f "$pack/runtime.tar.xz" ]]; then
    # python3's lzma where there is no xz
    tar -C "$work" -xJf "$pack/runtime.tar.xz" 2>/dev/null \
      || python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$pack/runtime.tar.xz" "$work" \
      || die "cannot unpack the runtime"
  else
    tar -C "$work" -xzf "$pack/runtime.tar.gz" || die "cannot unpack the runtime"
  fi
  local java="$work/jre/bin/java"
  [[ -x "$java" ]] || die "the packed runtime has no bin/java"
  export LD_LIBRARY_PATH="$pack/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

  local python="${PYTHON:-}"
  if [[ -z "$python" ]]; then
    for p in python3 /usr/bin/python3; do
      if "$p" -c "import torch" 2>/dev/null; then python="$p"; break; fi
    done
  fi

  {
    echo "gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
    head -2 "$pack/MANIFEST.txt"
    "$java" -version 2>&1 | head -1
    if command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; fi
    [[ -n "$python" ]] && "$python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
  } 2>&1 | tee -a "$log"

  if [[ "$local_mode" != 1 ]]; then
    # NVIDIA's OpenCL library is part of the driver; the loader finds it through an ICD file
    local icd=""
    for f in /etc/OpenCL/vendors/*.icd; do [[ -f "$f" ]] && grep -qi nvidia "$f" && icd="$f"; done
    if [[ -z "$icd" ]]; then
      local lib
      lib="$( (ldconfig -p 2>/dev/null || true) | awk '/libnvidia-opencl\.so\.1 / && !found {print $NF; found = 1}')"
      if [[ -z "$lib" ]]; then
        for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/cuda/lib64 \
                 /usr/local/cuda/compat /usr/lib/x86_64-linux-gnu/nvidia/current; do
          [[ -e "$d/libnvidia-opencl.so.1" ]] && { lib="$d/libnvidia-opencl.so.1"; break; }
        done
      fi
      [[ -z "$lib" ]] && lib="$(timeout 30 find / -name 'libnvidia-opencl.so.1*' -not -path '/proc/*' 2>/dev/null | head -1)"
      if [[ -n "$lib" ]]; then
        mkdir -p "$work/vendors" && echo "$lib" > "$work/vendors/nvidia.icd"
        export OCL_ICD_VENDORS="$work/vendors"
        echo "OpenCL: no NVIDIA ICD file installed; wrote one for $lib (OCL_ICD_VENDORS=$OCL_ICD_VENDORS)" | tee -a "$log"
      else
        echo "OpenCL: no NVIDIA ICD file and no libnvidia-opencl.so.1 found: the opencl steps will fail" | tee -a "$log"
      fi
    else
      echo "OpenCL: NVIDIA ICD file $icd" | tee -a "$log"
    fi
  fi

  local mr=("$java" -Xss8m --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -jar "$pack/moco-ref.jar")
  local failures=0

  echo "== moco-ref devices" | tee -a "$log"
  step 120 "${mr[@]}" devices || failures=$((failures + 1))
  # the first GPU, where there is one beside other OpenCL devices
  local dev
  dev="$("${mr[@]}" devices --no-self-test 2>/dev/null | awk '/^  device [0-9]+:/ {d = $2; sub(":", "", d)} /^    GPU,/ && !found {print d; found = 1}')"
  [[ -z "$dev" ]] && dev=0
  echo "OpenCL device for the checks: $dev" | tee -a "$log"

  echo "== golden cases on opencl" | tee -a "$log"
  step 150 "${mr[@]}" golden verify "$pack"/cases/* --backend opencl --cl-device "$dev" || failures=$((failures + 1))
  if [[ "$local_mode" == 1 ]]; then
    echo "== golden cases on opencl, two sub-devices" | tee -a "$log"
    step 150 "${mr[@]}" golden verify "$pack"/cases/* --backend opencl --cl-devices split:2 --cl-device "$dev" || failures=$((failures + 1))
  fi

  # name | moco-ref bench and bench_pytorch.py options (the same flags) | steps | warmup
  local configs
  if [[ "$local_mode" == 1 ]]; then
    configs=("default-shaped|--width 4 --batch-size 32 --moco-k 256|2|1"
             "cifar-shaped|--width 8 --in-channels 3 --image-size 32 --batch-size 32 --moco-k 256|2|1")
  else
    configs=("default|--width 16 --in-channels 1 --image-size 28 --batch-size 256 --moco-k 4096|20|3"
             "cifar demo|--width 64 --in-channels 3 --image-size 32 --batch-size 512 --moco-k 4096|10|3")
  fi
  local torch_device=cuda
  [[ "$local_mode" == 1 ]] && torch_device=cpu
  local summary="$out/summary.txt" json="$out/summary.json"
  printf '%-16s %14s %16s %16s %10s %10s\n' config opencl/s "pytorch fp32/s" "pytorch tf32/s" "vs fp32" "vs tf32" > "$summary"
  echo "[" > "$json"
  local first=1
  for c in "${configs[@]}"; do
    IFS='|' read -r name opts steps warmup <<< "$c"
    # shellcheck disable=SC2086
    echo "== bench $name: $opts" | tee -a "$log"
    local m p32 p16
    # shellcheck disable=SC2086
    m="$(step 150 "${mr[@]}" bench --backend opencl --cl-device "$dev" --json --steps "$steps" --warmup "$warmup" $opts | grep '^{')" || failures=$((failures + 1))
    p32=""; p16=""
    if [[ -n "$python" ]]; then
      # shellcheck disable=SC2086
      p32="$(step 120 "$python" "$pack/scripts/bench_pytorch.py" --device "$torch_device" --steps "$steps" --warmup "$warmup" --threads "$(nproc)" $opts | grep '^{')"
      # shellcheck disable=SC2086
      p16="$(step 120 "$python" "$pack/scripts/bench_pytorch.py" --device "$torch_device" --tf32 --steps "$steps" --warmup "$warmup" --threads "$(nproc)" $opts | grep '^{')"
    else
      echo "no python3 with torch: the PyTorch side is skipped" | tee -a "$log"
    fi
    # where the opencl step's time goes, per kernel (each kernel waited for: slower than the bench)
    # shellcheck disable=SC2086
    step 90 "$java" -Dmocoref.opencl.profile=true -Xss8m --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
      -jar "$pack/moco-ref.jar" bench --backend opencl --cl-device "$dev" --steps 2 --warmup 1 $opts > /dev/null
    local mi pi ti
    mi="$(field images_per_s <<< "$m")"; pi="$(field images_per_s <<< "$p32")"; ti="$(field images_per_s <<< "$p16")"
    ratio() { [[ -n "$1" && -n "$2" ]] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "" }'; }
    printf '%-16s %14s %16s %16s %10s %10s\n' "$name" "${mi:--}" "${pi:--}" "${ti:--}" "$(ratio "$mi" "$pi")" "$(ratio "$mi" "$ti")" >> "$summary"
    ((first)) || echo "," >> "$json"
    first=0
    printf '{"config": "%s", "options": "%s", "opencl": %s, "pytorch_fp32": %s, "pytorch_tf32": %s}\n' "$name" "$opts" \
      "${m:-null}" "${p32:-null}" "${p16:-null}" >> "$json"
  done
  echo "]" >> "$json"
  echo "== summary (images/s, median step; ratio = opencl / PyTorch; target >= 0.5 vs fp32 on an H100/H200)" | tee -a "$log"
  tee -a "$log" < "$summary"
  echo "gpu-check: $failures failed steps, $((SECONDS - start_s)) s; logs in $out" | tee -a "$log"
  rm -rf "$work"
  ((failures == 0))
}

case "$mode" in
  pack) do_pack xz ;;
  run) do_run 0 ;;
  --local)
    # PoCL here: the packed runtime, jar and loader, on the system's ICD; gzip, which packs faster
    do_pack gz && do_run 1 ;;
  *) echo "usage: scripts/gpu-check.sh pack | run | --local" >&2; exit 2 ;;
esac
