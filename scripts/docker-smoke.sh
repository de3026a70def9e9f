#!/usr/bin/env bash
# docker-smoke.sh: build the idvmock container image and smoke-test it.
#
# Usage: bash scripts/docker-smoke.sh   (as root, from any directory)
#
# Steps:
#   1. install docker.io from Debian when there is no dockerd (and curl or
#      ca-certificates when they are missing, and nftables for step 7);
#   2. start dockerd (vfs storage, no bridge, no iptables) when no daemon
#      answers, and stop it again at the end;
#   3. when the build stage's golang image is not available locally, create a
#      stand-in for it from this machine's Go toolchain (Docker Hub may be
#      unreachable). The stand-in has no shell, so the Dockerfile uses only
#      exec-form RUN;
#   4. docker build; check the image size (< 30 MiB) and that it runs as non-root;
#   5. run the container on the host network and check the version, each demo
#      user, a regional request, the HEALTHCHECK and the process's uid;
#   6. HTTPS by hostname, as examples/compose does: a client container trusting the
#      mock's CA runs the contract suite against https://<region>-api.advance.ai, on a
#      user-defined network with the six hostnames as aliases when a probe container on
#      it gets an answer from the mock within seconds; otherwise (no network, or one that
#      cannot carry traffic: FORWARD policy DROP with bridge netfilter on, as any dockerd
#      with iptables leaves it, while ours runs --iptables=false) on the host network with
#      the hostnames via --add-host, saying why in one line. Every client run is bounded;
#   7. when step 6 used the network: drop that network's bridged traffic for real (bridge
#      netfilter on, and a DROP rule for its bridge on the IPv4 forward hook, in a nft table
#      of its own), check that the probe sees it within seconds and that step 6 passes on
#      the host network, then restore the firewall (also from the trap on every exit, and
#      from a detached watchdog if the script is killed outright) and check it is as before;
#   8. clean up (trap): firewall change, containers, network, volume, image, our dockerd,
#      temporary files.
#
# Environment knobs (all optional):
#   SMOKE_IMAGE=idvmock:smoke     tag for the image under test
#   SMOKE_PORT=18080              first port to try (next free one is used)
#   SMOKE_KEEP_IMAGE=1            keep the image afterwards
#   SMOKE_PRUNE=1                 remove all dangling images (build cache) at the
#                                 end; by default, and only on a dockerd started by
#                                 this script, just the dangling images that this
#                                 run's build did not use are removed
#   SMOKE_REBUILD_STANDIN=1       re-create the golang stand-in image
#   SMOKE_DOCKERD_FLAGS="..."     flags for a dockerd started by this script
#   SMOKE_DOCKER_BUILDKIT=0       value of DOCKER_BUILDKIT for docker build
#   SMOKE_BUILD_TIMEOUT=1800      seconds allowed for docker build
#   SMOKE_PROBE_TIMEOUT=5         seconds the step 6 probe waits for the mock's answer
#   SMOKE_CONTRACT_TIMEOUT=60     seconds allowed for each client container of step 6
#   SMOKE_FORCED_DROP=1           0 skips step 7 (which changes the firewall for seconds)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

IMAGE=${SMOKE_IMAGE:-idvmock:smoke}
FIRST_PORT=${SMOKE_PORT:-18080}
KEEP_IMAGE=${SMOKE_KEEP_IMAGE:-0}
PRUNE=${SMOKE_PRUNE:-0}
REBUILD_STANDIN=${SMOKE_REBUILD_STANDIN:-0}
DOCKERD_FLAGS=${SMOKE_DOCKERD_FLAGS:---storage-driver=vfs --iptables=false --ip-masq=false --ip-forward=false --bridge=none}
BUILD_TIMEOUT=${SMOKE_BUILD_TIMEOUT:-1800}
PROBE_TIMEOUT=${SMOKE_PROBE_TIMEOUT:-5}
CONTRACT_TIMEOUT=${SMOKE_CONTRACT_TIMEOUT:-60}
FORCED_DROP=${SMOKE_FORCED_DROP:-1}
# The probe container's own limit: its timeout plus time to start the container.
PROBE_LIMIT=$((PROBE_TIMEOUT + 30))
DOCKERD_TIMEOUT=60
READY_TIMEOUT=60
HEALTH_TIMEOUT=90
# The image's bound. It was 25 MiB until the Redis store and the metrics: go-redis and
# client_golang (both required by the replicas issue) added 10 MiB to the static binary,
# most of it because text/template (the scenario templates) looks methods up by name, so
# the linker keeps every exported method of every type used through an interface, and
# go-redis has a method per Redis command on each of its clients. The metrics are now
# written by internal/promtext (2 MiB less); the binary is about 26 MiB.
SIZE_LIMIT=$((30 * 1024 * 1024))
ENDPOINT=/intl/openapi/identity-risk/idvs-h5/ekyc/v1/customer-profile/get-latest-session-result
TOKEN=docker-smoke-token
STANDIN_LABEL=org.idvmock.smoke.standin-go

# user:expected-code, one request each.
DEMO_USERS=(
	user_002:SUCCESS
	user_init:SUCCESS
	user_active:SUCCESS
	user_failed:SUCCESS
	user_incomplete:SUCCESS
	user_reverify:SUCCESS
	user_inactive:SUCCESS
	user_multi:SUCCESS
	user_error:ERROR
	nobody:PARAMETER_ERROR
)

# The legacy builder needs no buildx plugin and resolves FROM images from the
# local image store only (never pulls an image that exists locally).
export DOCKER_BUILDKIT=${SMOKE_DOCKER_BUILDKIT:-0}

PASSED=0
FAILED=0
STARTED_DOCKERD=0
DOCKERD_PID=
CONTAINER=
IMAGE_BUILT=0
DIED=0
BUILD_PID=
HTTPS_CLIENT="idvmock-smoke-client-$$"
# Step 7's change to the firewall, undone by restore_firewall.
FW_CHANGED=0
FW_WATCHDOG=
FW_NF=/proc/sys/net/bridge/bridge-nf-call-iptables
FW_NF_ORIG=
FW_TABLE="idvmock_smoke_$$"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/idvmock-docker-smoke.XXXXXX")

log() { printf '==> %s\n' "$*"; }
pass() { PASSED=$((PASSED + 1)); printf 'PASS: %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL: %s\n' "$*"; }
# die: a failure after which nothing else can be checked.
die() {
	FAILED=$((FAILED + 1))
	DIED=1
	printf 'FAIL: %s\n' "$*"
	exit 1
}

stop_dockerd() {
	[ "$STARTED_DOCKERD" = 1 ] || return 0
	local ctr_pid i
	ctr_pid=$(cat /var/run/docker/containerd/containerd.pid 2>/dev/null || true)
	log "stopping the dockerd started by this script (pid $DOCKERD_PID)"
	kill -TERM "$DOCKERD_PID" 2>/dev/null || true
	for ((i = 0; i < 60; i++)); do
		kill -0 "$DOCKERD_PID" 2>/dev/null || break
		sleep 0.5
	done
	if kill -0 "$DOCKERD_PID" 2>/dev/null; then
		echo "dockerd did not stop within 30s; killing it" >&2
		kill -KILL "$DOCKERD_PID" 2>/dev/null || true
		if [ -n "$ctr_pid" ] && kill -0 "$ctr_pid" 2>/dev/null; then
			kill -KILL "$ctr_pid" 2>/dev/null || true
		fi
	fi
	wait "$DOCKERD_PID" 2>/dev/null || true
	STARTED_DOCKERD=0
}

now_ms() { date +%s%3N; }
# secs_since MS: seconds since now_ms printed MS, with one decimal.
secs_since() { awk -v d="$(($(now_ms) - $1))" 'BEGIN { printf "%.1f", d / 1000 }'; }

# client_run LIMIT DOCKER-RUN-ARGS...: a client container (docker run --rm), stopped after
# LIMIT seconds. Sets OUT to its output; returns its exit code, 124 when it was stopped.
client_run() {
	local limit=$1 rc=0
	shift
	OUT=$(timeout --kill-after=5 "$limit" docker run --rm --name "$HTTPS_CLIENT" "$@" 2>&1) || rc=$?
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		docker rm -f "$HTTPS_CLIENT" >/dev/null 2>&1 || true
		OUT+=$'\n'"(no result within ${limit}s: stopped)"
		rc=124
	fi
	return "$rc"
}

# netfilter_state: one line on what decides whether traffic between containers on a bridge
# passes: whether bridge netfilter hands it to the IPv4 forward hook, and what the chains on
# that hook do (nftables, which iptables-nft writes to, and iptables-legacy's FORWARD).
# Only reads: no table is created (iptables-legacy is asked only when its filter table exists).
netfilter_state() {
	local out n line=
	local -a parts=()
	if [ -r "$FW_NF" ]; then
		parts+=("net.bridge.bridge-nf-call-iptables=$(cat "$FW_NF")")
	else
		parts+=("bridge netfilter off (no $FW_NF)")
	fi
	if command -v nft >/dev/null 2>&1; then
		out=$(timeout 10 nft -s list ruleset 2>&1 | awk '
			$1 == "table" { table = $2 " " $3 }
			$1 == "chain" { chain = $2; fwd = 0; rules = 0 }
			/type filter hook forward/ {
				fwd = 1
				policy = "accept"
				if (match($0, /policy [a-z]+/)) policy = substr($0, RSTART + 7, RLENGTH - 7)
				next
			}
			fwd && $1 == "}" {
				printf "%snft %s %s (forward hook): policy %s, %d rules", sep, table, chain, policy, rules
				sep = "; "
				fwd = 0
				next
			}
			fwd && NF { rules++ }
			END { if (sep == "") printf "nft: no chain on the forward hook" }')
		parts+=("$out")
	elif command -v iptables-nft >/dev/null 2>&1 && out=$(timeout 10 iptables-nft -w 5 -S FORWARD 2>&1); then
		parts+=("iptables-nft: $(awk '$1 == "-P" { p = $3 } $1 == "-A" { n++ } END { printf "FORWARD policy %s, %d rules", p, n }' <<<"$out")")
	fi
	if command -v iptables-legacy >/dev/null 2>&1 && grep -qx filter /proc/net/ip_tables_names 2>/dev/null &&
		out=$(timeout 10 iptables-legacy -w 5 -S FORWARD 2>&1); then
		parts+=("iptables-legacy: $(awk '$1 == "-P" { p = $3 } $1 == "-A" { n++ } END { printf "FORWARD policy %s, %d rules", p, n }' <<<"$out")")
	fi
	if [ "$STARTED_DOCKERD" = 1 ] && [[ $DOCKERD_FLAGS == *--iptables=false* ]]; then
		parts+=("our dockerd runs --iptables=false, so it adds no ACCEPT rule for its networks")
	fi
	for n in "${parts[@]}"; do line+="${line:+; }$n"; done
	printf '%s' "$line"
}

# restore_firewall: undoes step 7's change: the sysctl first, then the table.
restore_firewall() {
	[ "$FW_CHANGED" = 1 ] || return 0
	if [ -n "$FW_NF_ORIG" ] && [ "$(cat "$FW_NF" 2>/dev/null)" != "$FW_NF_ORIG" ]; then
		echo "$FW_NF_ORIG" >"$FW_NF" || echo "could not write $FW_NF_ORIG to $FW_NF" >&2
	fi
	if nft list table ip "$FW_TABLE" >/dev/null 2>&1; then
		nft delete table ip "$FW_TABLE" || echo "could not delete nft table ip $FW_TABLE" >&2
	fi
	if [ -n "$FW_WATCHDOG" ]; then
		kill -- "-$FW_WATCHDOG" 2>/dev/null || kill "$FW_WATCHDOG" 2>/dev/null || true
		wait "$FW_WATCHDOG" 2>/dev/null || true
		FW_WATCHDOG=
	fi
	FW_CHANGED=0
	log "firewall restored: nft table ip $FW_TABLE deleted, net.bridge.bridge-nf-call-iptables=$(cat "$FW_NF" 2>/dev/null)"
}

# Removes dangling images (old build cache) that this run's build did not use:
# with vfs every layer is a full copy, so they add up quickly.
prune_stale_cache() {
	local used id
	used=$(grep -o -e '---> [0-9a-f]\{12\}' "$WORK/build.log" 2>/dev/null | awk '{ print $2 }' | sort -u)
	for id in $(docker images -q -f dangling=true 2>/dev/null | sort -u); do
		grep -qx "$id" <<<"$used" || docker image rm "$id" >/dev/null 2>&1
	done
}

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM HUP
	restore_firewall
	[ -z "${HTTPS_VOL:-}" ] || docker rm -f "$HTTPS_CLIENT" >/dev/null 2>&1
	if [ -n "$CONTAINER" ]; then
		if [ "$FAILED" -gt 0 ] || [ "$rc" -ne 0 ]; then
			echo "---- last container logs ($CONTAINER) ----"
			docker logs --tail 40 "$CONTAINER" 2>&1
			echo "---- container health log ----"
			docker inspect -f '{{if .State.Health}}{{range .State.Health.Log}}exit={{.ExitCode}}: {{printf "%q" .Output}}{{println}}{{end}}{{end}}' "$CONTAINER" 2>&1
			echo "------------------------------------------"
		fi
		docker rm -f "$CONTAINER" >/dev/null 2>&1
	fi
	[ -z "${HTTPS_MOCK:-}" ] || docker rm -f "$HTTPS_MOCK" >/dev/null 2>&1
	[ -z "${HTTPS_NET:-}" ] || docker network rm "$HTTPS_NET" >/dev/null 2>&1
	[ -z "${HTTPS_VOL:-}" ] || docker volume rm "$HTTPS_VOL" >/dev/null 2>&1
	if [ "$IMAGE_BUILT" = 1 ] && [ "$KEEP_IMAGE" != 1 ]; then
		docker image rm "$IMAGE" >/dev/null 2>&1
	fi
	if [ -n "$BUILD_PID" ] && kill -0 "$BUILD_PID" 2>/dev/null; then
		log "stopping docker build"
		kill -TERM "$BUILD_PID" 2>/dev/null
		wait "$BUILD_PID" 2>/dev/null
	fi
	if [ "$PRUNE" = 1 ]; then
		log "removing dangling images"
		docker image prune -f 2>&1 | tail -n 1
	elif [ "$STARTED_DOCKERD" = 1 ] && [ "$IMAGE_BUILT" = 1 ]; then
		prune_stale_cache
	fi
	if [ "$STARTED_DOCKERD" = 1 ] && [ "$DIED" = 1 ]; then
		echo "---- last dockerd log lines ($DOCKERD_LOG) ----"
		tail -n 15 "$DOCKERD_LOG" 2>/dev/null
	fi
	stop_dockerd
	rm -rf "$WORK"
	[ "$rc" -ne 0 ] || [ "$FAILED" -eq 0 ] || rc=1
	echo "docker-smoke: $PASSED passed, $FAILED failed"
	if [ "$rc" -eq 0 ]; then
		echo "PASS: docker smoke test (${SECONDS}s)"
	else
		echo "FAIL: docker smoke test (${SECONDS}s)"
	fi
	exit "$rc"
}
interrupted() {
	FAILED=$((FAILED + 1))
	printf 'FAIL: interrupted by SIG%s\n' "$1"
	exit "$2"
}
trap cleanup EXIT
trap 'interrupted INT 130' INT
trap 'interrupted TERM 143' TERM
trap 'interrupted HUP 129' HUP

# ---------------------------------------------------------------- 1. tools
[ "$(id -u)" = 0 ] || die "run this script as root (it may install packages and start dockerd)"

apt_install() {
	log "installing from Debian: $*"
	export DEBIAN_FRONTEND=noninteractive
	if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"; } >"$WORK/apt.log" 2>&1; then
		tail -n 30 "$WORK/apt.log"
		die "apt-get install $* failed"
	fi
}

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ -s /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
# nft is for step 7 only, which is skipped without it.
if [ "$FORCED_DROP" = 1 ] && ! command -v nft >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
	missing+=(nftables)
fi
if [ "${#missing[@]}" -gt 0 ]; then
	command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
	apt_install "${missing[@]}"
fi
command -v docker >/dev/null 2>&1 || die "no docker CLI on PATH even after installing docker.io"
command -v dockerd >/dev/null 2>&1 || die "no dockerd on PATH even after installing docker.io"
pass "docker tools present: $(command -v docker), $(command -v dockerd)"

# --------------------------------------------------------------- 2. daemon
if timeout 20 docker info >/dev/null 2>&1; then
	log "using the Docker daemon that is already running"
else
	# Our daemon listens on the default socket; make the CLI talk to it.
	unset DOCKER_HOST DOCKER_CONTEXT
	DOCKERD_LOG="$WORK/dockerd.log"
	log "starting dockerd $DOCKERD_FLAGS (log: $DOCKERD_LOG)"
	# shellcheck disable=SC2086 # flags are a space-separated list on purpose
	dockerd $DOCKERD_FLAGS >"$DOCKERD_LOG" 2>&1 &
	DOCKERD_PID=$!
	STARTED_DOCKERD=1
	deadline=$((SECONDS + DOCKERD_TIMEOUT))
	until timeout 10 docker info >/dev/null 2>&1; do
		if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
			STARTED_DOCKERD=0
			tail -n 30 "$DOCKERD_LOG"
			die "dockerd exited during start-up"
		fi
		[ "$SECONDS" -lt "$deadline" ] || die "dockerd did not answer within ${DOCKERD_TIMEOUT}s"
		sleep 1
	done
fi
server_version=$(docker version -f '{{.Server.Version}}' 2>/dev/null || echo '?')
storage=$(docker info -f '{{.Driver}}' 2>/dev/null || echo '?')
pass "Docker daemon answers (server $server_version, storage driver $storage)"

# ------------------------------------------------- 3. golang build image
BUILD_BASE=$(awk 'toupper($1) == "FROM" && $2 ~ /^golang:/ { print $2; exit }' Dockerfile)
[ -n "$BUILD_BASE" ] || die "Dockerfile has no 'FROM golang:<tag>' build stage"

find_go() {
	if command -v go >/dev/null 2>&1; then
		command -v go
	elif [ -x /usr/local/go/bin/go ]; then
		echo /usr/local/go/bin/go
	else
		return 1
	fi
}

# Prints the extra files (shared libraries, loader) that a dynamically linked
# executable needs; prints nothing for static executables.
runtime_deps() {
	local out
	out=$(ldd "$1" 2>/dev/null) || return 0 # "not a dynamic executable"
	printf '%s\n' "$out" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'
}

make_standin() {
	local go_bin goroot gover tag_ver toolroot stage tarball f deps base var val
	local -a changes
	go_bin=$(find_go) || die "no local $BUILD_BASE image and no Go toolchain on this machine to make a stand-in"
	goroot=$("$go_bin" env GOROOT)
	gover=$("$go_bin" env GOVERSION)
	toolroot="$goroot/pkg/tool/$("$go_bin" env GOHOSTOS)_$("$go_bin" env GOHOSTARCH)"
	tag_ver=${BUILD_BASE#golang:}
	tag_ver=${tag_ver%%-*}
	case "$gover" in
	go"$tag_ver" | go"$tag_ver".*) ;;
	*) echo "warning: stand-in for $BUILD_BASE made from $gover (tag and toolchain versions differ)" >&2 ;;
	esac
	log "no local $BUILD_BASE image: creating a stand-in from $goroot ($gover)"

	stage="$WORK/rootfs"
	mkdir -p "$stage"/{etc/ssl/certs,usr/local,go/bin,go/pkg/mod,src,root/.cache,tmp}
	chmod 1777 "$stage/tmp"
	chmod 0777 "$stage/go" "$stage/go/bin" "$stage/go/pkg" "$stage/go/pkg/mod"
	cp /etc/ssl/certs/ca-certificates.crt "$stage/etc/ssl/certs/"
	printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$stage/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"
	printf 'hosts: files dns\n' >"$stage/etc/nsswitch.conf"

	# The go command and its tools must run without anything else from the host.
	for f in "$goroot"/bin/* "$toolroot"/*; do
		[[ -f $f && -x $f ]] || continue
		deps=$(runtime_deps "$f")
		[ -n "$deps" ] || continue
		echo "note: $f is dynamically linked; adding $(echo "$deps" | tr '\n' ' ')" >&2
		while read -r dep; do
			[ -e "$dep" ] && cp -L --parents "$dep" "$stage/"
		done <<<"$deps"
	done

	tarball="$WORK/rootfs.tar"
	tar -C "$stage" --numeric-owner --owner=0 --group=0 -cf "$tarball" .
	base=$(basename "$goroot")
	tar -C "$(dirname "$goroot")" --numeric-owner --owner=0 --group=0 \
		--anchored --exclude="$base/test" --no-anchored --exclude=testdata \
		--transform="s|^$base|usr/local/go|" \
		-rf "$tarball" "$base"

	changes=(
		--change 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
		--change 'ENV GOPATH=/go'
		--change 'ENV HOME=/root'
		--change 'ENV GOCACHE=/root/.cache/go-build'
		--change 'ENV GOMODCACHE=/go/pkg/mod'
		--change 'ENV GOTOOLCHAIN=local'
		--change "ENV GOLANG_VERSION=${gover#go}"
		--change 'WORKDIR /src'
		--change 'CMD ["go", "version"]'
		--change "LABEL $STANDIN_LABEL=$gover"
	)
	# Carry over a non-default module proxy configuration of this machine.
	for var in GOPROXY GOSUMDB GONOSUMDB GONOPROXY GOPRIVATE GOINSECURE; do
		val=$("$go_bin" env "$var")
		case "$var=$val" in
		GOPROXY=https://proxy.golang.org,direct | GOSUMDB=sum.golang.org | *=) ;;
		*) changes+=(--change "ENV $var=$val") ;;
		esac
	done
	docker import "${changes[@]}" --message "stand-in for $BUILD_BASE made by scripts/docker-smoke.sh" \
		"$tarball" "$BUILD_BASE" >/dev/null || die "docker import of the $BUILD_BASE stand-in failed"
	rm -rf "$stage" "$tarball"

	# CGO_ENABLED=0 builds must work in it: compile a tiny program.
	mkdir -p "$WORK/probe"
	printf 'module probe\n\ngo 1.21\n' >"$WORK/probe/go.mod"
	printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("stand-in ok") }\n' >"$WORK/probe/main.go"
	if ! docker run --rm --network host -e CGO_ENABLED=0 -v "$WORK/probe:/src" "$BUILD_BASE" \
		go build -o /tmp/probe . >"$WORK/probe.log" 2>&1; then
		cat "$WORK/probe.log"
		docker image rm "$BUILD_BASE" >/dev/null 2>&1 || true
		die "go build inside the $BUILD_BASE stand-in failed"
	fi
	pass "created stand-in image $BUILD_BASE from $gover; CGO_ENABLED=0 go build works in it"
}

existing_standin=$(docker image inspect -f "{{index .Config.Labels \"$STANDIN_LABEL\"}}" "$BUILD_BASE" 2>/dev/null || true)
if ! docker image inspect "$BUILD_BASE" >/dev/null 2>&1; then
	make_standin
elif [ -n "$existing_standin" ] && [ "$existing_standin" != "<no value>" ]; then
	host_gover=$("$(find_go)" env GOVERSION 2>/dev/null || true)
	if [ "$REBUILD_STANDIN" = 1 ] || { [ -n "$host_gover" ] && [ "$host_gover" != "$existing_standin" ]; }; then
		log "stand-in $BUILD_BASE was made from $existing_standin; re-creating it"
		docker image rm -f "$BUILD_BASE" >/dev/null
		make_standin
	else
		pass "using existing stand-in image $BUILD_BASE ($existing_standin)"
	fi
else
	pass "using local image $BUILD_BASE"
fi

# ---------------------------------------------------------------- 4. build
VERSION="smoke-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo dev)"
build_args=(--build-arg "VERSION=$VERSION")
for var in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
	[ -z "${!var:-}" ] || build_args+=(--build-arg "$var=${!var}")
done
log "docker build --network host -t $IMAGE (VERSION=$VERSION)"
build_start=$SECONDS
# In the background so that a TERM/INT trap runs (and stops it) at once.
timeout "$BUILD_TIMEOUT" docker build --network host "${build_args[@]}" -t "$IMAGE" "$ROOT" \
	> >(tee "$WORK/build.log") 2>&1 &
BUILD_PID=$!
build_rc=0
wait "$BUILD_PID" || build_rc=$?
BUILD_PID=
[ "$build_rc" -ne 124 ] || die "docker build did not finish within ${BUILD_TIMEOUT}s"
[ "$build_rc" -eq 0 ] || die "docker build failed with exit code $build_rc (see the output above)"
IMAGE_BUILT=1
pass "docker build succeeded in $((SECONDS - build_start))s"

size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
size_mib=$(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1048576 }')
log "image $IMAGE size: $size bytes ($size_mib MiB)"
if [ "$size" -lt "$SIZE_LIMIT" ]; then
	pass "image size $size_mib MiB is under $((SIZE_LIMIT / 1048576)) MiB"
else
	fail "image size $size_mib MiB is $((SIZE_LIMIT / 1048576)) MiB or more"
fi

image_user=$(docker image inspect -f '{{.Config.User}}' "$IMAGE")
case "${image_user%%:*}" in
"" | root | 0) fail "image user is '${image_user}' (empty or root)" ;;
*) pass "image user is $image_user (not root)" ;;
esac

if version_out=$(timeout 120 docker run --rm --network host "$IMAGE" version 2>&1); then
	if printf '%s' "$version_out" | grep -qF "$VERSION"; then
		pass "'idvmock version' reports the build version: $(printf '%s' "$version_out" | head -n 1)"
	else
		fail "'idvmock version' printed '$version_out', without $VERSION (is 'var version' in package main, set with -X main.version?)"
	fi
else
	fail "'idvmock version' failed: $version_out"
fi

# ------------------------------------------------------------------ 5. run
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=$FIRST_PORT
while port_in_use "$PORT"; do
	PORT=$((PORT + 1))
	[ "$PORT" -lt $((FIRST_PORT + 100)) ] || die "no free port in $FIRST_PORT..$((FIRST_PORT + 99))"
done
BASE_URL="http://127.0.0.1:$PORT"

CONTAINER="idvmock-smoke-$$"
log "docker run $IMAGE as $CONTAINER on the host network, IDVMOCK_ADDR=:$PORT"
docker run -d --name "$CONTAINER" --network host \
	--cap-drop ALL --security-opt no-new-privileges \
	-e IDVMOCK_ADDR=":$PORT" \
	--health-interval 2s --health-timeout 3s --health-retries 3 --health-start-period 5s \
	"$IMAGE" >/dev/null || die "docker run failed"

deadline=$((SECONDS + READY_TIMEOUT))
until curl -fsS -o /dev/null -m 2 "$BASE_URL/__admin/health" 2>/dev/null; do
	if [ "$(docker inspect -f '{{.State.Running}}' "$CONTAINER" 2>/dev/null)" != true ]; then
		die "the container stopped before answering (exit code $(docker inspect -f '{{.State.ExitCode}}' "$CONTAINER" 2>/dev/null))"
	fi
	[ "$SECONDS" -lt "$deadline" ] || die "no answer from $BASE_URL/__admin/health within ${READY_TIMEOUT}s"
	sleep 0.5
done
pass "server answers GET /__admin/health on port $PORT"

# request USER [extra curl args...]: sets STATUS, BODY and CODE.
request() {
	local user=$1 out
	shift
	if ! out=$(curl -sS -m 10 -w '\n%{http_code}' -H "X-ACCESS-TOKEN: $TOKEN" "$@" \
		"$BASE_URL$ENDPOINT?userId=$user" 2>&1); then
		STATUS=000
		BODY=$out
		CODE=
		return 0
	fi
	STATUS=${out##*$'\n'}
	BODY=${out%$'\n'*}
	# The envelope's own "code" is the first one in the document.
	CODE=$(printf '%s\n' "$BODY" | grep -o '"code"[[:space:]]*:[[:space:]]*"[^"]*"' | head -n 1 |
		sed 's/.*:[[:space:]]*"\([^"]*\)"$/\1/' || true)
}

check_user() {
	local user=$1 want=$2 label=$3
	shift 3
	request "$user" "$@"
	if [ "$STATUS" = 200 ] && [ "$CODE" = "$want" ]; then
		pass "$label: HTTP 200, code $CODE"
	else
		fail "$label: want HTTP 200 and code $want, got HTTP $STATUS and code '${CODE}'; body: $(printf '%s' "$BODY" | head -c 300)"
	fi
}

for spec in "${DEMO_USERS[@]}"; do
	check_user "${spec%%:*}" "${spec#*:}" "userId=${spec%%:*}"
done
check_user user_002 SUCCESS "userId=user_002 with Host: sg-api.advance.ai" -H 'Host: sg-api.advance.ai'

# The container listens beyond loopback (:PORT), so its admin API needs the token it logs.
admin_status() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$@" "$BASE_URL/__admin/users" || true; }
admin_token=$(docker logs "$CONTAINER" 2>&1 | sed -n 's/.*adminToken=\([0-9a-f]\{32\}\).*/\1/p' | head -n 1)
if [ -z "$admin_token" ]; then
	fail "no admin token in the container's log (an image listening beyond loopback logs one)"
elif [ "$(admin_status)" != 401 ] || [ "$(admin_status -H "Authorization: Bearer $admin_token")" != 200 ]; then
	fail "admin API: $(admin_status) without the token, $(admin_status -H "Authorization: Bearer $admin_token") with it; want 401 and 200"
else
	pass "the admin API needs the token the container logged (401 without it, 200 with it)"
fi

# HEALTHCHECK from the Dockerfile (interval shortened by docker run).
deadline=$((SECONDS + HEALTH_TIMEOUT))
health=
while :; do
	health=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$CONTAINER" 2>/dev/null || echo gone)
	case "$health" in
	healthy | unhealthy | none | gone) break ;;
	esac
	[ "$SECONDS" -lt "$deadline" ] || break
	sleep 1
done
if [ "$health" = healthy ]; then
	pass "docker reports the container healthy (HEALTHCHECK /idvmock health)"
else
	fail "container health is '$health', want 'healthy'"
fi

# The process must not run as root.
container_user=$(docker inspect -f '{{.Config.User}}' "$CONTAINER")
pid=$(docker inspect -f '{{.State.Pid}}' "$CONTAINER")
uids=$(awk '/^Uid:/ { print $2, $3 }' "/proc/$pid/status" 2>/dev/null || true)
gids=$(awk '/^Gid:/ { print $2, $3 }' "/proc/$pid/status" 2>/dev/null || true)
if [ -z "$uids" ]; then
	fail "cannot read /proc/$pid/status of the container's process"
elif [ "${uids%% *}" = 0 ] || [ "${uids##* }" = 0 ]; then
	fail "the container's process (host pid $pid) runs as root (uid $uids)"
else
	pass "the container's process (host pid $pid) runs as uid ${uids%% *}, gid ${gids%% *} (configured user '$container_user')"
fi

# The server survived all of the above.
if [ "$(docker inspect -f '{{.State.Running}}' "$CONTAINER")" = true ]; then
	pass "container still running after the checks"
else
	fail "container stopped during the checks"
fi

# ------------------------------------------------- 6. HTTPS by hostname
# As examples/compose/compose.yaml does: the mock answers the six vendor hostnames over
# HTTPS with its local CA, and a client container that trusts the CA (SSL_CERT_FILE, from a
# shared volume) runs the contract suite against https://<region>-api.advance.ai. On a
# network with aliases when this dockerd can make one and a probe container on it gets an
# answer from the mock by hostname within SMOKE_PROBE_TIMEOUT seconds; else on the host
# network with the hostnames in the client's /etc/hosts (--add-host) and the next free port.
#
# Why the probe: a dockerd with --iptables=false (ours) adds no ACCEPT rule for its networks.
# When bridge netfilter is on (net.bridge.bridge-nf-call-iptables=1) and the FORWARD policy
# is DROP -- the state any dockerd with iptables leaves behind -- containers on the network
# cannot reach each other, and the contract suite would spend minutes on timeouts.
HTTPS_VOL="idvmock-smoke-ca-$$"
HTTPS_NET="idvmock-smoke-net-$$"
HTTPS_MOCK="idvmock-smoke-https-$$"
docker volume create "$HTTPS_VOL" >/dev/null || die "docker volume create failed"
HOSTNAMES=(api.advance.ai sg-api.advance.ai ph-api.advance.ai th-api.advance.ai my-api.advance.ai vn-api.advance.ai)
NO_NETWORK_WHY=
if ! docker network create "$HTTPS_NET" >"$WORK/network.log" 2>&1; then
	HTTPS_NET=
	NO_NETWORK_WHY="docker network create: $(head -c 200 "$WORK/network.log")"
fi

start_mock_on_network() {
	local h aliases=()
	for h in "${HOSTNAMES[@]}"; do aliases+=(--network-alias "$h"); done
	docker run -d --name "$HTTPS_MOCK" --network "$HTTPS_NET" "${aliases[@]}" -v "$HTTPS_VOL:/ca" \
		"$IMAGE" serve --tls-addr :443 >/dev/null || die "docker run (HTTPS mock) failed"
	client_net=(--network "$HTTPS_NET")
	target=https://sg-api.advance.ai
}

start_mock_on_host() {
	local h
	https_port=$((PORT + 1))
	while port_in_use "$https_port" || port_in_use "$((https_port + 1))"; do https_port=$((https_port + 2)); done
	docker run -d --name "$HTTPS_MOCK" --network host -v "$HTTPS_VOL:/ca" -e IDVMOCK_ADDR=":$((https_port + 1))" \
		"$IMAGE" serve --tls-addr ":$https_port" >/dev/null || die "docker run (HTTPS mock) failed"
	client_net=(--network host)
	for h in "${HOSTNAMES[@]}"; do client_net+=(--add-host "$h:127.0.0.1"); done
	target="https://sg-api.advance.ai:$https_port"
}

wait_mock() {
	local deadline=$((SECONDS + READY_TIMEOUT))
	until docker exec "$HTTPS_MOCK" /idvmock health >/dev/null 2>&1; do
		[ "$(docker inspect -f '{{.State.Running}}' "$HTTPS_MOCK" 2>/dev/null)" = true ] || die "the HTTPS mock stopped: $(docker logs --tail 5 "$HTTPS_MOCK" 2>&1)"
		[ "$SECONDS" -lt "$deadline" ] || die "the HTTPS mock did not become healthy within ${READY_TIMEOUT}s"
		sleep 0.5
	done
}

# https_by_hostname PREFIX: the checks of step 6, each PASS/FAIL line starting with PREFIX.
# Sets HTTPS_USED (network or host), PROBE_OK (1, 0, or empty without a network) and
# PROBE_SECS. The mock is removed at the end; the network and the CA volume stay.
https_by_hostname() {
	local prefix=$1 why=$NO_NETWORK_WHY start
	HTTPS_USED=host
	PROBE_OK=
	PROBE_SECS=
	if [ -n "$HTTPS_NET" ]; then
		start_mock_on_network
		wait_mock
		start=$(now_ms)
		if client_run "$PROBE_LIMIT" "${client_net[@]}" "$IMAGE" \
			health --url http://sg-api.advance.ai:8080 --timeout "${PROBE_TIMEOUT}s"; then
			PROBE_OK=1
			PROBE_SECS=$(secs_since "$start")
			HTTPS_USED=network
			log "probe: a container on $HTTPS_NET got an answer from http://sg-api.advance.ai:8080 in ${PROBE_SECS}s"
		else
			PROBE_OK=0
			PROBE_SECS=$(secs_since "$start")
			why="the network cannot carry traffic between containers, see above"
			log "the network cannot carry traffic between containers: a container on $HTTPS_NET got no answer from the mock by hostname within ${PROBE_SECS}s ($(printf '%s\n' "$OUT" | tail -n 1)); $(netfilter_state); falling back to the host network"
			docker rm -f "$HTTPS_MOCK" >/dev/null 2>&1 || true
		fi
	fi
	if [ "$HTTPS_USED" = network ]; then
		HTTPS_MODE="network $HTTPS_NET with the six hostnames as aliases, port 443"
	else
		start_mock_on_host
		wait_mock
		HTTPS_MODE="host network, the six hostnames in the client's /etc/hosts, port $https_port ($why)"
	fi
	log "HTTPS by hostname: $HTTPS_MODE"
	if client_run "$CONTRACT_TIMEOUT" "${client_net[@]}" -v "$HTTPS_VOL:/ca:ro" -e SSL_CERT_FILE=/ca/ca.pem \
		-e IDVMOCK_ACCESS_KEY=sampleaccesskey -e IDVMOCK_SECRET_KEY=samplesecretkey \
		"$IMAGE" contract --target "$target" --region all; then
		pass "${prefix}a client container trusting the mock's CA got SUCCESS over HTTPS by hostname: $(printf '%s\n' "$OUT" | tail -n 1)"
	else
		fail "${prefix}the client container over HTTPS by hostname: $(printf '%s\n' "$OUT" | tail -n 15)"
	fi
	if client_run "$CONTRACT_TIMEOUT" "${client_net[@]}" -e IDVMOCK_ACCESS_KEY=sampleaccesskey -e IDVMOCK_SECRET_KEY=samplesecretkey \
		"$IMAGE" contract --target "$target" --region sg; then
		fail "${prefix}a client that does not trust the CA got answers over HTTPS"
	elif grep -q 'certificate' <<<"$OUT"; then
		pass "${prefix}a client that does not trust the CA is refused: certificate error"
	else
		fail "${prefix}a client without the CA failed for another reason: $(printf '%s\n' "$OUT" | tail -n 3)"
	fi
	docker rm -f "$HTTPS_MOCK" >/dev/null 2>&1 || true
}

https_by_hostname ""
STEP6_USED=$HTTPS_USED

# ------------------------- 7. the fallback, with this network's traffic really dropped
# The state of the issue, made on purpose and undone at once: bridge netfilter on, and a
# chain on the IPv4 forward hook -- where the FORWARD chain of iptables-nft (Debian's
# default, which docker.io installs) and of iptables-legacy sit -- that drops this network's
# bridged traffic, as a DROP policy without ACCEPT rules does. The chain is in a table of
# its own, so the host's tables are not touched and deleting that table undoes it all;
# it drops only this bridge's traffic, so the host's other forwarded traffic goes on.
# The probe must see it within seconds, step 6 must pass on the host network, and the
# rule must have dropped packets. restore_firewall runs at the end of this step, from the
# EXIT trap on any other exit, and from a detached watchdog if this script is killed outright.
forced_drop_check() {
	local netid bridge before after dropped delay
	if [ "$FORCED_DROP" != 1 ]; then
		echo "SKIP: step 7 (SMOKE_FORCED_DROP=$FORCED_DROP)"
		return 0
	fi
	if [ "$STEP6_USED" != network ]; then
		echo "SKIP: step 7: step 6 already ran on the host network (the network path is unavailable here, so the fallback was checked for real above)"
		return 0
	fi
	if ! command -v nft >/dev/null 2>&1; then
		echo "SKIP: step 7: no nft command (package nftables) to drop the network's traffic"
		return 0
	fi
	if [ ! -w "$FW_NF" ]; then
		echo "SKIP: step 7: no $FW_NF (br_netfilter is not loaded, so the forward hook never sees bridged traffic and the failing state cannot occur here)"
		return 0
	fi
	netid=$(docker network inspect -f '{{.Id}}' "$HTTPS_NET")
	bridge=$(docker network inspect -f '{{index .Options "com.docker.network.bridge.name"}}' "$HTTPS_NET")
	case "$bridge" in "" | "<no value>") bridge="br-${netid:0:12}" ;; esac
	if [ ! -e "/sys/class/net/$bridge" ]; then
		echo "SKIP: step 7: the network's bridge $bridge is not in this network namespace (a daemon elsewhere)"
		return 0
	fi
	if ! before=$(nft -s list ruleset 2>&1); then
		echo "SKIP: step 7: nft list ruleset failed: $before"
		return 0
	fi
	FW_NF_ORIG=$(cat "$FW_NF")
	# If this script is killed outright (no trap runs), the watchdog undoes the change.
	delay=$((PROBE_LIMIT + 2 * READY_TIMEOUT + 2 * CONTRACT_TIMEOUT + 60))
	# shellcheck disable=SC2016 # expanded by the watchdog's bash, from its arguments
	setsid bash -c 'sleep "$1"
		if nft list table ip "$4" >/dev/null 2>&1; then
			[ "$3" = 1 ] || echo "$3" >"$2"
			nft delete table ip "$4"
		fi' idvmock-smoke-fw-watchdog "$delay" "$FW_NF" "$FW_NF_ORIG" "$FW_TABLE" </dev/null >/dev/null 2>&1 &
	FW_WATCHDOG=$!
	FW_CHANGED=1
	# The table first, then the sysctl; restore_firewall undoes them in the other order.
	nft -f - <<-EOF || die "nft could not add table ip $FW_TABLE"
		table ip $FW_TABLE {
			chain forward {
				type filter hook forward priority filter; policy accept;
				iifname "$bridge" oifname "$bridge" counter drop comment "scripts/docker-smoke.sh step 7"
			}
		}
	EOF
	[ "$FW_NF_ORIG" = 1 ] || echo 1 >"$FW_NF"
	log "dropping the bridged traffic of $HTTPS_NET: nft table ip $FW_TABLE, forward hook: iifname $bridge oifname $bridge drop; $(netfilter_state)"
	https_by_hostname "with bridged traffic dropped: "
	dropped=$(nft list table ip "$FW_TABLE" 2>/dev/null | grep -o 'packets [0-9]*' | head -n 1 | awk '{ print $2 }' || true)
	if [ "$PROBE_OK" = 0 ] && [ "${dropped:-0}" -gt 0 ] &&
		awk -v s="$PROBE_SECS" -v l="$((PROBE_TIMEOUT + 10))" 'BEGIN { exit !(s <= l) }'; then
		pass "with bridged traffic dropped: the probe saw it in ${PROBE_SECS}s (the rule dropped $dropped packets) and step 6 took the host-network fallback"
	elif [ "$PROBE_OK" = 0 ] && [ "${dropped:-0}" -gt 0 ]; then
		fail "with bridged traffic dropped: the probe took ${PROBE_SECS}s to fail, more than $((PROBE_TIMEOUT + 10))s"
	elif [ "$PROBE_OK" = 0 ]; then
		fail "with bridged traffic dropped: the probe failed, but the rule dropped no packet: something else stopped it"
	else
		fail "with bridged traffic dropped: the probe still got an answer (the rule dropped ${dropped:-?} packets): it cannot detect the failing state"
	fi
	restore_firewall
	after=$(nft -s list ruleset 2>&1 || true)
	if [ "$after" = "$before" ] && [ "$(cat "$FW_NF")" = "$FW_NF_ORIG" ] && ! nft list table ip "$FW_TABLE" >/dev/null 2>&1; then
		pass "firewall restored: nft ruleset as before ($(grep -c '^table' <<<"$after" || true) tables), net.bridge.bridge-nf-call-iptables=$FW_NF_ORIG as before"
	else
		fail "firewall not as before: bridge-nf-call-iptables was $FW_NF_ORIG, is $(cat "$FW_NF"); nft ruleset diff: $(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | head -n 20 | tr '\n' ' ')"
	fi
}
forced_drop_check
# cleanup() prints the summary and sets the exit code.
