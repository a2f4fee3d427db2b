#!/usr/bin/env bats
# The documentation is tested like the code: every EXAMPLES session in the
# man pages is run and must print what the page shows, the demo must run,
# the pages must be lint-clean, and evmatch's options and diagnostics must
# all be documented in evmatch(1).

setup() {
	root=${EVKIT_ROOT:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
	bin=${EVKIT_BIN:-$root/build/bin}
	PATH=$bin:$PATH
	tmp=$BATS_TEST_TMPDIR
}

# run_examples PAGE: run the EXAMPLES sessions of PAGE in a copy of
# examples/ and compare the transcript with the page's.
run_examples() {
	local page=$root/man/$1
	sh "$root/test/manex.sh" expect "$page" >"$tmp/expected"
	sh "$root/test/manex.sh" script "$page" >"$tmp/script"
	# A page whose examples vanish must not pass.
	grep -q '^\$ ' "$tmp/expected"
	mkdir "$tmp/ex"
	cp -R "$root/examples/." "$tmp/ex/"
	(cd "$tmp/ex" && sh "$tmp/script") >"$tmp/actual" 2>&1 || :
	diff -u "$tmp/expected" "$tmp/actual"
}

# The text of a page's section, as a reader sees it, on one line.
section() {
	mandoc -Tascii "$root/man/$1" | sed 's/.\x08//g' |
	    awk -v s="$2" '/^[A-Z]/ { f = ($0 == s); next } f' | tr -s ' \n' '  '
}

# usage_is_synopsis TOOL HELP [WORDS]: TOOL HELP prints the SYNOPSIS of
# TOOL(1), placeholders (words of two or more capitals, and WORDS, an ERE
# alternative) written in lower case on the page.
usage_is_synopsis() {
	run "$1" "$2"
	[ "$status" -eq 0 ]
	usage=$(printf '%s\n' "$output" | tr -s ' \n' '  ' |
	    sed -E "s/^usage: //; s/ \$//; s/\\<([A-Z]{2,}${3:+|$3})\\>/\\L\\1/g")
	synopsis=$(section "$1.1" SYNOPSIS | sed 's/^ //; s/ $//')
	[ "$usage" = "$synopsis" ] ||
	    { echo "usage:    $usage"; echo "SYNOPSIS: $synopsis"; false; }
}

# stems_documented PAGE: every line of $tmp/stems (a diagnostic without
# its variable parts) is in the DIAGNOSTICS of PAGE; $tmp/diags are the
# diagnostics they came from.
stems_documented() {
	local diag s
	diag=$(section "$1" DIAGNOSTICS)
	while IFS= read -r s; do
		[ -n "$s" ] || { cat "$tmp/diags"; false; }
		printf '%s\n' "$diag" | grep -qF -- "$s" ||
		    { echo "not in DIAGNOSTICS: '$s'"; cat "$tmp/diags"; false; }
	done <"$tmp/stems"
}

@test "docs: evmatch(1) EXAMPLES print what the page shows" {
	run_examples evmatch.1
}

@test "docs: evkit(7) EXAMPLES print what the page shows" {
	run_examples evkit.7
}

@test "docs: examples/demo.sh exits 0 and prints every caption" {
	run sh "$root/examples/demo.sh"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	sed -n 's/^echo "\(# .*\)"\( \\\)*$/\1/p' "$root/examples/demo.sh" \
	    >"$tmp/captions"
	[ "$(wc -l <"$tmp/captions")" -ge 5 ]
	while IFS= read -r c; do
		printf '%s\n' "$output" | grep -qF -- "$c" ||
		    { echo "caption missing: $c"; false; }
	done <"$tmp/captions"
}

@test "docs: man pages are clean under mandoc -Tlint and groff -ww" {
	for m in "$root"/man/*.[1-9]; do
		run mandoc -Tlint -Wwarning "$m"
		[ "$status" -eq 0 ] && [ -z "$output" ] ||
		    { echo "$m: $output"; false; }
		run groff -mdoc -ww -z "$m"
		[ "$status" -eq 0 ] && [ -z "$output" ] ||
		    { echo "$m: $output"; false; }
	done
}

@test "docs: evmatch's usage line is the SYNOPSIS of evmatch(1)" {
	usage_is_synopsis evmatch --help
}

@test "docs: every option in evmatch's usage is in evmatch(1)" {
	run evmatch --help
	[ "$status" -eq 0 ]
	usage=$output
	page=$(mandoc -Tascii "$root/man/evmatch.1" | sed 's/.\x08//g')
	# letters from "[-cNnqtv]" and "-f"; long options as written
	letters=$(printf '%s\n' "$usage" | grep -oE '(^|[[ ])-[A-Za-z]+' |
	    sed 's/^.*-//' | fold -w1 | sort -u)
	longs=$(printf '%s\n' "$usage" | grep -oE -- '--[a-z][a-z-]*' | sort -u)
	[ -n "$letters" ] && [ -n "$longs" ]
	for l in $letters; do
		printf '%s\n' "$page" | grep -qE -- "(^|[^[:alnum:]-])-$l([^[:alnum:]-]|\$)" ||
		    { echo "-$l is not in evmatch(1)"; false; }
	done
	for o in $longs; do
		printf '%s\n' "$page" | grep -qF -- "$o" ||
		    { echo "$o is not in evmatch(1)"; false; }
	done
}

@test "docs: every long option in evmatch(1) is one evmatch accepts" {
	longs=$(mandoc -Tascii "$root/man/evmatch.1" | sed 's/.\x08//g' |
	    grep -oE -- '(^|[ (])--[a-z][a-z-]*' | sed 's/^.*--/--/' | sort -u)
	[ "$(printf '%s\n' "$longs" | wc -l)" -ge 12 ]
	for o in $longs; do
		run evmatch "$o" </dev/null
		case $output in *"unrecognized option"*)
			echo "evmatch(1) documents $o, evmatch refuses it"; false ;;
		esac
	done
}

# Each diagnostic evmatch can print is
# provoked from evmatch; the message without its variable parts must appear
# in the DIAGNOSTICS of evmatch(1).
@test "docs: every evmatch diagnostic is in evmatch(1) DIAGNOSTICS" {
	cd "$tmp"
	p='{"a":[1]}'
	{
		printf '{"a":\n' | evmatch "$p"
		echo '[1]' | evmatch "$p"
		echo '{"a":1}' | evmatch --max-line-bytes=2 "$p"
		evmatch -t '{"a":[]}'
		evmatch -t '[1]'
		evmatch "$p" nosuch.ndjson
		echo '{"a":1}' | evmatch "$p" >/dev/full
		: >rej; evmatch --reject=rej "$p" rej
		evmatch --max-line-bytes=x "$p" </dev/null
		echo '{"a":1}' >out1; evmatch "$p" out1 >>out1
		evmatch -j 0 "$p" </dev/null
		EVKIT_JOBS=x evmatch "$p" </dev/null
		evmatch --no-such-option
		evmatch --explain -c "$p" </dev/null
		echo "$p" >pf.json; evmatch pf.json </dev/null
		echo '[1]' >r1.json; evmatch -t -f r1.json
		echo '[]' >r2.json; evmatch -t -f r2.json
		printf 'Resources:\n  R: [\n' >r3.yaml; evmatch -t -f r3.yaml
		printf 'a: &x 1\nResources:\n  R: *x\n' >r4.yaml
		evmatch -t -f r4.yaml
		awk 'BEGIN { printf "{\"a\":[{\"b\":["
			for (i = 0; i < 5000; i++) printf "{\"x\":1,\"y\":2},"
			print "{\"z\":3}]}]}" }' |
		    evmatch '{"a":{"b":{"x":[1],"y":[2],"z":[3]}}}'
	} 2>"$tmp/stderr" >/dev/null || :
	grep '^evmatch: ' "$tmp/stderr" >"$tmp/diags"
	[ "$(wc -l <"$tmp/diags")" -eq 21 ] || { cat "$tmp/stderr"; false; }
	# "evmatch: <stdin>:1:6: invalid JSON: x" -> "invalid JSON"
	# "evmatch: 'f' is a file: ..." -> "is a file"
	sed -E -e 's/^evmatch: //' -e "s/^'[^']*' //" \
	    -e 's/^(<[a-z]+>|[A-Za-z0-9._-]+):([0-9]+:)*[0-9]*:? //' \
	    -e "s/^([^':(]*).*/\1/" -e 's/ *$//' "$tmp/diags" >"$tmp/stems"
	stems_documented evmatch.1
}

@test "docs: evdedupe(1) EXAMPLES print what the page shows" {
	run_examples evdedupe.1
}

@test "docs: evdedupe's usage is the SYNOPSIS of evdedupe(1)" {
	usage_is_synopsis evdedupe --help
}

@test "docs: every long option in evdedupe(1) is one evdedupe accepts, and back" {
	page=$(mandoc -Tascii "$root/man/evdedupe.1" | sed 's/.\x08//g')
	longs=$(printf '%s\n' "$page" | grep -oE -- '(^|[ (])--[a-z][a-z-]*' |
	    sed 's/^.*--/--/' | sort -u)
	[ "$(printf '%s\n' "$longs" | wc -l)" -ge 14 ]
	for o in $longs; do
		run evdedupe "$o" </dev/null
		case $output in *"unrecognized option"*)
			echo "evdedupe(1) documents $o, evdedupe refuses it"; false ;;
		esac
	done
	for o in $(grep -oE '\{ "[a-z-]+",' "$root/cmd/evdedupe.c" |
	    sed -E 's/\{ "(.*)",/--\1/'); do
		printf '%s\n' "$page" | grep -qF -- "$o" ||
		    { echo "$o is not in evdedupe(1)"; false; }
	done
}

@test "docs: every evdedupe diagnostic is in evdedupe(1) DIAGNOSTICS" {
	cd "$tmp"
	{
		printf '{"a":\n' | evdedupe
		echo '{"a":1}' | evdedupe -k k
		echo '{"a":1}' | evdedupe --time-field t
		echo '{"t":"x"}' | evdedupe --time-field t
		echo '{"a":1}' | evdedupe --max-line-bytes=2
		echo '{"a":1}' >in; evdedupe --dups in in
		evdedupe --reject in in
		echo x >notdb; evdedupe --state notdb </dev/null
		evdedupe --state /nonexistent/s.db </dev/null
		echo '{"a":1}' | evdedupe --state v.db >/dev/null
		sqlite3 v.db "UPDATE evkit_schema SET version = 9"
		evdedupe --state v.db </dev/null
		echo '{"a":1}' | evdedupe >/dev/full
		evdedupe -k 'a..b' </dev/null
		evdedupe --ttl 5x </dev/null
		evdedupe --max-keys 0 </dev/null
		evdedupe --missing x </dev/null
		evdedupe --max-line-bytes x </dev/null
		evdedupe -j 0 </dev/null
		EVKIT_JOBS=x evdedupe </dev/null
		EVKIT_NOW=x evdedupe </dev/null
		evdedupe --stat
		evdedupe --expire --state e.db
		evdedupe --max-keys 2 --state e.db </dev/null
		evdedupe nosuch.ndjson
		evdedupe --claim --lease 5m </dev/null
		evdedupe --commit </dev/null
		evdedupe --claim --state e.db </dev/null
		evdedupe --lease 5m --state e.db </dev/null
		evdedupe --claim --commit --lease 5m --state e.db </dev/null
		evdedupe --claim --lease 0 --state e.db </dev/null
		evdedupe --claim --lease 5m --validate p --state e.db </dev/null
		printf '%s\n' '{"k":1,"p":1}' '{"k":1,"p":2}' |
		    evdedupe -k k --validate p
		echo '{"a":1}' | evdedupe -e '.b // empty'
		echo '{"a":1}' | evdedupe -e '.a[0]'
		evdedupe -e '.a +' </dev/null
		evdedupe -e .a -k a </dev/null
		evdedupe --dups dr --reject dr in
		evdedupe --state e.db e.db
		evdedupe --state e.db --dups e.db in
		evdedupe --state e.db --reject e.db in
		evdedupe --state e.db in >>e.db
		evdedupe --dups do in >>do
		evdedupe --lease 0 </dev/null
		evdedupe -V .a --validate a </dev/null
		evdedupe -V .a --claim --lease 5m --state e.db </dev/null
		mkfifo fifo; evdedupe --state fifo </dev/null
	} 2>"$tmp/stderr" >/dev/null || :
	grep '^evdedupe: ' "$tmp/stderr" >"$tmp/diags"
	[ "$(wc -l <"$tmp/diags")" -eq 45 ] || { cat "$tmp/stderr"; false; }
	sed -E -e 's/^evdedupe: //' -e "s/^'[^']*' //" \
	    -e 's/^(<[a-z]+>|[A-Za-z0-9._/-]+):([0-9]+:)*[0-9]*:? //' \
	    -e "s/^([^':(]*).*/\1/" -e 's/ *$//' -e 's/ at [^ ]*$/ at/' \
	    -e 's/;.*//' -e 's/ [0-9]+$//' \
	    "$tmp/diags" >"$tmp/stems"
	stems_documented evdedupe.1
}

@test "docs: one out-of-memory policy: lib/ never aborts, and exits only in base/alloc.c" {
	run grep -rnE '(^|[^_[:alnum:]])(abort|exit|_Exit|quick_exit)[[:space:]]*\(' \
	    "$root/lib" --include='*.c' --include='*.h'
	others=$(printf '%s\n' "$output" | grep -v '/lib/base/alloc\.c:' || :)
	[ -z "$others" ] || { echo "$others"; false; }
	[ "$(printf '%s\n' "$output" | grep -c 'exit(EV_EXIT_ERROR)')" -eq 1 ]
	# and the policy is written down where users and programmers look
	section evkit.7 DIAGNOSTICS | grep -qF 'out of memory'
	section evmatch.1 DIAGNOSTICS | grep -qF 'out of memory'
	grep -qF 'out of memory' "$root/lib/evkit.h"
}

@test "docs: the README's tour prints what the README shows" {
	awk '/^    \$ cd examples$/ { f = 1 } f && /^$/ { exit }
	    f { sub(/^    /, ""); print }' "$root/README.md" >"$tmp/tour"
	sed -n 's/^[$>] //p' "$tmp/tour" >"$tmp/tour.sh"
	grep -v '^[$>] ' "$tmp/tour" >"$tmp/tour.expected"
	[ -s "$tmp/tour.expected" ]
	(cd "$root" && sh "$tmp/tour.sh") >"$tmp/tour.actual" 2>&1
	diff -u "$tmp/tour.expected" "$tmp/tour.actual"
}

@test "docs: evstore(1) EXAMPLES print what the page shows" {
	run_examples evstore.1
}

@test "docs: evstore's usage is the SYNOPSIS of evstore(1)" {
	usage_is_synopsis evstore help N
}

@test "docs: evstore's options are all in evstore(1), and its long options all accepted" {
	run evstore help
	page=$(mandoc -Tascii "$root/man/evstore.1" | sed 's/.\x08//g')
	for o in $(printf '%s\n' "$output" | grep -oE -- '--[a-z][a-z-]*' | sort -u) -p -f; do
		printf '%s\n' "$page" | grep -qF -- "$o" ||
		    { echo "$o is not in evstore(1)"; false; }
	done
	longs=$(printf '%s\n' "$page" | grep -oE -- '(^|[ (])--[a-z][a-z-]*' |
	    sed 's/^.*--/--/' | sort -u)
	[ "$(printf '%s\n' "$longs" | wc -l)" -ge 18 ]
	for o in $longs; do
		run evstore read "$o" </dev/null
		case $output in *"unrecognized option"*)
			echo "evstore(1) documents $o, evstore refuses it"; false ;;
		esac
	done
}

@test "docs: every evstore diagnostic is in evstore(1) DIAGNOSTICS" {
	cd "$tmp"
	{
		printf '{"a":1}\nnope\n[1]\n' | evstore append s.db
		echo '{"a":1}' | evstore append --max-line-bytes 3 s.db
		evstore receive --group g s.db >got
		evstore ack --group g s.db got; evstore ack --group g s.db got
		echo '{}' | evstore ack --group g s.db
		echo x >not.db; evstore stat not.db
		evstore stat nosuch.db
		sqlite3 s.db "UPDATE evkit_schema SET version = 9 WHERE component = 'evstore'"
		evstore append s.db </dev/null
		evstore frob s.db
		evstore receive s.db
		evstore prune s.db
		evstore stat --group g s.db
		evstore append --sync x s.db
		evstore read --since x s.db
		evstore read --from x s.db
		evstore read --follow --max 0 s.db
		evstore receive --group g --visibility 1x s.db
		evstore append --max-line-bytes x s.db
		: >rej; evstore append --reject rej x.db rej
		evstore read nosuch.db >/dev/full
		evstore stat not.db/x
		sqlite3 other.db 'CREATE TABLE t (x)'; evstore stat other.db
		rm -f s.db*; echo '{}' | evstore append s.db >/dev/null
		evstore append s.db s.db; evstore append --reject s.db s.db
		evstore receive --group g --batch 0 s.db
		evstore read --until x s.db; evstore prune --before x s.db
		evstore prune --keep -1 s.db
		evstore receive --group g --max-receives 0 s.db
		evstore append --retention 1x s.db
		mkfifo fifo; evstore stat fifo; mkdir dir.db; evstore stat dir.db
	} 2>"$tmp/stderr" >/dev/null || :
	grep '^evstore: ' "$tmp/stderr" >"$tmp/diags"
	[ "$(wc -l <"$tmp/diags")" -ge 20 ] || { cat "$tmp/stderr"; false; }
	sed -E -e 's/^evstore: //' -e "s/^'[^']*' //" \
	    -e 's/^(<[a-z]+>|[A-Za-z0-9._/-]+):([0-9]+:)*[0-9]*:? //' \
	    -e "s/^([^':(]*).*/\1/" -e 's/ version [0-9].*//' -e 's/ *$//' \
	    "$tmp/diags" >"$tmp/stems"
	stems_documented evstore.1
}

@test "docs: examples/queue.sh runs a work queue to its dead letters and back" {
	run sh "$root/examples/queue.sh"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "${lines[1]}" = 40 ]
	[ "${lines[3]}" = '{"depth":0,"in-flight":7,"dead":0}' ]
	[[ $output == *'{"redriven":7}'$'\n''{"depth":7,"in-flight":0,"dead":0}' ]]
}

@test "docs: evretry(1) EXAMPLES print what the page shows" {
	EVKIT_NOW=2026-12-03T00:00:00Z run_examples evretry.1
}

@test "docs: evretry's usage line is the SYNOPSIS of evretry(1)" {
	usage_is_synopsis evretry --help
}

@test "docs: evretry's options are in evretry(1), and its page's are real" {
	run evretry --help
	page=$(mandoc -Tascii "$root/man/evretry.1" | sed 's/.\x08//g')
	for o in $(printf '%s\n' "$output" | grep -oE -- '--[a-z][a-z-]*' |
	    sort -u) -j; do
		printf '%s\n' "$page" | grep -qF -- "$o" ||
		    { echo "$o is not in evretry(1)"; false; }
	done
	# the options of the page's option list (not CAVEATS' missing ones)
	longs=$(section evretry.1 DESCRIPTION | grep -oE -- '(^|[ (])--[a-z][a-z-]*' |
	    sed 's/^.*--/--/' | sort -u)
	[ "$(printf '%s\n' "$longs" | wc -l)" -ge 14 ]
	for o in $longs; do
		run evretry "$o" </dev/null
		case $output in *"unrecognized option"*)
			echo "evretry(1) documents $o, evretry refuses it"; false ;;
		esac
	done
}

@test "docs: every evretry diagnostic is in evretry(1) DIAGNOSTICS" {
	cd "$tmp"
	echo '{}' >in
	{
		echo '{}' | EVKIT_NOW=0 evretry --max-attempts 0 -- false
		echo 'x' | evretry -- true
		evretry --dlq in -- true <in
		evretry
		evretry -j 0 -- true
		evretry --max-attempts x -- true
		evretry --backoff-rate 0 -- true
		evretry --jitter x -- true
		evretry --env = -- true
		evretry --interval x -- true
		echo '{}' | evretry -- echo >/dev/full
		EVKIT_NOW=x evretry -- true
		echo '[{"ErrorEquals":["States.ALL","X"]}]' >r.json
		evretry --retry r.json -- true
		echo '[{"ErrorEquals":["X"],"MaxAttempts":-1}]' >r.json
		evretry --retry r.json -- true
		echo '[{"ErrorEquals":["Exit.88"],"Next":"exec:false"}]' >c.json
		echo '{}' | evretry --catch c.json --max-attempts 0 -- sh -c 'exit 88'
		echo '[{"ErrorEquals":["X"],"Nxt":"f"}]' >c.json
		evretry --catch c.json -- true
		evretry --redrive in -- true
		evretry --max-age 0 -- true
		evretry --retry r.json --interval 1s -- true
	} 2>"$tmp/stderr" >/dev/null </dev/null || :
	grep '^evretry: ' "$tmp/stderr" >"$tmp/diags"
	[ "$(wc -l <"$tmp/diags")" -eq 20 ] || { cat "$tmp/stderr"; false; }
	sed -E -e 's/^evretry: //' -e "s/^'[^']*' //" \
	    -e 's/^(<[a-z]+>|[A-Za-z0-9._-]+):([0-9]+:)*[0-9]*:? //' \
	    -e "s/^'[^']*' //" \
	    -e 's/^(Exit|Signal|States|Exec)\.[A-Za-z0-9]+ //' \
	    -e "s/^([^':(]*).*/\1/" -e 's/ *$//' -e 's/^after [0-9]+/after N/' \
	    "$tmp/diags" >"$tmp/stems"
	stems_documented evretry.1
}

@test "docs: evroute(1) EXAMPLES print what the page shows" {
	run_examples evroute.1
}

@test "docs: evroute's usage line is the SYNOPSIS of evroute(1)" {
	usage_is_synopsis evroute --help
}

@test "docs: evroute's options are in evroute(1), and its page's are real" {
	page=$(mandoc -Tascii "$root/man/evroute.1" | sed 's/.\x08//g')
	for o in $(grep -oE '\{ "[a-z-]+",' "$root/cmd/evroute.c" |
	    sed -E 's/\{ "(.*)",/--\1/') -f -t; do
		printf '%s\n' "$page" | grep -qF -- "$o" ||
		    { echo "$o is not in evroute(1)"; false; }
	done
	longs=$(section evroute.1 DESCRIPTION | grep -oE -- '(^|[ (])--[a-z][a-z-]*' |
	    sed 's/^.*--/--/' | sort -u)
	[ "$(printf '%s\n' "$longs" | wc -l)" -ge 10 ]
	for o in $longs; do
		run evroute "$o" </dev/null
		case $output in *"unrecognized option"*)
			echo "evroute(1) documents $o, evroute refuses it"; false ;;
		esac
	done
}

@test "docs: every evroute diagnostic is in evroute(1) DIAGNOSTICS" {
	cd "$tmp"
	t() { printf '[{"Name":"r","EventPattern":{"a":[1]},"Targets":[{"Id":"t","Arn":"%s"%s}]}]\n' "$1" "${2:-}" >"$3"; }
	t - '' ok.json
	t arn:aws:sqs:x '' aws.json
	t 'pipe: ' '' exec.json
	t mailto:x '' unk.json
	t file: '' nopath.json
	t - ',"DeadLetterConfig":{"Arn":"arn:aws:sqs:q"}' dlc.json
	t - ',"InputPath":"$.b"' ip.json
	t file:/nonexistent/x '' nodir.json
	{
		printf '{"a":\n' | evroute -f ok.json
		echo '{"a":1}' | evroute --max-line-bytes 2 -f ok.json
		evroute -t -f aws.json
		evroute -t -f exec.json
		evroute -t -f unk.json
		evroute -t -f nopath.json
		evroute -t -f dlc.json
		evroute -t --target x=- -f ok.json
		evroute -t --target x -f ok.json
		evroute -j 0 -f ok.json </dev/null
		evroute --buffer 0 -f ok.json
		evroute --max-line-bytes x -f ok.json
		evroute -f ok.json -f ok.json
		evroute --reject - -f ok.json
		evroute --unmatched ok.json -f ok.json </dev/null
		: >rej; evroute --reject rej -f ok.json rej
		echo '{"a":1}' | evroute -f ip.json
		echo '{"a":2}' | evroute -f ok.json
		evroute -f nodir.json </dev/null
		evroute -f ok.json nosuch.ndjson
		echo '{"a":1}' | evroute -f ok.json >/dev/full
		EVKIT_NOW=x evroute -f ok.json </dev/null
		echo '{"Name":"r","EventPattern":{"a":[]}}' >bad.json
		evroute -t -f bad.json
		t http:// '' nohost.json
		evroute -t -f nohost.json
		evroute -t --header 'X Y: z' -f ok.json
		evroute -t --http-timeout 0 -f ok.json
		echo '{"Name":"c","AuthorizationType":"OAUTH_CLIENT_CREDENTIALS"}' >c.json
		evroute -t --connection c.json -f ok.json
		echo '{"Name":"c","AuthorizationType":"X"}' >c.json
		evroute -t --connection c.json -f ok.json
		echo '{"Name":"d","ConnectionArn":"c","InvocationEndpoint":"ftp://x","HttpMethod":"POST"}' >d.json
		evroute -t --api-destination d.json -f ok.json
		echo '{"Name":"d","ConnectionArn":"c","InvocationEndpoint":"http://x","HttpMethod":"POST"}' >d.json
		evroute -t --api-destination d.json --api-destination d.json -f ok.json
		echo '{"Name":"c","AuthorizationType":"BASIC","AuthParameters":{}}' >c.json
		evroute -t --connection c.json -f ok.json
		echo '{"Name":"e","AuthorizationType":"API_KEY","AuthParameters":{"ApiKeyAuthParameters":{"ApiKeyName":"a","ApiKeyValue":"v"}}}' >c.json
		evroute -t --connection c.json --api-destination d.json -f ok.json
		sed 's/"a"/"a b"/' c.json >c2.json
		evroute -t --connection c2.json -f ok.json
	} 2>"$tmp/stderr" >/dev/null || :
	grep '^evroute: ' "$tmp/stderr" >"$tmp/diags"
	[ "$(wc -l <"$tmp/diags")" -eq 33 ] || { cat "$tmp/stderr"; false; }
	# "evroute: ok.json:1:44: target 't' of rule 'r': 'x': msg" -> "msg"
	sed -E -e 's/^evroute: //' -e "s/^'[^']*' //" \
	    -e 's/^(<[a-z]+>|[A-Za-z0-9._/:-]+):([0-9]+:)*[0-9]*:? //' \
	    -e "s/^target '[^']*' of rule '[^']*': //" -e "s/^'[^']*':? //" \
	    -e "s/^rule '[^']*' target '[^']*': //" -e 's/^[0-9]+ //' \
	    -e "s/^([^':(]*).*/\1/" -e 's/ *$//' "$tmp/diags" >"$tmp/stems"
	stems_documented evroute.1
}

@test "docs: every evretry scheduler diagnostic is in evretry(1) DIAGNOSTICS" {
	cd "$tmp"
	echo '{}' >in
	{
		evretry --pending in -- true <in
		printf '{}\n{}\n' | evretry --pending p -- sh -c 'kill -TERM $PPID'
		printf '{}\n{}\n' | evretry -- sh -c 'kill -TERM $PPID'
		printf '{}\n{}\n' | EVKIT_NOW=0 evretry --breaker 1 --pending p -- false
		echo '{}' | evretry --persistent -- sh -c 'read -r e; printf "\\n\\n"'
		evretry --breaker 1 -- true
		evretry --persistent --arg -- true
		evretry --rate 1/h -- true
		evretry --inflight 0 -- true
		evretry --breaker 0 -- true
		evretry --group-by '[' -- true
	} 2>"$tmp/stderr" >/dev/null </dev/null || :
	grep '^evretry: ' "$tmp/stderr" | grep -v ' after [0-9]* attempt' \
	    >"$tmp/diags"
	[ "$(wc -l <"$tmp/diags")" -eq 11 ] || { cat "$tmp/stderr"; false; }
	sed -E -e 's/^evretry: //' -e "s/^'[^']*' //" \
	    -e 's/^(<[a-z]+>|[A-Za-z0-9._/-]+):([0-9]+:)*[0-9]*:? //' \
	    -e 's/[0-9]+/N/g' -e "s/^([^':(]*).*/\1/" -e 's/ *$//' \
	    "$tmp/diags" >"$tmp/stems"
	stems_documented evretry.1
}

@test "docs: examples/shop.sh runs orders from the store through the bus to the handlers, dead letters and a replay" {
	run sh "$root/examples/shop.sh"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	want=$(cat <<'OUT'
# day 1: orders stored first, then routed by the bus
store: 6 stored
bus: rule payments matched 6
bus: rule fulfilment matched 5
bus: rule audit matched 6
payments: 6 routed, 0 replays skipped
payments: 5 claimed (1 held back as duplicates)
payments: 4 charged
fulfilment: 5 routed, 4 shipped
audit: 6 archived in all

# dead letters: what failed for good, with why
dead: order 4 Exit.1 after 4 attempts (MaxAttempts)

# day 2: the bus consumer only gets the new order
payments: 1 routed, 0 replays skipped
payments: 1 claimed (0 held back as duplicates)
payments: 1 charged
fulfilment: 1 routed, 1 shipped
audit: 7 archived in all

# replay of day 1: archived again, neither charged nor shipped twice
payments: 6 routed, 6 replays skipped
payments: 0 claimed (0 held back as duplicates)
payments: 0 charged
fulfilment: 5 routed, 0 shipped
audit: 13 archived in all
OUT
)
	[ "$output" = "$want" ] || { diff <(echo "$want") <(echo "$output"); false; }
}
