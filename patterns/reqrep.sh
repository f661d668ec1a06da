#!/usr/bin/env bash
# Request/reply lab (make lab-reqrep): "Stop saying".
#
#   zreq --connect EP  ----- message #1..#5 ---->  zrep --bind tcp://127.0.0.1:*
#                      <--- Stop saying ... -----       --reply 'Stop saying {}'
source "$(dirname "$0")/lib.sh"

requests=$LAB_DIR/requests.txt
for n in 1 2 3 4 5; do echo "message #$n"; done >"$requests"

start server zrep --bind 'tcp://127.0.0.1:*' --reply 'Stop saying {}' --count 5
endpoint=$(endpoint_of server)
start_with_input client "$requests" zreq --connect "$endpoint" --timeout 5s

status=0
finish client || status=1
finish server || status=1

show server "server heard:"
show client "client received:"

if ((status == 0)) && diff -q <(sed 's/^/Stop saying /' "$requests") "$LAB_DIR/client.out" >/dev/null &&
    diff -q "$requests" "$LAB_DIR/server.out" >/dev/null; then
    verdict ok "5 requests, 5 matching replies, in order"
fi
verdict fail "replies did not match requests"
