# Sourced by the scripts here: a temporary folder ($work) and background processes ($pids)
# that go away when the script ends, however it ends; idvmock built into $work.
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/idvmock" ./cmd/idvmock
