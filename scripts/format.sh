#!/usr/bin/env bash
# Formats the Swift sources with the toolchain's `swift format` and the checked-in .swift-format;
# `--check` only reports (non-zero exit on any difference), as CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
paths=(Package.swift Sources Tests bench/StreamRecBench)
if [ "${1:-}" = "--check" ]; then
  swift format lint --strict --recursive --parallel "${paths[@]}"
else
  swift format format --in-place --recursive --parallel "${paths[@]}"
fi
