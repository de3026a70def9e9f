#!/usr/bin/env bash
# The contract suite as CI runs it: the built binary serves the mock in its own process, and
# `idvmock contract` checks it on every region, writing a JUnit report. A second mock serves a
# deliberately broken scenario, and the suite must fail on it (exit 1) naming the rules.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib.sh
bin="$work/idvmock"

# serve PORT ARGS...: start a mock and wait until it answers.
serve() {
  local port=$1; shift
  "$bin" serve --addr "127.0.0.1:$port" "$@" >"$work/serve-$port.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do
    if "$bin" health --addr "127.0.0.1:$port" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "the mock on port $port did not start:"; cat "$work/serve-$port.log"; exit 1
}

serve 18090
report=${CONTRACT_REPORT:-$work/report.xml}
"$bin" contract --target http://127.0.0.1:18090 --region all --report junit --out "$report"
tests=$(grep -o '<testsuites [^>]*' "$report" | grep -o ' tests="[0-9]*"' | grep -o '[0-9]*')
suites=$(grep -c '<testsuite ' "$report")
echo "PASS: contract suite against the mock: exit 0, $tests cases in $suites regional suites ($report)"
[ "$suites" -eq 6 ] || { echo "FAIL: want 6 regional suites"; exit 1; }

serve 18091 --scenarios contract/testdata/scenarios/broken.yaml
set +e
"$bin" contract --target http://127.0.0.1:18091 --region api,sg >"$work/broken.txt" 2>&1
code=$?
set -e
if [ "$code" -ne 1 ] || ! grep -q '\[case-expectation\]' "$work/broken.txt" || ! grep -q '\[json-body\]' "$work/broken.txt"; then
  echo "FAIL: against a broken mock the suite exited $code, want 1 naming case-expectation and json-body:"
  cat "$work/broken.txt"; exit 1
fi
echo "PASS: contract suite against a broken mock: exit 1, rules named: $(grep -o '\[[a-z0-9-]*\]' "$work/broken.txt" | sort -u | tr '\n' ' ')"
