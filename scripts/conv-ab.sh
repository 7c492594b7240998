#!/usr/bin/env bash
# Two builds of the cpu device timed side by side in one JVM (mocoref.cpu.ConvAB): a convolution's
# three passes, or whole MoCo steps, on several copies of each build in turn, round after round.
# Changes of a few percent that separate runs bury in the VM's drift show in the per-round ratios.
#
#   scripts/conv-ab.sh [--avx2] DIR_A[,prop=value...] DIR_B[,prop=value...] in out k stride size batch threads rounds
#   scripts/conv-ab.sh [--avx2] DIR_A DIR_B step width threads batch rounds
#
# DIR_A and DIR_B are built project roots (mvn -DskipTests package in each); the probes come from this
# checkout's test classes and must compile against both. -Dab.copies=N in MOCOREF_AB_OPTS sets the
# copies per build (4; 2 is plenty for steps, which need heap for 4 models: -Xmx20g).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
isa=()
if [[ "${1:-}" == "--avx2" ]]; then isa=(-XX:UseAVX=2); shift; fi
(cd "$root" && mvn -q -B -DskipTests test-compile && mvn -q -B dependency:build-classpath -Dmdep.outputFile=target/classpath.txt) >&2
cd "$root"
# the launcher's kernel flags (see moco-ref and layers-vs-pytorch.sh)
exec java -XX:+UseSerialGC -XX:ObjectAlignmentInBytes=64 -XX:CompileCommand=quiet '-XX:CompileCommand=exclude,mocoref.cpu.CpuConv2d::<init>' \
  ${isa[@]+"${isa[@]}"} ${MOCOREF_AB_OPTS:-} --add-modules jdk.incubator.vector -Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0 \
  -cp "target/classes:target/test-classes:$(cat target/classpath.txt)" mocoref.cpu.ConvAB "$@"
