#!/usr/bin/env bash
# Instructions per message, zpattern against the raw zmq crate, counted by callgrind.
# Unlike wall-clock figures these do not move with the load of a shared machine, so
# they show the framework's own cost when the timed ratios are too noisy to.
#
# Each side of each library case of benches/zbench runs alone under callgrind, once
# with N messages and once with 2N; the difference divided by N is what one more
# message costs over every thread of the process (the application's and libzmq's
# I/O threads), with setup and teardown cancelled out.
#
#   benches/instructions.sh                  # every library case, a few minutes
#   benches/instructions.sh "pub→sub"        # the cases whose name has this text
#
# Prints a markdown table on stdout. Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."

only=${1:-}
bench=$(cargo bench --bench zbench --no-run 2>&1 |
    sed -n 's/.*Executable benches\/zbench\/main.rs (\(.*\))/\1/p' | tail -n 1)
[[ -x $bench ]] || { echo "instructions.sh: cannot find the zbench binary" >&2; exit 1; }

# Total instructions of one side of one case moving COUNT messages.
instructions() {
    local case=$1 side=$2 count=$3
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$bench" --only "$case" --side "$side" --rounds 1 --count "$count" 2>&1 >/dev/null |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

# Instructions per message: the cost of N more messages, over N.
per_message() {
    local case=$1 side=$2 n=$3 small large
    small=$(instructions "$case" "$side" "$n")
    large=$(instructions "$case" "$side" $((2 * n)))
    echo $(((large - small) / n))
}

echo "| case | raw zmq instructions / msg | zpattern instructions / msg | zpattern / raw |"
echo "|---|---:|---:|---:|"
while read -r n case; do
    [[ -z $only || $case == *"$only"* ]] || continue
    # The CURVE cases have a third side (zpattern NULL): name the two compared.
    suffix=""
    [[ $case == *" CURVE" ]] && suffix=" CURVE"
    raw=$(per_message "$case" "raw zmq$suffix" "$n")
    ours=$(per_message "$case" "zpattern$suffix" "$n")
    ratio=$(awk -v a="$ours" -v b="$raw" 'BEGIN { printf "%.3f", a / b }')
    echo "| $case | $raw | $ours | **$ratio** |"
done <<'CASES'
20000 push→pull tcp 64 B
10000 push→pull tcp 1 KiB
1000 push→pull tcp 64 KiB
20000 push→pull ipc 64 B
10000 push→pull ipc 1 KiB
1000 push→pull ipc 64 KiB
20000 pub→sub tcp [10 B, 64 B]
2000 req↔rep tcp 64 B
5000 push→pull tcp 64 B CURVE
5000 push→pull tcp 1 KiB CURVE
CASES
