#!/usr/bin/env bash
# The test command: unit tests, librdkafka mock-cluster tests, and integration tests against a real
# Kafka-protocol broker started here through the project's own launcher (scripts/kafka-local.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh

# Formatting first: the toolchain's `swift format` with the checked-in .swift-format.
scripts/format.sh --check

# A broker of its own (port, data dir), so tests never touch a demo's or a developer's broker.
export KAFKA_PORT="${STREAMREC_TEST_KAFKA_PORT:-19092}"
export BROKER_HOME="${STREAMREC_TEST_BROKER_HOME:-${TMPDIR:-/tmp}/streamrec-test-broker}"
scripts/kafka-local.sh reset >/dev/null 2>&1 || true
scripts/kafka-local.sh start
trap 'scripts/kafka-local.sh stop' EXIT

# The serve integration tests run the `streamrec` executable as a child process (kill -9, SIGTERM).
swift build
STREAMREC_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" STREAMREC_REQUIRE_BROKER=1 swift test "$@"
