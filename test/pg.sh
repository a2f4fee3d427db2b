#!/bin/sh
# test/pg.sh start|stop|restart DIR - a throwaway PostgreSQL cluster for the
# tests and the bench: initdb in DIR (a new, empty directory), the server
# listening only on a Unix socket in DIR (no TCP), run as an unprivileged
# user (PostgreSQL refuses root; as root it runs as nobody).  start prints
# the URL of its database on stdout (the role evkit, trusted on the socket);
# stop stops the server and removes DIR.  Exit 1 when PostgreSQL is not
# installed or does not start.
cmd=$1 dir=$2
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|restart DIR" >&2; exit 2; }
bin=$(pg_config --bindir 2>/dev/null)
[ -x "$bin/initdb" ] || bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "$0: PostgreSQL is not installed" >&2; exit 1; }
as() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
	else
		"$@"
	fi
}
# The server must not keep the caller's descriptors (a Bats output pipe
# held open by a server started inside a test would hang Bats): pg_ctl
# runs with every descriptor past 2 closed (perl-base is essential).
ctl() {
	as perl -e 'use POSIX (); POSIX::close($_) for 3 .. 1023; exec @ARGV or die "exec: $!\n"' -- \
	    "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 "$@" \
	    </dev/null >/dev/null
}
case $cmd in
start)
	mkdir -p "$dir" || exit 1
	[ "$(id -u)" = 0 ] && chown nobody:nogroup "$dir"
	as "$bin/initdb" -D "$dir/data" -U evkit --auth=trust --no-sync \
	    -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
	    { cat "$dir/initdb.log" >&2; exit 1; }
	cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
fsync = off
full_page_writes = off
shared_buffers = 64MB
max_connections = 60
CONF
	ctl start || { cat "$dir/log" >&2; exit 1; }
	echo "postgresql:///postgres?host=$dir&user=evkit"
	;;
stop)
	[ -f "$dir/data/postmaster.pid" ] && ctl -m fast stop
	rm -rf "$dir"
	;;
restart)
	ctl -m fast restart
	;;
*)
	echo "usage: $0 start|stop|restart DIR" >&2; exit 2 ;;
esac
