#!/usr/bin/env bash
# `make test`: every quality gate, then a summary table.
# Usage: scripts/test.sh [STAGE...]   (default: all stages, in the order below)
# Stages joined with "+" (e.g. compat-2.19+compat-2.20) run at the same time, each into its own
# log, which is printed when the group ends. Exits non-zero if any stage failed or found no tests.
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
  [docs-site]="$s/docs-site.sh"
  [ee]="$s/ee-check.sh"
  [changelog]="$s/changelog.sh"
  [molecule]="$s/molecule.sh"
)
# One stage per other supported ansible-core (scripts/versions.sh): unit + integration tests.
compat=()
for core in "${COMPAT_CORES[@]}"; do command[compat-$core]="$s/compat.sh $core"; compat+=("compat-$core"); done
# The two compat stages share the two cores (each is mostly waiting on ansible-playbook
# subprocesses and the simulator); the light static gates run together likewise.
order=(venv build unit cluster pyflakes integration "$(IFS=+; echo "${compat[*]}")" sanity
  "ansible-lint+docs+changelog" "docs-site+ee" molecule)
if (($#)); then order=("$@"); fi

logs="$CACHE/test-logs"
rm -rf "$logs" "$VIRT_KUBEVIRT_RESULTS"
mkdir -p "$logs"

# run_stage STAGE: run it with its output in $logs/STAGE.log (also on stdout unless QUIET=1),
# its exit code in STAGE.rc and its duration in STAGE.seconds; notes (lib.sh stage_note) in STAGE.notes.
run_stage() {
  local stage="$1" start=$SECONDS rc=0
  export VIRT_KUBEVIRT_STATUS_FILE="$logs/$stage.notes"
  : > "$VIRT_KUBEVIRT_STATUS_FILE"
  if [[ ${QUIET:-0} == 1 ]]; then
    ${command[$stage]} </dev/null > "$logs/$stage.log" 2>&1 || rc=$?
  else
    ${command[$stage]} </dev/null 2>&1 | tee "$logs/$stage.log" || rc=${PIPESTATUS[0]}
  fi
  echo "$rc" > "$logs/$stage.rc"
  echo $((SECONDS - start)) > "$logs/$stage.seconds"
}

stages=()
for group in "${order[@]}"; do
  IFS=+ read -r -a members <<< "$group"
  for stage in "${members[@]}"; do
    [[ -n "${command[$stage]:-}" ]] || die "unknown stage '$stage' (known: ${!command[*]})"
    stages+=("$stage")
  done
  if ((${#members[@]} == 1)); then
    log "stage $group: ${command[$group]#"$ROOT"/}"
    run_stage "$group"
  else
    log "stages ${members[*]} in parallel"
    pids=()
    for stage in "${members[@]}"; do QUIET=1 run_stage "$stage" & pids+=($!); done
    wait "${pids[@]}" || true
    for stage in "${members[@]}"; do log "stage $stage: ${command[$stage]#"$ROOT"/}"; cat "$logs/$stage.log"; done
  fi
  # Nothing else can run without the venv.
  if [[ $group == venv && $(cat "$logs/venv.rc") != 0 ]]; then break; fi
done

failed=0
printf '\n%-14s %-36s %6s  %s\n' STAGE RESULT SECONDS LOG
for stage in "${stages[@]}"; do
  [[ -f "$logs/$stage.rc" ]] || continue
  rc="$(cat "$logs/$stage.rc")"
  case $rc in
    0) result=PASS ;;
    5) result="NO TESTS"; failed=1 ;;
    77) result=SKIPPED ;;
    "$EXIT_MISSING_PYTHON")
      result=INCOMPLETE
      if [[ ${VIRT_KUBEVIRT_ALLOW_MISSING_PYTHON:-0} != 1 ]]; then failed=1; fi ;;
    *) result="FAIL ($rc)"; failed=1 ;;
  esac
  notes="$(paste -sd, "$logs/$stage.notes")"
  if [[ -n $notes ]]; then result="$result ($notes)"; fi
  printf '%-14s %-36s %6s  %s\n' "$stage" "$result" "$(cat "$logs/$stage.seconds")" "${logs#"$ROOT"/}/$stage.log"
done
python "$s/junit-totals.py" "$VIRT_KUBEVIRT_RESULTS"
exit "$failed"
