#!/bin/sh
# examples/demo.sh - a short tour of evmatch on the sample data in this
# directory; run by "make demo".  Uses the evmatch in $EVKIT_BIN when set,
# else the one in build/bin.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${EVKIT_BIN:-$here/../build/bin}
PATH=$bin:$PATH
export PATH
if ! command -v evmatch >/dev/null 2>&1; then
	echo "demo: no evmatch in $bin (run make first)" >&2
	exit 2
fi
# status N: show the exit status just seen, and stop the demo unless it is N.
status() {
	s=$?
	echo "exit status $s"
	[ "$s" -eq "$1" ]
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$here"

echo "# filter: EC2 instances that entered the running state"
evmatch '{"source":["aws.ec2"],"detail":{"state":["running"]}}' \
    events.ndjson | jq -c '{time, region, instance: .detail["instance-id"]}'

echo
echo "# count: orders of 100 EUR or more"
evmatch -c '{"source":["com.example.orders"],"detail-type":["Order Placed"],
    "detail":{"amount":[{"numeric":[">=",100]}]}}' events.ndjson

echo
echo "# -n -N: which rules of rules.json each event matches, by line"
evmatch -n -N -f rules.json events.ndjson | cut -f1

echo
echo "# -v -c: events that no rule of rules.json selects"
evmatch -v -c -f rules.json events.ndjson

echo
echo "# --explain: why line 2 (an EC2 instance starting) matches no rule" \
    "of template.json"
sed -n 2p events.ndjson | evmatch --explain -f template.json ||
    [ $? -eq 1 ]

echo
echo "# -t: check a CloudFormation template's event patterns, as in CI"
evmatch -t -f template.json && echo "template.json: event patterns are valid"
echo '{"detail":{"state":[]}}' >"$tmp/broken.json"
(cd "$tmp" && evmatch -t -f broken.json 2>&1) || status 2

echo
echo "# bad input: reported with its location, skipped, exit status 2"
printf '%s\n' '{"source":"aws.ec2"}' '{"source":' '[1,2]' |
    evmatch -c '{"source":["aws.ec2"]}' 2>&1 || status 2
