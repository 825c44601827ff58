#!/usr/bin/env bash
# Regenerates tests/fixtures/ollama/go-template-expected.json with the real Go text/template (Debian's golang-go).
# Run from the repository root after changing engine-cases.json or a ChatFormat (first refresh format-cases.json:
#   TUNESHARP_WRITE_OLLAMA_CASES=1 dotnet test tests/TuneSharp.Export.Tests --filter "FullyQualifiedName~GoTemplateFixtureTests").
# CI never runs this: the tests only read the committed fixture.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v go >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq golang-go
fi
mkdir -p ../../tests/fixtures/ollama
export GOCACHE="${GOCACHE:-$(mktemp -d)}" GO111MODULE=off
go run render.go engine-cases.json format-cases.json > ../../tests/fixtures/ollama/go-template-expected.json
echo "wrote tests/fixtures/ollama/go-template-expected.json ($(go version))"
