#!/usr/bin/env bats
# evstore: the storage-first event log and queue on one SQLite file.

bats_require_minimum_version 1.5.0

# With EVKIT_PG_URL set (test/run does, against its throwaway cluster) the
# same tests run on PostgreSQL: each test its own store in one database.
setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	if [ -n "$EVKIT_PG_URL" ]; then
		export S="$EVKIT_PG_URL#t${BATS_TEST_NUMBER}_${EPOCHREALTIME/./}"
	else
		export S=s.db
	fi
	printf '{"a":1}\n{"a":2}\n{"b":3}\n' >ev
}

# Tests of SQLite's files (file errors, a full disk) skip on PostgreSQL.
sqlite_only() {
	[ -z "$EVKIT_PG_URL" ] || skip "SQLite only"
}

# q SQL: run SQL on the store's tables, evstore_NAME, on either backend.
q() {
	if [ -n "$EVKIT_PG_URL" ]; then
		psql -XAtq -v ON_ERROR_STOP=1 "${EVKIT_PG_URL}" -c \
		    "SET bytea_output = escape; ${1//evstore_/evkit.${S##*#}_}"
	else
		sqlite3 "$S" "$1"
	fi
}

@test "evstore: help lists every subcommand, exit 0" {
	run -0 evstore help
	for c in append read receive ack nack dead redrive stat prune migrate help; do
		[[ $output == *"evstore $c"* ]] || { echo "no $c"; false; }
	done
	run -2 --separate-stderr evstore frobnicate $S
	[ "$stderr" = "${stderr#*unknown command \'frobnicate\'}" ] && false
	[[ ${stderr_lines[0]} == "evstore: unknown command 'frobnicate'" ]]
	run -2 evstore
}

@test "evstore: append stores the input bytes and writes them after the commit" {
	printf '{ "a" : 1 }\n{"a":2}\n' >in
	run -0 evstore append $S in
	[ "$output" = "$(cat in)" ]
	run -0 evstore read $S
	[ "$output" = "$(cat in)" ]
	q 'SELECT seq, event FROM evstore_events ORDER BY seq' >rows
	[ "$(cat rows)" = '1|{ "a" : 1 }
2|{"a":2}' ]
}

@test "evstore: a bad line is reported, rejected, not stored; exit 2" {
	printf '{"a":1}\nnope\n{"a":2}\n' >in
	run -2 --separate-stderr evstore append --reject rej $S in
	[ "$output" = $'{"a":1}\n{"a":2}' ]
	[ "$stderr" = "evstore: in:2:2: invalid JSON: invalid literal" ]
	[ "$(cat rej)" = nope ]
	[ "$(evstore read $S | wc -l)" -eq 2 ]
	: >r2
	run -2 --separate-stderr evstore append --reject r2 $S r2
	[[ $stderr == *"input file is also the reject file"* ]]
}

@test "evstore: append -p and -f archive only matching events" {
	run -0 evstore append -p '{"a":[2]}' $S ev
	[ "$output" = '{"a":2}' ]
	echo '{"b":[{"exists":true}]}' >rules.json
	run -0 evstore append -f rules.json $S ev
	[ "$output" = '{"b":3}' ]
	run -0 evstore read $S
	[ "$output" = $'{"a":2}\n{"b":3}' ]
	run -2 --separate-stderr evstore append -p '{"a":1}' $S ev
	[[ $stderr == "evstore: <pattern>"* ]]
}

@test "evstore: --sync full, normal and off store; a bad mode is a usage error" {
	for m in full normal off; do
		evstore append --sync $m $S ev >/dev/null
	done
	[ "$(evstore read $S | wc -l)" -eq 9 ]
	run -2 --separate-stderr evstore append --sync fast $S ev
	[ "${stderr_lines[0]}" = "evstore: invalid --sync 'fast': expected full, normal or off" ]
}

@test "evstore: --retention drops events older than the retention at append" {
	EVKIT_NOW=2030-01-01T00:00:00Z evstore append $S ev >/dev/null
	echo '{"c":4}' | EVKIT_NOW=2030-01-05T00:00:00Z \
	    evstore append --retention 7d $S >/dev/null
	[ "$(evstore read $S | wc -l)" -eq 4 ]
	echo '{"c":5}' | EVKIT_NOW=2030-01-09T00:00:00Z \
	    evstore append --retention 7d $S >/dev/null
	run -0 evstore read $S
	[ "$output" = $'{"c":4}\n{"c":5}' ]
	run -2 evstore append --retention 7x $S ev
}

@test "evstore: read --from, --since, --until and a pattern, in stored order" {
	EVKIT_NOW=2030-01-01T00:00:00Z evstore append $S ev >/dev/null
	echo '{"a":9}' | EVKIT_NOW=2030-01-02T00:00:00Z evstore append $S >/dev/null
	run -0 evstore read --from 3 $S
	[ "$output" = $'{"b":3}\n{"a":9}' ]
	run -0 evstore read --since 2030-01-01T12:00:00Z $S
	[ "$output" = '{"a":9}' ]
	run -0 evstore read --until 2030-01-01T12:00:00Z -p '{"a":[{"exists":true}]}' $S
	[ "$output" = $'{"a":1}\n{"a":2}' ]
	run -1 evstore read --fail-empty --from 99 $S
	[ -z "$output" ]
	run -0 evstore read --from 99 $S
	run -2 --separate-stderr evstore read --since yesterday $S
	[ "${stderr_lines[0]}" = "evstore: invalid --since 'yesterday': expected an RFC 3339 time or seconds since 1970" ]
	run -2 evstore read --from -1 $S
}

@test "evstore: --replay-name marks replays so that a rule can skip them" {
	printf '{"a":1}\n{}\n' | evstore append $S >/dev/null
	run -0 evstore read --replay-name 'nightly "1"' $S
	[ "$output" = $'{"replay-name":"nightly \\"1\\"","a":1}\n{"replay-name":"nightly \\"1\\""}' ]
	evstore read --replay-name n $S | jq -e . >/dev/null
	run -1 evmatch '{"replay-name":[{"exists":false}]}' \
	    < <(evstore read --replay-name n $S)
	run -0 evmatch '{"replay-name":[{"exists":false}]}' < <(evstore read $S)
}

@test "evstore: read --follow writes new events until SIGTERM" {
	evstore append $S ev >/dev/null
	evstore read --follow $S >out &
	pid=$!
	echo '{"late":1}' | evstore append $S >/dev/null
	for i in $(seq 200); do
		grep -q late out && break
		sleep 0.05
	done
	kill -TERM $pid
	st=0
	wait $pid || st=$?
	[ "$st" -eq 143 ]
	[ "$(cat out)" = $'{"a":1}\n{"a":2}\n{"b":3}\n{"late":1}' ]
}

@test "evstore: a consumer resumes where it stopped; a failed write does not move it" {
	evstore append $S ev >/dev/null
	run -2 sh -c 'evstore read --consumer c $S >/dev/full'
	run -0 evstore read --consumer c $S
	[ "$output" = $'{"a":1}\n{"a":2}\n{"b":3}' ]
	run -0 evstore read --consumer c $S
	[ -z "$output" ]
	echo '{"d":4}' | evstore append $S >/dev/null
	run -0 evstore read --consumer c $S
	[ "$output" = '{"d":4}' ]
	run -1 evstore read --fail-empty --consumer c $S
	[ "$(q "SELECT seq FROM evstore_consumers WHERE name='c'")" = 4 ]
}

@test "evstore: a consumer killed mid-stream skips nothing" {
	awk 'BEGIN { for (i = 1; i <= 3000; i++)
		printf "{\"i\":%d,\"pad\":\"%0200d\"}\n", i, 0 }' >big
	evstore append $S big >/dev/null
	evstore read --consumer c $S | head -n 5 >first
	evstore read --consumer c $S >rest
	# the cursor only moved past what was written: nothing lost, in order
	sort -u first rest | wc -l >n
	[ "$(cat n)" -eq 3000 ]
	[ "$(tail -n 1 rest | jq .i)" -eq 3000 ]
}

@test "evstore: receive leases, ack completes, an acked event never comes back" {
	evstore append $S ev >/dev/null
	run -0 evstore receive --group g --max 2 $S
	[ "${#lines[@]}" -eq 2 ]
	printf '%s\n' "$output" >got
	jq -e -s '.[0].seq == 1 and .[0].receives == 1 and .[0].event == {"a":1}' got
	run -0 evstore ack --group g $S got
	[ -z "$output" ]
	EVKIT_NOW=2099-01-01T00:00:00Z run -0 evstore receive --group g --max 10 $S
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *'"event":{"b":3}}' ]]
	run -2 --separate-stderr evstore ack --group g $S got
	[[ ${stderr_lines[0]} == "evstore: got:1: receipt '1:1:"*"' is not held: the lease expired or was completed" ]]
	echo '{"x":1}' | { run -2 --separate-stderr evstore ack --group g $S
		[ "$stderr" = "evstore: <stdin>:1: no receipt: expected a line that evstore receive wrote" ]; }
	run -1 evstore receive --fail-empty --group g $S
	run -2 --separate-stderr evstore receive $S
	[ "${stderr_lines[0]}" = "evstore: 'receive' needs --group" ]
}

@test "evstore: an expired lease is delivered again; a stale ack does not complete the newer lease" {
	evstore append $S ev >/dev/null
	export EVKIT_NOW=2030-01-01T00:00:00Z
	evstore receive --group g --max 1 --visibility 10s $S >a
	EVKIT_NOW=2030-01-01T00:00:05Z run -0 evstore receive --group g --max 1 $S
	[[ $output == *'"seq":2,'* ]]
	EVKIT_NOW=2030-01-01T00:00:11Z evstore receive --group g --max 1 $S >b
	jq -e '.seq == 1 and .receives == 2' b
	run -2 evstore ack --group g $S a
	run -0 evstore ack --group g $S b
}

@test "evstore: nack returns an event at once" {
	evstore append $S ev >/dev/null
	evstore receive --group g --max 1 $S >a
	run -0 evstore nack --group g $S a
	run -0 evstore receive --group g --max 1 $S
	[[ $output == *'"seq":1,"receives":2,'* ]]
}

@test "evstore: after --max-receives an event is a dead letter; dead lists it, redrive puts it back" {
	evstore append $S ev >/dev/null
	export EVKIT_NOW=2030-01-01T00:00:00Z
	evstore receive --group g --max 1 --max-receives 2 --visibility 1s $S >/dev/null
	EVKIT_NOW=2030-01-01T00:00:02Z evstore receive --group g --max 1 --max-receives 2 --visibility 1s $S >/dev/null
	EVKIT_NOW=2030-01-01T00:00:04Z run -0 evstore receive --group g --max 1 --max-receives 2 $S
	[[ $output == *'"seq":2,"receives":1,'* ]]
	run -0 evstore dead --group g $S
	[ "$output" = '{"seq":1,"receives":2,"reason":"max receives exceeded","time":"2030-01-01T00:00:04Z","event":{"a":1}}' ]
	run -0 evstore stat $S
	jq -e '.groups.g == {"depth":1,"in-flight":1,"dead":1}' <<<"$output"
	run -0 evstore redrive --group g $S
	[ "$output" = '{"redriven":1}' ]
	run -1 evstore dead --fail-empty --group g $S
	run -0 evstore receive --group g --max 1 $S
	[[ $output == *'"seq":1,"receives":1,'* ]]
}

@test "evstore: two competing receivers get disjoint events, and all of them" {
	for i in $(seq 400); do echo "{\"i\":$i}"; done | evstore append $S >/dev/null
	r() { while evstore receive --fail-empty --group w --max 7 $S >>"$1.got"; do :; done; }
	r one & p1=$!
	r two & p2=$!
	wait $p1 $p2
	cat one.got two.got | jq -r .seq | sort -n >seqs
	[ "$(wc -l <seqs)" -eq 400 ]
	[ "$(sort -u seqs | wc -l)" -eq 400 ]
	[ -s one.got ] && [ -s two.got ]
}

@test "evstore: kill -9 a receiver holding leases: they come back to another after the timeout" {
	evstore append $S ev >/dev/null
	export EVKIT_NOW=2030-01-01T00:00:00Z
	# the receiver's handler holds the leases and dies without acking
	(evstore receive --group g --visibility 30s $S >held; exec sleep 60) &
	pid=$!
	for i in $(seq 100); do [ -s held ] && break; sleep 0.05; done
	kill -9 $pid
	wait $pid || :
	[ "$(wc -l <held)" -eq 3 ]
	run -1 evstore receive --fail-empty --group g $S
	EVKIT_NOW=2030-01-01T00:00:31Z evstore receive --group g $S >again
	[ "$(jq -r .seq again | tr '\n' ' ')" = "1 2 3 " ]
	EVKIT_NOW=2030-01-01T00:00:31Z evstore ack --group g $S again
	EVKIT_NOW=2030-01-02T00:00:00Z run -1 evstore receive --fail-empty --group g $S
}

@test "evstore: stat prints count, ends, bytes, consumer lag and queue depth" {
	EVKIT_NOW=2030-01-01T00:00:00Z evstore append $S ev >/dev/null
	evstore read --consumer c --from 3 $S >/dev/null
	evstore read --consumer d -p '{"none":[1]}' $S >/dev/null
	q "INSERT INTO evstore_consumers VALUES ('old', 1)"
	evstore receive --group g --max 1 $S >/dev/null
	run -0 evstore stat $S
	jq -e '.count == 3 and .bytes == 21 and
	    .first == {"seq":1,"time":"2030-01-01T00:00:00Z"} and .last.seq == 3 and
	    .consumers == {"c":{"seq":3,"lag":0},"d":{"seq":3,"lag":0},"old":{"seq":1,"lag":2}} and
	    .groups.g == {"depth":2,"in-flight":1,"dead":0}' <<<"$output"
}

@test "evstore: a group name with control characters is escaped in stat" {
	evstore append $S ev >/dev/null
	evstore receive --group $'g\n"x' $S >/dev/null
	run -0 evstore stat $S
	jq -e '.groups["g\n\"x"].["in-flight"] == 3' <<<"$output" 2>/dev/null ||
	    jq -e '.groups["g\n\"x"]["in-flight"] == 3' <<<"$output"
}

@test "evstore: prune --before and --keep; sequence numbers are never reused" {
	EVKIT_NOW=2030-01-01T00:00:00Z evstore append $S ev >/dev/null
	echo '{"n":1}' | EVKIT_NOW=2030-02-01T00:00:00Z evstore append $S >/dev/null
	run -0 evstore prune --before 2030-01-15T00:00:00Z $S
	[ "$output" = '{"pruned":3}' ]
	run -0 evstore prune --keep 0 $S
	[ "$output" = '{"pruned":1}' ]
	echo '{"n":2}' | evstore append $S >/dev/null
	[ "$(evstore stat $S | jq .first.seq)" -eq 5 ]
	run -2 --separate-stderr evstore prune $S
	[ "${stderr_lines[0]}" = "evstore: 'prune' needs one of --before and --keep" ]
	run -2 --separate-stderr evstore prune --keep 1 --from 2 $S
	[ "${stderr_lines[0]}" = "evstore: 'prune' takes no option '--from'" ]
	run -2 --separate-stderr evstore stat --group g $S
	[ "${stderr_lines[0]}" = "evstore: 'stat' takes no option '--group'" ]
	run -2 --separate-stderr evstore stat -p '{}' $S
	[ "${stderr_lines[0]}" = "evstore: 'stat' takes no option '-p' or '-f'" ]
}

@test "evstore: errors: not a database, not a regular file, missing store, stdout full, extra operands" {
	echo hello >not.db
	run -2 --separate-stderr evstore append not.db ev
	[ "$stderr" = "evstore: not.db: file is not a database" ]
	# no journal is made beside a FIFO (nor /dev/null-journal)
	mkfifo fifo
	run -2 --separate-stderr evstore append fifo ev
	[ "$stderr" = "evstore: fifo: not a regular file" ]
	[ "$(echo fifo*)" = fifo ]
	mkdir dir.db
	run -2 --separate-stderr evstore stat dir.db
	[ "$stderr" = "evstore: dir.db: Is a directory" ]
	run -2 --separate-stderr evstore stat nosuch.db
	[ "$stderr" = "evstore: nosuch.db: unable to open database file" ]
	run -2 evstore stat $S extra
	evstore append $S ev >/dev/null
	run -2 --separate-stderr sh -c 'evstore read $S >/dev/full'
	[ "$stderr" = "evstore: write error on '<stdout>': No space left on device" ]
}

@test "evstore: the appender killed -9 50 times: what reached stdout is stored, the store opens" {
	# (10 times on PostgreSQL, whose every start connects: slower)
	kills=50
	[ -z "$EVKIT_PG_URL" ] || kills=10
	for n in $(seq $kills); do
		awk -v n=$n 'BEGIN { for (i = 0; ; i++) printf "{\"run\":%d,\"i\":%d}\n", n, i }' |
		    evstore append --sync normal $S >out.$n &
		pid=$!
		# once it has started writing (a sanitizer build starts slowly)
		for i in $(seq 200); do [ -s out.$n ] && break; sleep 0.01; done
		sleep 0.0$((RANDOM % 3))$((RANDOM % 10))
		kill -9 $pid
		wait $pid || :
	done
	evstore read $S | sort >all
	# a line cut by the kill did not reach stdout whole
	for n in $(seq $kills); do sed '$ { /}$/!d; }' out.$n; done | sort >written
	[ -s written ]
	[ -z "$(comm -23 written all)" ]
	if [ -z "$EVKIT_PG_URL" ]; then
		sqlite3 $S 'PRAGMA integrity_check' >ic
		[ "$(cat ic)" = ok ]
	fi
	evstore stat $S | jq -e '.count > 0'
}

@test "evstore: a full disk (ulimit -f) is exit 2 with a clear error, and nothing unstored is written" {
	sqlite_only
	run -2 --separate-stderr bash -c 'ulimit -f 2000; awk "BEGIN { for (i = 0; i < 100000; i++) printf \"{\\\"i\\\":%d,\\\"pad\\\":\\\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\\\"}\\n\", i }" | evstore append $S >out'
	[[ $stderr == "evstore: $S: "*"disk"* ]]
	evstore read $S >all
	[ -s out ] && [ "$(wc -l <out)" -lt 100000 ]
	cmp out all
}

@test "evstore: several appenders at once: no lock errors, every event stored" {
	for i in $(seq 2000); do echo "{\"i\":$i}"; done >big
	for n in 1 2 3 4; do evstore append $S big >/dev/null 2>err.$n & done
	wait
	cat err.* >errs
	[ ! -s errs ]
	[ "$(evstore stat $S | jq .count)" -eq 8000 ]
}

@test "evstore: closed standard descriptors and deep nesting do not crash it" {
	run -0 evstore append $S ev <&- >&- 2>&-
	[ "$(evstore read $S | wc -l)" -eq 3 ]
	awk 'BEGIN { for (i = 0; i < 100000; i++) printf "["; print "" }' |
	    { run -2 evstore append $S; }
	run -0 evstore stat $S
}

@test "evstore: receive --batch leases in batches inside one process; receive | ack is one pipeline" {
	for i in $(seq 250); do echo "{\"i\":$i}"; done | evstore append $S >/dev/null
	evstore receive --group g --max 230 --batch 100 $S | evstore ack --group g $S
	run -0 evstore stat $S
	jq -e '.groups.g == {"depth":20,"in-flight":0,"dead":0}' <<<"$output"
	# the rest, then an empty queue: exit 0, or 1 with --fail-empty
	run -0 evstore receive --group g --max 1000 --batch 7 $S
	[ "${#lines[@]}" -eq 20 ]
	[ "$(printf '%s\n' "$output" | jq -r .seq | sort -un | wc -l)" -eq 20 ]
	run -1 evstore receive --fail-empty --group g --max 1000 $S
	run -2 --separate-stderr evstore receive --group g --batch 0 $S
	[ "${stderr_lines[0]}" = "evstore: invalid --batch '0': expected a whole number from 1 to 1000000" ]
}

@test "evstore: receive stops leasing once its reader is gone" {
	awk 'BEGIN { for (i = 1; i <= 1000; i++)
		printf "{\"i\":%d,\"pad\":\"%01000d\"}\n", i, 0 }' | evstore append $S >/dev/null
	evstore receive --group g --max 1000 --batch 10 $S | head -n 1 >/dev/null
	# one batch per write: only what the pipe held was leased
	n=$(evstore stat $S | jq '.groups.g."in-flight"')
	[ "$n" -ge 1 ] && [ "$n" -lt 1000 ]
}

@test "evstore: receive --follow waits for new events until SIGTERM" {
	evstore append $S ev >/dev/null
	evstore receive --follow --group g $S >out &
	pid=$!
	echo '{"late":1}' | evstore append $S >/dev/null
	for i in $(seq 200); do
		grep -q late out && break
		sleep 0.05
	done
	kill -TERM $pid
	st=0
	wait $pid || st=$?
	[ "$st" -eq 143 ]
	[ "$(jq -r .seq out | tr '\n' ' ')" = "1 2 3 4 " ]
}

@test "evstore: --sync on receive, ack and nack; ack of a dry pipe commits what it read" {
	evstore append $S ev >/dev/null
	evstore receive --sync off --group g --max 1 $S >a
	evstore nack --sync normal --group g $S a
	evstore receive --sync full --group g --max 3 $S >b
	# the acks are committed when the input runs dry, before it ends
	mkfifo fifo
	evstore ack --sync full --group g $S <fifo &
	pid=$!
	(cat b; exec sleep 60) >fifo &
	w=$!
	for i in $(seq 200); do
		[ "$(evstore stat $S | jq '.groups.g."in-flight"')" -eq 0 ] && break
		sleep 0.05
	done
	[ "$(evstore stat $S | jq '.groups.g."in-flight"')" -eq 0 ]
	kill -0 $pid
	kill $w
	wait $pid
	run -2 --separate-stderr evstore ack --sync later --group g $S b
	[ "${stderr_lines[0]}" = "evstore: invalid --sync 'later': expected full, normal or off" ]
}

@test "evstore: read --follow honours --until: it stops at a later event, or once the clock is past it" {
	EVKIT_NOW=2030-01-01T00:00:00Z evstore append $S ev >/dev/null
	run -0 timeout 20 env EVKIT_NOW=2030-01-01T00:00:01Z \
	    evstore read --follow --until 2030-01-01T00:00:05Z $S
	[ "$output" = $'{"a":1}\n{"a":2}\n{"b":3}' ]
	echo '{"late":1}' | EVKIT_NOW=2030-01-01T00:00:09Z evstore append $S >/dev/null
	run -0 timeout 20 evstore read --follow --until 2030-01-01T00:00:05Z --from 2 $S
	[ "$output" = $'{"a":2}\n{"b":3}' ]
}

@test "evstore: ingest times never go back, so --since and prune --before follow sequence order" {
	EVKIT_NOW=2030-01-02T00:00:00Z evstore append $S ev >/dev/null
	echo '{"c":1}' | EVKIT_NOW=2030-01-01T00:00:00Z evstore append $S >/dev/null
	[ "$(q 'SELECT DISTINCT ingest FROM evstore_events')" = 1893542400000 ]
	run -0 evstore read --since 2030-01-02T00:00:00Z $S
	[ "${#lines[@]}" -eq 4 ]
	echo '{"d":1}' | EVKIT_NOW=2030-01-03T00:00:00Z evstore append $S >/dev/null
	run -0 evstore read --since 2030-01-02T12:00:00Z $S
	[ "$output" = '{"d":1}' ]
	run -0 evstore prune --before 2030-01-02T12:00:00Z $S
	[ "$output" = '{"pruned":4}' ]
	[ -n "$EVKIT_PG_URL" ] || [ "$(sqlite3 $S 'SELECT count(*) FROM sqlite_schema WHERE type = "index" AND tbl_name = "evstore_events"')" -eq 0 ]
}

@test "evstore: a version 1 store is upgraded in place and keeps its sequence numbers" {
	sqlite3 v1.db "CREATE TABLE evkit_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL);
	    INSERT INTO evkit_schema VALUES ('evstore', 1);
	    CREATE TABLE evstore_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, ingest INTEGER NOT NULL, event BLOB NOT NULL);
	    CREATE INDEX evstore_events_ingest ON evstore_events (ingest);
	    CREATE TABLE evstore_consumers (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
	    CREATE TABLE evstore_groups (name TEXT PRIMARY KEY, head INTEGER NOT NULL);
	    CREATE TABLE evstore_leases (grp TEXT NOT NULL, seq INTEGER NOT NULL, receives INTEGER NOT NULL, token TEXT NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (grp, seq)) WITHOUT ROWID;
	    CREATE TABLE evstore_dead (grp TEXT NOT NULL, seq INTEGER NOT NULL, receives INTEGER NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (grp, seq)) WITHOUT ROWID;
	    INSERT INTO evstore_events (ingest, event) VALUES (1, '{\"a\":1}'), (2, '{\"a\":2}');
	    DELETE FROM evstore_events WHERE seq = 2;"
	run -0 evstore read v1.db
	[ "$output" = '{"a":1}' ]
	echo '{"b":1}' | evstore append v1.db >/dev/null
	[ "$(sqlite3 v1.db 'SELECT seq FROM evstore_events' | tr '\n' ' ')" = "1 3 " ]
	[ "$(sqlite3 v1.db "SELECT version FROM evkit_schema WHERE component = 'evstore'")" = 2 ]
}

@test "evstore: a file that is not an evstore store is refused, and left alone" {
	sqlite3 other.db 'CREATE TABLE t (x); INSERT INTO t VALUES (1)'
	for c in "append other.db ev" "read other.db" "stat other.db" "receive --group g other.db"; do
		run -2 --separate-stderr evstore $c
		[ "$stderr" = "evstore: other.db: not an evstore store" ]
	done
	[ "$(sqlite3 other.db 'SELECT name FROM sqlite_schema')" = t ]
	echo '{"k":1}' | evdedupe -k k --state dd.db >/dev/null
	run -2 --separate-stderr evstore append dd.db ev
	[ "$stderr" = "evstore: dd.db: not an evstore store" ]
	run -2 --separate-stderr evstore stat dd.db
	[ "$stderr" = "evstore: dd.db: not an evstore store" ]
}

@test "evstore: the store is refused as an input and as the reject file" {
	sqlite_only
	evstore append $S ev >/dev/null
	run -2 --separate-stderr evstore append $S $S
	[ "$stderr" = "evstore: $S: input file is also the store" ]
	run -2 --separate-stderr evstore append $S <$S
	[ "$stderr" = "evstore: <stdin>: input file is also the store" ]
	run -2 --separate-stderr evstore ack --group g $S - <$S
	[ "$stderr" = "evstore: <stdin>: input file is also the store" ]
	run -2 --separate-stderr evstore append --reject $S $S ev
	[ "$stderr" = "evstore: $S: reject file is also the store" ]
	run -0 evstore read $S
	[ "$output" = "$(cat ev)" ]
}

@test "evstore: a file name with a newline is escaped on one diagnostic line" {
	run -2 --separate-stderr evstore append $S $'no\nsuch\033'
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ "$stderr" = 'evstore: no\nsuch\x1b: No such file or directory' ]
}

@test "evstore: --version, and help on stdout" {
	run -0 --separate-stderr evstore --version
	[ "$output" = "evstore (evkit) $(sed -n 's/^#define EV_VERSION "\(.*\)"/\1/p' "$EVKIT_ROOT/lib/base/base.h")" ]
	run -0 evstore read --version
	[[ $output == "evstore (evkit) "* ]]
	run -2 sh -c 'evstore --version >/dev/full'
}

@test "evstore: closed standard output and error: the store is not written through them" {
	run -2 sh -c 'evstore append $S ev >&- 2>&-'
	run -0 evstore read $S
	[ "$output" = "$(cat ev)" ]
	if [ -z "$EVKIT_PG_URL" ]; then
		sqlite3 $S 'PRAGMA integrity_check' >ic
		[ "$(cat ic)" = ok ]
	fi
	run -0 sh -c 'evstore ack --group g $S <&-'
}

@test "evstore: a PostgreSQL URL libpq refuses fails at once; a password never shows in a message" {
	run -2 --separate-stderr evstore read 'postgresql://h/db?nosuch=1#st'
	[ "$stderr" = "evstore: postgresql://h/db?nosuch=1#st: invalid URI query parameter: \"nosuch\"" ]
	EVKIT_PG_RETRY=100ms run -2 --separate-stderr evstore read 'postgresql://bob:s3cret@/db?host=/nonexistent&password=t0psecret#st'
	[[ $stderr == "evstore: postgresql://bob:***@/db?host=/nonexistent&password=***#st: connection to server on socket "* ]]
	[[ $stderr != *s3cret* && $stderr != *t0psecret* ]]
}
