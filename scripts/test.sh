#!/usr/bin/env bash
# `make test`: every quality gate, one after the other, then a summary table.
# Usage: scripts/test.sh [STAGE...]   (default: all stages, in the order below)
# Exits non-zero if any stage failed or found no tests.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

s="$ROOT/scripts"
declare -A command=(
  [venv]="$s/venv.sh"
  [build]="$s/build.sh"
  [unit]="$s/pytest-stage.sh unit tests/unit"
  [cluster]="$s/pytest-stage.sh cluster tests/cluster/tests"
  [pyflakes]="$s/pyflakes.sh"
  [integration]="$s/pytest-stage.sh integration tests/integration"
  [sanity]="$s/sanity.sh"
  [ansible-lint]="$s/lint.sh"
  [docs]="$s/docs-lint.sh"
  [changelog]="$s/changelog.sh"
  [molecule]="$s/molecule.sh"
)
# One stage per other supported ansible-core (scripts/versions.sh): unit + integration tests.
compat=()
for core in "${COMPAT_CORES[@]}"; do command[compat-$core]="$s/compat.sh $core"; compat+=("compat-$core"); done
order=(venv build unit cluster pyflakes integration "${compat[@]}" sanity ansible-lint docs changelog molecule)
if (($#)); then order=("$@"); fi

logs="$CACHE/test-logs"
rm -rf "$logs" "$VIRT_KUBEVIRT_RESULTS"
mkdir -p "$logs"

declare -A result seconds
failed=0
for stage in "${order[@]}"; do
  [[ -n "${command[$stage]:-}" ]] || die "unknown stage '$stage' (known: ${!command[*]})"
  log "stage $stage: ${command[$stage]#"$ROOT"/}"
  start=$SECONDS
  rc=0
  # A stage's notes (lib.sh stage_note, e.g. "UNTESTED python3.14") join its RESULT.
  export VIRT_KUBEVIRT_STATUS_FILE="$logs/$stage.notes"
  : > "$VIRT_KUBEVIRT_STATUS_FILE"
  ${command[$stage]} </dev/null 2>&1 | tee "$logs/$stage.log" || rc=${PIPESTATUS[0]}
  seconds[$stage]=$((SECONDS - start))
  case $rc in
    0) result[$stage]=PASS ;;
    5) result[$stage]="NO TESTS"; failed=1 ;;
    77) result[$stage]=SKIPPED ;;
    "$EXIT_MISSING_PYTHON")
      result[$stage]=INCOMPLETE
      if [[ ${VIRT_KUBEVIRT_ALLOW_MISSING_PYTHON:-0} != 1 ]]; then failed=1; fi ;;
    *) result[$stage]="FAIL ($rc)"; failed=1 ;;
  esac
  notes="$(paste -sd, "$VIRT_KUBEVIRT_STATUS_FILE")"
  if [[ -n $notes ]]; then result[$stage]="${result[$stage]} ($notes)"; fi
  # Nothing else can run without the venv.
  if [[ $stage == venv && $rc != 0 ]]; then break; fi
done

printf '\n%-14s %-36s %6s  %s\n' STAGE RESULT SECONDS LOG
for stage in "${order[@]}"; do
  [[ -n "${result[$stage]:-}" ]] || continue
  printf '%-14s %-36s %6s  %s\n' "$stage" "${result[$stage]}" "${seconds[$stage]}" \
    "${logs#"$ROOT"/}/$stage.log"
done
python "$s/junit-totals.py" "$VIRT_KUBEVIRT_RESULTS"
exit "$failed"
