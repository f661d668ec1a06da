#!/usr/bin/env bash
# Three-stage pipeline lab (make lab-three-stage): download -> resize -> upload with
# 3, 4 and 5 workers, 10,000 items, and a sink that accounts for every one.
# With KILL=1 (make lab-three-stage-kill), a resize worker is killed mid-batch.
#
#   zpush --header --connect D1..D3          the source: 10,000 lines of unknown length
#     -> download x3  zpull --bind * --header --push R1..R4
#     -> resize   x4  zpull --bind * --header --push U1..U5
#     -> upload   x5  zpull --bind * --header --push SINK
#     -> sink         zpull --bind * --sink --report json
#
# Every stage keeps each item's batch header, so the sink accounts for the source's
# items end to end. Each pusher connects to every puller of the next stage, so its
# round-robin covers them all from the first item. The source ends the batch with an
# end-of-stream message to each download worker; each worker passes the first one on
# to every worker of the next stage, so the sink learns the batch size even if a
# worker dies with one of them. Workers print what they pushed on and stop after
# $IDLE without work.
#
# Healthy run: PASS when the sink says complete (exit 0): every item exactly once,
# and each stage handled all 10,000.
# KILL=1: the source reads a pipe; after the first half, once resize worker 2 has
# handled an item, it is killed (SIGKILL), then the second half follows. What it
# held, and what the download workers had queued for it, is lost. PASS when the
# sink says incomplete (exit 3) and its list of missing items is exactly the items
# that no upload worker handled (computed here from the upload workers' output,
# independently of the sink), nothing is duplicated, and something is missing.
source "$(dirname "$0")/lib.sh"

count=10000
IDLE=${IDLE:-3s}
KILL=${KILL:-0}
any='tcp://127.0.0.1:*'
images=$LAB_DIR/images.txt
for ((i = 0; i < count; i++)); do printf 'image %05d\n' "$i"; done >"$images"

# start_stage NAME WORKERS NEXT-ENDPOINTS...: start the workers of a stage, each
# pushing to every endpoint given; sets STAGE_PUSH to "--push EP" for each of them.
start_stage() {
    local name=$1 workers=$2 i
    shift 2
    local next=()
    for ep in "$@"; do next+=(--push "$ep"); done
    for ((i = 1; i <= workers; i++)); do
        start "$name$i" zpull --bind "$any" --header "${next[@]}" --timeout "$IDLE"
    done
    STAGE_EPS=()
    for ((i = 1; i <= workers; i++)); do STAGE_EPS+=("$(endpoint_of "$name$i")"); done
}

start sink zpull --bind "$any" --sink --timeout "$IDLE" --report json
start_stage upload 5 "$(endpoint_of sink)"
start_stage resize 4 "${STAGE_EPS[@]}"
start_stage download 3 "${STAGE_EPS[@]}"
connects=()
for ep in "${STAGE_EPS[@]}"; do connects+=(--connect "$ep"); done

if [[ $KILL == 1 ]]; then
    mkfifo "$LAB_DIR/feed"
    start_with_input source "$LAB_DIR/feed" zpush --header "${connects[@]}"
    exec 3>"$LAB_DIR/feed"
    head -n $((count / 2)) "$images" >&3
    wait_for_lines resize2 1
    kill -KILL "$PID_resize2"
    wait "$PID_resize2" 2>/dev/null || true
    echo "killed resize worker 2 after it had handled $(wc -l <"$LAB_DIR/resize2.out") items"
    tail -n +$((count / 2 + 1)) "$images" >&3
    exec 3>&-
else
    start_with_input source "$images" zpush --header "${connects[@]}"
fi

status=0
finish source || status=1
# The kill variant expects exit 3; its report is checked below.
sink_status=0
finish sink 60 2>"$LAB_DIR/sink.finish" || sink_status=$?
if ((sink_status != (KILL == 1 ? 3 : 0))); then cat "$LAB_DIR/sink.finish" >&2; fi
for name in download{1..3} resize{1,3,4} upload{1..5}; do finish "$name" || status=1; done
if [[ $KILL != 1 ]]; then finish resize2 || status=1; fi

# stage_count NAME: items pushed on by the workers of a stage, in all and each.
stage_count() {
    local files=("$LAB_DIR/$1"*.out)
    printf '%6d  (%s)' "$(cat "${files[@]}" | wc -l)" "$(wc -l "${files[@]}" | awk '$2 != "total" {print $1}' | paste -sd+ -)"
}
echo "source:   $count items"
echo "download: $(stage_count download)"
echo "resize:   $(stage_count resize)"
echo "upload:   $(stage_count upload)"
echo "sink:     $(wc -l <"$LAB_DIR/sink.out") items printed, exit status $sink_status"

report=$(sed -n 's/^zpull: report //p' "$LAB_DIR/sink.err")
field() { grep -oE "\"$1\":[^,}]*" <<<"$report" | head -n 1 | cut -d: -f2; }
sink_missing=$(grep -oE '"missing_ranges":\[[][0-9,]*\]' <<<"$report" | sed 's/^"missing_ranges"://; s/,$//')
echo "sink report: verdict $(field verdict), received $(field received) of $(field expected), missing $(field missing), duplicates $(field duplicates)"

if [[ $KILL != 1 ]]; then
    if ((status == 0 && sink_status == 0)) && [[ $(field verdict) == '"complete"' ]] &&
        [[ $(cat "$LAB_DIR"/upload*.out | wc -l) == "$count" ]] &&
        diff -q "$images" <(sort "$LAB_DIR/sink.out") >/dev/null; then
        verdict ok "all $count items went through three stages and reached the sink exactly once"
    fi
    verdict fail "the sink's verdict is not complete, or items were lost or duplicated"
fi

# The missing items, computed from what the upload workers pushed on, as JSON ranges.
handled_ranges=$(comm -23 <(seq 0 $((count - 1)) | sort) \
    <(cat "$LAB_DIR"/upload*.out | awk '{print $2 + 0}' | sort) | sort -n |
    awk 'NR == 1 {s = $1; p = $1; next}
         $1 == p + 1 {p = $1; next}
         {printf "%s[%d,%d]", sep, s, p; sep = ","; s = $1; p = $1}
         END {if (NR) printf "%s[%d,%d]", sep, s, p}')
handled_ranges="[$handled_ranges]"
echo "missing according to the sink:        $(cut -c1-70 <<<"$sink_missing")..."
echo "missing according to upload workers:  $(cut -c1-70 <<<"$handled_ranges")..."
if ((status == 0 && sink_status == 3)) && [[ $(field verdict) == '"incomplete"' ]] &&
    [[ $(field duplicates) == 0 && $(field missing) != 0 ]] &&
    [[ $sink_missing == "$handled_ranges" ]] &&
    diff -q <(sort "$LAB_DIR"/upload*.out) <(sort "$LAB_DIR/sink.out") >/dev/null; then
    verdict ok "the sink reported exactly the $(field missing) items lost with the killed worker"
fi
verdict fail "the sink's report does not match what was lost"
