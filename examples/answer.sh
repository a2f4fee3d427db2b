#!/bin/sh
while read -r event; do
	case $event in
	*busy*) echo '{"evkit-error":{"Error":"Busy"}}' ;;
	*) echo "done $event" ;;
	esac
done
