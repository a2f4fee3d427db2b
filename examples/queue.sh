#!/bin/sh
# examples/queue.sh - a work queue on evstore: storage first in front of a
# handler, two receivers sharing the work, a poison event that ends in the
# dead letters, and a redrive.  Uses the evstore in $EVKIT_BIN when set,
# else the one in build/bin.  Run by test/docs.bats.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${EVKIT_BIN:-$here/../build/bin}
PATH=$bin:$PATH
export PATH
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$here"
store=$tmp/orders.db
# A virtual clock: leases expire without waiting.
EVKIT_NOW=2030-01-01T00:00:00Z
export EVKIT_NOW

echo "# storage first: the handler (here: a count) only sees stored events"
evstore append "$store" events.ndjson | wc -l

echo "# two receivers take turns; each event goes to one of them"
for r in a b a b a b; do
	evstore receive --group work --max 7 "$store" >"$tmp/$r.got"
	# receiver b cannot handle orders: it acks the rest, leaves those
	if [ "$r" = b ]; then
		grep -v com.example.orders "$tmp/b.got" |
		    evstore ack --group work "$store" || :
	else
		evstore ack --group work "$store" "$tmp/a.got"
	fi
done
evstore stat "$store" | jq -c .groups.work

echo "# after three expired leases the left events are dead letters"
for t in 00:01:00 00:02:00 00:03:00; do
	EVKIT_NOW=2030-01-01T${t}Z evstore receive --group work --max 40 \
	    --max-receives 2 "$store" >/dev/null
done
evstore dead --group work "$store" | jq -r '.event["detail-type"]' | sort | uniq -c

echo "# redrive puts them back"
evstore redrive --group work "$store"
evstore stat "$store" | jq -c .groups.work
