#!/usr/bin/env bash
# scripts/deps.sh — installs the Debian 12 packages cowcat needs, only those
# missing. Idempotent: with everything present it runs no apt-get at all.
#   scripts/deps.sh            build + test dependencies
#   scripts/deps.sh --bench    also the benchmark tools
set -euo pipefail

pkgs=(build-essential cmake pkg-config
      libxxhash-dev libcriterion-dev
      libck-dev liburcu-dev libprotobuf-c-dev protobuf-c-compiler libpg-query-dev
      libssl-dev libpq-dev postgresql-client libsqlite3-dev)
if [ "${1:-}" = "--bench" ]; then
  pkgs+=(hyperfine postgresql-15)   # postgresql-15: ddl_bench's postgres target
fi
if [ "${1:-}" = "--fuzz" ]; then
  pkgs+=(clang-14 libfuzzer-14-dev)  # tests/fuzz: the libFuzzer build
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
