#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZ_SECONDS each, default 20). Seed corpora
# live in each package's testdata/fuzz; a crash a fuzzer finds is written there too, and
# must become a regression test named after it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
seconds=${FUZZ_SECONDS:-20}

for target in \
  ./mockserver:FuzzLatestRequest \
  ./mockserver:FuzzTokenBody \
  ./scenarios/files:FuzzParseAndLint \
  ./contract:FuzzCheck \
  ./contract:FuzzReadExchanges; do
  pkg=${target%%:*} name=${target##*:}
  echo "== fuzz $name ($pkg, ${seconds}s)"
  go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "${seconds}s" 2>&1 | tail -3
done
