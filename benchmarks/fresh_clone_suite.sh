#!/usr/bin/env bash
# The whole test suite on N fresh clones in a row, every other run beside a CPU hog (a busy loop on one core), to
# show that no test is flaky. The clones share one virtual environment, made once, so a run costs the suite and
# not a torch install; each clone is installed into it (editable, no dependencies) before `make test`.
#
#   benchmarks/fresh_clone_suite.sh [RUNS=20] [VENV=/tmp/fresh-clone-venv]
#
# Every run checks out the commit that was HEAD when the script started (or $REV), so all runs test one commit
# even if work goes on in the repository meanwhile.
# Prints one line per run (number, hog or not, exit status, seconds, pytest's summary) and exits non-zero if any
# run failed. Logs of every run are kept under $WORK (default /tmp/fresh-clone-suite).
set -uo pipefail
runs=${1:-20}
venv=${2:-/tmp/fresh-clone-venv}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-/tmp/fresh-clone-suite}
rev=$(git -C "$repo" rev-parse "${REV:-HEAD}")
echo "commit $rev"
mkdir -p "$work"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q --upgrade pip && "$venv/bin/pip" install -q -e "$repo[dev]"
fi
failed=0
for i in $(seq 1 "$runs"); do
  clone="$work/clone-$i"
  rm -rf "$clone"
  git clone -q "$repo" "$clone" && git -C "$clone" checkout -q "$rev"
  ln -s "$venv" "$clone/.venv" && touch "$venv/.installed"
  "$venv/bin/pip" install -q --no-deps -e "$clone" >/dev/null 2>&1
  hogs=()
  if (( i % 2 == 0 )); then
    python3 -c "while True: pass" & hogs+=($!)
  fi
  start=$(date +%s)
  (cd "$clone" && make test) >"$work/run-$i.log" 2>&1
  rc=$?
  for h in "${hogs[@]}"; do kill "$h"; done
  summary=$(grep -E "passed|failed|error" "$work/run-$i.log" | tail -1)
  echo "run $i hog=$(( ${#hogs[@]} > 0 )) rc=$rc $(( $(date +%s) - start ))s $summary"
  (( rc == 0 )) || failed=$((failed + 1))
  rm -rf "$clone"
done
"$venv/bin/pip" install -q --no-deps -e "$repo" >/dev/null 2>&1  # the shared venv points back at the repo
echo "$failed of $runs runs failed"
(( failed == 0 ))
