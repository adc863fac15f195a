#!/usr/bin/env bash
# fuzz.sh BUDGET PARALLEL pkg:Target...
#
# Runs each Go fuzz target for BUDGET (a duration such as 2m, or a count such
# as 300x) and stops at the first one that finds a crash; the crasher is saved
# under the package's testdata/fuzz/Target, where `go test` replays it.
#
# Go 1.26's fuzz coordinator can fail a target with "context deadline
# exceeded" when a duration budget ends while a worker is mid-call
# (golang/go#75804, fixed in Go 1.27). A count budget has no deadline, so
# `make fuzz-smoke` uses one; for a duration budget a failure that wrote no
# crasher and says only that is reported as the known race, not as a finding.
set -euo pipefail

budget=$1 parallel=$2
shift 2

for t in "$@"; do
  pkg=${t%%:*} fn=${t##*:}
  corpus="$pkg/testdata/fuzz/$fn"
  before=$(find "$corpus" -type f 2>/dev/null | sort || true)
  printf 'fuzz %-20s %-22s %s\n' "$fn" "$pkg" "$budget"
  if out=$(go test -run '^$' -fuzz "^$fn\$" -fuzztime "$budget" -fuzzminimizetime 30s \
    -parallel "$parallel" "$pkg" 2>&1); then
    continue
  fi
  after=$(find "$corpus" -type f 2>/dev/null | sort || true)
  if [[ $before == "$after" ]] && grep -q '^    context deadline exceeded$' <<<"$out" &&
    ! grep -q -e '--- FAIL: .*/' -e 'panic:' -e 'Failing input written' <<<"$out"; then
    echo "  $fn: the fuzz deadline race in Go's coordinator (golang/go#75804), no crasher: not a finding"
    continue
  fi
  tail -30 <<<"$out"
  exit 1
done
