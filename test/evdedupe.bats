#!/usr/bin/env bats
# evdedupe: the first event per key passes, repeats are held back; keys in
# memory or in an SQLite state shared by runs and processes.

bats_require_minimum_version 1.5.0

# With EVKIT_PG_URL set (test/run does, against its throwaway cluster) the
# tests of --state run on PostgreSQL: each test its own store.
setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	if [ -n "$EVKIT_PG_URL" ]; then
		export S="$EVKIT_PG_URL#t${BATS_TEST_NUMBER}_${EPOCHREALTIME/./}"
	else
		export S=s.db
	fi
}

# Tests of SQLite's files (their tables, file errors) skip on PostgreSQL;
# so do those without a state: they ran already.
sqlite_only() {
	[ -z "$EVKIT_PG_URL" ] || skip "SQLite only"
}

# q SQL: SQL on the keys, evdedupe_all, on either backend.
q() {
	if [ -n "$EVKIT_PG_URL" ]; then
		psql -XAtq -v ON_ERROR_STOP=1 "$EVKIT_PG_URL" -c \
		    "${1//evdedupe_all/evkit.${S##*#}_keys}"
	else
		sqlite3 "$S" "$1"
	fi
}

# lines N FMT: N lines printf'd with FMT and the line number, 1 to N.
lines() {
	awk -v n="$1" -v f="$2" 'BEGIN { for (i = 1; i <= n; i++) printf f "\n", i }'
}

@test "evdedupe: first per key passes in input order, byte for byte" {
	sqlite_only
	printf '%s\n' '{"k":"a", "n":1}' '{"k":"b","n":2}' '{"n":3,"k":"a"}' \
	    '{ "k" : "b" }' '{"k":"c"}' >in
	run -0 --separate-stderr evdedupe -k k in
	[ "$output" = $'{"k":"a", "n":1}\n{"k":"b","n":2}\n{"k":"c"}' ]
	[ -z "$stderr" ]
}

@test "evdedupe: a key is the JSON value: \"1\" and 1 differ, objects compare canonically" {
	sqlite_only
	printf '%s\n' '{"k":1}' '{"k":"1"}' '{"k":1.0}' '{"k":"\u0031"}' \
	    '{"k":{"a":1,"b":[1,2]}}' '{"k":{ "b":[1, 2],"a":1}}' \
	    '{"k":{"b":[2,1],"a":1}}' >in
	run -0 evdedupe -k k in
	[ "$output" = $'{"k":1}\n{"k":"1"}\n{"k":{"a":1,"b":[1,2]}}\n{"k":{"b":[2,1],"a":1}}' ]
}

@test "evdedupe: -k takes \$.a.b and is repeatable for a composite key" {
	sqlite_only
	printf '%s\n' '{"a":{"b":1},"c":1}' '{"a":{"b":1},"c":2}' \
	    '{"c":1,"a":{"b":1}}' '{"a":{"b":"1\n"},"c":1}' >in
	run -0 evdedupe -k '$.a.b' -k c in
	[ "$output" = $'{"a":{"b":1},"c":1}\n{"a":{"b":1},"c":2}\n{"a":{"b":"1\\n"},"c":1}' ]
	run -0 evdedupe -k a.b in
	[ "$output" = $'{"a":{"b":1},"c":1}\n{"a":{"b":"1\\n"},"c":1}' ]
}

@test "evdedupe: without -k the whole event is the key, order-insensitive" {
	sqlite_only
	printf '%s\n' '{"a":1,"b":2}' '{ "b":2,"a":1 }' '{"a":1,"b":3}' \
	    '{"a":1,"b":2.0}' >in
	run -0 evdedupe in
	[ "$output" = $'{"a":1,"b":2}\n{"a":1,"b":3}' ]
}

@test "evdedupe: missing key is an error by default: located, rejected, others flow, exit 2" {
	sqlite_only
	printf '%s\n' '{"k":1}' '{"j":2}' '{"k":1}' '{"k":3}' >in
	run -2 --separate-stderr evdedupe -k k --reject rej in
	[ "$output" = $'{"k":1}\n{"k":3}' ]
	[ "$stderr" = "evdedupe: in:2: no key at k" ]
	[ "$(cat rej)" = '{"j":2}' ]
}

@test "evdedupe: --missing pass passes, --missing drop holds back into --dups" {
	sqlite_only
	printf '%s\n' '{"k":1}' '{"j":2}' '{"j":2}' '{"k":1}' >in
	run -0 --separate-stderr evdedupe -k k --missing pass in
	[ "$output" = $'{"k":1}\n{"j":2}\n{"j":2}' ]
	[ -z "$stderr" ]
	run -0 --separate-stderr evdedupe -k k --missing drop --dups d in
	[ "$output" = '{"k":1}' ]
	[ "$(cat d)" = $'{"j":2}\n{"j":2}\n{"k":1}' ]
	run -2 evdedupe --missing maybe in
	[ "${lines[0]}" = "evdedupe: invalid --missing 'maybe': expected pass, drop or error" ]
}

@test "evdedupe: --dups gets the held-back events byte for byte" {
	sqlite_only
	printf '{"k":1}\n{ "k" : 1 ,"x":"\\u00e9"}\r\n{"k":2}\n{"k":1}\n' >in
	run -0 evdedupe -k k --dups d in
	[ "$output" = $'{"k":1}\n{"k":2}' ]
	[ "$(cat d)" = $'{ "k" : 1 ,"x":"\\u00e9"}\n{"k":1}' ]
}

@test "evdedupe: --dups that is an input is refused before anything is read" {
	sqlite_only
	printf '{"k":1}\n{"k":1}\n' >in
	run -2 --separate-stderr evdedupe -k k --dups in in
	[ "$stderr" = "evdedupe: in: input file is also the dups file" ]
	[ "$(cat in)" = $'{"k":1}\n{"k":1}' ]
	run -2 --separate-stderr evdedupe -k k --dups in <in
	[ "$stderr" = "evdedupe: <stdin>: input file is also the dups file" ]
	[ "$(wc -l <in)" -eq 2 ]
}

@test "evdedupe: bad lines are reported, rejected, and the rest flows" {
	sqlite_only
	printf '%s\n' '{"k":1}' '{"k":' '[1]' '{"k":1}' '{"k":2}' >in
	run -2 --separate-stderr evdedupe -k k --reject rej in
	[ "$output" = $'{"k":1}\n{"k":2}' ]
	[ "$(cat rej)" = $'{"k":\n[1]' ]
	[ "${#stderr_lines[@]}" -eq 2 ]
	[[ ${stderr_lines[0]} == "evdedupe: in:2:"*"invalid JSON"* ]]
}

@test "evdedupe: --ttl in processing time with the EVKIT_NOW clock, across --state runs" {
	echo '{"k":1}' >in
	EVKIT_NOW=2026-01-01T00:00:00Z run -0 evdedupe -k k --ttl 10m --state $S in
	[ "$output" = '{"k":1}' ]
	EVKIT_NOW=2026-01-01T00:09:59Z run -0 evdedupe -k k --ttl 10m --state $S in
	[ -z "$output" ]
	EVKIT_NOW=2026-01-01T00:10:00Z run -0 evdedupe -k k --ttl 10m --state $S in
	[ "$output" = '{"k":1}' ]
	# the window restarted at 00:10
	EVKIT_NOW=2026-01-01T00:19:00Z run -0 evdedupe -k k --ttl 10m --state $S in
	[ -z "$output" ]
	run -2 evdedupe --ttl 5x in
	[ "${lines[0]}" = "evdedupe: --ttl: invalid duration '5x': expected a number and a unit (ms, s, m, h, d)" ]
	run -2 evdedupe --ttl 0 in
	[ "${lines[0]}" = "evdedupe: invalid --ttl '0': expected a duration of at least 1ms" ]
}

@test "evdedupe: --time-field uses the event's own time, the same on every replay" {
	sqlite_only
	printf '%s\n' '{"k":1,"t":"2026-01-01T00:00:00Z"}' \
	    '{"k":1,"t":"2026-01-01T00:00:09.999Z"}' \
	    '{"k":1,"t":"2026-01-01T01:00:10+01:00"}' \
	    '{"k":1,"t":1767225611}' >in
	run -0 evdedupe -k k --ttl 10s --time-field t in
	[ "$output" = $'{"k":1,"t":"2026-01-01T00:00:00Z"}\n{"k":1,"t":"2026-01-01T01:00:10+01:00"}' ]
	EVKIT_NOW=2000-01-01T00:00:00Z run -0 evdedupe -k k --ttl 10s --time-field t in
	[ "${#lines[@]}" -eq 2 ]
	printf '%s\n' '{"k":1}' '{"k":2,"t":"soon"}' '{"k":3,"t":"2026-01-01T00:00:00Z"}' >in2
	run -2 --separate-stderr evdedupe -k k --time-field t in2
	[ "$output" = '{"k":3,"t":"2026-01-01T00:00:00Z"}' ]
	[ "${stderr_lines[0]}" = "evdedupe: in2:1: no time at t" ]
	[ "${stderr_lines[1]}" = "evdedupe: in2:2: invalid time at t: expected an RFC 3339 time" ]
}

@test "evdedupe: --max-keys evicts the least recently seen key" {
	printf '%s\n' '{"k":"a"}' '{"k":"b"}' '{"k":"a"}' '{"k":"c"}' \
	    '{"k":"a"}' '{"k":"b"}' >in
	run -0 evdedupe -k k --max-keys 2 in
	# c evicts b (a was seen more recently); b passes again
	[ "$output" = $'{"k":"a"}\n{"k":"b"}\n{"k":"c"}\n{"k":"b"}' ]
	run -2 evdedupe --max-keys 0 in
	[ "${lines[0]}" = "evdedupe: invalid --max-keys '0': expected a whole number from 1 to 1610612736" ]
	run -2 evdedupe --max-keys 5 --state $S in
	[ "${lines[0]}" = "evdedupe: options '--max-keys' and '--state' cannot be used together" ]
}

@test "evdedupe: --max-keys never holds back a unique event, many evictions" {
	sqlite_only
	lines 5000 '{"k":%d}' >in
	cat in in >in2
	run -0 evdedupe -k k --max-keys 100 in2
	[ "${#lines[@]}" -eq 10000 ]
	run -0 evdedupe -k k --max-keys 6000 in2
	[ "${#lines[@]}" -eq 5000 ]
}

@test "evdedupe: --fail-on-dup exits 1 when a repeat was seen, 0 otherwise" {
	sqlite_only
	printf '%s\n' '{"k":1}' '{"k":1}' >in
	run -1 evdedupe -k k --fail-on-dup in
	[ "$output" = '{"k":1}' ]
	run -0 evdedupe -k k in
	head -1 in >in1
	run -0 evdedupe -k k --fail-on-dup in1
	# an error wins
	printf 'x\n' >>in
	run -2 evdedupe -k k --fail-on-dup in
}

@test "evdedupe: -j gives the serial output on many lines" {
	awk 'BEGIN { for (i = 0; i < 60000; i++) printf "{\"k\":%d,\"i\":%d}\n", (i * 7) % 20011, i }' >in
	evdedupe -j 1 -k k in >serial
	run -0 evdedupe -j 4 -k k in
	[ "$output" = "$(cat serial)" ]
	[ "$(wc -l <serial)" -eq 20011 ]
	EVKIT_JOBS=3 evdedupe -k k --state $S in >par
	cmp par serial
	run -2 evdedupe -j 0 in
	[ "${lines[0]}" = "evdedupe: invalid job count '0': expected a number from 1 to 64" ]
}

@test "evdedupe: --state dedupes across runs; --stat and --expire" {
	sqlite_only
	printf '%s\n' '{"k":1}' '{"k":2}' '{"k":1}' >in
	EVKIT_NOW=2026-01-01T00:00:00Z run -0 evdedupe -k k --state $S in
	[ "$output" = $'{"k":1}\n{"k":2}' ]
	printf '%s\n' '{"k":3}' '{"k":2}' >in2
	EVKIT_NOW=2026-01-01T01:00:00Z run -0 evdedupe -k k --state $S in2
	[ "$output" = '{"k":3}' ]
	run -0 evdedupe --stat --state $S
	[[ $output == '{"keys":3,"claimed":0,"oldest":"2026-01-01T00:00:00Z","newest":"2026-01-01T01:00:00Z","bytes":'[0-9]*'}' ]]
	[ "$(q 'SELECT count(*) FROM evdedupe_all')" -eq 3 ]
	[ -n "$EVKIT_PG_URL" ] || [ "$(sqlite3 $S "SELECT version FROM evkit_schema WHERE component = 'evdedupe'")" -eq 2 ]
	EVKIT_NOW=2026-01-01T01:30:00Z run -0 evdedupe --expire --ttl 1h --state $S
	[ "$output" = '{"expired":2}' ]
	EVKIT_NOW=2026-01-01T01:30:00Z run -0 evdedupe -k k --state $S in
	[ "$output" = $'{"k":1}\n{"k":2}' ]
	run -2 evdedupe --stat
	[ "${lines[0]}" = "evdedupe: option '--stat' needs '--state'" ]
	run -2 evdedupe --expire --state $S
	[ "${lines[0]}" = "evdedupe: option '--expire' needs '--ttl'" ]
}

@test "evdedupe: a state file that is not a database, not a regular file, or newer, is refused" {
	sqlite_only
	echo hello >notdb
	run -2 --separate-stderr evdedupe --state notdb </dev/null
	[ "$stderr" = "evdedupe: notdb: file is not a database" ]
	mkfifo fifo
	run -2 --separate-stderr evdedupe -k k --state fifo </dev/null
	[ "$stderr" = "evdedupe: fifo: not a regular file" ]
	[ "$(echo fifo*)" = fifo ]
	echo '{"k":1}' | evdedupe -k k --state $S >/dev/null
	sqlite3 $S "UPDATE evkit_schema SET version = 9 WHERE component = 'evdedupe'"
	run -2 --separate-stderr evdedupe --state $S </dev/null
	[ "$stderr" = "evdedupe: $S: evdedupe tables are version 9; this evdedupe reads version 2" ]
}

@test "evdedupe: evdedupe_new is merged into evdedupe_keys during a run; repeats found after the merge" {
	sqlite_only
	# evdedupe_new is merged at 65536 rows here (EVKIT_DKEYS_MERGE; 262144
	# unset while evdedupe_keys is empty): the first 65536 keys are
	# merged, their repeats found in evdedupe_keys
	export EVKIT_DKEYS_MERGE=65536
	lines 70000 '{"k":%d}' >in
	cat in in >in2
	# --validate: repeats go to the state, not to the run's memory
	evdedupe -k k --validate k --state $S in2 >out
	cmp out in
	[ "$(sqlite3 $S 'SELECT generation FROM evdedupe_filter')" -ge 1 ]
	[ "$(sqlite3 $S 'SELECT count(*) FROM evdedupe_new')" -lt 70000 ]
	[ "$(sqlite3 $S 'SELECT count(*) FROM evdedupe_keys')" -ge 65536 ]
	[ "$(sqlite3 $S 'SELECT count(*) FROM evdedupe_all')" -eq 70000 ]
	run -0 evdedupe --stat --state $S
	[[ $output == '{"keys":70000,'* ]]
	run -0 evdedupe -k k --state $S in
	[ -z "$output" ]
	printf '%s\n' '{"k":1}' '{"k":70001}' >in3
	run -0 evdedupe -k k --state $S in3
	[ "$output" = '{"k":70001}' ]
}

@test "evdedupe: a state that starts empty is not merged before evdedupe_new holds 262144 rows" {
	sqlite_only
	unset EVKIT_DKEYS_MERGE
	lines 70000 '{"k":%d}' >in
	evdedupe -k k --state $S in >out
	cmp out in
	[ "$(sqlite3 $S 'SELECT generation FROM evdedupe_filter')" -eq 0 ]
	[ "$(sqlite3 $S 'SELECT count(*) FROM evdedupe_new')" -eq 70000 ]
	[ "$(sqlite3 $S 'SELECT count(*) FROM evdedupe_keys')" -eq 0 ]
}

@test "evdedupe: a version 1 state file is migrated on first use" {
	sqlite_only
	lines 5000 '{"k":%d}' >in
	evdedupe -k k --state $S in >/dev/null
	# back to version 1's layout: evdedupe_keys alone
	sqlite3 $S "INSERT OR REPLACE INTO evdedupe_keys SELECT * FROM evdedupe_new;
	    DROP VIEW evdedupe_all; DROP TABLE evdedupe_new;
	    DROP TABLE evdedupe_filter; DROP TABLE evdedupe_filter_chunks;
	    UPDATE evkit_schema SET version = 1 WHERE component = 'evdedupe'"
	[ "$(sqlite3 $S 'SELECT count(*) FROM evdedupe_keys')" -eq 5000 ]
	lines 5001 '{"k":%d}' >in2
	run -0 evdedupe -k k --state $S in2
	[ "$output" = '{"k":5001}' ]
	[ "$(sqlite3 $S "SELECT version FROM evkit_schema WHERE component = 'evdedupe'")" -eq 2 ]
	[ "$(sqlite3 $S 'SELECT keys FROM evdedupe_filter')" -eq 5000 ]
	run -0 evdedupe --stat --state $S
	[[ $output == '{"keys":5001,'* ]]
}

@test "evdedupe: a damaged Bloom filter in the state is an error, not a wrong verdict" {
	sqlite_only
	echo '{"k":1}' | evdedupe -k k --state $S >/dev/null
	cp $S s2.db
	sqlite3 $S "UPDATE evdedupe_filter SET bits = -8, generation = 5"
	run -2 --separate-stderr evdedupe -k k --state $S <<<'{"k":2}'
	[ "$stderr" = "evdedupe: $S: evdedupe_filter: bad filter (-8 bits, 7 hashes) or out of memory" ]
	[ -z "$output" ]
	sqlite3 s2.db "INSERT INTO evdedupe_filter_chunks VALUES (1000, x'ff');
	    UPDATE evdedupe_filter SET generation = 5"
	run -2 --separate-stderr evdedupe -k k --state s2.db <<<'{"k":2}'
	[ "$stderr" = "evdedupe: s2.db: evdedupe_filter_chunks: chunk 1000 out of the filter" ]
}

@test "evdedupe: a failed write commits nothing to the state" {
	printf '%s\n' '{"k":1}' '{"k":2}' >in
	run -2 --separate-stderr bash -c 'evdedupe -k k --state $S in >/dev/full'
	[ "$stderr" = "evdedupe: write error on '<stdout>': No space left on device" ]
	run -0 evdedupe -k k --state $S in
	[ "$output" = $'{"k":1}\n{"k":2}' ]
}

@test "evdedupe: a reader that went away commits nothing it did not get" {
	lines 50000 '{"k":%d}' >in
	evdedupe -k k --state $S in | head -1 >/dev/null
	# what head did not read is not held back by the next run
	run -0 evdedupe -k k --state $S in
	[ "$(printf '%s\n' "$output" | tail -1)" = '{"k":50000}' ]
}

@test "evdedupe: four processes on one state, overlapping inputs: every key out exactly once" {
	sqlite_only
	# enough keys for merges while the others run (evdedupe_new merged at
	# 65536 rows: EVKIT_DKEYS_MERGE)
	export EVKIT_DKEYS_MERGE=65536
	lines 70000 '{"k":%d}' >all
	awk 'NR % 4 != 0' all >a
	awk 'NR % 4 != 1' all >b
	tac all >c
	awk 'NR > 1000' all >d
	evdedupe -k k --state $S a >oa & p1=$!
	evdedupe -k k --state $S b >ob & p2=$!
	evdedupe -k k --state $S c >oc & p3=$!
	cat d | evdedupe -k k --state $S >od & p4=$!
	wait $p1 && wait $p2 && wait $p3 && wait $p4
	[ "$(cat oa ob oc od | sort | uniq -d | wc -l)" -eq 0 ]
	[ "$(cat oa ob oc od | sort -u | wc -l)" -eq 70000 ]
	[ "$(sqlite3 $S 'SELECT generation FROM evdedupe_filter')" -gt 0 ]
}

@test "evdedupe: kill -9 loop with --state, then a rerun: no unique event held back" {
	# (a tenth of it on PostgreSQL, whose state is slower)
	n=150001
	[ -z "$EVKIT_PG_URL" ] || n=15013
	awk -v n=$n 'BEGIN { for (i = 0; i < 2 * n - 2; i++) printf "{\"k\":%d}\n", (i * 7) % n }' >in
	: >out
	for i in $(seq 25); do
		timeout -s KILL "0.0$((RANDOM % 9 + 1))" \
		    evdedupe -k k --state $S in >>out 2>/dev/null || :
		# a line cut by the kill is the reader's to drop
		[ -z "$(tail -c1 out)" ] || echo >>out
	done
	evdedupe -k k --state $S in >>out
	# every key came out at least once
	[ "$(grep -x '{"k":[0-9]*}' out | sort -u | wc -l)" -eq $n ]
	# and the state holds them all now
	run -0 evdedupe -k k --state $S in
	[ -z "$output" ]
}

@test "evdedupe: a full disk (ulimit -f) under --state is exit 2 with the reason; the state opens, a rerun loses nothing" {
	sqlite_only
	lines 60000 '{"k":%d}' >in
	# the limit applies to the state only: stdout is a pipe
	bash -c "ulimit -f 1000; evdedupe -k k --state $S in 2>err; echo \$? >rc" |
	    cat >out
	[ "$(cat rc)" -eq 2 ]
	[[ "$(cat err)" == "evdedupe: $S: "*disk* ]]
	[ "$(sqlite3 $S 'PRAGMA integrity_check')" = ok ]
	evdedupe --stat --state $S >/dev/null
	# written before its key was committed: passed again, never held back
	evdedupe -k k --state $S in >>out
	[ "$(sort -u out | wc -l)" -eq 60000 ]
	run -0 evdedupe -k k --state $S in
	[ -z "$output" ]
}

@test "evdedupe: closed standard descriptors" {
	sqlite_only
	printf '{"k":1}\n{"k":1}\n' >in
	run -0 evdedupe -k k in <&-
	[ "$output" = '{"k":1}' ]
	evdedupe -k k in >&- 2>err && false || [ $? -eq 2 ]
}

@test "evdedupe: deep nesting and huge values do not crash" {
	sqlite_only
	awk 'BEGIN { for (i = 0; i < 100000; i++) printf "["; print "" }' >deep
	{ printf '{"k":'; cat deep; } >in
	run -2 evdedupe -k k in
	awk 'BEGIN { printf "{\"k\":\""; for (i = 0; i < 500000; i++) printf "x"; print "\"}" }' >big
	cat big big >in2
	run -0 evdedupe -k k in2
	[ "${#lines[@]}" -eq 1 ]
	run -0 evdedupe in2
	[ "${#lines[@]}" -eq 1 ]
}

@test "evdedupe: --help, --version, usage errors" {
	sqlite_only
	run -0 evdedupe --help
	[[ ${lines[0]} == "usage: evdedupe "* ]]
	run -0 evdedupe --version
	[[ $output == "evdedupe (evkit) "* ]]
	run -2 evdedupe --no-such-option
	run -2 evdedupe -k 'a..b' </dev/null
	[ "${lines[0]}" = "evdedupe: invalid path 'a..b': empty field name" ]
}

@test "evdedupe: --claim passes unclaimed keys, holds running leases, retries expired ones" {
	printf '%s\n' '{"k":1}' '{"k":2}' '{"k":1}' >in
	EVKIT_NOW=2026-01-01T00:00:00Z run -0 evdedupe --claim --lease 5m --state $S -k k in
	[ "$output" = $'{"k":1}\n{"k":2}' ]
	[ "$(q 'SELECT count(*) FROM evdedupe_all WHERE claimed IS NOT NULL')" -eq 2 ]
	# the lease holds
	EVKIT_NOW=2026-01-01T00:04:59Z run -0 evdedupe --claim --lease 5m --state $S -k k in
	[ -z "$output" ]
	# the handler completed k=2 only
	echo '{"k":2}' | EVKIT_NOW=2026-01-01T00:04:59Z evdedupe --commit --state $S -k k >out
	[ "$(cat out)" = '{"k":2}' ]
	# at the lease's end k=1 is retried, k=2 is done
	EVKIT_NOW=2026-01-01T00:05:00Z run -0 evdedupe --claim --lease 5m --state $S -k k in
	[ "$output" = '{"k":1}' ]
	run -0 evdedupe --stat --state $S
	[[ $output == '{"keys":2,"claimed":1,'* ]]
	# a commit of a key never claimed records it completed
	echo '{"k":3}' | evdedupe --commit --state $S -k k >/dev/null
	echo '{"k":3}' | EVKIT_NOW=2026-01-01T00:05:00Z evdedupe --claim --lease 5m --state $S -k k >out
	[ ! -s out ]
}

@test "evdedupe: --claim and --commit option checks" {
	run -2 evdedupe --claim --lease 5m </dev/null
	[ "${lines[0]}" = "evdedupe: option '--claim' needs '--state'" ]
	run -2 evdedupe --commit </dev/null
	[ "${lines[0]}" = "evdedupe: option '--commit' needs '--state'" ]
	run -2 evdedupe --claim --state $S </dev/null
	[ "${lines[0]}" = "evdedupe: option '--claim' needs '--lease'" ]
	run -2 evdedupe --lease 5m --state $S </dev/null
	[ "${lines[0]}" = "evdedupe: option '--lease' needs '--claim'" ]
	run -2 evdedupe --claim --commit --lease 5m --state $S </dev/null
	[ "${lines[0]}" = "evdedupe: options '--claim' and '--commit' cannot be used together" ]
	run -2 evdedupe --claim --lease 0 --state $S </dev/null
	[ "${lines[0]}" = "evdedupe: invalid --lease '0': expected a duration of at least 1ms" ]
}

@test "evdedupe: examples/claim-commit.sh retries what the failed handler claimed, once" {
	sqlite_only
	run -0 --separate-stderr sh "$EVKIT_ROOT/examples/claim-commit.sh"
	[ "$output" = '# 2026-11-20T10:00:00Z
{"keys":2,"claimed":2}
# 2026-11-20T10:01:00Z
{"keys":2,"claimed":2}
# 2026-11-20T10:06:00Z
{"keys":2,"claimed":0}
# 2026-11-20T10:20:00Z
{"keys":2,"claimed":0}' ]
	[ "$stderr" = $'handler: failed\nhandled 1001\nhandled 1002' ]
}

@test "evdedupe: --validate: a repeat with another validated part is a conflict, with both locations" {
	printf '%s\n' '{"k":1,"p":{"a":1,"b":2}}' '{"k":1,"p":{"b":2, "a":1},"x":9}' \
	    '{"k":1,"p":{"a":2}}' '{"k":2}' '{"k":2}' '{"k":2,"p":null}' >in
	run -2 --separate-stderr evdedupe -k k --validate p --dups d in
	[ "$output" = $'{"k":1,"p":{"a":1,"b":2}}\n{"k":2}' ]
	[ "${stderr_lines[0]}" = "evdedupe: in:3: conflict: key first seen at in:1 with another validated part" ]
	[ "${stderr_lines[1]}" = "evdedupe: in:6: conflict: key first seen at in:4 with another validated part" ]
	[ "$(cat d)" = $'{"k":1,"p":{"b":2, "a":1},"x":9}\nconflict\t{"k":1,"p":{"a":2}}\n{"k":2}\nconflict\t{"k":2,"p":null}' ]
	# the same across runs with --state: the first location is kept
	head -1 in >first
	run -0 evdedupe -k k --validate p --state $S first
	run -2 --separate-stderr evdedupe -k k --validate p --state $S in
	[ "$output" = '{"k":2}' ]
	[ "${stderr_lines[0]}" = "evdedupe: in:3: conflict: key first seen at first:1 with another validated part" ]
	run -2 evdedupe --claim --lease 5m --validate p --state $S </dev/null
	[ "${lines[0]}" = "evdedupe: options '--validate' and '--claim' cannot be used together" ]
}

@test "evdedupe: -e JQ takes the key from a jq program" {
	sqlite_only
	printf '%s\n' '{"a":{"x":1,"y":2}}' '{"a":{"y":2, "x":1}}' '{"a":3}' \
	    '{"b":1}' '{"a":"3"}' '{"a":[1,2]}' >in
	run -2 --separate-stderr evdedupe -e '.a // empty' in
	[ "$output" = $'{"a":{"x":1,"y":2}}\n{"a":3}\n{"a":"3"}\n{"a":[1,2]}' ]
	[ "$stderr" = "evdedupe: in:4: no key from -e" ]
	run -0 evdedupe -e '.a | length' in
	[ "$output" = $'{"a":{"x":1,"y":2}}\n{"a":3}\n{"b":1}\n{"a":"3"}' ]
	run -2 --separate-stderr evdedupe -e '.a + 1' in
	[ "${stderr_lines[0]}" = 'evdedupe: in:1: jq: error: object ({"x":1,"y":2}) and number (1) cannot be added' ]
	run -0 evdedupe -j 2 -e '.a' --missing pass in
	[ "${#lines[@]}" -eq 5 ]
	run -2 --separate-stderr evdedupe -e '.a +' in
	[[ ${stderr_lines[0]} == "evdedupe: invalid jq program '.a +': syntax error, "* ]]
	run -2 evdedupe -e .a -k a in
	[ "${lines[0]}" = "evdedupe: options '-e' and '-k' cannot be used together" ]
	# outputs without end stop at a line's worth: a bad line, the rest flows
	run -2 --separate-stderr evdedupe --max-line-bytes 100 -e 'repeat(.a)' in
	[ "${stderr_lines[0]}" = "evdedupe: in:1: jq: outputs of more than 100 bytes" ]
	[ "${#stderr_lines[@]}" -eq 6 ]
}

@test "evdedupe: claim | handler | commit over more than a pipe holds does not deadlock" {
	# The claimer holds the database while it waits for the pipe; a
	# committer that waited for the database without reading stopped the
	# pipeline (until the busy timeout).
	awk 'BEGIN { for (i = 0; i < 20000; i++) printf "{\"k\":%d,\"pad\":\"%0200d\"}\n", i, 0 }' >in
	run -0 timeout 50 sh -c 'evdedupe --claim --lease 5m --state $S -k k in |
	    cat | evdedupe --commit --state $S -k k | wc -l'
	[ "$output" -eq 20000 ]
	run -0 evdedupe --stat --state $S
	[[ $output == '{"keys":20000,"claimed":0,'* ]]
}

@test "evdedupe: -V JQ validates a part a jq program computes: conflicts located, marked, exit 2" {
	printf '%s\n' '{"k":1,"p":{"a":1,"b":2},"q":1}' '{"k":1,"p":{"b":2, "a":1},"q":2}' \
	    '{"k":1,"p":{"a":2},"q":1}' '{"k":2,"p":[1]}' '{"k":2,"p":[2]}' >in
	run -2 --separate-stderr evdedupe -k k -V '.p' --dups d in
	[ "$output" = $'{"k":1,"p":{"a":1,"b":2},"q":1}\n{"k":2,"p":[1]}' ]
	[ "${stderr_lines[0]}" = "evdedupe: in:3: conflict: key first seen at in:1 with another validated part" ]
	[ "${stderr_lines[1]}" = "evdedupe: in:5: conflict: key first seen at in:4 with another validated part" ]
	[ "${#stderr_lines[@]}" -eq 2 ]
	[ "$(cat d)" = $'{"k":1,"p":{"b":2, "a":1},"q":2}\nconflict\t{"k":1,"p":{"a":2},"q":1}\nconflict\t{"k":2,"p":[2]}' ]
	# any expression: here the first element only, so [1] and [1,9] agree
	printf '%s\n' '{"k":1,"p":[1]}' '{"k":1,"p":[1,9]}' >in2
	run -0 evdedupe -k k -V '.p[0]' in2
	[ "$output" = '{"k":1,"p":[1]}' ]
	# with -e for the key as well, and across runs with --state
	head -1 in >first
	run -0 evdedupe -e .k -V .p --state $S first
	run -2 --separate-stderr evdedupe -e .k -V .p --state $S in
	[ "$output" = '{"k":2,"p":[1]}' ]
	[ "${stderr_lines[0]}" = "evdedupe: in:3: conflict: key first seen at first:1 with another validated part" ]
	# a program that fails on an event makes it a bad line
	run -2 --separate-stderr evdedupe -k k -V '.p + 1' --reject rej in2
	[ "$output" = '' ]
	[ "${stderr_lines[0]}" = 'evdedupe: in2:1: jq: error: array ([1]) and number (1) cannot be added' ]
	[ "$(wc -l <rej)" -eq 2 ]
}

@test "evdedupe: -V option checks" {
	run -2 --separate-stderr evdedupe -V '.a +' </dev/null
	[[ ${stderr_lines[0]} == "evdedupe: invalid jq program '.a +': syntax error, "* ]]
	run -2 evdedupe -V .p --validate p </dev/null
	[ "${lines[0]}" = "evdedupe: options '-V' and '--validate' cannot be used together" ]
	run -2 evdedupe -V .p --claim --lease 5m --state $S </dev/null
	[ "${lines[0]}" = "evdedupe: options '-V' and '--claim' cannot be used together" ]
	run -2 evdedupe -V .p --commit --state $S </dev/null
	[ "${lines[0]}" = "evdedupe: options '-V' and '--commit' cannot be used together" ]
}

@test "evdedupe: --max-keys takes the key set's whole range, and refuses more" {
	sqlite_only
	printf '%s\n' '{"k":1}' '{"k":2}' '{"k":1}' >in
	# the largest bounded set maps its table at once; only touched pages count
	run -0 evdedupe -k k --max-keys 1610612736 in
	[ "$output" = $'{"k":1}\n{"k":2}' ]
	# 2^31 and 2^32 were taken for "no limit"
	for n in 1610612737 2147483648 4294967296 18446744073709551616 -1 1e3; do
		run -2 evdedupe -k k --max-keys $n in
		[ "${lines[0]}" = "evdedupe: invalid --max-keys '$n': expected a whole number from 1 to 1610612736" ]
	done
}

@test "evdedupe: --dups that is the reject file is refused, by name or through a symlink" {
	sqlite_only
	printf '%s\n' '{"k":1}' 'bad' '{"k":1}' >in
	echo keep >x
	ln -s x y
	run -2 --separate-stderr evdedupe -k k --dups x --reject x in
	[ "$stderr" = "evdedupe: x: dups file is also the reject file" ]
	run -2 --separate-stderr evdedupe -k k --dups x --reject y in
	[ "$stderr" = "evdedupe: x: dups file is also the reject file" ]
	[ "$(cat x)" = keep ]
	# neither existing yet: the dups file is made first, then found
	run -2 --separate-stderr evdedupe -k k --dups new --reject new in
	[ "$stderr" = "evdedupe: new: dups file is also the reject file" ]
}

@test "evdedupe: an input or a --dups file that is also standard output is refused" {
	sqlite_only
	printf '%s\n' '{"k":1}' '{"k":1}' >in
	run -2 --separate-stderr sh -c 'evdedupe -k k in >>in'
	[ "$stderr" = "evdedupe: in: input file is also the output" ]
	[ "$(cat in)" = $'{"k":1}\n{"k":1}' ]
	run -2 --separate-stderr sh -c 'evdedupe -k k --dups out in >>out'
	[ "$stderr" = "evdedupe: out: dups file is also the output" ]
	run -0 sh -c 'evdedupe -k k --dups /dev/stdout in | wc -l'
	[ "$output" -eq 2 ]
}

@test "evdedupe: a state file that is an input, the output, the dups or the reject file is refused" {
	sqlite_only
	printf '%s\n' '{"k":1}' '{"k":2}' >in
	evdedupe -k k --state $S in >/dev/null
	cp $S s.orig
	run -2 --separate-stderr evdedupe -k k --state $S --dups $S in
	[ "$stderr" = "evdedupe: $S: state file is also the dups file" ]
	ln -s $S link.db
	run -2 --separate-stderr evdedupe -k k --state $S --reject link.db in
	[ "$stderr" = "evdedupe: $S: state file is also the reject file" ]
	run -2 --separate-stderr sh -c 'evdedupe -k k --state $S in >>$S'
	[ "$stderr" = "evdedupe: $S: state file is also the output" ]
	run -2 --separate-stderr evdedupe -k k --state $S in $S
	[ "$stderr" = "evdedupe: $S: input file is also the state file" ]
	run -2 --separate-stderr sh -c 'evdedupe -k k --state $S <$S'
	[ "$stderr" = "evdedupe: <stdin>: input file is also the state file" ]
	cmp $S s.orig
	[ "$(sqlite3 $S 'SELECT count(*) FROM evdedupe_all')" -eq 2 ]
}

@test "evdedupe: a file name with a newline or an escape byte is escaped in diagnostics, one line" {
	sqlite_only
	printf '{"k":\n' >$'a\nb\033'
	run -2 --separate-stderr evdedupe -k k $'a\nb\033'
	[ "$stderr" = 'evdedupe: a\nb\x1b:1:6: invalid JSON: unexpected end of input' ]
	printf '{"k":1,"p":1}\n' >$'f\nx'
	printf '{"k":1,"p":2}\n' >g
	run -2 --separate-stderr evdedupe -k k --validate p $'f\nx' g
	[ "$stderr" = 'evdedupe: g:1: conflict: key first seen at f\nx:1 with another validated part' ]
	echo x >$'n\nt.db'
	run -2 --separate-stderr evdedupe --state $'n\nt.db' </dev/null
	[ "$stderr" = 'evdedupe: n\nt.db: file is not a database' ]
}

@test "evdedupe: closed standard input, error, or all three" {
	sqlite_only
	printf '%s\n' '{"k":1}' 'bad' '{"k":1}' >in
	run -0 --separate-stderr timeout 10 sh -c 'exec evdedupe -k k --state $S <&-'
	[ -z "$output" ] && [ -z "$stderr" ]
	# a closed stderr does not send diagnostics into the reject file
	run -2 sh -c 'exec evdedupe -k k --reject rej --state $S in 2>&-'
	[ "$output" = '{"k":1}' ]
	[ "$(cat rej)" = bad ]
	# nothing open: the output fails, so no key is committed, and the
	# state file, opened on a low descriptor, gets no stray output
	run -2 sh -c 'exec evdedupe -k k --state s2.db --dups d in <&- >&- 2>&-'
	[ "$(cat d)" = '{"k":1}' ]
	[ "$(sqlite3 s2.db 'SELECT count(*) FROM evdedupe_all')" -eq 0 ]
	[ "$(sqlite3 s2.db 'PRAGMA integrity_check')" = ok ]
	run -2 --separate-stderr evdedupe -k k --state s2.db in
	[ "$output" = '{"k":1}' ]
}

# answers_when_dry ARG...: evdedupe -k k ARG... reading a FIFO that stays
# open answers what it has read, in input order, without waiting for more.
answers_when_dry() {
	mkfifo fi fo
	evdedupe -k k "$@" <fi >fo 3>&- &
	exec 7>fi 8<fo
	printf '%s\n' '{"k":1}' '{"k":1}' '{"k":2}' >&7
	read -r -t 20 a <&8
	read -r -t 20 b <&8
	[ "$a" = '{"k":1}' ] && [ "$b" = '{"k":2}' ]
	printf '%s\n' '{"k":2}' '{"k":3}' >&7
	read -r -t 20 c <&8
	[ "$c" = '{"k":3}' ]
	exec 7>&- 8<&-
	wait
}

@test "evdedupe: with --state a batch is finished when the input runs dry, not held for more" {
	answers_when_dry --state "$S"
}

# both NAME: run the function NAME with the state $1 twice, on $S and on
# ${S}k deciding a key at a time (EVKIT_PG_BATCH=0: PostgreSQL's per-key
# path, the one a batch must agree with); its output goes to NAME.out.
both() {
	"$1" "$S" >"$1.out" 2>&1
	EVKIT_PG_BATCH=0 "$1" "${S}k" >"$1.key" 2>&1
	diff "$1.out" "$1.key"
}

ttl_in_batch() {
	# a fixed clock: on PostgreSQL the clock skew measured at connection,
	# a few ms that vary between runs, is added to event times too
	export EVKIT_NOW=2026-01-01T00:00:00Z
	echo '{"k":2,"t":"2026-01-01T00:00:00Z"}' | evdedupe -k k --ttl 10s --time-field t --state "$1"
	evdedupe -k k --ttl 10s --time-field t --state "$1" --dups d in
	echo "status 0"
	cat d
	S=$1 q 'SELECT count(*) FROM evdedupe_all'
}

@test "evdedupe: --state, one key many times in a batch, expiring inside it: decided one after another" {
	printf '{"k":%d,"t":"2026-01-01T00:00:%02dZ"}\n' 1 0 2 5 1 5 2 9 1 10 2 10 \
	    2 19 1 9 2 20 3 0 >in
	both ttl_in_batch
	[ "$(cat ttl_in_batch.out)" = '{"k":2,"t":"2026-01-01T00:00:00Z"}
{"k":1,"t":"2026-01-01T00:00:00Z"}
{"k":1,"t":"2026-01-01T00:00:10Z"}
{"k":2,"t":"2026-01-01T00:00:10Z"}
{"k":2,"t":"2026-01-01T00:00:20Z"}
{"k":3,"t":"2026-01-01T00:00:00Z"}
status 0
{"k":2,"t":"2026-01-01T00:00:05Z"}
{"k":1,"t":"2026-01-01T00:00:05Z"}
{"k":2,"t":"2026-01-01T00:00:09Z"}
{"k":2,"t":"2026-01-01T00:00:19Z"}
{"k":1,"t":"2026-01-01T00:00:09Z"}
3' ]
}

validate_in_batch() {
	evdedupe -k k --validate p --state "$1" first
	s=0
	evdedupe -k k --validate p --state "$1" --dups d 'a"b\c' first || s=$?
	echo "status $s"
	cat d
}

@test "evdedupe: --state --validate, one key many times in a batch: conflicts located, names quoted" {
	echo '{"k":1,"p":1}' >first
	printf '{"k":%d,"p":%d}\n' 1 1 1 2 3 1 3 1 3 2 1 2 >'a"b\c'
	both validate_in_batch
	[ "$(cat validate_in_batch.out)" = '{"k":1,"p":1}
evdedupe: a"b\c:2: conflict: key first seen at first:1 with another validated part
evdedupe: a"b\c:5: conflict: key first seen at a"b\c:3 with another validated part
evdedupe: a"b\c:6: conflict: key first seen at first:1 with another validated part
{"k":3,"p":1}
status 2
{"k":1,"p":1}
conflict	{"k":1,"p":2}
{"k":3,"p":1}
conflict	{"k":3,"p":2}
conflict	{"k":1,"p":2}
{"k":1,"p":1}' ]
}

commit_in_batch() {
	export EVKIT_NOW=2026-01-01T00:00:00Z
	printf '{"k":%d}\n' 1 2 5 | evdedupe --claim --lease 5m --state "$1" -k k
	printf '{"k":%d}\n' 2 1 2 3 3 1 | evdedupe --commit --state "$1" -k k
	export EVKIT_NOW=2026-01-01T00:06:00Z
	printf '{"k":%d}\n' 1 2 3 4 5 | evdedupe --claim --lease 5m --state "$1" -k k
	S=$1 q 'SELECT count(*), count(claimed) FROM evdedupe_all'
}

@test "evdedupe: --commit, one key many times in a batch: completed once, as a key at a time" {
	both commit_in_batch
	[ "$(cat commit_in_batch.out)" = '{"k":1}
{"k":2}
{"k":5}
{"k":2}
{"k":1}
{"k":2}
{"k":3}
{"k":3}
{"k":1}
{"k":4}
{"k":5}
5|2' ]
}

claim_in_batch() {
	echo '{"k":1}' | EVKIT_NOW=2026-01-01T00:00:00Z evdedupe --claim --lease 5m --ttl 2m --state "$1" -k k
	echo '{"k":2}' | EVKIT_NOW=2026-01-01T00:00:00Z evdedupe --commit --state "$1" -k k
	echo '{"k":4}' | EVKIT_NOW=2026-01-01T00:04:00Z evdedupe --commit --state "$1" -k k
	printf '{"k":%d}\n' 1 2 3 1 3 2 4 4 |
	    EVKIT_NOW=2026-01-01T00:05:00Z evdedupe --claim --lease 5m --ttl 2m --state "$1" -k k
	evdedupe --stat --state "$1" | cut -d, -f1-2
}

@test "evdedupe: --claim, one key many times in a batch: run-out leases, expired and completed keys" {
	both claim_in_batch
	# k=1: its lease ran out; k=2: completed, but past --ttl; k=4: completed
	[ "$(cat claim_in_batch.out)" = '{"k":1}
{"k":2}
{"k":4}
{"k":1}
{"k":2}
{"k":3}
{"keys":4,"claimed":3' ]
}

@test "evdedupe: in memory too, what was read is decided when the input runs dry, not held for more" {
	sqlite_only
	answers_when_dry
}

# test/data/evdedupe/collide16.txt: 2,000 keys whose XXH3-128 hashes (of
# "c<n>" with its quotes, as -k hashes a string) agree in the low 16 bits
# of their low half, found by trying c0, c1, ... in order: an unseeded
# table with its home slot in those bits puts them all in one cluster.
@test "evdedupe: keys made to collide in the hash's low bits: each passes once, in memory, bounded and with a TTL" {
	sqlite_only
	c=$BATS_TEST_DIRNAME/data/evdedupe/collide16.txt
	[ "$(wc -l <"$c")" -eq 2000 ]
	awk '{ printf "{\"k\":\"%s\",\"n\":%d}\n", $1, NR }' "$c" >first
	# every key again, the second half first
	{ tail -n 1000 first; head -n 1000 first; } | sed 's/"n"/"again"/' >again
	cat first again >in
	run -0 evdedupe -k k in
	[ "$output" = "$(cat first)" ]
	# 1,000 keys at most: the second half is still held, the first was
	# evicted (by backward shifts through the colliding keys) and passes
	run -0 evdedupe -k k --max-keys 1000 --dups d in
	[ "$output" = "$(cat first; tail -n 1000 again)" ]
	[ "$(cat d)" = "$(head -n 1000 again)" ]
	# with a TTL: nothing expires in the window
	EVKIT_NOW=2026-01-01T00:00:00Z run -0 evdedupe -k k --ttl 1h in
	[ "$output" = "$(cat first)" ]
}
