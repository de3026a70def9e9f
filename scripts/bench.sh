#!/usr/bin/env bash
# idvmock against a static ceiling, in one run on one machine: builds idvmock and
# bench/baseline (a bare net/http handler writing the very bytes idvmock answers), installs
# wrk from Debian when it is missing, loads both alternately with the same connection count,
# and prints req/s, p50/p99 and their ratios to the baseline, start-up time and peak RSS,
# then the Go benchmarks of the hot path and of the contract checker.
# The output also goes to bench/RESULTS.md, with the machine it ran on.
#
#   scripts/bench.sh                      # 3 rounds of 10 s each, 64 connections
#   BENCH_ROUNDS=5 BENCH_SECONDS=20 BENCH_CONNECTIONS=20 scripts/bench.sh
#   BENCH_AGAINST=v1.2.0 scripts/bench.sh # also load that revision's idvmock, alternating,
#                                         # and report this one's throughput against it
#   BENCH_REPLICAS=0 scripts/bench.sh     # skip three replicas on one Redis against one
#                                         # in-memory instance (needs redis-server: installed
#                                         # from Debian when missing)
#   BENCH_DASHBOARD=0 scripts/bench.sh    # skip the mock loaded with a live dashboard
#                                         # stream open (curl), and with the page open in
#                                         # headless chromium (when installed)
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
against=${BENCH_AGAINST:-}
replicas=${BENCH_REPLICAS:-1}
dashboard=${BENCH_DASHBOARD:-1}
viewer_pid=
redis_port=18190
replica_ports=(18191 18192 18193)

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

source scripts/lib.sh
go build -o "$work/baseline" ./bench/baseline
go build -o "$work/startup" ./bench/startup
if [ -n "$against" ]; then
  git worktree add -q --detach "$work/against" "$against"
  (cd "$work/against" && go build -o "$work/idvmock-previous" ./cmd/idvmock) || { git worktree remove --force "$work/against"; exit 1; }
  git worktree remove --force "$work/against"
fi

# wait_for URL: until it answers 200.
wait_for() {
  for _ in $(seq 200); do
    if curl -fsS -o /dev/null -H "$token" "$1"; then return 0; fi
    sleep 0.05
  done
  echo "no answer from $1"; exit 1
}

# Start-up: from exec to the first 200 on user_active, median of 5.
startups=()
for _ in 1 2 3 4 5; do
  startups+=("$("$work/startup" -H "$token" "http://127.0.0.1:$mock_port$path?$query" -- "$work/idvmock" serve --addr "127.0.0.1:$mock_port" --log-format json 2>/dev/null)")
done
startup_ms=$(printf '%s\n' "${startups[@]}" | sort -n | sed -n 3p)

"$work/idvmock" serve --addr "127.0.0.1:$mock_port" >/dev/null 2>&1 &
mock_pid=$!
pids+=("$mock_pid")
wait_for "http://127.0.0.1:$mock_port$path?$query"
curl -fsS -H "$token" "http://127.0.0.1:$mock_port$path?$query" -o "$work/body.json"
"$work/baseline" --addr "127.0.0.1:$base_port" --body "$work/body.json" &
pids+=("$!")
wait_for "http://127.0.0.1:$base_port/"
if [ -n "$against" ]; then
  "$work/idvmock-previous" serve --addr "127.0.0.1:$prev_port" >/dev/null 2>&1 &
  pids+=("$!")
  wait_for "http://127.0.0.1:$prev_port$path?$query"
fi

# Three replicas on one Redis (no persistence), with the same files and flags as the mock.
if [ "$replicas" = 1 ]; then
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >/dev/null 2>&1 &
  pids+=("$!")
  for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  for port in "${replica_ports[@]}"; do
    "$work/idvmock" serve --addr "127.0.0.1:$port" --store "redis://127.0.0.1:$redis_port/0" >/dev/null 2>&1 &
    pids+=("$!")
    wait_for "http://127.0.0.1:$port$path?$query"
  done
fi

# to_ms VALUE: wrk's latency (us, ms or s) in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
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

# load NAME URL: one wrk run; appends "name rps p50 p99" to $work/runs.
load() {
  local name=$1 url=$2 text rps p50 p99
  text=$(wrk -t1 -c"$conns" -d"${seconds}s" --latency -H "$token" "$url")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$text")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$text")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$text")")
  if grep -q 'Non-2xx\|Socket errors' <<<"$text"; then
    echo "$name: wrk saw errors:"; echo "$text"; exit 1
  fi
  echo "$name $rps $p50 $p99" >>"$work/runs"
  printf '  %-9s %10.0f req/s   p50 %7.3f ms   p99 %7.3f ms\n' "$name" "$rps" "$p50" "$p99"
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
  echo "Redis, the replicas and wrk all on this machine. Round by round:"
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

report() {
  echo "# idvmock benchmark"
  echo
  echo "Produced by \`scripts/bench.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'): $rounds rounds of ${seconds} s per server,"
  echo "alternating, wrk with 1 thread and $conns connections on the same machine, \`GET $path?$query\`"
  echo "with a token. The baseline (\`bench/baseline\`) writes the same bytes from a bare net/http handler."
  echo
  echo "Machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(go version | awk '{print $3}'), wrk $(wrk --version 2>&1 | awk 'NR==1 {print $2}')."
  echo
  echo '```text'
  echo "round by round:"
  : >"$work/runs"
  for r in $(seq "$rounds"); do
    echo " round $r"
    load baseline "http://127.0.0.1:$base_port$path?$query"
    load idvmock "http://127.0.0.1:$mock_port$path?$query"
    [ -z "$against" ] || load previous "http://127.0.0.1:$prev_port$path?$query"
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
  echo
  awk -v startup="$startup_ms" -v peak="$peak_kb" -v against="$against" '
    { rps[$1] += $2; p50[$1] += $3; p99[$1] += $4; n[$1]++ }
    END {
      for (k in n) { rps[k] /= n[k]; p50[k] /= n[k]; p99[k] /= n[k] }
      printf "mean of %d rounds      req/s       p50 ms    p99 ms\n", n["idvmock"]
      printf "  baseline        %10.0f   %8.3f  %8.3f\n", rps["baseline"], p50["baseline"], p99["baseline"]
      printf "  idvmock         %10.0f   %8.3f  %8.3f\n", rps["idvmock"], p50["idvmock"], p99["idvmock"]
      tput = rps["idvmock"] / rps["baseline"]; lat = p99["idvmock"] / p99["baseline"]
      printf "\nthroughput idvmock/baseline: %.2f (target >= 0.60): %s\n", tput, (tput >= 0.60 ? "met" : "MISSED")
      printf "p99 idvmock/baseline:        %.2f (target <= 2.00): %s\n", lat, (lat <= 2.0 ? "met" : "MISSED")
      printf "start to first answer:       %.1f ms (median of 5; target < 100 ms): %s\n", startup, (startup < 100 ? "met" : "MISSED")
      printf "peak RSS under load:         %.1f MB (target < 40 MB): %s\n", peak / 1024, (peak / 1024 < 40 ? "met" : "MISSED")
      if (against != "") {
        prev = rps["idvmock"] / rps["previous"]
        printf "  previous (%s) %10.0f   %8.3f  %8.3f\n", against, rps["previous"], p50["previous"], p99["previous"]
        printf "throughput idvmock/previous: %.3f (no loss beyond 5%%: >= 0.95): %s\n", prev, (prev >= 0.95 ? "met" : "MISSED")
      }
      if (n["with-stream"] > 0) {
        st = rps["with-stream"] / rps["idvmock"]
        printf "  with-stream     %10.0f   %8.3f  %8.3f\n", rps["with-stream"], p50["with-stream"], p99["with-stream"]
        printf "throughput with a live page stream/without: %.3f (target >= 0.95): %s\n", st, (st >= 0.95 ? "met" : "MISSED")
      }
      if (n["with-page"] > 0) {
        page = rps["with-page"] / rps["idvmock"]
        printf "  with-page       %10.0f   %8.3f  %8.3f\n", rps["with-page"], p50["with-page"], p99["with-page"]
        printf "throughput with the page in chromium on these cores/without: %.3f (the browser takes CPU from the mock)\n", page
      }
    }' "$work/runs"
  if [ "$dashboard" = 1 ]; then
    echo "with-stream: curl reads the live journal stream (/__admin/events) a dashboard page reads: what the page costs the mock"
    echo "with-page: headless chromium on the dashboard's journal view on this same machine: the browser's rendering shares the 2 cores"
  fi
  if [ "$replicas" = 1 ]; then replicas_report; else echo; echo "three replicas on one Redis: skipped (BENCH_REPLICAS=0, or redis-server could not be installed)"; fi
  echo
  echo "Go benchmarks (a full request in-process; scenario lookup, body generation and rules; the contract checker on one core):"
  go test ./mockserver -run '^$' -bench 'Latest' -benchmem -benchtime 2s | grep '^Benchmark'
  go test ./engine -run '^$' -bench . -benchmem -benchtime 1s | grep '^Benchmark'
  go test ./contract -run '^$' -bench 'CheckExchange' -benchmem -benchtime 2s -cpu 1 | grep '^Benchmark' |
    awk '{ print; for (i = 1; i <= NF; i++) if ($(i+1) == "ns/op") printf "contract checker: %.0f exchanges/s on one core (target >= 20000): %s\n", 1e9 / $i, (1e9 / $i >= 20000 ? "met" : "MISSED") }'
  echo '```'
}

report | tee "$work/report.md"
cp "$work/report.md" "$out"
echo "written to $out"
