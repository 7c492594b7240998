#!/usr/bin/env bash
# The recipe study of docs/learning.md: every row of ROWS (lines "name<TAB>options", # comments)
# is one `moco-ref train` with those options, run one after the other (never two at once: the
# rows are timed), each in OUT/<name>; a row already finished (final.json) is not run again, so
# the study resumes where it stopped. OUT/results.csv gets one line a row: its options, wall
# seconds (the whole command: data, epochs, monitor, final kNN and linear probe), the epochs'
# seconds (steps and the monitor between them), kNN top-1, and the linear probe's top-1 with the
# lr and wd it chose.
#
#   scripts/recipe-study.sh OUT ROWS          e.g. scripts/recipe-study.sh runs/recipe docs/learning/screen.tsv
#
# MOCOREF_JAR picks a built jar (default target/moco-ref.jar), so that a rebuild does not change
# the jar under a running study.
set -euo pipefail
out="$1"; rows="$2"
jar="${MOCOREF_JAR:-$(dirname "$0")/../target/moco-ref.jar}"
mkdir -p "$out"
csv="$out/results.csv"
[[ -f "$csv" ]] || echo "name,options,wall_s,epochs_s,knn_top1,linear_top1,linear_lr,linear_wd" > "$csv"
grep -vE '^\s*(#|$)' "$rows" | while IFS=$'\t' read -r name options; do
  dir="$out/$name"
  if [[ -f "$dir/final.json" ]]; then echo "$name: done before, skipped"; continue; fi
  rm -rf "$dir"
  echo "$(date +%H:%M:%S) $name: moco-ref train $options"
  start=$(date +%s.%N)
  # shellcheck disable=SC2086 # the options are words
  java -Xss8m --add-modules jdk.incubator.vector -jar "$jar" train $options --out "$dir" > "$out/$name.log" 2>&1 \
    || { echo "$name: failed, see $out/$name.log"; continue; }
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  python3 - "$dir" "$name" "$options" "$wall" >> "$csv" <<'PY'
import json, sys
d, name, options, wall = sys.argv[1:]
final = json.load(open(d + "/final.json"))
epochs_s = sum(json.loads(l).get("epoch_s", 0) for l in open(d + "/metrics.jsonl"))
print(f'{name},"{options}",{float(wall):.0f},{epochs_s:.0f},{100*final["knn_top1"]:.2f},{100*final["linear_top1"]:.2f},'
      f'{final["linear_lr"]},{final["linear_wd"]}')
PY
  tail -1 "$csv"
done
