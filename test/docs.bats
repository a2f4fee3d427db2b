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
	run evmatch --help
	[ "$status" -eq 0 ]
	# placeholders are SIZE in the usage, size in the page
	usage=$(printf '%s\n' "$output" | tr -s ' \n' '  ' |
	    sed -E 's/^usage: //; s/ $//; s/\<([A-Z]{2,})\>/\L\1/g')
	synopsis=$(section evmatch.1 SYNOPSIS | sed 's/^ //; s/ $//')
	[ "$usage" = "$synopsis" ] ||
	    { echo "usage:    $usage"; echo "SYNOPSIS: $synopsis"; false; }
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
	diag=$(section evmatch.1 DIAGNOSTICS)
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
	while IFS= read -r s; do
		[ -n "$s" ] || { cat "$tmp/diags"; false; }
		printf '%s\n' "$diag" | grep -qF -- "$s" ||
		    { echo "not in DIAGNOSTICS: '$s'"; false; }
	done <"$tmp/stems"
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

@test "docs: evretry(1) EXAMPLES print what the page shows" {
	EVKIT_NOW=2026-12-03T00:00:00Z run_examples evretry.1
}

@test "docs: evretry's usage line is the SYNOPSIS of evretry(1)" {
	run evretry --help
	[ "$status" -eq 0 ]
	usage=$(printf '%s\n' "$output" | tr -s ' \n' '  ' |
	    sed -E 's/^usage: //; s/ $//; s/\<([A-Z]{2,})\>/\L\1/g')
	synopsis=$(section evretry.1 SYNOPSIS | sed 's/^ //; s/ $//')
	[ "$usage" = "$synopsis" ] ||
	    { echo "usage:    $usage"; echo "SYNOPSIS: $synopsis"; false; }
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
	diag=$(section evretry.1 DIAGNOSTICS)
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
	} 2>"$tmp/stderr" >/dev/null </dev/null || :
	grep '^evretry: ' "$tmp/stderr" >"$tmp/diags"
	[ "$(wc -l <"$tmp/diags")" -eq 12 ] || { cat "$tmp/stderr"; false; }
	sed -E -e 's/^evretry: //' -e "s/^'[^']*' //" \
	    -e 's/^(<[a-z]+>|[A-Za-z0-9._-]+):([0-9]+:)*[0-9]*:? //' \
	    -e 's/^(Exit|Signal|States|Exec)\.[A-Za-z0-9]+ //' \
	    -e "s/^([^':(]*).*/\1/" -e 's/ *$//' -e 's/^after [0-9]+/after N/' \
	    "$tmp/diags" >"$tmp/stems"
	while IFS= read -r s; do
		[ -n "$s" ] || { cat "$tmp/diags"; false; }
		printf '%s\n' "$diag" | grep -qF -- "$s" ||
		    { echo "not in DIAGNOSTICS: $s"; false; }
	done <"$tmp/stems"
}
