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
export STREAMREC_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" STREAMREC_REQUIRE_BROKER=1
if [ $# -gt 0 ]; then swift test "$@"; exit 0; fi
# Suites that run serve learners against the one local broker go one at a time: run in parallel they
# join many consumer groups at once, and noida-db then sometimes leaves a fresh group without an
# assignment for minutes (Kafka does not; the tests would be correct either way, only slower).
broker_suites='BrokerIntegrationTests|BrokerRestartTests|BrokerOutageTests|ChangelogBrokerTests|ChangelogRestoreBench'
broker_suites+='|CommandConfigTests|ItemSyncBrokerTests|LostPartitionBrokerTests|RemoteListBrokerTests'
broker_suites+='|ScaleOutIntegrationTests|ServeHardeningIntegrationTests|ServeIntegrationTests|UntrustedRecordsBrokerTests'
swift test --skip "$broker_suites"
swift test --skip-build --no-parallel --filter "$broker_suites"
