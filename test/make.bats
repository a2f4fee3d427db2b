#!/usr/bin/env bats
# The Makefile's install and uninstall targets, with PREFIX and DESTDIR.

setup() {
	BUILD=$(dirname "$EVKIT_BIN")
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
