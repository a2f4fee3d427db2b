#!/bin/sh
# test/manex.sh {script | expect} PAGE - the EXAMPLES of an mdoc page as a
# runnable transcript.
#
# In the EXAMPLES section, every literal display (.Bd -literal ... .Ed) that
# holds a line starting with "$ " is a terminal session: "$ " starts a
# command, "> " continues it (as the shell's PS2 prompt shows), and the lines
# up to the next command or the end of the display are what it prints,
# standard output and standard error together.  Displays without a "$ " line
# are left alone.
#
#   manex.sh expect PAGE   print the sessions as the page shows them
#   manex.sh script PAGE   print an sh script that runs the commands and
#                          prints the same transcript from what they do
#
# Each display runs in its own subshell, so shell variables carry from one
# command to the next within a display, and $? is the previous command's
# status.  Roff escapes in the page (\e, \&, \(dq, \(aq, \-) are undone.
mode=$1
page=$2
case $mode in script | expect) ;; *)
	echo "usage: manex.sh {script | expect} PAGE" >&2
	exit 2
	;;
esac
[ -r "$page" ] || { echo "manex.sh: cannot read '$page'" >&2; exit 2; }

awk -v mode="$mode" '
function unroff(s) {
	gsub(/\\e/, "\001", s)
	gsub(/\\&/, "", s)
	gsub(/\\\(dq/, "\"", s)
	gsub(/\\\(aq/, "\047", s)
	gsub(/\\-/, "-", s)
	gsub(/\001/, "\\", s)
	return s
}
# Quote s for sh between single quotes.
function q(s) {
	gsub(/\047/, "\047\\\047\047", s)
	return "\047" s "\047"
}
function flush_cmd() {
	if (cmd == "")
		return
	out = out shown
	out = out "(exit $__st); {\n" cmd "\n} 2>&1; __st=$?\n"
	cmd = ""
	shown = ""
}
function end_block() {
	flush_cmd()
	if (hascmd) {
		if (mode == "script")
			printf "(\n__st=0\n%s)\n", out
		else
			printf "%s", want
	}
	out = ""
	want = ""
	hascmd = 0
}
/^\.Sh / {
	ex = ($2 == "EXAMPLES")
	next
}
!ex {
	next
}
/^\.Bd -literal/ {
	lit = 1
	next
}
/^\.Ed/ {
	if (lit)
		end_block()
	lit = 0
	next
}
!lit {
	next
}
{
	line = unroff($0)
	want = want line "\n"
	if (substr(line, 1, 2) == "$ ") {
		flush_cmd()
		hascmd = 1
		cmd = substr(line, 3)
		shown = "printf \"%s\\n\" " q(line) "\n"
		incmd = 1
	} else if (incmd && substr(line, 1, 2) == "> ") {
		cmd = cmd "\n" substr(line, 3)
		shown = shown "printf \"%s\\n\" " q(line) "\n"
	} else {
		incmd = 0
	}
}
' "$page"
