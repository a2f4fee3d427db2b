#!/usr/bin/env bats
# evroute: EventBridge rules and their targets over NDJSON (issue 9, first
# slice: local line targets, shaping, dead letters of what AWS would not
# deliver).

bats_require_minimum_version 1.5.0

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	cat >rules.json <<'JSON'
[
  {"Name": "orders", "EventPattern": {"source": ["shop"]},
   "Targets": [
     {"Id": "all", "Arn": "file:all.ndjson"},
     {"Id": "small", "Arn": "file:small.ndjson",
      "InputTransformer": {"InputPathsMap": {"n": "$.detail.n"},
        "InputTemplate": "{\"n\": <n>, \"rule\": <aws.events.rule-name>}"}}]},
  {"Name": "big", "EventPattern": {"detail": {"n": [{"numeric": [">", 1]}]}},
   "Targets": [{"Id": "n", "Arn": "-", "InputPath": "$.detail.n"}]},
  {"Name": "off", "State": "DISABLED", "EventPattern": {"source": ["shop"]},
   "Targets": [{"Id": "x", "Arn": "file:off.ndjson"}]}
]
JSON
	printf '%s\n' '{"source":"shop","detail":{"n":1}}' \
	    '{"source":"other","detail":{"n":2}}' \
	    '{"source":"shop","detail":{"n":3}}' \
	    '{"source":"other","detail":{"n":0}}' >in.ndjson
}

@test "evroute: every target of every matching ENABLED rule, shaped, in input order" {
	run -0 --separate-stderr evroute --unmatched=drop -f rules.json in.ndjson
	[ "$output" = $'2\n3' ]
	[ -z "$stderr" ]
	[ "$(cat all.ndjson)" = "$(sed -n '1p;3p' in.ndjson)" ]
	[ "$(cat small.ndjson)" = $'{"n":1,"rule":"orders"}\n{"n":3,"rule":"orders"}' ]
	[ ! -e off.ndjson ]
}

@test "evroute: --first-match sends an event to the first matching rule only" {
	run -0 --separate-stderr evroute --first-match --unmatched=drop \
	    -f rules.json in.ndjson
	[ "$output" = 2 ]
	[ "$(wc -l <all.ndjson)" -eq 2 ]
}

@test "evroute: unmatched events are counted on stderr, kept with --unmatched FILE" {
	run -0 --separate-stderr evroute -f rules.json in.ndjson
	[ "$stderr" = "evroute: 1 event matched no rule" ]
	run -0 --separate-stderr evroute --unmatched un.ndjson -f rules.json \
	    in.ndjson
	[ -z "$stderr" ]
	[ "$(cat un.ndjson)" = '{"source":"other","detail":{"n":0}}' ]
}

@test "evroute: -t reports each target's URI; AWS targets must be mapped" {
	run -0 evroute -t -f rules.json
	[ "${lines[0]}" = $'orders\tall\tfile:all.ndjson' ]
	[ "${lines[3]}" = $'off\tx\tDISABLED' ]
	sed 's|"file:all.ndjson"|"arn:aws:sqs:us-east-1:1:q"|' rules.json >aws.json
	run -2 --separate-stderr evroute -t -f aws.json
	[ "$stderr" = "evroute: aws.json:4:6: target 'all' of rule 'orders': 'arn:aws:sqs:us-east-1:1:q' is an AWS target: map it to a local URI with --target" ]
	run -0 evroute -t --target orders.all=fd:3 -f aws.json
	[ "${lines[0]}" = $'orders\tall\tfd:3' ]
	run -0 evroute -t --target all=- -f aws.json
	[ "${lines[0]}" = $'orders\tall\t-' ]
	run -2 --separate-stderr evroute -t --target all=- --target nosuch=- \
	    -f aws.json
	[ "$stderr" = "evroute: --target 'nosuch=-': no target or dead-letter queue has that name" ]
	run -2 --separate-stderr evroute -t --target x -f aws.json
	[ "${stderr%%$'\n'*}" = "evroute: invalid --target 'x': expected ID=URI" ]
}

@test "evroute: exec:, pipe:, store: and http targets are refused as not supported yet" {
	for u in 'exec:cat' 'pipe:cat' 'store:s.db' 'http://localhost/' 'https://x/'; do
		sed "s|\"file:all.ndjson\"|\"$u\"|" rules.json >k.json
		run -2 --separate-stderr evroute -t -f k.json
		[[ $stderr == *"'$u': "*" targets are not supported yet" ]]
	done
	sed 's|"file:all.ndjson"|"mailto:x"|' rules.json >k.json
	run -2 --separate-stderr evroute -t -f k.json
	[[ $stderr == *"'mailto:x': unknown target URI: expected -, file:PATH or fd:N" ]]
}

@test "evroute: --dry-run says which rule sends each event where, and delivers nothing" {
	run -0 --separate-stderr evroute --dry-run -f rules.json in.ndjson
	[ "${lines[0]}" = '{"source":"in.ndjson","line":1,"rule":"orders","target":"all","uri":"file:all.ndjson"}' ]
	[ "${lines[2]}" = '{"source":"in.ndjson","line":2,"rule":"big","target":"n","uri":"-"}' ]
	[ "${lines[6]}" = '{"source":"in.ndjson","line":4,"rule":null}' ]
	[ "${#lines[@]}" -eq 7 ]
	[ ! -e all.ndjson ] && [ ! -e small.ndjson ]
}

@test "evroute: a payload AWS would not deliver goes to the dead letters with EventBridge's attributes, exit 1" {
	cat >d.json <<'JSON'
[{"Name": "r", "Arn": "arn:aws:events:eu-west-1:1:rule/r",
  "EventPattern": {"source": ["shop"]},
  "Targets": [{"Id": "t", "Arn": "file:t.ndjson", "InputPath": "$.detail.m"},
    {"Id": "u", "Arn": "file:u.ndjson", "InputPath": "$.detail.m",
     "DeadLetterConfig": {"Arn": "file:u.dlq"}}]}]
JSON
	printf '%s\n' '{"source":"shop","detail":{"m":1}}' \
	    '{"source":"shop","detail":{}}' >e.ndjson
	EVKIT_NOW=2026-12-03T00:00:00Z run -1 --separate-stderr evroute \
	    --dlq all.dlq -f d.json e.ndjson
	[ -z "$stderr" ]
	[ "$(cat t.ndjson)" = 1 ] && [ "$(cat u.ndjson)" = 1 ]
	[ "$(cat all.dlq)" = '{"event":{"source":"shop","detail":{}},"error":"INVALID_PAYLOAD","status":null,"signal":null,"stderr":"","attempts":1,"exhausted":"NotRetryable","firstAttempt":"2026-12-03T00:00:00Z","lastAttempt":"2026-12-03T00:00:00Z","source":"e.ndjson","line":2,"payload":"","attributes":{"RULE_ARN":"arn:aws:events:eu-west-1:1:rule/r","TARGET_ARN":"file:t.ndjson","ERROR_CODE":"INVALID_PAYLOAD","ERROR_MESSAGE":"InputPath '"'"'$.detail.m'"'"' matches nothing in the event","EXHAUSTED_RETRY_CONDITION":"NotRetryable","RETRY_ATTEMPTS":0}}' ]
	[ "$(jq -r .attributes.TARGET_ARN u.dlq)" = file:u.ndjson ]
	# without a dead-letter file it is said on stderr, never dropped
	rm -f t.ndjson
	run -1 --separate-stderr evroute -f d.json e.ndjson
	[ "${stderr%%$'\n'*}" = "evroute: e.ndjson:2: rule 'r' target 't': undeliverable: InputPath '\$.detail.m' matches nothing in the event" ]
}

@test "evroute: --stats prints per-rule and per-target counts as JSON on stderr" {
	run -0 --separate-stderr evroute --stats --unmatched=drop \
	    -f rules.json in.ndjson
	[ "$(printf '%s\n' "$stderr" | jq -c '[.rules[] | [.rule, .matched, (.targets[] | .delivered)]], .unmatched')" = $'[["orders",2,2,2],["big",2,2],["off",0,0]]\n1' ]
}

@test "evroute: a bad line is located, kept with --reject, and exits 2 after routing the rest" {
	printf '%s\n' '{"source":"shop"' '{"source":"shop","detail":{"n":5}}' >b.ndjson
	run -2 --separate-stderr evroute --reject rej -f rules.json b.ndjson
	[ "${stderr%%$'\n'*}" = "evroute: b.ndjson:1:17: invalid JSON: unexpected end of input" ] ||
	    [[ ${stderr%%$'\n'*} == "evroute: b.ndjson:1:"* ]]
	[ "$(cat rej)" = '{"source":"shop"' ]
	[ "$(cat all.ndjson)" = '{"source":"shop","detail":{"n":5}}' ]
	[ "$output" = 5 ]
}

@test "evroute: a target, dead-letter or unmatched file that is also an input is refused" {
	cp in.ndjson all.ndjson
	run -2 --separate-stderr evroute -f rules.json all.ndjson
	[ "$stderr" = "evroute: all.ndjson: input file is also target 'file:all.ndjson'" ]
	[ "$(cat all.ndjson)" = "$(cat in.ndjson)" ]
	run -2 --separate-stderr evroute --unmatched in.ndjson -f rules.json <in.ndjson
	[ "$stderr" = "evroute: <stdin>: input file is also target 'file:in.ndjson'" ]
	run -2 --separate-stderr evroute --dlq rules.json -f rules.json in.ndjson
	[ "$stderr" = "evroute: rules.json: input file is also target 'file:rules.json'" ]
}

@test "evroute: a --reject file that is also a target, dead-letter or unmatched file is refused" {
	run -2 --separate-stderr evroute --reject all.ndjson -f rules.json in.ndjson
	[ "$stderr" = "evroute: all.ndjson: reject file is also target 'file:all.ndjson'" ]
	[ ! -s all.ndjson ]
	ln -s dead.ndjson link
	run -2 --separate-stderr evroute --reject link --dlq dead.ndjson -f rules.json in.ndjson
	[ "$stderr" = "evroute: link: reject file is also target 'file:dead.ndjson'" ]
	run -2 --separate-stderr evroute --reject ./un --unmatched un -f rules.json in.ndjson
	[ "$stderr" = "evroute: ./un: reject file is also target 'file:un'" ]
	[ ! -s un ] && [ ! -s small.ndjson ]
	run -0 evroute --reject rej --unmatched un -f rules.json in.ndjson
}

@test "evroute: names with control characters come out escaped on one line" {
	cp rules.json $'r\n\x1b.json'
	run -2 --separate-stderr evroute -f rules.json $'no\nsuch\x1b'
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ ${stderr_lines[0]} == 'evroute: no\nsuch\x1b: '* ]]
	sed 's|"file:all.ndjson"|"x:y"|' rules.json >$'r\n\x1b.json'
	run -2 --separate-stderr evroute -t -f $'r\n\x1b.json'
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == 'evroute: r\n\x1b.json:4:6: '* ]]
}

@test "evroute: closed standard descriptors, a full disk and a closed pipe" {
	run -0 --separate-stderr timeout 10 sh -c 'exec evroute --unmatched=drop -f rules.json <&- 2>&-'
	run -2 --separate-stderr sh -c 'evroute --unmatched=drop -f rules.json in.ndjson >&-'
	[[ $stderr == "evroute: write error on '-': Bad file descriptor" ]]
	run -2 --separate-stderr sh -c 'evroute --unmatched=drop -f rules.json in.ndjson >/dev/full'
	[[ $stderr == "evroute: write error on '-': No space left on device" ]]
	run -0 --separate-stderr sh -c 'evroute --unmatched=drop -f rules.json in.ndjson | true'
	[ -z "$stderr" ]
}

@test "evroute: fd:N writes to an open descriptor" {
	sed 's|"file:all.ndjson"|"fd:3"|' rules.json >f.json
	run -0 --separate-stderr sh -c 'evroute --unmatched=drop -f f.json in.ndjson 3>three >/dev/null'
	[ "$(wc -l <three)" -eq 2 ]
}

@test "evroute: several evroute processes append whole lines to one file" {
	# lines of 3000 bytes: each process fills and flushes its buffer
	# many times while the others write
	awk 'BEGIN { s = sprintf("%3000s", ""); gsub(/ /, "x", s)
		for (i = 0; i < 2000; i++)
			printf "{\"source\":\"shop\",\"detail\":{\"n\":%d},\"pad\":\"%s\"}\n", i, s }' >many.ndjson
	for p in 1 2 3 4; do
		evroute --unmatched=drop -f rules.json many.ndjson >/dev/null &
	done
	wait
	[ "$(wc -l <all.ndjson)" -eq 8000 ]
	[ "$(sort all.ndjson | uniq -c | awk '$1 != 4' | wc -l)" -eq 0 ]
	[ "$(sort -u all.ndjson | cmp - <(sort many.ndjson) && echo same)" = same ]
}

@test "evroute: 10,000 rules with 20 targets each load (no quadratic step)" {
	awk 'BEGIN { printf "["
		for (i = 0; i < 10000; i++) {
			printf "%s{\"Name\":\"r%d\",\"EventPattern\":{\"detail\":{\"n\":[%d]}},\"Targets\":[", i ? "," : "", i, i
			for (j = 0; j < 20; j++)
				printf "%s{\"Id\":\"t%d\",\"Arn\":\"file:o%d\"}", j ? "," : "", j, j
			printf "]}"
		}
		print "]" }' >big.json
	run -0 timeout 60 evroute -t -f big.json
	[ "${#lines[@]}" -eq 200000 ]
	[ "${lines[199999]}" = $'r9999\tt19\tfile:o19' ]
}

@test "evroute: a rule with 50,000 targets loads, and a repeated Id at its end is found" {
	awk 'BEGIN { printf "[{\"Name\":\"wide\",\"EventPattern\":{\"source\":[\"shop\"]},\"Targets\":["
		for (j = 0; j < 50000; j++)
			printf "%s{\"Id\":\"t%d\",\"Arn\":\"-\"}", j ? "," : "", j
		print "]},{\"Name\":\"again\",\"EventPattern\":{\"source\":[\"shop\"]},\"Targets\":[{\"Id\":\"t0\",\"Arn\":\"-\"}]}]" }' >wide.json
	run -0 evroute -t -f wide.json
	[ "${#lines[@]}" -eq 50001 ]
	[ "${lines[49999]}" = $'wide\tt49999\t-' ]
	[ "${lines[50000]}" = $'again\tt0\t-' ]
	sed 's/"Id":"t49999"/"Id":"t7"/' wide.json >dup.json
	run -2 --separate-stderr evroute -t -f dup.json
	col=$(awk '{ print index($0, "{\"Id\":\"t7\",\"Arn\":\"-\"}]") }' dup.json)
	[ "$stderr" = "evroute: dup.json:1:$col: duplicate target Id 't7'" ]
}

@test "evroute: a deeply nested EventPattern routes; one too deep is a located error" {
	awk 'BEGIN { for (i = 0; i < 400; i++) { o = o "{\"a\":"; c = c "}" }
		print "[{\"Name\":\"deep\",\"EventPattern\":" o "[1]" c ",\"Targets\":[{\"Id\":\"t\",\"Arn\":\"-\"}]}]" >"deep.json"
		print o "1" c >"ev.ndjson"
		print o "2" c >>"ev.ndjson"
		for (i = 0; i < 600; i++) { o2 = o2 "{\"a\":"; c2 = c2 "}" }
		print "[{\"Name\":\"deeper\",\"EventPattern\":" o2 "[1]" c2 ",\"Targets\":[]}]" >"deeper.json" }'
	run -0 --separate-stderr evroute --unmatched=drop -f deep.json ev.ndjson
	[ "$output" = "$(head -1 ev.ndjson)" ]
	run -2 --separate-stderr evroute -t -f deeper.json
	[[ $stderr == "evroute: deeper.json:1:"*": invalid JSON: nesting too deep" ]]
}

@test "evroute: rule names and target ids with control characters are escaped in diagnostics" {
	printf '%s\n' '[{"Name":"r\u001b[31m\nx","EventPattern":{"source":["s"]},"Targets":[{"Id":"t\n1","Arn":"arn:aws:lambda:x"}]}]' >ctl.json
	run -2 --separate-stderr evroute -t -f ctl.json
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ "$stderr" = "evroute: ctl.json:1:70: target 't\n1' of rule 'r\x1b[31m\nx': 'arn:aws:lambda:x' is an AWS target: map it to a local URI with --target" ]
}

@test "evroute: usage errors exit 2" {
	run -2 --separate-stderr evroute
	[[ $stderr == "usage: evroute "* ]]
	run -2 --separate-stderr evroute -f rules.json -f rules.json
	[ "${stderr%%$'\n'*}" = "evroute: -f: one rules file only" ]
	run -2 --separate-stderr evroute --max-line-bytes 0 -f rules.json
	[[ ${stderr%%$'\n'*} == "evroute: invalid --max-line-bytes '0': "* ]]
	run -2 --separate-stderr evroute -f nosuch.json
	[ "$stderr" = "evroute: nosuch.json: No such file or directory" ]
}

@test "evroute: -j matches on several threads and still writes in input order" {
	awk 'BEGIN { for (i = 0; i < 40000; i++)
		printf "{\"source\":\"%s\",\"detail\":{\"n\":%d}}\n", i % 3 ? "shop" : "x", i % 5 }' >j.ndjson
	run -0 --separate-stderr evroute -j 4 --unmatched un.ndjson -f rules.json j.ndjson
	[ "${#lines[@]}" -eq 24000 ]
	cmp all.ndjson <(grep '"shop"' j.ndjson)
	cmp un.ndjson <(grep -v '"shop"' j.ndjson | grep -v '"n":[234]')
	[ "$(sed -n '2p;40p' small.ndjson)" = $'{"n":2,"rule":"orders"}\n{"n":4,"rule":"orders"}' ]
}
