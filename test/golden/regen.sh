#!/bin/sh
# regen.sh - rewrite the golden verdicts (test/golden/*.verdicts) from
# event-ruler itself.  Needs Java (javac, java) and ER_CLASSPATH: the
# compiled classes of event-ruler's src/main plus the Jackson jars it uses
# (databind, core, annotations), separated by ':'.  It does not build
# event-ruler.  With operands, only those .cases files are redone.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${ER_CLASSPATH:?set ER_CLASSPATH to event-ruler classes plus Jackson jars}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
javac -nowarn -encoding UTF-8 -d "$tmp" -cp "$ER_CLASSPATH" \
    "$here/Verdicts.java" 2>"$tmp/javac.err" || {
	cat "$tmp/javac.err" >&2
	exit 2
}
[ $# -gt 0 ] || set -- "$here"/*.cases
for f in "$@"; do
	out=${f%.cases}.verdicts
	java -cp "$ER_CLASSPATH:$tmp" Verdicts "$f" >"$tmp/out"
	mv "$tmp/out" "$out"
	echo "regen.sh: $(wc -l <"$out") verdicts in ${out##*/}"
done
