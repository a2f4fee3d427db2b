#!/bin/sh
# examples/claim-commit.sh - evdedupe's two-phase mode around a handler that
# fails once.  A key is claimed before the work and committed after it, so a
# failed run does not mark its events done: once the lease runs out, the
# retry runs them again; after the commit they are never run again.  The
# clock is EVKIT_NOW, so the lease expires without waiting.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${EVKIT_BIN:-$here/../build/bin}
PATH=$bin:$PATH
export PATH
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
state=$tmp/claims.db
key=detail.metadata.idempotency-key

# The handler: "processes" orders (prints their numbers); it fails the
# first time it runs.
handler() {
	if [ ! -e "$tmp/failed-once" ]; then
		: >"$tmp/failed-once"
		cat >/dev/null
		echo "handler: failed" >&2
		return 1
	fi
	while IFS= read -r ev; do
		echo "$ev"
		echo "handled $(echo "$ev" | jq -r .detail.order)" >&2
	done
}

# run TIME: one pipeline run at clock TIME: claim, handle, commit.
run() {
	echo "# $1"
	export EVKIT_NOW=$1
	evdedupe --claim --lease 5m --state "$state" -k "$key" \
	    "$here/orders.ndjson" |
	    { handler || :; } |
	    evdedupe --commit --state "$state" -k "$key" >/dev/null
	evdedupe --stat --state "$state" | jq -c '{keys, claimed}'
}

run 2026-11-20T10:00:00Z   # claims both orders; the handler fails
run 2026-11-20T10:01:00Z   # the claims hold: nothing runs
run 2026-11-20T10:06:00Z   # the leases ran out: the retry handles both
run 2026-11-20T10:20:00Z   # committed: nothing runs again
