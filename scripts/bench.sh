#!/usr/bin/env bash
# idvmock against a static ceiling and against Prism, in one run on one machine: builds idvmock
# and bench/baseline (a bare net/http handler writing the very bytes idvmock answers), installs
# wrk from Debian when it is missing and Prism from npm (pinned, cached), loads them
# alternately with the same connection count, and prints req/s, p50/p99 and their ratios,
# start-up time (of the binary and of idvmocktest inside a process) and peak RSS, then the Go
# benchmarks of the hot path, of idvmocktest.New and of the contract checker. idvmock runs as
# in production: `serve --log-format json`, its log (stderr) written to a file. Its peak RSS is
# read against two more servers under the same load: bench/validating (net/http and
# kin-openapi's request validation alone: the memory floor) and idvmock itself at GOGC=50
# (what a smaller heap costs in throughput).
# The output also goes to bench/RESULTS.md, with the machine it ran on.
#
#   scripts/bench.sh                      # 3 rounds of 10 s each, 64 connections
#   BENCH_ROUNDS=5 BENCH_SECONDS=20 BENCH_CONNECTIONS=20 scripts/bench.sh
#   BENCH_AGAINST=e2ceacc scripts/bench.sh # also that revision: its idvmock loaded in each
#                                         # round, its start-up, and its Go benchmarks run
#                                         # alternately with this one's (BENCH_GO_ROUNDS
#                                         # times, default BENCH_ROUNDS), with a table of
#                                         # ratios flagging what got slower beyond 10%
#   BENCH_PRISM=0 scripts/bench.sh        # skip Prism (@stoplight/prism-cli, from npm, into
#                                         # ${XDG_CACHE_HOME:-~/.cache}/idvmock-bench; skipped
#                                         # with a note when npm is missing or fails)
#   BENCH_REPLICAS=0 scripts/bench.sh     # skip three replicas on one Redis against one
#                                         # in-memory instance (needs redis-server: installed
#                                         # from Debian when missing)
#   BENCH_DASHBOARD=0 scripts/bench.sh    # skip the mock loaded with a live dashboard
#                                         # stream open (curl), and with the page open in
#                                         # headless chromium (when installed)
#   BENCH_NEW_COUNT=20                    # idvmocktest mocks timed after the first (bench/newtime)
#   BENCH_PRISM_TIMEOUT=10s               # wrk's timeout for Prism only (wrk's default, 2 s,
#                                         # is shorter than Prism's p99 under 64 connections)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

rounds=${BENCH_ROUNDS:-3}
seconds=${BENCH_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-64}
out=${BENCH_OUT:-bench/RESULTS.md}
path=/intl/openapi/identity-risk/idvs-h5/ekyc/v1/customer-profile/get-latest-session-result
query='userId=user_active'
token='X-ACCESS-TOKEN: bench-token'
mock_port=18180
base_port=18181
prev_port=18182
prism_port=18183
floor_port=18184
gogc_port=18185
against=${BENCH_AGAINST:-}
go_rounds=${BENCH_GO_ROUNDS:-}
replicas=${BENCH_REPLICAS:-1}
dashboard=${BENCH_DASHBOARD:-1}
prism=${BENCH_PRISM:-1}
prism_version=5.14.2
prism_timeout=${BENCH_PRISM_TIMEOUT:-10s}
prism_dir=${XDG_CACHE_HOME:-$HOME/.cache}/idvmock-bench/prism-$prism_version
new_count=${BENCH_NEW_COUNT:-20}
viewer_pid=
redis_port=18190
replica_ports=(18191 18192 18193)
if [ -z "$go_rounds" ]; then
  if [ -n "$against" ]; then go_rounds=$rounds; else go_rounds=1; fi
fi

if ! command -v wrk >/dev/null; then
  echo "installing wrk from Debian"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get install -y wrk >/dev/null 2>&1 || { $sudo apt-get update >/dev/null && $sudo apt-get install -y wrk >/dev/null; }
fi

if [ "$replicas" = 1 ] && ! command -v redis-server >/dev/null; then
  echo "installing redis-server from Debian"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get install -y redis-server >/dev/null 2>&1 || { $sudo apt-get update >/dev/null && $sudo apt-get install -y redis-server >/dev/null; } || replicas=0
fi

# Prism from npm, pinned, installed once into a cache folder that later runs reuse. prism_note
# says why it is skipped, when it is.
prism_bin=$prism_dir/node_modules/.bin/prism
prism_note=
if [ "$prism" != 1 ]; then
  prism_note="skipped (BENCH_PRISM=$prism)"
elif [ -x "$prism_bin" ] && [ "$("$prism_bin" --version 2>/dev/null)" = "$prism_version" ]; then
  :
elif ! command -v npm >/dev/null; then
  prism_note="skipped (npm not found)"
else
  echo "installing @stoplight/prism-cli@$prism_version from npm into $prism_dir"
  mkdir -p "$prism_dir"
  if ! npm install --prefix "$prism_dir" --no-audit --no-fund "@stoplight/prism-cli@$prism_version" >"$prism_dir.npm.log" 2>&1; then
    prism_note="skipped (npm install failed: $(grep -m1 'ERR' "$prism_dir.npm.log" || tail -1 "$prism_dir.npm.log"); log in $prism_dir.npm.log)"
  elif [ "$("$prism_bin" --version 2>/dev/null)" != "$prism_version" ]; then
    prism_note="skipped ($prism_bin --version does not say $prism_version: is node installed?)"
  fi
fi
[ -z "$prism_note" ] || echo "Prism: $prism_note"

source scripts/lib.sh
against_dir=
bench_cleanup() {
  if [ -n "$against_dir" ]; then git worktree remove --force "$against_dir" 2>/dev/null || true; fi
  cleanup
}
trap bench_cleanup EXIT

# Everything is built before the first measurement, so no compiler competes with it. idvmock
# is built as the Docker image builds it: static (no cgo), without symbol tables.
ship_build() { CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' "$@"; }
ship_build -o "$work/idvmock" ./cmd/idvmock
go build -o "$work/baseline" ./bench/baseline
# The start-up floor: the baseline built as idvmock is, bare and with the package init of the
# libraries idvmock links (-tags floor: kin-openapi, gofakeit, echo).
ship_build -o "$work/floor-bare" ./bench/baseline
ship_build -tags floor -o "$work/floor-libs" ./bench/baseline
# The memory floor: net/http and kin-openapi's request validation, nothing else.
ship_build -o "$work/validating" ./bench/validating
go build -o "$work/startup" ./bench/startup
go build -o "$work/newtime-this" ./bench/newtime
go_pkgs=(mockserver engine contract idvmocktest)
for pkg in "${go_pkgs[@]}"; do go test -c -o "$work/this-$pkg.test" "./$pkg"; done
against_notes=()
if [ -n "$against" ]; then
  against_dir=$work/against
  git worktree add -q --detach "$against_dir" "$against"
  (cd "$against_dir" && ship_build -o "$work/idvmock-previous" ./cmd/idvmock)
  # The previous revision may lack this round's benchmark helpers: they use only public API,
  # so they are copied in (into the temporary worktree only) and built there when missing.
  [ -e "$against_dir/bench/newtime" ] || cp -r bench/newtime "$against_dir/bench/newtime"
  [ -e "$against_dir/idvmocktest/bench_test.go" ] || cp idvmocktest/bench_test.go "$against_dir/idvmocktest/bench_test.go"
  (cd "$against_dir" && go build -o "$work/newtime-previous" ./bench/newtime) 2>"$work/build.err" ||
    against_notes+=("bench/newtime does not build on $against: $(head -1 "$work/build.err")")
  for pkg in "${go_pkgs[@]}"; do
    (cd "$against_dir" && go test -c -o "$work/previous-$pkg.test" "./$pkg") 2>"$work/build.err" ||
      against_notes+=("the $pkg benchmarks do not build on $against: $(head -1 "$work/build.err")")
  done
fi

# wait_for URL [TRIES]: until it answers 200, trying every 50 ms (200 tries unless told).
wait_for() {
  for _ in $(seq "${2:-200}"); do
    if curl -fsS -o /dev/null -H "$token" "$1" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "no answer from $1"; exit 1
}

# now_ms: milliseconds since the epoch.
now_ms() { date +%s%3N; }

# Start-up: from exec to the first 200 on user_active, median of 5, logging as in production;
# alternately, the floor's two builds to their first 200.
startups=()
floor_bare=()
floor_libs=()
printf '{}' >"$work/floor-body.json"
for _ in 1 2 3 4 5; do
  startups+=("$("$work/startup" -log "$work/startup.log" -H "$token" "http://127.0.0.1:$mock_port$path?$query" -- "$work/idvmock" serve --addr "127.0.0.1:$mock_port" --log-format json)")
  floor_bare+=("$("$work/startup" -log "$work/startup-floor.log" "http://127.0.0.1:$base_port/" -- "$work/floor-bare" --addr "127.0.0.1:$base_port" --body "$work/floor-body.json")")
  floor_libs+=("$("$work/startup" -log "$work/startup-floor.log" "http://127.0.0.1:$base_port/" -- "$work/floor-libs" --addr "127.0.0.1:$base_port" --body "$work/floor-body.json")")
done
startup_ms=$(printf '%s\n' "${startups[@]}" | sort -n | sed -n 3p)
floor_bare_ms=$(printf '%s\n' "${floor_bare[@]}" | sort -n | sed -n 3p)
floor_libs_ms=$(printf '%s\n' "${floor_libs[@]}" | sort -n | sed -n 3p)
prev_startups=()
prev_startup_ms=
if [ -n "$against" ]; then
  for _ in 1 2 3 4 5; do
    prev_startups+=("$("$work/startup" -log "$work/startup-previous.log" -H "$token" "http://127.0.0.1:$prev_port$path?$query" -- "$work/idvmock-previous" serve --addr "127.0.0.1:$prev_port" --log-format json)")
  done
  prev_startup_ms=$(printf '%s\n' "${prev_startups[@]}" | sort -n | sed -n 3p)
fi

# idvmocktest inside one process: the first mock, then each of the next $new_count.
"$work/newtime-this" -n "$new_count" >"$work/newtime-this.txt"
[ ! -x "$work/newtime-previous" ] || "$work/newtime-previous" -n "$new_count" >"$work/newtime-previous.txt"

"$work/idvmock" serve --addr "127.0.0.1:$mock_port" --log-format json >"$work/idvmock.out" 2>"$work/idvmock.log" &
mock_pid=$!
pids+=("$mock_pid")
wait_for "http://127.0.0.1:$mock_port$path?$query"
curl -fsS -H "$token" "http://127.0.0.1:$mock_port$path?$query" -o "$work/body.json"
"$work/baseline" --addr "127.0.0.1:$base_port" --body "$work/body.json" &
base_pid=$!
pids+=("$base_pid")
wait_for "http://127.0.0.1:$base_port/"
if [ -n "$against" ]; then
  "$work/idvmock-previous" serve --addr "127.0.0.1:$prev_port" --log-format json >"$work/previous.out" 2>"$work/previous.log" &
  prev_pid=$!
  pids+=("$prev_pid")
  wait_for "http://127.0.0.1:$prev_port$path?$query"
fi
"$work/validating" --addr "127.0.0.1:$floor_port" --body "$work/body.json" --spec openapi.yaml 2>"$work/validating.log" &
floor_pid=$!
pids+=("$floor_pid")
wait_for "http://127.0.0.1:$floor_port$path?$query"
GOGC=50 "$work/idvmock" serve --addr "127.0.0.1:$gogc_port" --log-format json >"$work/gogc50.out" 2>"$work/gogc50.log" &
gogc_pid=$!
pids+=("$gogc_pid")
wait_for "http://127.0.0.1:$gogc_port$path?$query"
# The process each load name puts to work: its CPU time per request is read around its run.
declare -A load_pid=([baseline]=$base_pid [idvmock]=$mock_pid [validating]=$floor_pid [gogc50]=$gogc_pid [with-stream]=$mock_pid [with-page]=$mock_pid)
[ -z "$against" ] || load_pid[previous]=$prev_pid
clock_ticks=$(getconf CLK_TCK)
# cpu_ticks PID: the user and system CPU time PID has used, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Prism serves the same openapi.yaml (its default: static examples, no --errors, request
# validation on), its request log (info level, its default) to a file. It serves each path
# without the servers' host names, so the same URL as idvmock's works on its port.
prism_start_ms=
# Prism answers a named example when asked with Prefer: the spec's "active" one is the ACTIVE
# user_active answer idvmock generates, so both send a body of the same shape and size.
prism_prefer='Prefer: example=active'
if [ -z "$prism_note" ]; then
  started=$(now_ms)
  "$prism_bin" mock -p "$prism_port" -h 127.0.0.1 openapi.yaml >"$work/prism.log" 2>&1 &
  prism_pid=$!
  pids+=("$prism_pid")
  for _ in $(seq 1200); do
    code=$(curl -sS -o "$work/prism-body.json" -w '%{http_code}' -H "$token" -H "$prism_prefer" "http://127.0.0.1:$prism_port$path?$query" 2>/dev/null) || code=000
    [ "$code" = 000 ] || break
    kill -0 "$prism_pid" 2>/dev/null || break
    sleep 0.05
  done
  prism_start_ms=$(($(now_ms) - started))
  if ! kill -0 "$prism_pid" 2>/dev/null; then
    prism_note="skipped (prism mock exited: $(grep -m1 -i 'error\|fatal' "$work/prism.log" || tail -1 "$work/prism.log"))"
  elif [ "$code" = 000 ]; then
    prism_note="skipped (no answer on port $prism_port within 60 s)"
  elif [ "$code" != 200 ] || ! grep -q '"code":"SUCCESS"' "$work/prism-body.json"; then
    prism_note="skipped (it answered HTTP $code: $(head -c 300 "$work/prism-body.json"))"
  fi
  if [ -n "$prism_note" ]; then
    echo "Prism: $prism_note"
    kill "$prism_pid" 2>/dev/null || true
  fi
fi

# Three replicas on one Redis (no persistence), with the same files and flags as the mock.
if [ "$replicas" = 1 ]; then
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >/dev/null 2>&1 &
  pids+=("$!")
  for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  for port in "${replica_ports[@]}"; do
    "$work/idvmock" serve --addr "127.0.0.1:$port" --log-format json --store "redis://127.0.0.1:$redis_port/0" >"$work/replica-$port.out" 2>"$work/replica-$port.log" &
    pids+=("$!")
    wait_for "http://127.0.0.1:$port$path?$query"
  done
fi

# to_ms VALUE: wrk's latency (us, ms or s) in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "%s", v }'
}

# viewer_start KIND: opens the dashboard's live journal on the mock. stream: curl reads the
# stream the page reads (/__admin/events), which is all a live page costs the mock; page:
# headless chromium on the journal view, on this machine, so the browser's own rendering
# competes with the mock and wrk for the same cores (at SCHED_IDLE, which Chromium's
# processes keep only in part). viewer_stop closes it.
viewer_start() {
  rm -rf "$work/chromium"
  if [ "$1" = page ]; then
    chrt -i 0 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/chromium" --remote-debugging-port=0 \
      --window-size=1280,800 "http://127.0.0.1:$mock_port/__admin/ui/#journal" >/dev/null 2>&1 &
  else
    curl -sN "http://127.0.0.1:$mock_port/__admin/events" >/dev/null &
  fi
  viewer_pid=$!
  pids+=("$viewer_pid")
  sleep 3 # the page loads and opens its stream
}
viewer_stop() {
  kill "$viewer_pid" 2>/dev/null || true
  wait "$viewer_pid" 2>/dev/null || true
  viewer_pid=
}

# load NAME URL [WRK FLAGS]: one wrk run; appends "name rps p50 p99 timeouts errors" to
# $work/runs. Any error fails the run, except for prism, whose socket timeouts and non-2xx
# answers are counted and reported (wrk leaves timed-out requests out of its percentiles).
load() {
  local name=$1 url=$2 text rps p50 p99 timeouts errors pid=${load_pid[$1]:-} ticks=0 cpu=-
  shift 2
  [ -z "$pid" ] || ticks=$(cpu_ticks "$pid")
  text=$(wrk -t1 -c"$conns" -d"${seconds}s" --latency "$@" -H "$token" "$url")
  if [ -n "$pid" ]; then
    cpu=$(awk -v t="$(( $(cpu_ticks "$pid") - ticks ))" -v hz="$clock_ticks" '/requests in/ {printf "%.2f", t / hz * 1e6 / $1}' <<<"$text")
  fi
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$text")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$text")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$text")")
  timeouts=$(awk '/Socket errors/ {print $NF}' <<<"$text")
  errors=$(awk '/Socket errors/ {gsub(",", ""); e = $4 + $6 + $8} /Non-2xx/ {e += $NF} END {print e + 0}' <<<"$text")
  if [ "$name" != prism ] && grep -q 'Non-2xx\|Socket errors' <<<"$text"; then
    echo "$name: wrk saw errors:"; echo "$text"; exit 1
  fi
  echo "$name $rps $p50 $p99 ${timeouts:-0} $errors $cpu" >>"$work/runs"
  printf '  %-11s %10.0f req/s   p50 %8.3f ms   p99 %8.3f ms' "$name" "$rps" "$p50" "$p99"
  [ "$cpu" = - ] || printf '   CPU %6.2f us/req' "$cpu"
  if [ "${timeouts:-0}" != 0 ] || [ "$errors" != 0 ]; then printf '   (%s timeouts, %s other errors)' "${timeouts:-0}" "$errors"; fi
  echo
}

# load_three NAME PORT PORT PORT: three wrk (one thread, a third of the connections each) at
# once, one per port; appends "name rps p50 p99" (summed req/s, the slowest p50 and p99) to
# $work/replica-runs.
load_three() {
  local name=$1 i=0 rps p50 p99 wrks=()
  shift
  for port in "$@"; do
    wrk -t1 -c"$((conns / 3))" -d"${seconds}s" --latency -H "$token" "http://127.0.0.1:$port$path?$query" >"$work/wrk.$i" &
    wrks+=("$!")
    i=$((i + 1))
  done
  wait "${wrks[@]}"
  for j in 0 1 2; do
    if grep -q 'Non-2xx\|Socket errors' "$work/wrk.$j"; then echo "$name: wrk saw errors:"; cat "$work/wrk.$j"; exit 1; fi
  done
  rps=$(awk '/^Requests\/sec:/ {s += $2} END {print s}' "$work"/wrk.[012])
  p50=$(for j in 0 1 2; do to_ms "$(awk '$1 == "50%" {print $2}' "$work/wrk.$j")"; echo; done | sort -n | tail -1)
  p99=$(for j in 0 1 2; do to_ms "$(awk '$1 == "99%" {print $2}' "$work/wrk.$j")"; echo; done | sort -n | tail -1)
  echo "$name $rps $p50 $p99" >>"$work/replica-runs"
  printf '  %-9s %10.0f req/s   p50 %7.3f ms   p99 %7.3f ms\n' "$name" "$rps" "$p50" "$p99"
}

replicas_report() {
  echo
  echo "three replicas on one Redis (--store redis://), against one in-memory instance: three wrk at"
  echo "once (1 thread, $((conns / 3)) connections each), one per replica, or all three at the one instance;"
  echo "Redis, the replicas and wrk all on this machine; every instance logs (json) to a file. Round by round:"
  : >"$work/replica-runs"
  for r in $(seq "$rounds"); do
    echo " round $r"
    load_three memory "$mock_port" "$mock_port" "$mock_port"
    load_three replicas "${replica_ports[@]}"
  done
  awk '
    { rps[$1] += $2; p99[$1] += $4; n[$1]++ }
    END {
      for (k in n) { rps[k] /= n[k]; p99[k] /= n[k] }
      printf "mean of %d rounds      req/s     p99 ms\n", n["replicas"]
      printf "  memory          %10.0f   %8.3f\n", rps["memory"], p99["memory"]
      printf "  replicas        %10.0f   %8.3f\n", rps["replicas"], p99["replicas"]
      tput = rps["replicas"] / rps["memory"]
      printf "throughput replicas/memory: %.2f (target >= 0.25): %s\n", tput, (tput >= 0.25 ? "met" : "MISSED")
      printf "p99 replicas/memory:        %.2f\n", p99["replicas"] / p99["memory"]
    }' "$work/replica-runs"
}

# go_bench SIDE: one run of the Go benchmarks built for SIDE (this or previous), in the
# package's folder of that side's tree as go test would; prints their lines (prefixed by the
# side with BENCH_AGAINST), and appends "side name ns/op" to $work/go-runs.
go_bench() {
  local side=$1 root=. pkg bench benchtime cpu
  [ "$side" = this ] || root=$against_dir
  while read -r pkg bench benchtime cpu; do
    [ -x "$work/$side-$pkg.test" ] || continue
    if ! (cd "$root/$pkg" && "$work/$side-$pkg.test" -test.run '^$' -test.bench "$bench" -test.benchmem \
      -test.benchtime "$benchtime" ${cpu:+-test.cpu "$cpu"}) >"$work/go.out" 2>&1; then
      echo "  $side: the $pkg benchmarks FAILED:"; tail -20 "$work/go.out" | sed 's/^/    /'
    fi
    if [ -n "$against" ]; then grep '^Benchmark' "$work/go.out" | sed "s/^/  $side  /" || true; else grep '^Benchmark' "$work/go.out" || true; fi
    awk -v side="$side" '/^Benchmark/ { for (i = 2; i < NF; i++) if ($(i+1) == "ns/op") print side, $1, $i }' "$work/go.out" >>"$work/go-runs"
  done <<EOF
mockserver Latest 2s
engine . 1s
contract CheckExchange 2s 1
idvmocktest ^BenchmarkNew\$ 1s
EOF
}

go_report() {
  echo
  echo "Go benchmarks (a full request in-process; scenario lookup, body generation and rules; the contract"
  echo "checker on one core; idvmocktest.New after a first mock in the process, Close not timed):"
  : >"$work/go-runs"
  for r in $(seq "$go_rounds"); do
    [ "$go_rounds" = 1 ] || echo " round $r"
    go_bench this
    [ -z "$against" ] || go_bench previous
  done
  awk -v rounds="$go_rounds" '
    $1 == "this" && $2 == "BenchmarkCheckExchange" { s += $3; n++ }
    END {
      if (n == 0) { print "contract checker: no figure (its benchmark did not run)"; exit }
      x = 1e9 / (s / n)
      printf "contract checker: %.0f exchanges/s on one core (%s; target >= 40000): %s\n", x,
        (n > 1 ? "mean ns/op of " n " runs" : "one run"), (x >= 40000 ? "met" : "MISSED")
    }' "$work/go-runs"
  if [ -n "$against" ]; then
    echo
    echo "this/previous ($against), mean ns/op of $go_rounds alternating runs each; slower = ratio beyond 1.10 (a 10%"
    echo "noise margin); spread = the largest max/min of one side's runs, how noisy this machine was:"
    [ "$go_rounds" != 1 ] || echo "(one run each: no spread to judge the noise by; BENCH_GO_ROUNDS=3 or more for that)"
    awk '
      {
        sum[$1, $2] += $3; n[$1, $2]++; if (!($2 in seen)) { seen[$2] = 1; order[++k] = $2 }
        if (!(($1, $2) in lo) || $3 < lo[$1, $2]) lo[$1, $2] = $3
        if ($3 > hi[$1, $2]) hi[$1, $2] = $3
      }
      END {
        printf "  %-42s %14s %14s %7s %7s\n", "benchmark", "this ns/op", "previous ns/op", "ratio", "spread"
        for (i = 1; i <= k; i++) {
          b = order[i]
          if (!n["this", b] || !n["previous", b]) { printf "  %-42s only in %s\n", b, (n["this", b] ? "this" : "previous"); continue }
          t = sum["this", b] / n["this", b]; p = sum["previous", b] / n["previous", b]; r = t / p
          spread = hi["this", b] / lo["this", b]; if (hi["previous", b] / lo["previous", b] > spread) spread = hi["previous", b] / lo["previous", b]
          if (r > 1.10) { verdict = "slower"; slower++ } else if (r < 0.90) verdict = "faster"; else verdict = "same"
          printf "  %-42s %14.1f %14.1f %7.3f %7.2f  %s\n", b, t, p, r, spread, verdict
        }
        printf "no Go benchmark of the previous round slower (beyond 10%%): %s\n", (slower ? "MISSED (" slower " slower)" : "met")
      }' "$work/go-runs"
  fi
}

# newtime_figure FILE KEY: a figure bench/newtime printed.
newtime_figure() { awk -v k="$2" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "$1"; }

report() {
  echo "# idvmock benchmark"
  echo
  echo "Produced by \`scripts/bench.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'): $rounds rounds of ${seconds} s per server,"
  echo "alternating, wrk with 1 thread and $conns connections on the same machine, \`GET $path?$query\`"
  echo "with a token. The baseline (\`bench/baseline\`) writes the same bytes from a bare net/http handler."
  echo "idvmock runs as in production: \`idvmock serve --log-format json\`, its log (stderr) written to a file"
  echo "(one JSON line per request), not discarded; so do the previous revision, the replicas and the start-up runs."
  echo "It is built as the Docker image builds it: \`CGO_ENABLED=0 go build -trimpath -ldflags='-s -w'\`."
  if [ -z "$prism_note" ]; then
    echo "Prism $prism_version (\`prism mock -p $prism_port -h 127.0.0.1 openapi.yaml\`: static examples, no --errors,"
    echo "its request log at its default level to a file) serves the same openapi.yaml at the same URL, loaded with"
    echo "the same wrk but a $prism_timeout timeout (wrk's default 2 s is below Prism's p99 under $conns connections)."
  else
    echo "Prism: $prism_note."
  fi
  echo
  echo "Machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(go version | awk '{print $3}'), wrk $(wrk --version 2>&1 | awk 'NR==1 {print $2}')$([ -n "$prism_note" ] || echo ", node $(node --version 2>/dev/null)"); load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Revision: $(git rev-parse --short HEAD)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')$([ -z "$against" ] || echo ", against $against ($(git rev-parse --short "$against"))")."
  echo
  echo '```text'
  echo "round by round:"
  : >"$work/runs"
  for r in $(seq "$rounds"); do
    echo " round $r"
    load baseline "http://127.0.0.1:$base_port$path?$query"
    load idvmock "http://127.0.0.1:$mock_port$path?$query"
    load validating "http://127.0.0.1:$floor_port$path?$query"
    load gogc50 "http://127.0.0.1:$gogc_port$path?$query"
    [ -z "$against" ] || load previous "http://127.0.0.1:$prev_port$path?$query"
    [ -n "$prism_note" ] || load prism "http://127.0.0.1:$prism_port$path?$query" --timeout "$prism_timeout" -H "$prism_prefer"
    # idvmock's peak under wrk alone, before a dashboard first opens on it.
    [ "$r" != 1 ] || plain_peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$mock_pid/status")
    if [ "$dashboard" = 1 ]; then
      viewer_start stream
      load with-stream "http://127.0.0.1:$mock_port$path?$query"
      viewer_stop
      if command -v chromium >/dev/null; then
        viewer_start page
        load with-page "http://127.0.0.1:$mock_port$path?$query"
        viewer_stop
      fi
    fi
  done
  peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$mock_pid/status")
  [ "$dashboard" = 1 ] || plain_peak_kb=$peak_kb
  floor_peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$floor_pid/status")
  gogc_peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$gogc_pid/status")
  rss_of() { awk '/^Rss:/ {r = $2} /^Anonymous:/ {a = $2} END {printf "%.1f MB now: %.1f anonymous, %.1f the binary'"'"'s pages", r / 1024, a / 1024, (r - a) / 1024}' "/proc/$1/smaps_rollup"; }
  rss_split=$(awk '/^Rss:/ {r = $2} /^Anonymous:/ {a = $2} END {printf "%.1f MB now, of which %.1f MB anonymous (heap, stacks) and %.1f MB the binary'"'"'s own pages, mapped from the page cache", r / 1024, a / 1024, (r - a) / 1024}' "/proc/$mock_pid/smaps_rollup")
  echo
  awk -v startup="$startup_ms" -v peak="$plain_peak_kb" -v peak_all="$peak_kb" -v against="$against" \
    -v floor_peak="$floor_peak_kb" -v gogc_peak="$gogc_peak_kb" \
    -v first_new="$(newtime_figure "$work/newtime-this.txt" first-new)" \
    -v median_new="$(newtime_figure "$work/newtime-this.txt" median-new)" \
    -v prev_startup="$prev_startup_ms" '
    { rps[$1] += $2; p50[$1] += $3; p99[$1] += $4; timeouts[$1] += $5; errors[$1] += $6; n[$1]++; if ($7 != "-") cpu[$1] += $7 }
    END {
      for (k in n) { rps[k] /= n[k]; p50[k] /= n[k]; p99[k] /= n[k]; cpu[k] /= n[k] }
      printf "mean of %d rounds      req/s       p50 ms    p99 ms   CPU us/req (of the server)\n", n["idvmock"]
      printf "  baseline        %10.0f   %8.3f  %8.3f   %6.2f\n", rps["baseline"], p50["baseline"], p99["baseline"], cpu["baseline"]
      printf "  idvmock         %10.0f   %8.3f  %8.3f   %6.2f\n", rps["idvmock"], p50["idvmock"], p99["idvmock"], cpu["idvmock"]
      printf "  validating      %10.0f   %8.3f  %8.3f   %6.2f   (bench/validating: the memory floor)\n", rps["validating"], p50["validating"], p99["validating"], cpu["validating"]
      printf "  gogc50          %10.0f   %8.3f  %8.3f   %6.2f   (idvmock at GOGC=50)\n", rps["gogc50"], p50["gogc50"], p99["gogc50"], cpu["gogc50"]
      if (n["previous"] > 0) printf "  previous        %10.0f   %8.3f  %8.3f   %6.2f   (%s)\n", rps["previous"], p50["previous"], p99["previous"], cpu["previous"], against
      if (n["prism"] > 0) printf "  prism           %10.0f   %8.3f  %8.3f   (%d timeouts, %d other errors in all)\n", rps["prism"], p50["prism"], p99["prism"], timeouts["prism"], errors["prism"]
      if (n["with-stream"] > 0) printf "  with-stream     %10.0f   %8.3f  %8.3f   %6.2f\n", rps["with-stream"], p50["with-stream"], p99["with-stream"], cpu["with-stream"]
      if (n["with-page"] > 0) printf "  with-page       %10.0f   %8.3f  %8.3f   %6.2f\n", rps["with-page"], p50["with-page"], p99["with-page"], cpu["with-page"]
      tput = rps["idvmock"] / rps["baseline"]; lat = p99["idvmock"] / p99["baseline"]
      printf "\nthroughput idvmock/baseline: %.3f (target >= 0.80): %s\n", tput, (tput >= 0.80 ? "met" : "MISSED")
      printf "p99 idvmock/baseline:        %.2f (target <= 1.50): %s\n", lat, (lat <= 1.5 ? "met" : "MISSED")
      printf "start to first answer:       %.1f ms (median of 5; target < 30 ms): %s\n", startup, (startup < 30 ? "met" : "MISSED")
      printf "idvmocktest.New after the first: %.2f ms (median of the next mocks in one process; target < 5 ms): %s\n", median_new, (median_new < 5 ? "met" : "MISSED")
      printf "idvmocktest.New, the first in a process: %.2f ms (no target)\n", first_new
      printf "peak RSS under load:         %.1f MB (wrk alone; target < 30 MB): %s\n", peak / 1024, (peak / 1024 < 30 ? "met" : "MISSED")
      printf "  after all rounds, those with a dashboard open included: %.1f MB\n", peak_all / 1024
      printf "  its floor, bench/validating under the same load: %.1f MB, at %.2f of the baseline'"'"'s throughput\n", floor_peak / 1024, rps["validating"] / rps["baseline"]
      g = rps["gogc50"] / rps["baseline"]
      printf "  idvmock at GOGC=50 under the same load: %.1f MB (%s), at %.3f of the baseline'"'"'s throughput (%s) and %.3f of idvmock'"'"'s CPU per request\n", gogc_peak / 1024, (gogc_peak / 1024 < 30 ? "under 30 MB" : "not under 30 MB"), g, (g >= 0.80 ? "at least 0.80" : "below 0.80"), cpu["gogc50"] / cpu["idvmock"]
      if (n["prism"] > 0) {
        vs = rps["idvmock"] / rps["prism"]
        printf "throughput idvmock/Prism:    %.1f (target >= 30): %s", vs, (vs >= 30 ? "met" : "MISSED")
        if (errors["prism"] > 0) printf " (Prism had %d errors or non-2xx answers: its req/s counts them)", errors["prism"]
        if (timeouts["prism"] > 0) printf " (Prism had %d timeouts: its percentiles leave them out)", timeouts["prism"]
        printf "\np99 idvmock/Prism:           %.4f\n", p99["idvmock"] / p99["prism"]
      }
      if (n["previous"] > 0) {
        prev = rps["idvmock"] / rps["previous"]; prevlat = p99["idvmock"] / p99["previous"]
        printf "throughput idvmock/previous: %.3f (no loss beyond 5%%: >= 0.95): %s\n", prev, (prev >= 0.95 ? "met" : "MISSED")
        printf "p99 idvmock/previous:        %.3f (no loss beyond 10%%: <= 1.10): %s\n", prevlat, (prevlat <= 1.10 ? "met" : "MISSED")
        if (prev_startup != "") {
          st = startup / prev_startup
          printf "start-up idvmock/previous:   %.3f (%.1f ms against %.1f ms; no loss beyond 10%%: <= 1.10): %s\n", st, startup, prev_startup, (st <= 1.10 ? "met" : "MISSED")
        }
      }
      if (n["with-stream"] > 0) {
        st = rps["with-stream"] / rps["idvmock"]
        printf "throughput with a live page stream/without: %.3f (target >= 0.95): %s\n", st, (st >= 0.95 ? "met" : "MISSED")
      }
      if (n["with-page"] > 0) {
        page = rps["with-page"] / rps["idvmock"]
        printf "throughput with the page in chromium on these cores/without: %.3f (the browser takes CPU from the mock)\n", page
      }
    }' "$work/runs"
  echo
  echo "start to first answer, raw (ms, 5 runs from exec to the first 200 on user_active): ${startups[*]}"
  [ -z "$against" ] || echo "  previous ($against): ${prev_startups[*]}"
  echo "  its floor, alternating with it (bench/baseline built as idvmock is, to its first 200): bare $floor_bare_ms ms (${floor_bare[*]});"
  echo "  with the package init of the libraries idvmock links (-tags floor: kin-openapi, gofakeit, echo) $floor_libs_ms ms (${floor_libs[*]});"
  echo "  idvmock's own start above that floor: $(awk -v a="$startup_ms" -v b="$floor_libs_ms" 'BEGIN {printf "%.1f", a - b}') ms"
  echo "idvmocktest in one process (bench/newtime: Start, then the first answer through srv.Client; Close not timed):"
  echo "  first in the process: New $(newtime_figure "$work/newtime-this.txt" first-new) ms, to its first answer $(newtime_figure "$work/newtime-this.txt" first-answer) ms"
  echo "  next $new_count, New (ms): $(newtime_figure "$work/newtime-this.txt" new)"
  echo "  next $new_count, to first answer (ms): $(newtime_figure "$work/newtime-this.txt" answer); median $(newtime_figure "$work/newtime-this.txt" median-answer)"
  if [ -s "$work/newtime-previous.txt" ]; then
    echo "  previous ($against): first New $(newtime_figure "$work/newtime-previous.txt" first-new) ms, median of the next New $(newtime_figure "$work/newtime-previous.txt" median-new) ms (this/previous $(awk -v t="$(newtime_figure "$work/newtime-this.txt" median-new)" -v p="$(newtime_figure "$work/newtime-previous.txt" median-new)" 'BEGIN {printf "%.3f", t / p}'))"
  fi
  echo "peak RSS: VmHWM of the loaded idvmock after the first round's wrk, before a dashboard opens on it, and after all rounds; RSS $rss_split."
  echo "  bench/validating (net/http, kin-openapi's router and openapi3filter on every request, fixed bytes; nothing else): RSS $(rss_of "$floor_pid")."
  echo "  idvmock at GOGC=50 (its own process, the same wrk rounds, no dashboard): RSS $(rss_of "$gogc_pid")."
  echo "idvmock's log over the run: $(wc -l <"$work/idvmock.log") lines, $(awk '{s += length($0) + 1} END {printf "%.1f MB", s / 1048576}' "$work/idvmock.log")."
  if [ -z "$prism_note" ]; then
    echo "Prism: first 200 after $prism_start_ms ms (one start); it answers the spec's \"active\" example ($prism_prefer; $(wc -c <"$work/prism-body.json") bytes), idvmock its generated body ($(wc -c <"$work/body.json") bytes); its log: $(wc -l <"$work/prism.log") lines."
  fi
  if [ "$dashboard" = 1 ]; then
    echo "with-stream: curl reads the live journal stream (/__admin/events) a dashboard page reads: what the page costs the mock"
    echo "with-page: headless chromium on the dashboard's journal view on this same machine: the browser's rendering shares the 2 cores"
  fi
  for note in "${against_notes[@]}"; do echo "previous: $note"; done
  if [ "$replicas" = 1 ]; then replicas_report; else echo; echo "three replicas on one Redis: skipped (BENCH_REPLICAS=0, or redis-server could not be installed)"; fi
  go_report
  echo '```'
}

report | tee "$work/report.md"
# What the profiles found and what was done about it: written by hand, kept with the figures.
if [ -f bench/what-made-it.md ]; then { echo; cat bench/what-made-it.md; } >>"$work/report.md"; fi
cp "$work/report.md" "$out"
echo "written to $out"
