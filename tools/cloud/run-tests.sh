#!/usr/bin/env bash
# Bring the one-machine cloud up, run Tempest against it in parts, print
# pass/fail/skip per part, and take the cloud down whatever happens.
#
#   tools/cloud/run-tests.sh [PART...]     parts: 1 2 3 4 5 6 (default: all)
#
#   1  tempest.api.compute.servers.test_delete_server, unchanged, with the
#      extension active and protect,capture,verify enabled
#   2  the plugin's scenarios (nova_delete_ext.tests.tempest) with recycle
#      enabled too (nova-api and nova-compute restarted on a second config)
#   3  what only a real deployment shows (nova_delete_ext.tests.cloud.
#      scenarios): hooks in every nova-api worker, a SIGKILLed nova-compute
#      resuming a delete, a reclaim, verify's repair, the sweep, every
#      record's request id (restarted with verify repairing, a short
#      recycle retention and reclaim interval)
#   4  nova-delete-ext-status upgrade check on the API and compute config
#   5  the collector and Prometheus (nova_delete_ext.tests.cloud.scenarios
#      test_collector, test_monitoring, test_dashboard), after the record
#      store's own tests on the cloud's MariaDB (models and migrations in
#      sync, the idempotent store): none of their MariaDB cases may be
#      skipped
#   6  the admin guide's uninstall page followed step by step, then Nova
#      checked to run as without the extension (last: it removes it)
#
# CLOUD_KEEP=1 leaves the cloud running at the end (for debugging).
# Exit status: 0 if no part failed; the last lines are
# "cloud: N passed, N failed, N skipped" (tests summed over the parts).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CLOUD_DIR=${CLOUD_DIR:-$repo/.cloud}
cloud() { python3 "$here/cloud.py" "$@"; }
parts=${*:-1 2 3 4 5 6}
# The policy set of part 1; part 2 restarts Nova with recycle added.
export CLOUD_POLICIES=${CLOUD_POLICIES:-protect,capture,verify}
started=$(date +%s)

declare -A result
total_pass=0 total_fail=0 total_skip=0
# Wall seconds of bringing the cloud up and taking it down, for the summary.
up_time=- down_time=-
summary() {
    echo "==== cloud test parts ===="
    echo "up: ${up_time}s"
    local p
    for p in $parts; do
        echo "part $p: ${result[$p]:-not run}"
    done
    echo "down: ${down_time}s"
    echo "wall time: $(( $(date +%s) - started ))s"
    echo "cloud: $total_pass passed, $total_fail failed, $total_skip skipped"
}
tempest_pid=
finish() {
    local rc=$?
    # A Tempest run cut short (signal, error) leaves its stestr workers:
    # they are in the process group started for it, and only they are.
    if [[ -n $tempest_pid ]] && kill -0 "$tempest_pid" 2>/dev/null; then
        kill -TERM -- "-$tempest_pid" 2>/dev/null
    fi
    if [[ "${CLOUD_KEEP:-0}" != 1 ]]; then
        echo "==> taking the cloud down"
        local t0=$(date +%s)
        cloud down || rc=1
        down_time=$(( $(date +%s) - t0 ))
    fi
    summary
    exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM

echo "==> bringing the cloud up"
up_started=$(date +%s)
"$here/up.sh"
up_rc=$?
up_time=$(( $(date +%s) - up_started ))
if [[ $up_rc -ne 0 ]]; then
    echo "The cloud did not come up (see the phase that failed above);" \
         "no part was run." >&2
    for p in $parts; do result[$p]="not run: the cloud did not come up"; done
    total_fail=1
    exit 1
fi

venv=$CLOUD_DIR/venv
ws=$CLOUD_DIR/tempest
failed=0

# tempest run prints " - Passed: N", " - Skipped: N", " - Failed: N".
count() { awk -v k="$1" '$0 ~ "^ - "k": " {n=$3} END {print n+0}' "$2"; }

tempest_part() {
    local part=$1 regex=$2 out=$CLOUD_DIR/logs/tempest-part$1.txt
    mkdir -p "$CLOUD_DIR/tempest-empty-config"
    if [[ ! -d $ws/etc ]]; then
        "$venv/bin/tempest" init --config-dir "$CLOUD_DIR/tempest-empty-config" \
            --workspace-path "$CLOUD_DIR/tempest-workspace.yaml" "$ws" \
            > /dev/null || return 1
    fi
    cloud tempest-conf "$ws" > /dev/null || return 1
    echo "==> part $part: tempest run --regex '$regex'"
    local t0=$(date +%s)
    (cd "$ws" && exec setsid "$venv/bin/tempest" run --regex "$regex" \
        --concurrency "${CLOUD_TEMPEST_CONCURRENCY:-2}") > "$out" 2>&1 &
    tempest_pid=$!
    wait "$tempest_pid"
    local rc=$?
    tempest_pid=
    grep -E '^\{[0-9]+\}|^ - |^(FAIL|PASS)|^Totals' "$out" | tail -40
    local p f s
    p=$(count Passed "$out"); f=$(count Failed "$out"); s=$(count Skipped "$out")
    if [[ $rc -ne 0 && $f -eq 0 ]]; then
        f=1
        tail -30 "$out"
    fi
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
    total_skip=$((total_skip + s))
    result[$part]="$p passed, $f failed, $s skipped ($(( $(date +%s) - t0 ))s)"
    [[ $rc -eq 0 ]]
}

part1() {
    export CLOUD_POLICIES=protect,capture,verify
    tempest_part 1 '^tempest\.api\.compute\.servers\.test_delete_server\.'
}

part2() {
    export CLOUD_POLICIES=protect,recycle,capture,verify
    echo "==> part 2: restarting nova-api and nova-compute with $CLOUD_POLICIES"
    cloud restart nova-api nova-compute || {
        result[2]="failed: nova did not restart with recycle"
        total_fail=$((total_fail + 1)); return 1; }
    tempest_part 2 '^nova_delete_ext\.tests\.tempest\.'
}

# Part 3's modules, in this order: the activation lines are read before
# nova-compute is restarted, the record file last of all.
PART3_MODULES="test_workers test_resume test_reclaim test_sweep test_records"

# Restart nova-api and nova-compute for part N (on the CLOUD_* now set).
restart_for() {
    cloud restart nova-api nova-compute || {
        result[$1]="failed: nova did not restart for part $1"
        total_fail=$((total_fail + 1)); return 1; }
}

# Part N: the test modules named (those of nova_delete_ext.tests.cloud.
# scenarios by their name alone), with unittest, counted.
scenario_part() {
    local part=$1; shift
    local out=$CLOUD_DIR/logs/part$part.txt t0=$(date +%s) m modules=()
    for m in "$@"; do
        [[ $m == *.* ]] || m=nova_delete_ext.tests.cloud.scenarios.$m
        modules+=("$m")
    done
    echo "==> part $part: $*"
    (cd "$repo" && exec setsid "$venv/bin/python" -m unittest -v \
        "${modules[@]}") > "$out" 2>&1 &
    tempest_pid=$!
    wait "$tempest_pid"
    local rc=$?
    tempest_pid=
    grep -E ' \.\.\. |^(FAIL|ERROR):|^Ran |^OK|^FAILED' "$out"
    # unittest ends with "Ran N tests" and "OK (skipped=S)" or
    # "FAILED (failures=F, errors=E, skipped=S)".
    local n f s
    n=$(awk '/^Ran [0-9]+ test/ {n=$2} END {print n+0}' "$out")
    f=$(tail -1 "$out" | grep -oE '(failures|errors)=[0-9]+' |
        awk -F= '{t += $2} END {print t + 0}')
    s=$(tail -1 "$out" | grep -oE 'skipped=[0-9]+' |
        awk -F= '{t += $2} END {print t + 0}')
    if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; tail -30 "$out"; fi
    local p=$((n - f - s)); (( p < 0 )) && p=0
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
    total_skip=$((total_skip + s))
    result[$part]="$p passed, $f failed, $s skipped ($(( $(date +%s) - t0 ))s)"
    [[ $rc -eq 0 ]]
}

# Restart Nova for part N with every policy, verify in MODE, recycled
# servers kept SECONDS (and reclaimed every SECONDS).
restart_with() {
    local part=$1 mode=$2 seconds=$3
    export CLOUD_POLICIES=protect,recycle,capture,verify
    export CLOUD_VERIFY_MODE=$mode CLOUD_RECYCLE_RETENTION=active:$seconds
    export CLOUD_RECLAIM_INSTANCE_INTERVAL=$seconds
    echo "==> part $part: restarting nova-api and nova-compute (verify" \
         "$mode, retention $seconds s)"
    restart_for "$part"
}

part3() {
    restart_with 3 repair 5 || return 1
    scenario_part 3 $PART3_MODULES
}

# The record store's tests that need a MariaDB, on the cloud's (in a
# process of their own: the unit tests' logging set-up would flood the
# scenarios' output); then the collector's and Prometheus' scenarios,
# verify repairing, recycled servers kept an hour (a restore comes first).
PART5_STORE="nova_delete_ext.tests.unit.test_db_migrations
nova_delete_ext.tests.unit.test_db_store"
PART5_MODULES="test_collector test_monitoring test_dashboard"

part5() {
    restart_with 5 repair 3600 || return 1
    local rc=0
    NDE_TEST_MYSQL_URL=$(cloud env | python3 -c \
        'import json, sys; print(json.load(sys.stdin)["mysql_admin_url"])') \
        scenario_part 5-store $PART5_STORE || rc=1
    # A MariaDB case skipped would pass unseen: the part fails instead.
    if grep -q 'skipped.*NDE_TEST_MYSQL_URL' \
            "$CLOUD_DIR/logs/part5-store.txt"; then
        echo "part 5: tests on MariaDB were skipped" >&2
        total_fail=$((total_fail + 1)); rc=1
        result[5-store]+=", MariaDB cases skipped"
    fi
    scenario_part 5 $PART5_MODULES || rc=1
    result[5]="store on MariaDB: ${result[5-store]}; scenarios: ${result[5]}"
    return $rc
}

# Last: it takes the extension out of Nova, as the admin guide's uninstall
# page says, and checks that Nova then runs as without it.
part6() {
    restart_with 6 report 3600 || return 1
    scenario_part 6 test_uninstall
}

part4() {
    local role rc=0 out p=0 f=0 t0=$(date +%s)
    echo "==> part 4: nova-delete-ext-status upgrade check"
    for role in api compute; do
        out=$CLOUD_DIR/logs/upgrade-check-$role.txt
        if "$venv/bin/nova-delete-ext-status" --config-file \
                "$CLOUD_DIR/etc/nova/$role/nova.conf" upgrade check > "$out" 2>&1; then
            p=$((p + 1)); echo "    $role: passed"
        else
            rc=$?; f=$((f + 1)); echo "    $role: exit $rc"; cat "$out"
        fi
    done
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
    result[4]="$p passed, $f failed, 0 skipped ($(( $(date +%s) - t0 ))s)"
    [[ $f -eq 0 ]]
}

for p in $parts; do
    case $p in
        1|2|3|4|5|6) part$p || failed=1 ;;
        *) echo "unknown part $p" >&2; result[$p]="unknown part"; failed=1 ;;
    esac
done
exit $failed
