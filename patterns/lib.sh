# Shared helpers for the lab scripts in this folder.
#
# A lab starts processes in the background, learns bound endpoints from their
# "NAME: bound EP" line on stderr (never by sleeping), waits for each process with a
# deadline, checks what came out, and stops everything it started when it exits.
set -euo pipefail

BIN=${BIN:-target/release}
LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/zpattern-lab.XXXXXX")
LAB_PIDS=()

lab_cleanup() {
    local pid
    for pid in "${LAB_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$LAB_DIR"
}
trap lab_cleanup EXIT
trap 'exit 130' INT TERM

# start NAME PROGRAM ARGS...: run a zpattern binary in the background; its stdout
# goes to $LAB_DIR/NAME.out and its stderr to $LAB_DIR/NAME.err.
start() {
    local name=$1 program=$2
    shift 2
    "$BIN/$program" "$@" >"$LAB_DIR/$name.out" 2>"$LAB_DIR/$name.err" &
    LAB_PIDS+=($!)
    printf -v "PID_$name" '%s' "$!"
}

# start_with_input NAME FILE PROGRAM ARGS...: like start, with FILE on stdin.
start_with_input() {
    local name=$1 input=$2 program=$3
    shift 3
    "$BIN/$program" "$@" <"$input" >"$LAB_DIR/$name.out" 2>"$LAB_DIR/$name.err" &
    LAB_PIDS+=($!)
    printf -v "PID_$name" '%s' "$!"
}

# endpoint_of NAME [SECONDS]: wait for NAME's first "bound" line; print its endpoint.
endpoint_of() {
    local name=$1 deadline=$((SECONDS + ${2:-10})) endpoint
    while ((SECONDS < deadline)); do
        endpoint=$(sed -n 's/^[a-z]*: bound //p' "$LAB_DIR/$name.err" | head -n 1)
        if [[ -n $endpoint ]]; then
            echo "$endpoint"
            return 0
        fi
        sleep 0.02
    done
    echo "lab: $name did not report a bound endpoint:" >&2
    cat "$LAB_DIR/$name.err" >&2
    return 1
}

# wait_for_lines NAME COUNT [SECONDS]: wait until NAME has printed COUNT lines on
# stdout.
wait_for_lines() {
    local name=$1 count=$2 deadline=$((SECONDS + ${3:-10}))
    while ((SECONDS < deadline)); do
        if (($(wc -l <"$LAB_DIR/$name.out") >= count)); then
            return 0
        fi
        sleep 0.02
    done
    echo "lab: $name did not print $count lines in time" >&2
    return 1
}

# finish NAME [SECONDS]: wait for NAME to exit (killing it at the deadline) and
# print its stderr if it failed. Returns its exit status.
finish() {
    local name=$1 deadline=$((SECONDS + ${2:-20})) pid_var="PID_$1" status=0
    local pid=${!pid_var}
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.02
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "lab: $name still running after its deadline; stopping it" >&2
        kill "$pid" 2>/dev/null || true
    fi
    wait "$pid" || status=$?
    if ((status != 0)); then
        echo "lab: $name exited with status $status:" >&2
        cat "$LAB_DIR/$name.err" >&2
    fi
    return "$status"
}

# show NAME TITLE: print what NAME wrote on stdout, indented, under TITLE.
show() {
    echo "$2"
    sed 's/^/    /; s/\t/ | /g' "$LAB_DIR/$1.out"
}

# verdict OK MESSAGE: print the lab's verdict line and exit accordingly.
verdict() {
    if [[ $1 == ok ]]; then
        echo "verdict: PASS - $2"
        exit 0
    fi
    echo "verdict: FAIL - $2"
    exit 1
}
