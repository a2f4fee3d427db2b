#!/bin/sh
read -r event
[ -e "seen.$1" ] || { : >"seen.$1"; echo "busy" >&2; exit 75; }
echo "handled $event"
