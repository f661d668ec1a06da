#!/usr/bin/env bash
# Pipeline lab (make lab-pipeline): a washer and two dryers.
#
#                 zpush --connect EP1 --connect EP2   (the washer, 1000 dishes)
#                   /                        \
#   zpull --bind tcp://127.0.0.1:*    zpull --bind tcp://127.0.0.1:*   (the dryers)
#
# PUSH hands each dish to exactly one dryer, round-robin. The lab checks that the
# dryers together dried every dish exactly once, and that both shared the work.
source "$(dirname "$0")/lib.sh"

dishes=$LAB_DIR/dishes.txt
count=1000
for ((i = 1; i <= count; i++)); do echo "dish $i"; done >"$dishes"

start dryer1 zpull --bind 'tcp://127.0.0.1:*' --timeout 2s
start dryer2 zpull --bind 'tcp://127.0.0.1:*' --timeout 2s
ep1=$(endpoint_of dryer1)
ep2=$(endpoint_of dryer2)
start_with_input washer "$dishes" zpush --connect "$ep1" --connect "$ep2"

status=0
finish washer || status=1
finish dryer1 || status=1
finish dryer2 || status=1

dried1=$(wc -l <"$LAB_DIR/dryer1.out")
dried2=$(wc -l <"$LAB_DIR/dryer2.out")
echo "washer sent $count dishes; dryer 1 dried $dried1, dryer 2 dried $dried2"
echo "first dishes dried by dryer 1: $(head -n 3 "$LAB_DIR/dryer1.out" | paste -sd, -)"
echo "first dishes dried by dryer 2: $(head -n 3 "$LAB_DIR/dryer2.out" | paste -sd, -)"

if ((status == 0 && dried1 > 0 && dried2 > 0)) &&
    diff -q <(sort "$dishes") <(sort "$LAB_DIR/dryer1.out" "$LAB_DIR/dryer2.out") >/dev/null; then
    verdict ok "all $count dishes dried exactly once, shared by both dryers"
fi
verdict fail "dishes lost, duplicated or not shared"
