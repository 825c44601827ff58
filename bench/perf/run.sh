#!/usr/bin/env bash
# Side-by-side training benchmark: TuneSharp's trainer vs an HF-Trainer-like PyTorch eager loop (docs/performance.md).
#   bench/perf/run.sh                      default matrix (~25 min on 2 cores)
#   bench/perf/run.sh --matrix full        every row
#   bench/perf/run.sh --rows smol-lora-bf16-512 --steps 2 --warmup 1 --repeats 1
#   ... --json path.json --write-doc       results as JSON / into docs/performance.md
set -euo pipefail
cd "$(dirname "$0")/../.."

# The PyTorch baseline needs Debian's PyTorch and OpenBLAS (without libopenblas0-openmp it uses the reference BLAS).
missing=()
for pkg in python3-torch python3-numpy libopenblas0-openmp; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi

dotnet build -c Release bench/TuneSharp.Bench.Train -v quiet -nologo >&2
exec dotnet bench/TuneSharp.Bench.Train/bin/Release/net10.0/TuneSharp.Bench.Train.dll "$@"
