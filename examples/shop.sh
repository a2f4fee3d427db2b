#!/bin/sh
# examples/shop.sh - the whole seed architecture in one pipe: orders
# arrive, are stored first (evstore append), an event bus routes them
# (evroute: payments, fulfilment and an audit archive), each payment is
# claimed once (evdedupe --claim) and charged by a flaky handler under
# retries (evretry), what fails for good lands in the dead letters, and a
# day is replayed from the store (evstore read --replay-name) while the
# handlers skip replays by pattern (evmatch).  Each stage prints its
# counts.  Uses the tools in $EVKIT_BIN when set, else build/bin; the
# virtual clock EVKIT_NOW keeps it fast and its output fixed.  Run by
# test/docs.bats.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${EVKIT_BIN:-$here/../build/bin}
PATH=$bin:$PATH
export PATH
for t in evstore evroute evdedupe evretry evmatch; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "shop: no $t in $bin (run make first)" >&2
		exit 2
	fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
EVKIT_NOW=2030-01-01T18:00:00Z
export EVKIT_NOW

# Day 1's orders: order 3 arrives twice (the shop's client retried), order
# 4's card is declined, the payment service is busy once for order 2, and
# order 5 is a digital good (no fulfilment).
order() {
	printf '{"id":"e%d","time":"%sT%s:00Z","source":"shop","detail-type":"Order Placed","detail":{"order":%d,"total":%d,"digital":%s}}\n' \
	    "$1" "$2" "$3" "$4" "$5" "$6"
}
{
	order 1 2030-01-01 09:00 1 30 false
	order 2 2030-01-01 09:10 2 45 false
	order 3 2030-01-01 10:00 3 12 false
	order 4 2030-01-01 10:01 3 12 false
	order 5 2030-01-01 11:30 4 99 false
	order 6 2030-01-01 12:00 5 8 true
} >day1.ndjson
order 7 2030-01-02 09:00 6 20 false >day2.ndjson

# The bus: every order is paid and archived; physical goods are shipped.
# The audit archive is a Firehose stream on AWS; here --target maps it to
# one evstore log for every day (a store: target, committed as it goes).
cat >bus.json <<'JSON'
[
  {"Name": "payments",
   "EventPattern": {"source": ["shop"], "detail-type": ["Order Placed"]},
   "Targets": [{"Id": "charge", "Arn": "file:payments.ndjson"}]},
  {"Name": "fulfilment",
   "EventPattern": {"source": ["shop"], "detail": {"digital": [false]}},
   "Targets": [{"Id": "ship", "Arn": "file:fulfilment.ndjson",
     "InputTransformer": {
       "InputPathsMap": {"order": "$.detail.order", "replay": "$.replay-name"},
       "InputTemplate": "{\"order\": <order>, \"replay\": <replay>}"}}]},
  {"Name": "audit",
   "EventPattern": {"source": ["shop"]},
   "Targets": [{"Id": "archive",
     "Arn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/shop-audit"}]}
]
JSON

# The payment service: declines order 4, is busy once for order 2 (exit
# 75: try again), else answers with the charge.
cat >charge.sh <<'SH'
#!/bin/sh
read -r event
case $event in
*'"order":4,'*) echo "card declined" >&2; exit 1 ;;
*'"order":2,'*) [ -e busy.2 ] || { : >busy.2; echo "busy" >&2; exit 75; } ;;
esac
printf '%s\n' "$event"
SH
cat >ship.sh <<'SH'
#!/bin/sh
read -r event
printf 'shipped %s\n' "$event"
SH
chmod +x charge.sh ship.sh

# The handlers skip replays: a replayed event must not charge or ship
# twice.  Every stage writes a file, so that set -e stops at a failing one.
live='{"replay-name":[{"exists":false}]}'

# run_handlers: pay and ship what the bus wrote in this directory.
run_handlers() {
	evmatch "$live" payments.ndjson >live-payments.ndjson || :
	echo "payments: $(wc -l <payments.ndjson) routed," \
	    "$(( $(wc -l <payments.ndjson) - $(wc -l <live-payments.ndjson) ))" \
	    "replays skipped"
	evdedupe --claim --lease 10m --state "$tmp/claims.db" -k detail.order \
	    live-payments.ndjson >claimed.ndjson
	echo "payments: $(wc -l <claimed.ndjson) claimed" \
	    "($(( $(wc -l <live-payments.ndjson) - $(wc -l <claimed.ndjson) )) held back as duplicates)"
	s=0
	evretry --dlq "$tmp/dead.ndjson" -- ./charge.sh <claimed.ndjson \
	    2>/dev/null >charged.ndjson || s=$?
	[ "$s" -le 1 ]		# 1: something was dead-lettered
	evdedupe --commit --state "$tmp/claims.db" -k detail.order \
	    charged.ndjson >/dev/null
	echo "payments: $(wc -l <charged.ndjson) charged"
	evmatch '{"replay":[""]}' fulfilment.ndjson >live-ship.ndjson || :
	evdedupe -k order --state "$tmp/shipped.db" live-ship.ndjson \
	    >to-ship.ndjson
	evretry -- ./ship.sh <to-ship.ndjson >shipped.txt
	echo "fulfilment: $(wc -l <fulfilment.ndjson) routed," \
	    "$(wc -l <shipped.txt) shipped"
	echo "audit: $(evstore read "$tmp/audit.db" | wc -l) archived in all"
}

echo "# day 1: orders stored first, then routed by the bus"
evstore append "$tmp/shop.db" day1.ndjson >/dev/null
evstore read "$tmp/shop.db" >stored.ndjson
echo "store: $(wc -l <stored.ndjson) stored"
evstore read --consumer bus "$tmp/shop.db" >bus-in.ndjson
evroute --target archive=store:"$tmp/audit.db" -f bus.json --stats bus-in.ndjson 2>stats.json
jq -r '.rules[] | "bus: rule \(.rule) matched \(.matched)"' stats.json
run_handlers

echo
echo "# dead letters: what failed for good, with why"
jq -r '"dead: order \(.event.detail.order) \(.error) after" +
    " \(.attempts) attempts (\(.exhausted))"' dead.ndjson
[ "$(jq -r .stderr dead.ndjson)" = "card declined" ]

echo
echo "# day 2: the bus consumer only gets the new order"
EVKIT_NOW=2030-01-02T18:00:00Z
evstore append "$tmp/shop.db" day2.ndjson >/dev/null
mkdir day2 && cp bus.json charge.sh ship.sh day2/ && cd day2
evstore read --consumer bus "$tmp/shop.db" >bus-in.ndjson
evroute --target archive=store:"$tmp/audit.db" -f bus.json bus-in.ndjson
run_handlers
cd ..

echo
echo "# replay of day 1: archived again, neither charged nor shipped twice"
mkdir replay && cp bus.json charge.sh ship.sh replay/ && cd replay
evstore read --since 2030-01-01T00:00:00Z --until 2030-01-02T00:00:00Z \
    --replay-name day-1 "$tmp/shop.db" >bus-in.ndjson
evroute --target archive=store:"$tmp/audit.db" -f bus.json bus-in.ndjson
run_handlers
