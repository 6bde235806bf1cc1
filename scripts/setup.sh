#!/usr/bin/env bash
# Installs what streamrec needs from Debian's packages when missing: librdkafka-dev (the Kafka client
# library), kcat (broker readiness checks, demos), python3 + pip (the broker launcher downloads the
# noida-db wheel from PyPI), prometheus (its promtool checks and unit-tests deploy/prometheus/alerts.yaml).
# Swift itself is expected on PATH (or at /opt/swift/usr/bin).
set -euo pipefail
need=()
pkg-config --exists rdkafka 2>/dev/null || need+=(librdkafka-dev pkg-config)
command -v kcat >/dev/null 2>&1 || need+=(kcat)
command -v python3 >/dev/null 2>&1 || need+=(python3 python3-pip)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
if [ ${#need[@]} -gt 0 ]; then
  echo "[setup] installing: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    echo "[setup] add /opt/swift/usr/bin to PATH" >&2
  else
    echo "[setup] swift not found: install a Swift 6.1+ toolchain" >&2
  fi
  exit 1
fi
