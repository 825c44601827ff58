#!/usr/bin/env bash
# How close the banner's time and memory estimates come: every example config runs on stories260K (the local
# fixture instead of its hub model) for STEPS steps, then estimate vs measured is read from each summary.json.
# Run it alone on a quiet machine: bash bench/estimates/run.sh [steps] [extra overrides...]
set -euo pipefail
cd "$(dirname "$0")/../.."
steps="${1:-40}"; shift || true
fixtures="${TUNESHARP_FIXTURES:-../shared/fixtures}"
model="$(realpath "$fixtures/models/stories260K-hf")"
dotnet build src/TuneSharp.Cli -c Release -v q -nologo >/dev/null
cli="src/TuneSharp.Cli/bin/Release/net10.0/tunesharp.dll"
out="$(mktemp -d)"
printf '%-16s %10s %10s %7s %10s %10s %7s\n' config est_s real_s ratio est_MiB peak_MiB ratio
for cfg in examples/*.yaml; do
  name="$(basename "$cfg" .yaml)"
  dotnet "$cli" train "$cfg" "model.path=$model" "train.max_steps=$steps" train.epochs=null schedule.warmup_steps=null \
    "output.dir=$out/$name" logging.progress=none "$@" >"$out/$name.log" 2>&1 || { echo "$name: failed, see $out/$name.log"; continue; }
  python3 - "$out/$name/summary.json" "$name" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["estimate_vs_measured"]
t, m = e["seconds"], e["peak_memory_bytes"]
print(f'{sys.argv[2]:<16} {t["estimated"]:10.1f} {t["measured"]:10.1f} {t["ratio"]:7.2f} '
      f'{m["estimated"]/2**20:10.0f} {m["measured"]/2**20:10.0f} {m["ratio"]:7.2f}')
PY
done
rm -rf "$out"
