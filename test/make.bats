#!/usr/bin/env bats
# The Makefile: install and uninstall with PREFIX and DESTDIR, deps, and the
# check for the packages' headers and libraries before the build.

bats_require_minimum_version 1.5.0

setup() {
	EVKIT_ROOT=${EVKIT_ROOT:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
	# Without EVKIT_BIN, the default build (never "." of the checkout).
	BUILD=$(dirname "${EVKIT_BIN:-$EVKIT_ROOT/build/bin}")
}

@test "make: install puts the tools and man pages under DESTDIR/PREFIX, uninstall removes them" {
	d=$BATS_TEST_TMPDIR/root
	run make -s -C "$EVKIT_ROOT" BUILD="$BUILD" DESTDIR="$d" PREFIX=/opt/ev install
	[ "$status" -eq 0 ]
	[ -x "$d/opt/ev/bin/evmatch" ]
	[ -f "$d/opt/ev/share/man/man1/evmatch.1" ]
	[ -f "$d/opt/ev/share/man/man7/evkit.7" ]
	echo '{"a":1}' | "$d/opt/ev/bin/evmatch" '{"a":[1]}'
	run make -s -C "$EVKIT_ROOT" BUILD="$BUILD" DESTDIR="$d" PREFIX=/opt/ev uninstall
	[ "$status" -eq 0 ]
	[ ! -e "$d/opt/ev/bin/evmatch" ]
	[ ! -e "$d/opt/ev/share/man/man1/evmatch.1" ]
	[ ! -e "$d/opt/ev/share/man/man7/evkit.7" ]
}

@test "make: deps does nothing when every package is present" {
	run sh "$EVKIT_ROOT/.ci/deps"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

# A compiler that cannot see the packages' headers: cc with the system
# include directories, less /usr/include's jv.h, jq.h and yaml.h (as on a
# machine without libjq-dev and libyaml-dev).
nopkg_cc() {
	local sys=$BATS_TEST_TMPDIR/sys f d args=
	mkdir -p "$sys"
	for f in /usr/include/*; do
		case ${f##*/} in jv.h | jq.h | yaml.h) continue ;; esac
		ln -s "$f" "$sys/"
	done
	for d in $(echo | cc -xc -E -v - 2>&1 |
	    sed -n '/^#include <...> search starts here:/,/^End/p' |
	    grep '^ /'); do
		[ "$d" = /usr/include ] && d=$sys
		args="$args -isystem $d"
	done
	printf '#!/bin/sh\nexec cc -nostdinc%s "$@"\n' "$args" >"$BATS_TEST_TMPDIR/cc"
	chmod +x "$BATS_TEST_TMPDIR/cc"
	echo "$BATS_TEST_TMPDIR/cc"
}

@test "make: without libjq-dev, make names the package and 'make deps' before compiling" {
	cc=$(nopkg_cc)
	# the wrapper itself compiles C that needs no package
	echo '#include <stdio.h>' | "$cc" -x c -E - >/dev/null
	run -2 --separate-stderr make -s -C "$EVKIT_ROOT" BUILD="$BATS_TEST_TMPDIR/b" CC="$cc"
	[ "${stderr_lines[0]}" = "make: libjq-dev is missing (jv.h not found): run 'make deps' to install it" ]
	[ -z "$(find "$BATS_TEST_TMPDIR/b" -name '*.o' 2>/dev/null)" ]
}

@test "make: headers found through JQ_CFLAGS and YAML_CFLAGS pass the check" {
	cc=$(nopkg_cc)
	mkdir -p "$BATS_TEST_TMPDIR/jq" "$BATS_TEST_TMPDIR/yaml"
	ln -s /usr/include/jv.h /usr/include/jq.h "$BATS_TEST_TMPDIR/jq/"
	ln -s /usr/include/yaml.h "$BATS_TEST_TMPDIR/yaml/"
	run -2 --separate-stderr make -s -C "$EVKIT_ROOT" CC="$cc" \
	    JQ_CFLAGS="-I$BATS_TEST_TMPDIR/jq" have-deps
	[ "${stderr_lines[0]}" = "make: libyaml-dev is missing (yaml.h not found): run 'make deps' to install it" ]
	run -0 --separate-stderr make -s -C "$EVKIT_ROOT" CC="$cc" \
	    JQ_CFLAGS="-I$BATS_TEST_TMPDIR/jq" YAML_CFLAGS="-I$BATS_TEST_TMPDIR/yaml" have-deps
	[ -z "$stderr" ]
}
