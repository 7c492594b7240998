#!/usr/bin/env bash
# The project's test command: makes sure the system packages the build and the OpenCL tests need
# are there (installing them when running as root), then runs the whole Maven build with its tests.
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"

installed() {
  dpkg -s "$1" >/dev/null 2>&1
}

missing_packages() {
  local p
  # ocl-icd-opencl-dev: the loader under the name the OpenCL binding (JOCL) opens, libOpenCL.so
  for p in maven pocl-opencl-icd ocl-icd-libopencl1 ocl-icd-opencl-dev clinfo; do
    installed "$p" || echo "$p"
  done
  # Any JDK 17 will do; default-jdk-headless is what gets installed when there is none.
  for p in default-jdk-headless default-jdk openjdk-17-jdk-headless openjdk-17-jdk temurin-17-jdk; do
    installed "$p" && return 0
  done
  echo default-jdk-headless
}

if command -v dpkg >/dev/null 2>&1; then
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} > 0)); then
    if [[ "$(id -u)" -eq 0 ]]; then
      echo "test.sh: installing ${missing[*]}" >&2
      apt-get update
      DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
    else
      # Not root: say what is missing and try anyway; the build may still pass without OpenCL.
      echo "test.sh: missing packages: ${missing[*]} (install: sudo apt-get install -y ${missing[*]})" >&2
    fi
  fi
else
  echo "test.sh: no dpkg; make sure Maven, a JDK 17+ and an OpenCL ICD (e.g. PoCL) are installed" >&2
fi

# Without ocl-icd-opencl-dev (not root), link the runtime's libOpenCL.so.1 as libOpenCL.so for the tests.
ldcache="$(ldconfig -p 2>/dev/null || true)"
if [[ "$ldcache" != *"libOpenCL.so "* ]]; then
  so1="$(awk '/libOpenCL\.so\.1 / && !found {print $NF; found = 1}' <<< "$ldcache")"
  if [[ -n "$so1" ]]; then
    mkdir -p "${TMPDIR:-/tmp}/moco-ref-opencl-loader-$(id -u)" && ln -sf "$so1" "${TMPDIR:-/tmp}/moco-ref-opencl-loader-$(id -u)/libOpenCL.so"
    export LD_LIBRARY_PATH="${TMPDIR:-/tmp}/moco-ref-opencl-loader-$(id -u)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
fi

cd "$root"
mvn -B -ntp verify "$@"
# The GPU check's whole path (pack a runtime, the jar and the loader; self-test, golden cases and
# benchmarks from the pack), here on PoCL with small configs: about a minute and a half.
scripts/gpu-check.sh --local
