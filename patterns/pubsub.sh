#!/usr/bin/env bash
# Pub/sub lab (make demo, make lab-pubsub): cats wearing hats.
#
#            zpub  --bind tcp://127.0.0.1:*   (waits for 2 subscribers)
#            /                        \
#   zsub -t persian -t 'maine coon'   zsub -t siamese
#
# The publisher sends ten "cat<TAB>hat" messages (topic = frame 0); each subscriber
# must print exactly the messages whose topic starts with one of its prefixes.
source "$(dirname "$0")/lib.sh"

cats=$LAB_DIR/cats.txt
printf '%s\t%s\n' \
    persian fedora        siamese bowler          'maine coon' stovepipe \
    'norwegian forest' tam-o-shanter  persian bowler siamese fedora \
    'maine coon' fedora   persian stovepipe       'norwegian forest' bowler \
    siamese tam-o-shanter >"$cats"

expect_long=$(grep -cE $'^(persian|maine coon)\t' "$cats")
expect_siamese=$(grep -cE $'^siamese\t' "$cats")

start_with_input publisher "$cats" zpub --bind 'tcp://127.0.0.1:*' --subscribers 2 --wait-timeout 10s
endpoint=$(endpoint_of publisher)
echo "publisher bound $endpoint; $(wc -l <"$cats") messages to publish"
start longhair zsub --connect "$endpoint" --topic persian --topic 'maine coon' \
    --count "$expect_long" --timeout 5s
start shorthair zsub --connect "$endpoint" --subscribe siamese \
    --count "$expect_siamese" --timeout 5s

status=0
finish publisher || status=1
finish longhair || status=1
finish shorthair || status=1

show longhair "subscriber 'persian' + 'maine coon' received:"
show shorthair "subscriber 'siamese' received:"

if ((status == 0)) &&
    diff -q <(grep -E $'^(persian|maine coon)\t' "$cats") "$LAB_DIR/longhair.out" >/dev/null &&
    diff -q <(grep -E $'^siamese\t' "$cats") "$LAB_DIR/shorthair.out" >/dev/null; then
    verdict ok "each subscriber got exactly its topics ($expect_long and $expect_siamese messages), in order"
fi
verdict fail "a subscriber's output differs from the messages published on its topics"
