#!/usr/bin/env bats
# Several machines, simulated: evstore and evdedupe processes sharing one
# PostgreSQL server (test/run starts a throwaway cluster and sets
# EVKIT_PG_URL, PGHOST and EVKIT_PG_DIR; without them these tests skip).

bats_require_minimum_version 1.5.0

setup() {
	[ -n "$EVKIT_PG_URL" ] || skip "no PostgreSQL cluster (test/run starts one)"
	cd "$BATS_TEST_TMPDIR" || return 1
	export S="$EVKIT_PG_URL#m${BATS_TEST_NUMBER}_${EPOCHREALTIME/./}"
}

@test "pg: 4 appenders and 3 receivers at once: nothing lost, nothing delivered twice" {
	for a in 1 2 3 4; do
		awk -v a=$a 'BEGIN { for (i = 0; i < 1500; i++) printf "{\"a\":%d,\"i\":%d}\n", a, i }' |
		    evstore append $S >app.$a &
	done
	# each receiver leases 50 at a time, its handler acks them
	for r in 1 2 3; do
		sh -c 'echo $$ >pid.'$r'; exec evstore receive --group g --batch 50 --follow --visibility 5m "$S"' |
		    tee got.$r | evstore ack --group g $S >/dev/null &
	done
	wait %1 %2 %3 %4
	for i in $(seq 600); do
		evstore stat $S | jq -e '.count == 6000 and .groups.g == {"depth":0,"in-flight":0,"dead":0}' >/dev/null && break
		sleep 0.05
	done
	kill -TERM $(cat pid.*)
	wait
	cat app.* | sort >appended
	[ "$(wc -l <appended)" -eq 6000 ]
	cat got.* | jq -c .event | sort >received
	# every appended event received exactly once
	cmp appended received
	cat got.* | jq .seq | sort -n | uniq -d >dups
	[ ! -s dups ]
	evstore stat $S | jq -e '.count == 6000 and .groups.g == {"depth":0,"in-flight":0,"dead":0}'
}

@test "pg: receivers killed -9 mid-batch: their leases come back after the timeout, no acked event twice" {
	for i in $(seq 600); do echo "{\"i\":$i}"; done | evstore append $S >/dev/null
	export EVKIT_NOW=2030-01-01T00:00:00Z
	for r in 1 2 3; do
		# a receiver whose handler is slow: killed while leases are out
		evstore receive --group g --batch 40 --follow --visibility 1m $S >held.$r &
		pids="$pids $!"
	done
	for i in $(seq 300); do
		[ "$(cat held.* | wc -l)" -ge 120 ] && break
		sleep 0.02
	done
	kill -9 $pids
	wait $pids || :
	# some of the held leases were acked before the kill
	head -n 20 held.1 | evstore ack --group g $S >/dev/null
	# within the lease the rest is not delivered again...
	EVKIT_NOW=2030-01-01T00:00:30Z evstore receive --group g --max 1000 $S >again
	cat held.* again | jq .seq | sort -n | uniq -d >dups
	[ ! -s dups ]
	evstore ack --group g $S <again >/dev/null
	# ...after it, every unacked one comes back, none acked does
	EVKIT_NOW=2030-01-01T00:01:01Z evstore receive --group g --max 1000 $S >late
	evstore ack --group g $S <late >/dev/null
	head -n 20 held.1 | jq .seq | sort -n >acked
	jq .seq late | sort -n >lateseqs
	[ -z "$(comm -12 acked lateseqs)" ]
	cat held.* again late | jq .seq | sort -nu >all
	[ "$(wc -l <all)" -eq 600 ]
	evstore stat $S | jq -e '.groups.g == {"depth":0,"in-flight":0,"dead":0}'
}

@test "pg: the server restarts mid-run: the appender reconnects, nothing acknowledged is lost" {
	[ -n "$EVKIT_PG_DIR" ] || skip "no cluster directory"
	{
		echo '{"n":1}'
		while [ ! -f restarted ]; do sleep 0.05; done
		echo '{"n":2}'
	} | EVKIT_PG_RETRY=20s evstore append $S >out &
	app=$!
	for i in $(seq 200); do [ -s out ] && break; sleep 0.05; done
	[ "$(cat out)" = '{"n":1}' ]
	sh "$EVKIT_ROOT/test/pg.sh" restart "$EVKIT_PG_DIR"
	touch restarted
	wait $app
	[ "$(cat out)" = $'{"n":1}\n{"n":2}' ]
	run -0 evstore read $S
	[ "$output" = $'{"n":1}\n{"n":2}' ]
}

@test "pg: no server: retried for EVKIT_PG_RETRY, then exit 2 with the reason, nothing on stdout" {
	printf '{"a":1}\n' >ev
	run -2 --separate-stderr env PGHOST=$BATS_TEST_TMPDIR/none EVKIT_PG_RETRY=300ms evstore append "postgresql:///postgres#x" ev
	[ -z "$output" ]
	[[ $stderr == "evstore: postgresql:///postgres#x: connection to server on socket"*"failed: No such file or directory"* ]]
	run -2 --separate-stderr env EVKIT_PG_RETRY=soon evstore stat $S
	[[ $stderr == "evstore: invalid EVKIT_PG_RETRY 'soon': expected a duration"* ]]
}

@test "pg: 4 evdedupe processes on one state pass every key exactly once" {
	# every process sees every key, in its own order, in several batches
	# (8192 events): a transaction of two would deadlock with another
	for p in 1 2 3 4; do
		awk -v p=$p 'BEGIN { split("7 11 13 17", m); for (i = 0; i < 20000; i++) printf "{\"k\":%d,\"p\":%d}\n", (i * m[p] + p * 13) % 20000, p }' >in.$p
	done
	for p in 1 2 3 4; do
		evdedupe -k k --state $S in.$p >out.$p &
	done
	wait %1 %2 %3 %4
	cat out.* | jq .k | sort -n >passed
	[ "$(wc -l <passed)" -eq 20000 ]
	[ "$(uniq -d passed | wc -l)" -eq 0 ]
	run -0 evdedupe --stat --state $S
	jq -e '.keys == 20000' <<<"$output"
}

@test "pg: a bad store name is refused; schema and store names select separate tables" {
	run -2 --separate-stderr evstore stat "$EVKIT_PG_URL#Bad-Name"
	[[ $stderr == *"invalid store name: expected #[SCHEMA.]NAME"* ]]
	echo '{"a":1}' | evstore append "$EVKIT_PG_URL#s1_${S##*#}.one" >/dev/null
	echo '{"a":2}' | evstore append "$EVKIT_PG_URL#s2_${S##*#}.one" >/dev/null
	[ "$(evstore read "$EVKIT_PG_URL#s1_${S##*#}.one")" = '{"a":1}' ]
	[ "$(evstore read "$EVKIT_PG_URL#s2_${S##*#}.one")" = '{"a":2}' ]
	run -2 --separate-stderr evstore read "$EVKIT_PG_URL#s3_${S##*#}.none"
	[[ $stderr == *": not an evstore store" ]]
}

@test "pg: migrate creates a store's tables; newer tables are refused" {
	run -0 evstore migrate $S
	[ -z "$output" ]
	run -0 evstore stat $S
	jq -e '.count == 0' <<<"$output"
	psql -XAtq "$EVKIT_PG_URL" -c "UPDATE evkit.evkit_schema SET version = 9 WHERE component = 'evstore:${S##*#}'"
	run -2 --separate-stderr evstore migrate $S
	[ "$stderr" = "evstore: $S: evstore tables are version 9; this evstore reads version 2" ]
}

@test "pg: evstore migrate brings version 1 tables to version 2 (an index on ingest), and nothing else does" {
	n=${S##*#}
	psql -XAtq -v ON_ERROR_STOP=1 "$EVKIT_PG_URL" <<SQL
CREATE SCHEMA IF NOT EXISTS evkit;
CREATE TABLE IF NOT EXISTS evkit.evkit_schema (component text PRIMARY KEY, version int4 NOT NULL);
CREATE TABLE evkit.${n}_events (seq int8 PRIMARY KEY, ingest int8 NOT NULL, event bytea NOT NULL);
CREATE TABLE evkit.${n}_meta (name text PRIMARY KEY, value int8 NOT NULL);
CREATE TABLE evkit.${n}_consumers (name text PRIMARY KEY, seq int8 NOT NULL);
CREATE TABLE evkit.${n}_groups (name text PRIMARY KEY, head int8 NOT NULL);
CREATE TABLE evkit.${n}_leases (grp text NOT NULL, seq int8 NOT NULL, receives int8 NOT NULL, token text NOT NULL, expires int8 NOT NULL, PRIMARY KEY (grp, seq));
CREATE TABLE evkit.${n}_dead (grp text NOT NULL, seq int8 NOT NULL, receives int8 NOT NULL, reason text NOT NULL, at int8 NOT NULL, PRIMARY KEY (grp, seq));
INSERT INTO evkit.${n}_events VALUES (1, 1767225600000, '{"a":1}'), (2, 1767225660000, '{"a":2}');
INSERT INTO evkit.evkit_schema VALUES ('evstore:$n', 1);
SQL
	idx() {
		psql -XAtq "$EVKIT_PG_URL" -c "SELECT count(*) FROM pg_indexes WHERE schemaname = 'evkit' AND tablename = '${n}_events' AND indexdef LIKE '%(ingest)'"
	}
	# version 1 is read; a write names migrate and changes nothing
	[ "$(evstore read --since 2026-01-01T00:01:00Z $S)" = '{"a":2}' ]
	run -2 --separate-stderr evstore append $S <<<'{"a":3}'
	[ "$stderr" = "evstore: $S: evstore tables are version 1; run 'evstore migrate' to upgrade them to version 2" ]
	[ "$(idx)" -eq 0 ]
	run -0 evstore migrate $S
	[ -z "$output" ]
	[ "$(idx)" -eq 1 ]
	[ "$(psql -XAtq "$EVKIT_PG_URL" -c "SELECT version FROM evkit.evkit_schema WHERE component = 'evstore:$n'")" -eq 2 ]
	echo '{"a":3}' | evstore append $S >/dev/null
	[ "$(evstore read $S)" = $'{"a":1}\n{"a":2}\n{"a":3}' ]
	[ "$(evstore read --since 2026-01-01T00:01:00Z $S | head -1)" = '{"a":2}' ]
	# a new store is version 2 at once; migrate again changes nothing
	run -0 evstore migrate $S
	[ "$(idx)" -eq 1 ]
	echo '{"a":1}' | evstore append "${S}n" >/dev/null
	[ "$(psql -XAtq "$EVKIT_PG_URL" -c "SELECT version FROM evkit.evkit_schema WHERE component = 'evstore:${n}n'")" -eq 2 ]
}

@test "pg: evroute's store: target appends to a PostgreSQL store, two evroute processes at once" {
	printf '[{"Name":"r","EventPattern":{"a":[1]},"Targets":[{"Id":"t","Arn":"store:%s"}]}]\n' "$S" >rules.json
	awk 'BEGIN { for (i = 0; i < 500; i++) printf "{\"a\":1,\"i\":%d}\n{\"a\":2,\"i\":%d}\n", i, i }' >in
	evroute -f rules.json in &
	evroute -f rules.json in &
	wait %1
	wait %2
	evstore read $S | sort >got
	grep '"a":1' in | sed p | sort >want
	cmp got want
}
