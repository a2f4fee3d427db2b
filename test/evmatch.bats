#!/usr/bin/env bats
# evmatch: EventBridge event patterns over NDJSON.  Matching semantics follow
# aws/event-ruler (JsonRuleCompiler, Machine.rulesForJSONEvent); the pattern
# error reasons are listed in doc/event-ruler-errors.md.

bats_require_minimum_version 1.5.0

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	D=$EVKIT_ROOT/test/data/evmatch
}

# selects ARG... <<EOF
# Feed evmatch ARG... the events of the here-document: lines '+ EVENT' must be
# selected, lines '- EVENT' must not ('#' lines are comments).  The output
# must be exactly the '+' events in order, the exit status 0 (1 when no line
# is marked '+'), stderr empty.
selects() {
	local line events= want= st=1
	while IFS= read -r line; do
		case $line in
		'+ '*) events+=${line:2}$'\n' want+=${line:2}$'\n' st=0 ;;
		'- '*) events+=${line:2}$'\n' ;;
		'' | '#'*) ;;
		*) echo "bad fixture line: $line"; return 1 ;;
		esac
	done
	printf '%s' "$events" >"$BATS_TEST_TMPDIR/events"
	# Not bats' run: it costs several times the evmatch process itself.
	local out err status=0
	out=$(evmatch "$@" <"$BATS_TEST_TMPDIR/events" \
	    2>"$BATS_TEST_TMPDIR/stderr") || status=$?
	err=$(<"$BATS_TEST_TMPDIR/stderr")
	if [ "$status" -eq "$st" ] && [ "$out" = "${want%$'\n'}" ] &&
	    [ -z "$err" ]; then
		return 0
	fi
	printf 'evmatch %s\n--- events\n%s--- want (exit %d)\n%s--- got (exit %d)\n%s\n--- stderr\n%s\n' \
	    "$*" "$events" "$st" "$want" "$status" "$out" "$err"
	return 1
}

# rejects PATTERN PATH REASON
# evmatch -t must refuse PATTERN with exit 2, nothing on stdout and exactly
# "evmatch: <pattern>:1:COL: invalid pattern at 'PATH': REASON" on stderr
# ("invalid pattern: REASON" when PATH is empty).  The column is not pinned.
rejects() {
	local want re='^evmatch: <pattern>:1:[0-9]+: (.*)$'
	if [ -n "$2" ]; then
		want="invalid pattern at '$2': $3"
	else
		want="invalid pattern: $3"
	fi
	local out err status=0
	out=$(evmatch -t "$1" </dev/null 2>"$BATS_TEST_TMPDIR/stderr") ||
	    status=$?
	err=$(<"$BATS_TEST_TMPDIR/stderr")
	if [ "$status" -eq 2 ] && [ -z "$out" ] && [[ $err =~ $re ]] &&
	    [ "${BASH_REMATCH[1]}" = "$want" ]; then
		return 0
	fi
	printf 'pattern: %s\nwant:    %s\ngot:     %s\nstdout:  %s\nexit:    %d\n' \
	    "$1" "$want" "$err" "$out" "$status"
	return 1
}

# ------------------------------------------------------- exact values

@test "evmatch: exact string matches the whole string, case-sensitively" {
	selects '{"a":["x"]}' <<'EOF'
+ {"a":"x"}
+ {"b":1,"a":"x"}
- {"a":"X"}
- {"a":"xy"}
- {"a":" x"}
- {"b":"x"}
EOF
}

@test "evmatch: exact string compares decoded text (unicode escapes)" {
	selects '{"a":["é\"q"]}' <<'EOF'
+ {"a":"\u00e9\"q"}
+ {"a":"é\u0022q"}
- {"a":"e\"q"}
EOF
}

@test "evmatch: true, false, null and empty string are distinct literals" {
	selects '{"a":[true]}' <<'EOF'
+ {"a":true}
- {"a":"true"}
- {"a":false}
- {"a":1}
EOF
	selects '{"a":[false]}' <<'EOF'
+ {"a":false}
- {"a":"false"}
- {"a":null}
- {"a":0}
EOF
	selects '{"a":[null]}' <<'EOF'
+ {"a":null}
- {"a":"null"}
- {"a":""}
- {"b":1}
EOF
	selects '{"a":[""]}' <<'EOF'
+ {"a":""}
- {"a":null}
- {"a":" "}
EOF
}

@test "evmatch: numbers match by value, never strings" {
	selects '{"a":[300]}' <<'EOF'
+ {"a":300}
+ {"a":300.0}
+ {"a":3e2}
+ {"a":3.00E+2}
- {"a":"300"}
- {"a":301}
- {"a":300.5}
EOF
	selects '{"a":["300"]}' <<'EOF'
+ {"a":"300"}
- {"a":300}
EOF
	selects '{"a":[-0.25]}' <<'EOF'
+ {"a":-0.25}
+ {"a":-2.5e-1}
- {"a":0.25}
EOF
}

@test "evmatch: numbers a double cannot hold are compared as text only" {
	selects '{"a":[123456789012345678901]}' <<'EOF'
+ {"a":123456789012345678901}
- {"a":123456789012345678900}
- {"a":1.23456789012345678901e20}
- {"a":"123456789012345678901"}
EOF
}

@test "evmatch: values in a list are OR-ed" {
	selects '{"a":["x","y",5]}' <<'EOF'
+ {"a":"x"}
+ {"a":"y"}
+ {"a":5}
- {"a":"z"}
- {"a":"5"}
EOF
}

@test "evmatch: fields are AND-ed and extra event fields are ignored" {
	selects '{"a":["x"],"b":["y"]}' <<'EOF'
+ {"a":"x","b":"y"}
+ {"c":1,"b":"y","d":{"e":[2]},"a":"x"}
- {"a":"x"}
- {"b":"y"}
- {"a":"x","b":"z"}
EOF
}

@test "evmatch: nested pattern objects address nested event fields" {
	selects '{"detail":{"state":["running"]}}' <<'EOF'
+ {"detail":{"state":"running"}}
+ {"detail":{"x":1,"state":"running"},"state":"stopped"}
- {"state":"running"}
- {"detail":"running"}
- {"detail":{"state":{"state":"running"}}}
EOF
}

@test "evmatch: an object value never matches a leaf pattern" {
	selects '{"a":["x"]}' <<'EOF'
- {"a":{"b":"x"}}
- {"a":{}}
- {"a":{"a":"x"}}
EOF
}

@test "evmatch: event arrays match when any element matches, nested arrays flattened" {
	selects '{"a":["x"]}' <<'EOF'
+ {"a":["y","x"]}
+ {"a":[["x"]]}
+ {"a":[1,[2,["x"]]]}
- {"a":[]}
- {"a":["y",["z"]]}
EOF
	selects '{"a":{"b":[1]}}' <<'EOF'
+ {"a":[{"b":2},{"b":1}]}
+ {"a":[{"b":[3,1]}]}
- {"a":[{"c":1}]}
EOF
}

@test "evmatch: dotted keys in a pattern are paths" {
	selects '{"a.b":[1]}' <<'EOF'
+ {"a":{"b":1}}
- {"a":{"c":1}}
- {"a":1}
EOF
	selects '{"x":{"a.b":[1]}}' <<'EOF'
+ {"x":{"a":{"b":1}}}
- {"a":{"b":1}}
EOF
}

@test "evmatch: a duplicate key in a pattern: the last one wins" {
	selects '{"a":["x"],"a":["y"]}' <<'EOF'
+ {"a":"y"}
- {"a":"x"}
EOF
}

@test "evmatch: duplicate object keys in a pattern merge their distinct paths" {
	# event-ruler overrides per path: d.a from the first "d" survives.
	selects '{"d":{"a":["x"]},"d":{"b":["y"]}}' <<'EOF'
+ {"d":{"a":"x","b":"y"}}
- {"d":{"b":"y"}}
- {"d":{"a":"x"}}
EOF
}

# -------------------------------------------- prefix, suffix, ignore-case

@test "evmatch: prefix matches string starts only" {
	selects '{"a":[{"prefix":"ab"}]}' <<'EOF'
+ {"a":"ab"}
+ {"a":"abc"}
- {"a":"xab"}
- {"a":"Abc"}
- {"a":"a"}
EOF
	selects '{"a":[{"prefix":"1"}]}' <<'EOF'
+ {"a":"12"}
- {"a":12}
EOF
}

@test "evmatch: an empty prefix matches every string and nothing else" {
	selects '{"a":[{"prefix":""}]}' <<'EOF'
+ {"a":""}
+ {"a":"x"}
- {"a":5}
- {"a":null}
- {"a":true}
EOF
}

@test "evmatch: suffix matches string ends only" {
	selects '{"a":[{"suffix":".png"}]}' <<'EOF'
+ {"a":"x.png"}
+ {"a":".png"}
- {"a":"x.PNG"}
- {"a":"x.png.gz"}
EOF
	selects '{"a":[{"suffix":"5"}]}' <<'EOF'
+ {"a":"15"}
- {"a":15}
EOF
}

@test "evmatch: equals-ignore-case uses Java's full case mappings (sharp s, ligatures, beyond the BMP)" {
	selects '{"a":[{"equals-ignore-case":"straße"}]}' <<'EOF'
+ {"a":"STRASSE"}
+ {"a":"Straße"}
- {"a":"strasse"}
- {"a":"STRAẞE"}
EOF
	selects '{"a":[{"equals-ignore-case":"SS"}]}' <<'EOF'
+ {"a":"ss"}
- {"a":"ß"}
EOF
	selects '{"a":[{"equals-ignore-case":"ﬁ"}]}' <<'EOF'
+ {"a":"FI"}
+ {"a":"ﬁ"}
- {"a":"fi"}
EOF
	selects '{"a":[{"equals-ignore-case":"İ"}]}' <<'EOF'
+ {"a":"İ"}
+ {"a":"i\u0307"}
- {"a":"i"}
EOF
	selects '{"a":[{"equals-ignore-case":"😀"}]}' <<'EOF'
+ {"a":"??"}
- {"a":"😀"}
EOF
	selects '{"a":[{"prefix":{"equals-ignore-case":"ß"}}]}' <<'EOF'
+ {"a":"SSx"}
- {"a":"Sx"}
EOF
	selects '{"a":[{"suffix":{"equals-ignore-case":"aß"}}]}' <<'EOF'
+ {"a":"xASS"}
- {"a":"xAS"}
EOF
	selects '{"a":[{"anything-but":{"equals-ignore-case":"ß"}}]}' <<'EOF'
+ {"a":"ss"}
- {"a":"SS"}
EOF
}

@test "evmatch: equals-ignore-case folds ASCII and non-ASCII letters" {
	selects '{"a":[{"equals-ignore-case":"ÉCOLE"}]}' <<'EOF'
+ {"a":"école"}
+ {"a":"École"}
+ {"a":"ÉCOLE"}
+ {"a":"\u00e9cole"}
- {"a":"ecole"}
- {"a":"écoles"}
EOF
	selects '{"a":[{"equals-ignore-case":"alice"}]}' <<'EOF'
+ {"a":"ALICE"}
+ {"a":"aLiCe"}
- {"a":"alice "}
- {"a":["bob"]}
EOF
}

@test "evmatch: prefix and suffix with equals-ignore-case" {
	selects '{"a":[{"prefix":{"equals-ignore-case":"eventb"}}]}' <<'EOF'
+ {"a":"EventBridge"}
+ {"a":"EVENTBUS"}
+ {"a":"eventb"}
- {"a":"xeventb"}
EOF
	selects '{"a":[{"suffix":{"equals-ignore-case":"tBridge"}}]}' <<'EOF'
+ {"a":"eventbridge"}
+ {"a":"TBRIDGE"}
- {"a":"tbridges"}
EOF
}

# --------------------------------------------------------- anything-but

@test "evmatch: anything-but a string excludes it; other types are never excluded" {
	selects '{"a":[{"anything-but":"x"}]}' <<'EOF'
- {"a":"x"}
+ {"a":"y"}
+ {"a":"X"}
+ {"a":""}
+ {"a":null}
+ {"a":true}
+ {"a":5}
EOF
}

@test "evmatch: anything-but needs the field to exist" {
	selects '{"a":[{"anything-but":"x"}]}' <<'EOF'
- {"b":"y"}
- {"a":[]}
- {"a":{}}
- {"a":{"b":"y"}}
+ {"a":"y"}
EOF
}

@test "evmatch: anything-but on an array matches when some element is not excluded" {
	selects '{"a":[{"anything-but":"x"}]}' <<'EOF'
+ {"a":["x","y"]}
- {"a":["x"]}
- {"a":["x","x"]}
EOF
}

@test "evmatch: anything-but a number excludes it by value" {
	selects '{"a":[{"anything-but":5}]}' <<'EOF'
- {"a":5}
- {"a":5.0}
- {"a":5e0}
+ {"a":6}
+ {"a":"5"}
+ {"a":null}
EOF
}

@test "evmatch: anything-but a list of strings" {
	selects '{"a":[{"anything-but":["stopped","overloaded"]}]}' <<'EOF'
- {"a":"stopped"}
- {"a":"overloaded"}
+ {"a":"running"}
+ {"a":1}
EOF
}

@test "evmatch: anything-but a list of numbers" {
	selects '{"a":[{"anything-but":[100,200,300]}]}' <<'EOF'
- {"a":100}
- {"a":200.0}
- {"a":3e2}
+ {"a":150}
+ {"a":"100"}
EOF
}

@test "evmatch: anything-but prefix" {
	selects '{"a":[{"anything-but":{"prefix":"init"}}]}' <<'EOF'
- {"a":"init"}
- {"a":"initializing"}
+ {"a":"running"}
+ {"a":"Init"}
+ {"a":5}
- {"b":"running"}
EOF
	selects '{"a":[{"anything-but":{"prefix":["us-","eu-"]}}]}' <<'EOF'
- {"a":"us-east-1"}
- {"a":"eu-west-1"}
+ {"a":"ap-south-1"}
EOF
}

@test "evmatch: anything-but suffix" {
	selects '{"a":[{"anything-but":{"suffix":".png"}}]}' <<'EOF'
- {"a":"x.png"}
+ {"a":"x.jpg"}
+ {"a":"x.PNG"}
EOF
}

@test "evmatch: anything-but equals-ignore-case" {
	selects '{"a":[{"anything-but":{"equals-ignore-case":["Stopped","x"]}}]}' <<'EOF'
- {"a":"STOPPED"}
- {"a":"stopped"}
- {"a":"X"}
+ {"a":"running"}
+ {"a":"stopped!"}
EOF
}

@test "evmatch: anything-but wildcard" {
	selects '{"a":[{"anything-but":{"wildcard":"*/lib/*"}}]}' <<'EOF'
- {"a":"/usr/lib/x"}
- {"a":"/lib/"}
+ {"a":"/usr/bin/x"}
+ {"a":"lib"}
EOF
}

# ------------------------------------------------------------- numeric

@test "evmatch: numeric =" {
	selects '{"a":[{"numeric":["=",300]}]}' <<'EOF'
+ {"a":300}
+ {"a":3e2}
+ {"a":300.000}
- {"a":"300"}
- {"a":301}
EOF
	selects '{"a":[{"numeric":["=",0.1]}]}' <<'EOF'
+ {"a":0.1}
+ {"a":0.10}
+ {"a":1e-1}
- {"a":0.1000001}
EOF
}

@test "evmatch: numeric <, <=, >, >= bounds" {
	selects '{"a":[{"numeric":["<",10]}]}' <<'EOF'
+ {"a":9.999}
+ {"a":-1e9}
- {"a":10}
- {"a":11}
- {"a":"5"}
EOF
	selects '{"a":[{"numeric":["<=",10]}]}' <<'EOF'
+ {"a":10}
- {"a":10.0001}
EOF
	selects '{"a":[{"numeric":[">",10]}]}' <<'EOF'
+ {"a":10.5}
- {"a":10}
- {"a":true}
EOF
	selects '{"a":[{"numeric":[">=",10]}]}' <<'EOF'
+ {"a":10}
+ {"a":1e10}
- {"a":9.99}
EOF
}

@test "evmatch: numeric two-sided ranges" {
	selects '{"a":[{"numeric":[">",0,"<=",5]}]}' <<'EOF'
- {"a":0}
+ {"a":0.000001}
+ {"a":5}
- {"a":5.000001}
- {"a":-1}
- {"a":"3"}
EOF
	selects '{"a":[{"numeric":[">=",0,"<",5]}]}' <<'EOF'
+ {"a":0}
+ {"a":4.99}
- {"a":5}
EOF
}

@test "evmatch: numeric with negative bounds" {
	selects '{"a":[{"numeric":[">=",-10.5,"<",-1.5]}]}' <<'EOF'
+ {"a":-10.5}
+ {"a":-2}
- {"a":-1.5}
- {"a":-1}
- {"a":-11}
EOF
}

@test "evmatch: numeric covers the full double range" {
	selects '{"a":[{"numeric":[">",1e300]}]}' <<'EOF'
+ {"a":1e301}
+ {"a":1.7976931348623157e308}
- {"a":1e299}
- {"a":5e9}
EOF
	selects '{"a":[{"numeric":["<",-1e300]}]}' <<'EOF'
+ {"a":-1e301}
- {"a":-1e299}
EOF
	selects '{"a":[{"numeric":[">",5e9]}]}' <<'EOF'
+ {"a":5000000001}
- {"a":5e9}
EOF
}

# --------------------------------------------------------------- exists

@test "evmatch: exists true: any leaf, null included; [] and {} do not exist" {
	selects '{"a":[{"exists":true}]}' <<'EOF'
+ {"a":"x"}
+ {"a":null}
+ {"a":0}
+ {"a":false}
+ {"a":""}
+ {"a":[1]}
- {"a":[]}
- {"a":{}}
- {"a":{"b":1}}
- {"b":1}
EOF
}

@test "evmatch: exists false: no leaf at the path" {
	selects '{"a":[{"exists":false}]}' <<'EOF'
- {"a":"x"}
- {"a":null}
- {"a":[1]}
+ {"a":[]}
+ {"a":{}}
+ {"a":{"b":1}}
+ {"b":1}
EOF
}

@test "evmatch: exists under a missing parent" {
	selects '{"a":{"b":[{"exists":false}]}}' <<'EOF'
+ {"c":1}
+ {"a":5}
+ {"a":{"c":1}}
- {"a":{"b":2}}
EOF
	selects '{"a":{"b":[{"exists":true}]}}' <<'EOF'
- {"c":1}
- {"a":5}
+ {"a":{"b":null}}
EOF
}

@test "evmatch: exists and anything-but OR-ed with other values in one list" {
	selects '{"a":["x",{"exists":false}]}' <<'EOF'
+ {"a":"x"}
+ {"b":1}
- {"a":"y"}
EOF
	selects '{"a":[{"anything-but":["x","y"]},"y"]}' <<'EOF'
+ {"a":"y"}
+ {"a":"z"}
- {"a":"x"}
EOF
	selects '{"a":[{"prefix":"p"},{"numeric":[">",10]},null]}' <<'EOF'
+ {"a":"pq"}
+ {"a":11}
+ {"a":null}
- {"a":5}
- {"a":"q"}
EOF
}

# ------------------------------------------------------ cidr and IP strings

@test "evmatch: cidr IPv4" {
	selects '{"ip":[{"cidr":"10.0.0.0/24"}]}' <<'EOF'
+ {"ip":"10.0.0.0"}
+ {"ip":"10.0.0.1"}
+ {"ip":"10.0.0.255"}
- {"ip":"10.0.1.0"}
- {"ip":"9.255.255.255"}
- {"ip":"10.0.0"}
- {"ip":10}
EOF
	selects '{"ip":[{"cidr":"192.168.1.128/25"}]}' <<'EOF'
+ {"ip":"192.168.1.200"}
- {"ip":"192.168.1.127"}
EOF
}

@test "evmatch: a cidr block is masked to its lowest address (event-ruler #89)" {
	selects '{"ip":[{"cidr":"10.1.2.3/8"}]}' <<'EOF'
+ {"ip":"10.0.0.1"}
+ {"ip":"10.1.2.2"}
+ {"ip":"10.255.255.255"}
- {"ip":"9.255.255.255"}
- {"ip":"11.0.0.0"}
EOF
	selects '{"ip":[{"cidr":"10.0.0.5/24"}]}' <<'EOF'
+ {"ip":"10.0.0.0"}
+ {"ip":"10.0.0.4"}
- {"ip":"10.0.1.0"}
EOF
	selects '{"ip":[{"cidr":"10.0.0.1/31"}]}' <<'EOF'
+ {"ip":"10.0.0.0"}
+ {"ip":"10.0.0.1"}
- {"ip":"10.0.0.2"}
EOF
	selects '{"ip":[{"cidr":"10.9.9.9/0"}]}' <<'EOF'
+ {"ip":"0.0.0.0"}
+ {"ip":"255.255.255.255"}
+ {"ip":"::1"}
- {"ip":"x"}
EOF
	selects '{"ip":[{"cidr":"2001:db8::ff/120"}]}' <<'EOF'
+ {"ip":"2001:db8::"}
+ {"ip":"2001:db8::1"}
- {"ip":"2001:db8::100"}
EOF
	selects '{"ip":[{"cidr":"::1/127"}]}' <<'EOF'
+ {"ip":"::"}
+ {"ip":"::1"}
- {"ip":"::2"}
EOF
}

@test "evmatch: cidr IPv6 normalises the event's address text" {
	selects '{"ip":[{"cidr":"2001:db8::/32"}]}' <<'EOF'
+ {"ip":"2001:db8::1"}
+ {"ip":"2001:DB8:0:0:0:0:0:1"}
+ {"ip":"2001:0db8:ffff:ffff:ffff:ffff:ffff:ffff"}
- {"ip":"2001:db9::1"}
- {"ip":"10.0.0.1"}
EOF
}

@test "evmatch: a plain IP string pattern matches that address" {
	selects '{"ip":["10.0.0.1"]}' <<'EOF'
+ {"ip":"10.0.0.1"}
- {"ip":"10.0.0.2"}
- {"ip":"10.0.0.10"}
EOF
	selects '{"ip":["2001:db8::1"]}' <<'EOF'
+ {"ip":"2001:db8::1"}
+ {"ip":"2001:DB8:0::1"}
- {"ip":"2001:db8::2"}
EOF
}

@test "evmatch: IPv4-mapped IPv6 is IPv4 in hex form only (InetAddress, event-ruler regexes)" {
	selects '{"ip":["10.0.0.1"]}' <<'EOF'
+ {"ip":"::ffff:a00:1"}
+ {"ip":"0:0:0:0:0:FFFF:A00:1"}
+ {"ip":"010.0.0.1"}
- {"ip":"::ffff:10.0.0.1"}
- {"ip":"::a00:1"}
- {"ip":"0000000010.0.0.1"}
EOF
	selects '{"ip":[{"cidr":"10.0.0.0/8"}]}' <<'EOF'
+ {"ip":"::ffff:a00:1"}
- {"ip":"::ffff:10.0.0.1"}
EOF
	selects '{"ip":[{"cidr":"::ffff:a00:0/8"}]}' <<'EOF'
+ {"ip":"10.2.0.1"}
- {"ip":"11.0.0.0"}
EOF
	rejects '{"ip":[{"cidr":"::ffff:a00:0/104"}]}' ip 'IPv4 mask bits must be < 32'
	rejects '{"ip":[{"cidr":"::ffff:10.0.0.0/104"}]}' ip \
	    'Nonstandard IP address: ::ffff:10.0.0.0'
	rejects '{"ip":[{"cidr":"0000000010.0.0.0/8"}]}' ip \
	    'Invalid IP address: 0000000010.0.0.0'
}

@test "evmatch: anything-but an address compares text, so it is no complement of the address" {
	selects '{"ip":[{"anything-but":"10.0.0.1"}]}' <<'EOF'
+ {"ip":"010.0.0.1"}
+ {"ip":"::ffff:a00:1"}
- {"ip":"10.0.0.1"}
EOF
	selects '{"ip":["10.0.0.1",{"anything-but":"10.0.0.1"}]}' <<'EOF'
+ {"ip":"10.0.0.1"}
+ {"ip":"010.0.0.1"}
+ {"ip":"x"}
EOF
	selects '{"ip":[{"exactly":"10.0.0.1"}]}' <<'EOF'
+ {"ip":"10.0.0.1"}
- {"ip":"010.0.0.1"}
EOF
}

@test "evmatch: a number's text walks a cidr block unless the field has a numeric pattern (event-ruler's byte machine)" {
	selects '{"n":[{"cidr":"0.0.0.0/0"}]}' <<'EOF'
+ {"n":1}
+ {"n":5e3}
+ {"n":["x",7]}
- {"n":0.5}
- {"n":-5}
- {"n":true}
EOF
	selects '{"n":[{"cidr":"100.0.0.0/8"}]}' <<'EOF'
+ {"n":64123}
- {"n":6400}
EOF
	selects '{"n":[{"cidr":"0.0.0.0/0"},5]}' <<'EOF'
+ {"n":5}
+ {"n":123456789012345678901}
- {"n":1}
EOF
	selects '{"n":[{"cidr":"0.0.0.0/0"},{"numeric":[">",100]}]}' <<'EOF'
+ {"n":101}
- {"n":1}
EOF
	selects '{"$or":[{"n":[{"cidr":"0.0.0.0/0"}]},{"n":[5]}]}' <<'EOF'
+ {"n":5}
- {"n":1}
EOF
	# a numeric field overridden by a later key is in no branch
	selects '{"$or":[{"x":["1"]},{"n":[5]}],"n":[{"cidr":"0.0.0.0/0"}]}' <<'EOF'
+ {"n":1}
- {"n":0.5}
EOF
}

@test "evmatch: an address is in a block by its hex digits, whatever its family (event-ruler's byte machine)" {
	selects '{"ip":[{"cidr":"10.0.0.0/8"}]}' <<'EOF'
+ {"ip":"a00:1::"}
+ {"ip":"aff:ffff:1::"}
- {"ip":"b00::"}
EOF
	selects '{"ip":["1.2.3.4"]}' <<'EOF'
+ {"ip":"102:304::1"}
- {"ip":"102:305::"}
EOF
	selects '{"ip":[{"cidr":"::/0"}]}' <<'EOF'
+ {"ip":"1.2.3.4"}
+ {"ip":"::"}
- {"ip":"0.0.0.0"}
- {"ip":"255.255.255.255"}
EOF
	selects '{"ip":[{"cidr":"::/8"}]}' <<'EOF'
+ {"ip":"0.0.0.1"}
- {"ip":"0.0.0.0"}
- {"ip":"1.2.3.4"}
EOF
}

# ------------------------------------------------------------- wildcard

@test "evmatch: wildcard * matches any run of characters" {
	selects '{"a":[{"wildcard":"*.png"}]}' <<'EOF'
+ {"a":"a.png"}
+ {"a":".png"}
+ {"a":"dir/a.png"}
- {"a":"a.PNG"}
- {"a":"a.png.gz"}
EOF
	selects '{"a":[{"wildcard":"a*b*c"}]}' <<'EOF'
+ {"a":"abc"}
+ {"a":"aXbYc"}
+ {"a":"abbcbc"}
- {"a":"acb"}
- {"a":"abcd"}
EOF
}

@test "evmatch: wildcard without * is an exact string match, strings only" {
	selects '{"a":[{"wildcard":"abc"}]}' <<'EOF'
+ {"a":"abc"}
- {"a":"abcd"}
EOF
	selects '{"a":[{"wildcard":"1*"}]}' <<'EOF'
+ {"a":"12"}
- {"a":12}
EOF
}

@test "evmatch: wildcard escape backslash-star is a literal star" {
	# JSON "a\\*b" is the wildcard text a\*b.
	selects '{"a":[{"wildcard":"a\\*b"}]}' <<'EOF'
+ {"a":"a*b"}
- {"a":"aXb"}
- {"a":"ab"}
EOF
}

@test "evmatch: wildcard escape backslash-backslash is a literal backslash" {
	# JSON "a\\\\b*" is the wildcard text a\\b*: a, backslash, b, anything.
	selects '{"a":[{"wildcard":"a\\\\b*"}]}' <<'EOF'
+ {"a":"a\\b"}
+ {"a":"a\\bcd"}
- {"a":"ab"}
- {"a":"a\\\\b"}
EOF
}

# ------------------------------------------------------------------ $or

@test "evmatch: \$or at the top level" {
	selects '{"$or":[{"a":["x"]},{"b":["y"]}]}' <<'EOF'
+ {"a":"x"}
+ {"b":"y"}
+ {"a":"x","b":"y"}
- {"a":"y","b":"x"}
- {"$or":"x"}
EOF
}

@test "evmatch: \$or nested in an object" {
	selects '{"detail":{"$or":[{"a":[1]},{"b":[2]}]}}' <<'EOF'
+ {"detail":{"a":1}}
+ {"detail":{"b":2}}
- {"a":1}
- {"detail":{"a":2,"b":1}}
EOF
}

@test "evmatch: \$or is expanded against its siblings, before and after" {
	selects '{"s":["s"],"$or":[{"a":[1]},{"b":[2],"$or":[{"c":[3]},{"d":[4]}]}],"z":[0]}' <<'EOF'
+ {"s":"s","a":1,"z":0}
- {"s":"s","a":1}
- {"a":1,"z":0}
+ {"s":"s","b":2,"c":3,"z":0}
+ {"s":"s","b":2,"d":4,"z":0}
- {"s":"s","b":2,"z":0}
- {"s":"s","c":3,"z":0}
EOF
}

# --------------------------------------------------- array consistency

@test "evmatch: fields matched in one array of objects must come from the same element" {
	selects '{"employees":{"first":["Anna"],"last":["Jones"]}}' <<'EOF'
- {"employees":[{"first":"Anna","last":"Smith"},{"first":"Peter","last":"Jones"}]}
+ {"employees":[{"first":"Peter","last":"Smith"},{"first":"Anna","last":"Jones"}]}
+ {"employees":{"first":"Anna","last":"Jones"}}
EOF
}

@test "evmatch: fields from different arrays combine freely" {
	selects '{"a":{"x":[1]},"b":{"y":[2]}}' <<'EOF'
+ {"a":[{"x":0},{"x":1}],"b":[{"y":2},{"y":3}]}
- {"a":[{"x":0}],"b":[{"y":2}]}
EOF
}

# -------------------------------------------------- invalid patterns

@test "evmatch: pattern error: Filter is not an object" {
	rejects '[1]' '' 'Filter is not an object'
	rejects '"x"' '' 'Filter is not an object'
}

@test "evmatch: pattern error: Empty objects are not allowed" {
	rejects '{"a":{}}' 'a' 'Empty objects are not allowed'
	rejects '{}' '' 'Empty objects are not allowed'
}

@test "evmatch: pattern error: field must be an object or an array" {
	rejects '{"detail":{"a":1}}' 'detail.a' '"a" must be an object or an array'
	rejects '{"a":null}' 'a' '"a" must be an object or an array'
}

@test "evmatch: pattern error: Empty arrays are not allowed" {
	rejects '{"detail":{"a":[]}}' 'detail.a' 'Empty arrays are not allowed'
}

@test "evmatch: pattern error: Match value must be String, number, true, false, or null" {
	rejects '{"a":[[1]]}' 'a' 'Match value must be String, number, true, false, or null'
}

@test "evmatch: pattern error: Match expression name not found" {
	rejects '{"a":[{}]}' 'a' 'Match expression name not found'
}

@test "evmatch: pattern error: Unrecognized match type" {
	rejects '{"a":[{"foo":1}]}' 'a' 'Unrecognized match type foo'
}

@test "evmatch: pattern error: Only one key allowed in match expression" {
	rejects '{"a":[{"prefix":"x","suffix":"y"}]}' 'a' 'Only one key allowed in match expression'
	rejects '{"a":[{"exists":true,"x":1}]}' 'a' 'Only one key allowed in match expression'
	rejects '{"a":[{"prefix":{"equals-ignore-case":"x"},"y":1}]}' 'a' 'Only one key allowed in match expression'
}

@test "evmatch: pattern error: \$or must be an array" {
	rejects '{"$or":{"a":[1]}}' '' 'It must be an Array followed with $or.'
}

@test "evmatch: pattern error: \$or holds only objects" {
	rejects '{"$or":[{"a":[1]},2]}' '' 'Only JSON object is allowed in array of $or relationship.'
}

@test "evmatch: pattern error: \$or needs two objects" {
	rejects '{"$or":[{"a":[1]}]}' '' 'There must have at least 2 Objects in $or relationship.'
}

@test "evmatch: pattern error: reserved field name inside \$or" {
	# the path is that of the object holding the key, as for $or errors
	rejects '{"$or":[{"numeric":[1]},{"b":[2]}]}' '' 'numeric is Ruler reserved fieldName which cannot be used inside $or.'
	rejects '{"x":{"$or":[{"a":[1]},{"prefix":[2]}]}}' 'x' 'prefix is Ruler reserved fieldName which cannot be used inside $or.'
}

@test "evmatch: a reserved word outside \$or is an ordinary field name" {
	selects '{"numeric":[1]}' <<'EOF'
+ {"numeric":1}
EOF
}

@test "evmatch: pattern error: exact match pattern must be a string" {
	rejects '{"a":[{"exactly":33}]}' 'a' 'exact match pattern must be a string'
}

@test "evmatch: exactly matches a string literally" {
	selects '{"a":[{"exactly":"10.0.0.1"}]}' <<'EOF'
+ {"a":"10.0.0.1"}
- {"a":"10.0.0.01"}
EOF
}

@test "evmatch: pattern error: prefix match pattern must be a string" {
	rejects '{"a":[{"prefix":3}]}' 'a' 'prefix match pattern must be a string'
}

@test "evmatch: pattern error: Prefix expression name not found" {
	rejects '{"a":[{"prefix":{}}]}' 'a' 'Prefix expression name not found'
}

@test "evmatch: pattern error: Unsupported prefix pattern" {
	rejects '{"a":[{"prefix":{"foo":"x"}}]}' 'a' 'Unsupported prefix pattern: foo'
}

@test "evmatch: pattern error: suffix match pattern must be a string" {
	rejects '{"a":[{"suffix":["x"]}]}' 'a' 'suffix match pattern must be a string'
}

@test "evmatch: pattern error: Suffix expression name not found" {
	rejects '{"a":[{"suffix":{}}]}' 'a' 'Suffix expression name not found'
}

@test "evmatch: pattern error: Unsupported suffix pattern" {
	rejects '{"a":[{"suffix":{"wildcard":"x"}}]}' 'a' 'Unsupported suffix pattern: wildcard'
}

@test "evmatch: pattern error: equals-ignore-case match pattern must be a string" {
	rejects '{"a":[{"equals-ignore-case":5}]}' 'a' 'equals-ignore-case match pattern must be a string'
	rejects '{"a":[{"prefix":{"equals-ignore-case":["x"]}}]}' 'a' 'equals-ignore-case match pattern must be a string'
}

@test "evmatch: pattern error: wildcard match pattern must be a string" {
	rejects '{"a":[{"wildcard":5}]}' 'a' 'wildcard match pattern must be a string'
}

@test "evmatch: pattern error: ** is rejected (Consecutive wildcard characters)" {
	# pos counts bytes of the value with its opening quote: "a** -> 2
	rejects '{"a":[{"wildcard":"a**"}]}' 'a' 'Consecutive wildcard characters at pos 2'
	rejects '{"a":[{"wildcard":"**"}]}' 'a' 'Consecutive wildcard characters at pos 1'
	rejects '{"a":[{"wildcard":"é**"}]}' 'a' 'Consecutive wildcard characters at pos 3'
}

@test "evmatch: pattern error: Invalid escape character in a wildcard" {
	# wildcard text a\b, then a trailing backslash ab\
	rejects '{"a":[{"wildcard":"a\\b"}]}' 'a' 'Invalid escape character at pos 2'
	rejects '{"a":[{"wildcard":"ab\\"}]}' 'a' 'Invalid escape character at pos 3'
}

@test "evmatch: pattern error: exists match pattern must be either true or false" {
	rejects '{"a":[{"exists":"true"}]}' 'a' 'exists match pattern must be either true or false.'
}

@test "evmatch: pattern error: Value of numeric must be an array" {
	rejects '{"a":[{"numeric":5}]}' 'a' 'Value of numeric must be an array.'
}

@test "evmatch: pattern error: Invalid member in numeric match" {
	rejects '{"a":[{"numeric":[5]}]}' 'a' 'Invalid member in numeric match: 5'
	rejects '{"a":[{"numeric":[]}]}' 'a' 'Invalid member in numeric match: ]'
}

@test "evmatch: pattern error: Unrecognized numeric range operator" {
	rejects '{"a":[{"numeric":["==",5]}]}' 'a' 'Unrecognized numeric range operator: =='
}

@test "evmatch: pattern error: Value of OP must be numeric" {
	rejects '{"a":[{"numeric":[">=","5"]}]}' 'a' 'Value of >= must be numeric'
	# "=" is spelled out in this one message
	rejects '{"a":[{"numeric":["="]}]}' 'a' 'Value of equals must be numeric'
	rejects '{"a":[{"numeric":[">",0,"<"]}]}' 'a' 'Value of < must be numeric'
}

@test "evmatch: pattern error: Too many elements in numeric expression" {
	rejects '{"a":[{"numeric":["=",5,6]}]}' 'a' 'Too many elements in numeric expression'
	rejects '{"a":[{"numeric":["<",5,">",0]}]}' 'a' 'Too many elements in numeric expression'
}

@test "evmatch: pattern error: a second key after anything-but reuses the numeric message" {
	rejects '{"a":[{"anything-but":"x","y":1}]}' 'a' 'Too many elements in numeric expression'
	rejects '{"a":[{"anything-but":{"prefix":"x","y":1}}]}' 'a' 'Too many elements in numeric expression'
}

@test "evmatch: pattern error: Bad value in numeric range" {
	rejects '{"a":[{"numeric":[">",0,5]}]}' 'a' 'Bad value in numeric range: 5'
}

@test "evmatch: pattern error: Bad numeric range operator" {
	rejects '{"a":[{"numeric":[">",0,">",5]}]}' 'a' 'Bad numeric range operator: >'
}

@test "evmatch: pattern error: Too many terms in numeric range expression" {
	rejects '{"a":[{"numeric":[">",0,"<",5,6]}]}' 'a' 'Too many terms in numeric range expression'
}

@test "evmatch: pattern error: Bottom must be less than top" {
	rejects '{"a":[{"numeric":[">",5,"<",5]}]}' 'a' 'Bottom must be less than top'
	rejects '{"a":[{"numeric":[">=",0,"<=",0]}]}' 'a' 'Bottom must be less than top'
	rejects '{"a":[{"numeric":[">=",30,"<=",1]}]}' 'a' 'Bottom must be less than top'
}

@test "evmatch: pattern error: Cannot compare number (not exactly a double)" {
	rejects '{"a":[{"numeric":["<",123456789012345678901]}]}' 'a' 'Cannot compare number : 123456789012345678901'
	rejects '{"a":[{"anything-but":[1,123456789012345678901]}]}' 'a' 'Cannot compare number : 123456789012345678901'
}

@test "evmatch: pattern error: Anything-But expression name not found" {
	rejects '{"a":[{"anything-but":{}}]}' 'a' 'Anything-But expression name not found'
}

@test "evmatch: pattern error: Unsupported anything-but pattern" {
	rejects '{"a":[{"anything-but":{"numeric":[">",1]}}]}' 'a' 'Unsupported anything-but pattern: numeric'
}

@test "evmatch: pattern error: Value of anything-but must be an array or single string/number value" {
	rejects '{"a":[{"anything-but":true}]}' 'a' 'Value of anything-but must be an array or single string/number value.'
	rejects '{"a":[{"anything-but":{"prefix":null}}]}' 'a' 'Value of anything-but must be an array or single string/number value.'
}

@test "evmatch: pattern error: anything-but list with null or boolean" {
	rejects '{"a":[{"anything-but":["x",null]}]}' 'a' 'Inside anything but list, start|null|boolean is not supported.'
}

@test "evmatch: pattern error: anything-but list of mixed types" {
	rejects '{"a":[{"anything-but":["x",1]}]}' 'a' 'Inside anything but list, either all values are number or string, mixed type is not supported'
	rejects '{"a":[{"anything-but":[]}]}' 'a' 'Inside anything but list, either all values are number or string, mixed type is not supported'
}

@test "evmatch: pattern error: Null prefix/suffix not allowed" {
	rejects '{"a":[{"anything-but":{"prefix":""}}]}' 'a' 'Null prefix/suffix not allowed'
	rejects '{"a":[{"anything-but":{"suffix":["x",""]}}]}' 'a' 'Null prefix/suffix not allowed'
}

@test "evmatch: pattern error: anything-but prefix/suffix list of non-strings" {
	rejects '{"a":[{"anything-but":{"suffix":[1]}}]}' 'a' 'prefix/suffix match pattern must be a string'
}

@test "evmatch: pattern error: anything-but equals-ignore-case list of non-strings" {
	rejects '{"a":[{"anything-but":{"equals-ignore-case":[1]}}]}' 'a' 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.'
}

@test "evmatch: pattern error: anything-but wildcard" {
	rejects '{"a":[{"anything-but":{"wildcard":[1]}}]}' 'a' 'wildcard match pattern must be a string'
	rejects '{"a":[{"anything-but":{"wildcard":"a**"}}]}' 'a' 'Consecutive wildcard characters at pos 2'
}

@test "evmatch: pattern error: Malformed CIDR" {
	rejects '{"a":[{"cidr":"10.0.0.0"}]}' 'a' "Malformed CIDR, one '/' required"
	rejects '{"a":[{"cidr":"10.0.0.0/x"}]}' 'a' 'Malformed CIDR, mask bits must be an integer'
	rejects '{"a":[{"cidr":"10.0.0.0/-1"}]}' 'a' 'Malformed CIDR, mask bits must not be negative'
}

@test "evmatch: pattern error: CIDR with a bad address" {
	rejects '{"a":[{"cidr":"foo/8"}]}' 'a' 'Nonstandard IP address: foo'
	rejects '{"a":[{"cidr":"999.1.1.1/8"}]}' 'a' 'Invalid IP address: 999.1.1.1'
}

@test "evmatch: pattern error: CIDR mask bits too large (/32, /128 rejected)" {
	rejects '{"a":[{"cidr":"10.0.0.1/32"}]}' 'a' 'IPv4 mask bits must be < 32'
	rejects '{"a":[{"cidr":"::1/128"}]}' 'a' 'IPv6 mask bits must be < 128'
}

@test "evmatch: pattern error: a non-string cidr has event-ruler's prefix message" {
	rejects '{"a":[{"cidr":5}]}' 'a' 'prefix match pattern must be a string'
}

# Scores from event-ruler 337e8d99's MachineComplexityEvaluator on a machine
# holding the rule's wildcard sub-rules (doc/event-ruler-semantics.md).
toocomplex='Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard'

# evmatch -t must accept every PATTERN given, silently.
accepts() {
	local p
	for p; do
		run -0 --separate-stderr evmatch -t "$p" </dev/null
		[ -z "$output" ] && [ -z "$stderr" ] || {
			echo "refused: $p: $stderr"
			return 1
		}
	done
}

@test "evmatch: wildcard complexity: a score of 10 is accepted" {
	accepts \
	    '{"a":[{"wildcard":"*a*a*a*a*a"}]}' \
	    '{"a":[{"wildcard":"*é*é*é*é*é"}]}' \
	    '{"a":[{"wildcard":"*x*"},{"wildcard":"*y*"},{"wildcard":"*z*"}]}' \
	    '{"a":[{"wildcard":"*/*/*/*/*"}]}'
}

@test "evmatch: wildcard complexity: typical patterns are accepted" {
	accepts \
	    '{"source":["aws.s3"],"detail":{"object":{"key":[{"wildcard":"uploads/*/*.png"}]}}}' \
	    '{"a":[{"wildcard":"arn:aws:s3:::*/*.png"}]}' \
	    '{"a":[{"wildcard":"*x*"}],"b":[{"wildcard":"*y*"}],"c":[{"wildcard":"*z*"}],"d":[{"wildcard":"*w*"}]}' \
	    '{"a":[{"wildcard":"*/*/*"}],"$or":[{"b":["1"]},{"b":["2"]},{"b":["3"]}]}' \
	    '{"a":[{"exists":false}],"b":[{"wildcard":"*a*a*a*a*a*"}]}'
}

@test "evmatch: wildcard complexity: a score above 10 is refused" {
	# 11
	rejects '{"a":[{"wildcard":"*a*a*a*a*a*"}]}' '' "$toocomplex"
	rejects '{"a":[{"wildcard":"a*a*a*a*a*a*"}]}' '' "$toocomplex"
	rejects '{"a":[{"wildcard":"*é*é*é*é*é*"}]}' '' "$toocomplex"
	rejects '{"a":[{"wildcard":"*ab*ab*ab*ab*ab*"}]}' '' "$toocomplex"
	rejects '{"a":[{"anything-but":{"wildcard":"*a*a*a*a*a*"}}]}' '' "$toocomplex"
	rejects '{"a":[{"anything-but":{"wildcard":["*a*a*a*a*a","*b*"]}}]}' '' "$toocomplex"
	rejects '{"detail":{"key":[{"wildcard":"*a*a*a*a*a*"}]}}' '' "$toocomplex"
	rejects '{"a":[{"exists":false},"x"],"b":[{"wildcard":"*a*a*a*a*a*"}]}' '' "$toocomplex"
	# a wildcard repeated by $or is walked again: 6 becomes 11
	rejects '{"a":[{"wildcard":"*a*a*a"}],"$or":[{"b":["1"]},{"b":["2"]}]}' '' "$toocomplex"
	# 12, 15
	rejects '{"a":[{"wildcard":"*x*"},{"wildcard":"*y*"},{"wildcard":"*z*"},{"wildcard":"*w*"}]}' '' "$toocomplex"
	rejects '{"a":[{"wildcard":"*aa*aa*aa*aa*aa"}]}' '' "$toocomplex"
}

@test "evmatch: wildcard complexity is checked in rule files too, at the rule" {
	cat >rules.ndjson <<'EOF'
{"name":"ok","pattern":{"a":[{"wildcard":"*a*"}]}}
{"name":"busy","pattern":{"a":[{"wildcard":"*a*a*a*a*a*"}]}}
EOF
	run -2 --separate-stderr evmatch -t -f rules.ndjson </dev/null
	[ "$output" = "" ]
	[[ $stderr =~ ^evmatch:\ rules\.ndjson:2:[0-9]+:\ invalid\ pattern:\ Rule\ is\ too\ complex ]]
}

@test "evmatch: invalid JSON in a pattern is located in <pattern>" {
	run -2 --separate-stderr evmatch -t '{"a":[' </dev/null
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr =~ ^'evmatch: <pattern>:1:'[0-9]+': '.+$ ]]
}

@test "evmatch: an invalid pattern in a rule file is located in the file" {
	printf '%s\n' '{"name":"ok","pattern":{"a":["x"]}}' \
	    '{"name":"bad","pattern":{"a":[]}}' >rules.ndjson
	run -2 --separate-stderr evmatch -t -f rules.ndjson </dev/null
	[ -z "$output" ]
	[[ $stderr =~ ^'evmatch: rules.ndjson:2:'[0-9]+": invalid pattern at 'a': Empty arrays are not allowed"$ ]]
}

@test "evmatch: an invalid pattern stops evmatch before it reads input" {
	run -2 --separate-stderr evmatch '{"a":[]}' <<<'{"a":"x"}'
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
}

# ----------------------------------------------------- exit status

@test "evmatch: exit 0 when a line is selected, 1 when none is" {
	run -0 --separate-stderr evmatch '{"a":["x"]}' <<<'{"a":"x"}'
	[ "$output" = '{"a":"x"}' ]
	run -1 --separate-stderr evmatch '{"a":["x"]}' <<<'{"a":"y"}'
	[ -z "$output" ] && [ -z "$stderr" ]
	run -1 --separate-stderr evmatch '{"a":["x"]}' </dev/null
	[ -z "$output" ] && [ -z "$stderr" ]
}

@test "evmatch: an error wins over 1 (nothing selected)" {
	run -2 --separate-stderr evmatch '{"a":["x"]}' <<<'{"a":'
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
}

@test "evmatch: processing goes on after a bad line and the exit status is 2" {
	printf '%s\n' '{"a":"x","n":1}' 'nonsense' '{"a":"y"}' '{"a":"x","n":2}' >in
	run -2 --separate-stderr evmatch '{"a":["x"]}' in
	[ "$output" = $'{"a":"x","n":1}\n{"a":"x","n":2}' ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr =~ ^'evmatch: in:2:'[0-9]+': invalid JSON: '.+$ ]]
}

# ----------------------------------------------------------- options

@test "evmatch: -c counts selected lines over the whole run" {
	printf '%s\n' '{"a":"x"}' '{"a":"y"}' '{"a":"x"}' >f1
	printf '%s\n' '{"a":"x"}' >f2
	run -0 --separate-stderr evmatch -c '{"a":["x"]}' f1 f2
	[ "$output" = 3 ] && [ -z "$stderr" ]
	run -1 --separate-stderr evmatch -c '{"a":["z"]}' f1 f2
	[ "$output" = 0 ] && [ -z "$stderr" ]
}

@test "evmatch: -c prints no count after a fatal error" {
	run -2 --separate-stderr evmatch -c --reject=nodir/rej '{"a":["x"]}' <<<'{"a":"x"}'
	[ -z "$output" ]
	[ "$stderr" = 'evmatch: nodir/rej: No such file or directory' ]
}

@test "evmatch: -q prints nothing and exits 0 at the first selected line" {
	printf '%s\n' '{"a":"y"}' '{"a":"x"}' 'not json' '[1]' >in
	run -0 --separate-stderr evmatch -q '{"a":["x"]}' in
	[ -z "$output" ] && [ -z "$stderr" ]
	run -1 --separate-stderr evmatch -q '{"a":["z"]}' <<<'{"a":"x"}'
	[ -z "$output" ] && [ -z "$stderr" ]
}

@test "evmatch: -q stops reading at the first match (endless input)" {
	run -0 --separate-stderr timeout 10 sh -c \
	    'yes "{\"a\":\"x\"}" | evmatch -q "{\"a\":[\"x\"]}"'
	[ -z "$output" ] && [ -z "$stderr" ]
}

@test "evmatch: -v selects the lines that match no rule" {
	printf '%s\n' '{"a":"x"}' '{"a":"y"}' '{"b":1}' >in
	run -0 --separate-stderr evmatch -v '{"a":["x"]}' in
	[ "$output" = $'{"a":"y"}\n{"b":1}' ] && [ -z "$stderr" ]
	run -1 --separate-stderr evmatch -v '{"a":[{"exists":true}]}' <<<'{"a":1}'
	[ -z "$output" ] && [ -z "$stderr" ]
}

@test "evmatch: -v never selects a bad line" {
	printf '%s\n' '{"a":"y"}' '{"a":' >in
	run -2 --separate-stderr evmatch -v '{"a":["x"]}' in
	[ "$output" = '{"a":"y"}' ]
	[ "${#stderr_lines[@]}" -eq 1 ]
}

@test "evmatch: -n prefixes FILE:LINE:, counting blank lines, <stdin> for stdin" {
	printf '\n{"a":"x"}\n\n{"a":"y"}\n{"a":"x","n":2}\n' >in
	run -0 --separate-stderr evmatch -n '{"a":["x"]}' in
	[ "$output" = $'in:2:{"a":"x"}\nin:5:{"a":"x","n":2}' ]
	run -0 --separate-stderr evmatch -n '{"a":["x"]}' <in
	[ "$output" = $'<stdin>:2:{"a":"x"}\n<stdin>:5:{"a":"x","n":2}' ]
}

@test "evmatch: -N prefixes the matched rule names, comma-joined, then a TAB" {
	printf '%s\n' '{"name":"r1","pattern":{"a":["x"]}}' \
	    '{"name":"r2","pattern":{"b":[{"exists":true}]}}' >rules.ndjson
	printf '%s\n' '{"a":"x","b":1}' '{"b":2}' '{"a":"x"}' '{"c":3}' >in
	run -0 --separate-stderr evmatch -N -f rules.ndjson in
	[ "$output" = $'r1,r2\t{"a":"x","b":1}\nr2\t{"b":2}\nr1\t{"a":"x"}' ]
	[ -z "$stderr" ]
}

@test "evmatch: -N names a PATTERN operand 'pattern'" {
	run -0 --separate-stderr evmatch -N '{"a":["x"]}' <<<'{"a":"x"}'
	[ "$output" = $'pattern\t{"a":"x"}' ]
}

@test "evmatch: -n with -N puts FILE:LINE: first" {
	printf '%s\n' '{"a":"y"}' '{"a":"x"}' >in
	run -0 --separate-stderr evmatch -nN '{"a":["x"]}' in
	[ "$output" = $'in:2:pattern\t{"a":"x"}' ]
}

@test "evmatch: -N and --explain escape rule names holding a newline, tab, comma or backslash" {
	long=$(printf 'r%.0s' {1..70})
	printf '%s\n' '{"name":"a\nb","pattern":{"a":["x"]}}' \
	    '{"name":"t\tc,d\\e\u0001","pattern":{"a":["x"]}}' \
	    "{\"name\":\"$long\",\"pattern\":{\"a\":[\"x\"]}}" >rules.ndjson
	run -0 --separate-stderr evmatch -N -f rules.ndjson <<<'{"a":"x"}'
	[ "$output" = "a\\nb,t\\tc\\x2cd\\\\e\\x01,$long"$'\t{"a":"x"}' ]
	[ -z "$stderr" ]
	run -1 --separate-stderr evmatch --explain -f rules.ndjson <<<'{"a":"y"}'
	[ "${#lines[@]}" -eq 3 ]
	[[ ${lines[0]} == '<stdin>:1: a\nb: '* ]]
	[[ ${lines[1]} == '<stdin>:1: t\tc\x2cd\\e\x01: '* ]]
	[[ ${lines[2]} == "<stdin>:1: $long: "* ]]
}

@test "evmatch: -N escapes names from CloudFormation logical ids and file names" {
	printf '{"Resources":{"%s":{"Type":"AWS::Events::Rule","Properties":{"EventPattern":{"a":["x"]}}}}}\n' \
	    "$(printf 'L%.0s' {1..255})" >t.json
	run -0 --separate-stderr evmatch -N -f t.json <<<'{"a":"x"}'
	[ "$output" = "$(printf 'L%.0s' {1..255})"$'\t{"a":"x"}' ]
	printf '%s\n' '{"a":["x"]}' >'p,1.json'
	run -0 --separate-stderr evmatch -N -f 'p,1.json' <<<'{"a":"x"}'
	[ "$output" = 'p\x2c1.json'$'\t{"a":"x"}' ]
}

@test "evmatch: -t checks the patterns without reading input" {
	run -0 --separate-stderr evmatch -t '{"a":[{"numeric":[">",0,"<",1]}]}' </dev/null
	[ -z "$output" ] && [ -z "$stderr" ]
	printf '%s\n' '{"name":"a","pattern":{"a":["x"]}}' >rules.ndjson
	run -0 --separate-stderr evmatch -t -f rules.ndjson </dev/null
	[ -z "$output" ] && [ -z "$stderr" ]
}

@test "evmatch: several -f files: a line is selected when any rule matches" {
	printf '%s\n' '{"a":["x"]}' >a.json
	printf '%s\n' '{"b":["y"]}' >b.json
	printf '%s\n' '{"a":"x"}' '{"b":"y"}' '{"a":"y","b":"x"}' '{"a":"x","b":"y"}' >in
	run -0 --separate-stderr evmatch -N -f a.json -f b.json in
	[ "$output" = $'a.json\t{"a":"x"}\nb.json\t{"b":"y"}\na.json,b.json\t{"a":"x","b":"y"}' ]
	[ -z "$stderr" ]
}

@test "evmatch: with -f every operand is an input file" {
	printf '%s\n' '{"a":["x"]}' >p.json
	printf '%s\n' '{"a":"x"}' >in
	run -0 --separate-stderr evmatch -f p.json in
	[ "$output" = '{"a":"x"}' ] && [ -z "$stderr" ]
}

@test "evmatch: --explain prints FILE:LINE: RULE: REASON for each non-matching event" {
	printf '%s\n' '{"detail":{"state":"pending"}}' '{"detail":{"state":"running"}}' >in
	# The reason's wording is not pinned; its shape and the field are.
	run --separate-stderr evmatch --explain '{"detail":{"state":["running"]}}' <in
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == '<stdin>:1: pattern: '* ]]
	[[ ${lines[0]} == *detail.state* ]]
	[ -z "$stderr" ]
}

@test "evmatch: --max-line-bytes accepts a line of exactly SIZE bytes, rejects SIZE+1" {
	# {"a":"xxxxxxxx"} is 16 bytes
	printf '%s\n' '{"a":"xxxxxxxx"}' '{"a":"xxxxxxxxx"}' '{"a":"x"}' >in
	run -2 --separate-stderr evmatch --max-line-bytes=16 '{"a":[{"prefix":"x"}]}' <in
	[ "$output" = $'{"a":"xxxxxxxx"}\n{"a":"x"}' ]
	[ "$stderr" = 'evmatch: <stdin>:2: line too long (more than 16 bytes)' ]
}

@test "evmatch: --max-line-bytes takes K, M and G suffixes" {
	run -0 --separate-stderr evmatch --max-line-bytes 1K '{"a":["x"]}' <<<'{"a":"x"}'
	[ "$output" = '{"a":"x"}' ] && [ -z "$stderr" ]
	head -c 1100 /dev/zero | tr '\0' x | sed 's/^/{"a":"/; s/$/"}/' >in
	run -2 --separate-stderr evmatch --max-line-bytes=1K '{"a":["x"]}' in
	[ "$stderr" = 'evmatch: in:1: line too long (more than 1024 bytes)' ]
}

@test "evmatch: --max-line-bytes with a bad size is a usage error" {
	run -2 --separate-stderr evmatch --max-line-bytes=12Q '{"a":["x"]}' </dev/null
	[ -z "$output" ]
	[[ ${stderr_lines[0]} == "evmatch: --max-line-bytes: invalid size '12Q': "* ]]
	run -2 --separate-stderr evmatch --max-line-bytes=0 '{"a":["x"]}' </dev/null
	[ "${stderr_lines[0]}" = "evmatch: invalid --max-line-bytes '0': expected at least 1 byte" ]
}

@test "evmatch: --reject=FILE receives the raw bad lines (file truncated)" {
	printf 'old contents\n' >rej
	printf '%s\n' '{"a":"x"}' '{"a":' '[1]' '{"a":"yyyyyyyyyyyyyyyyyyyyyyyy"}' '{"a":"z"}' >in
	run -2 --separate-stderr evmatch --max-line-bytes=20 --reject=rej '{"a":[{"exists":true}]}' in
	[ "$output" = $'{"a":"x"}\n{"a":"z"}' ]
	[ "${#stderr_lines[@]}" -eq 3 ]
	printf '%s\n' '{"a":' '[1]' '{"a":"yyyyyyyyyyyyyyyyyyyyyyyy"}' >want
	cmp rej want
}

@test "evmatch: --reject keeps invalid UTF-8 lines byte for byte" {
	printf '{"a":"\xff"}\n{"a":"x"}\n' >in
	run -2 --separate-stderr evmatch --reject rej '{"a":["x"]}' in
	[ "$output" = '{"a":"x"}' ]
	printf '{"a":"\xff"}\n' >want
	cmp rej want
}

# --------------------------------------------------------- bad input lines

@test "evmatch: invalid JSON is reported with its line and column" {
	printf '%s\n' '{"a":"x"}' '{"a":"x",}' >in
	run -2 --separate-stderr evmatch '{"a":["x"]}' <in
	[ "$output" = '{"a":"x"}' ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr =~ ^'evmatch: <stdin>:2:'[0-9]+': invalid JSON: '.+$ ]]
}

@test "evmatch: a line that is not an object is reported" {
	printf '%s\n' '{"a":"x"}' '["a"]' '5' >in
	run -2 --separate-stderr evmatch '{"a":["x"]}' <in
	[ "$output" = '{"a":"x"}' ]
	[ "$stderr" = $'evmatch: <stdin>:2:1: not a JSON object\nevmatch: <stdin>:3:1: not a JSON object' ]
}

@test "evmatch: invalid UTF-8 is a bad line even in a field no rule reads" {
	printf '{"b":"\xff","a":"x"}\n{"a":"x"}\n' >in
	run -2 --separate-stderr evmatch '{"a":["x"]}' <in
	[ "$output" = '{"a":"x"}' ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr =~ ^'evmatch: <stdin>:1:'[0-9]+': '.*'UTF-8' ]]
}

@test "evmatch: a line holding trailing garbage after the object is bad" {
	printf '%s\n' '{"a":"x"} {"a":"x"}' >in
	run -2 --separate-stderr evmatch '{"a":["x"]}' <in
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr =~ ^'evmatch: <stdin>:1:'[0-9]+': invalid JSON: '.+$ ]]
}

# ---------------------------------------------------- lines and files

@test "evmatch: CRLF line ends are accepted" {
	printf '{"a":"x"}\r\n{"a":"y"}\r\n' >in
	run -0 --separate-stderr evmatch -n '{"a":["x"]}' in
	[ "$output" = 'in:1:{"a":"x"}' ] && [ -z "$stderr" ]
}

@test "evmatch: blank lines are skipped" {
	printf '\n\n{"a":"x"}\n\n' >in
	run -0 --separate-stderr evmatch '{"a":["x"]}' in
	[ "$output" = '{"a":"x"}' ] && [ -z "$stderr" ]
	run -1 --separate-stderr evmatch -v '{"a":["x"]}' in
	[ -z "$output" ] && [ -z "$stderr" ]
}

@test "evmatch: a last line without a newline is read and printed with one" {
	printf '{"a":"y"}\n{"a":"x"}' >in
	evmatch '{"a":["x"]}' in >out
	printf '{"a":"x"}\n' >want
	cmp out want
}

@test "evmatch: file operands and - are read in order" {
	printf '%s\n' '{"a":"x","f":1}' >f1
	printf '%s\n' '{"a":"x","f":2}' >f2
	run -0 --separate-stderr evmatch -n '{"a":["x"]}' f1 - f2 <<<'{"a":"x","f":"stdin"}'
	[ "$output" = $'f1:1:{"a":"x","f":1}\n<stdin>:1:{"a":"x","f":"stdin"}\nf2:1:{"a":"x","f":2}' ]
}

@test "evmatch: a missing file is reported and the others are read" {
	printf '%s\n' '{"a":"x"}' >f1
	run -2 --separate-stderr evmatch '{"a":["x"]}' nosuch f1
	[ "$output" = '{"a":"x"}' ]
	[ "$stderr" = 'evmatch: nosuch: No such file or directory' ]
}

@test "evmatch: a missing pattern file is an error" {
	run -2 --separate-stderr evmatch -f nosuch.json </dev/null
	[ -z "$output" ]
	[ "$stderr" = 'evmatch: nosuch.json: No such file or directory' ]
}

# ------------------------------------------------------------- output

@test "evmatch: selected lines are output byte for byte" {
	evmatch '{"source":["aws.ec2"]}' "$D/bytes.in" >out
	cmp out "$D/bytes.out"
}

@test "evmatch: a write error on stdout exits 2" {
	printf '%s\n' '{"a":"x"}' >in
	run -2 --separate-stderr sh -c 'evmatch "{\"a\":[\"x\"]}" in >/dev/full'
	[ "$stderr" = "evmatch: write error on '<stdout>': No space left on device" ]
}

@test "evmatch: a closed pipe ends evmatch quietly" {
	yes '{"a":"x"}' | head -n 300000 >big
	run --separate-stderr timeout 10 bash -c \
	    'evmatch "{\"a\":[\"x\"]}" big | head -n 1; exit "${PIPESTATUS[0]}"'
	# killed by SIGPIPE (141) or a quiet exit 0; never the error status
	[ "$status" -eq 0 ] || [ "$status" -eq 141 ]
	[ "$output" = '{"a":"x"}' ]
	[ -z "$stderr" ]
}

# ------------------------------------------------------ usage and info

@test "evmatch: no operand is a usage error" {
	run -2 --separate-stderr evmatch </dev/null
	[ -z "$output" ]
	[ "${stderr_lines[-2]}" = 'usage: evmatch [-cNnqtv] [-j JOBS] [--explain] [--max-line-bytes SIZE] [--reject FILE]' ]
	[[ ${stderr_lines[-1]} =~ ^\ +\{PATTERN\ \|\ -f\ PATTERNFILE\ \.\.\.\}\ \[FILE\ \.\.\.\]$ ]]
}

@test "evmatch: an unknown option is a usage error" {
	run -2 --separate-stderr evmatch -z '{"a":["x"]}' </dev/null
	[ -z "$output" ]
	[[ ${stderr_lines[0]} == evmatch:\ * ]]
	[[ ${stderr_lines[0]} == *z* ]]
	[ "${stderr_lines[-2]}" = 'usage: evmatch [-cNnqtv] [-j JOBS] [--explain] [--max-line-bytes SIZE] [--reject FILE]' ]
	run -2 --separate-stderr evmatch --bogus '{"a":["x"]}' </dev/null
	[[ ${stderr_lines[0]} == evmatch:\ *bogus* ]]
}

@test "evmatch: an option missing its argument is a usage error" {
	run -2 --separate-stderr evmatch -f </dev/null
	[ -z "$output" ]
	[[ ${stderr_lines[0]} == evmatch:\ * ]]
	[ "${stderr_lines[-2]}" = 'usage: evmatch [-cNnqtv] [-j JOBS] [--explain] [--max-line-bytes SIZE] [--reject FILE]' ]
}

@test "evmatch: --help prints the usage on stdout and exits 0" {
	run -0 --separate-stderr evmatch --help
	[ "${lines[0]}" = 'usage: evmatch [-cNnqtv] [-j JOBS] [--explain] [--max-line-bytes SIZE] [--reject FILE]' ]
	[ -z "$stderr" ]
	run -0 --separate-stderr evmatch -h
	[ "${lines[0]}" = 'usage: evmatch [-cNnqtv] [-j JOBS] [--explain] [--max-line-bytes SIZE] [--reject FILE]' ]
}

@test "evmatch: --version" {
	run -0 --separate-stderr evmatch --version
	[ "$output" = 'evmatch (evkit) 0.1.0' ] && [ -z "$stderr" ]
}

@test "evmatch: --help and --version to a full disk exit 2 with the write error" {
	for o in --help -h --version; do
		run -2 --separate-stderr sh -c "evmatch $o >/dev/full"
		[ "$stderr" = "evmatch: write error on '<stdout>': No space left on device" ]
	done
}

@test "evmatch: --explain with -c, -q or -v is a usage error" {
	for o in c q v; do
		run -2 --separate-stderr evmatch --explain -$o '{"a":["x"]}' <<<'{"a":"y"}'
		[ -z "$output" ]
		[ "${stderr_lines[0]}" = "evmatch: options '--explain' and '-$o' cannot be used together" ]
		[ "${stderr_lines[1]}" = 'usage: evmatch [-cNnqtv] [-j JOBS] [--explain] [--max-line-bytes SIZE] [--reject FILE]' ]
	done
}

@test "evmatch: a PATTERN operand naming a file gets a hint at -f" {
	printf '%s\n' '{"a":["x"]}' >rules.json
	run -2 --separate-stderr evmatch rules.json events <<<'{"a":"x"}'
	[ -z "$output" ]
	[ "$stderr" = $'evmatch: <pattern>:1:1: invalid JSON: invalid literal\nevmatch: \'rules.json\' is a file: did you mean -f \'rules.json\'?' ]
	# no hint when no such file exists, or for a directory
	mkdir dir.json
	run -2 --separate-stderr evmatch nosuch.json </dev/null
	[[ $stderr =~ ^'evmatch: <pattern>:1:'[0-9]+': invalid JSON: '[a-z\ ]+$ ]]
	run -2 --separate-stderr evmatch dir.json </dev/null
	[[ $stderr =~ ^'evmatch: <pattern>:1:'[0-9]+': invalid JSON: '[a-z\ ]+$ ]]
}

# ------------------------------------------------- pattern file shapes

@test "evmatch: -f with one pattern, named by the file name as given" {
	cat >p.json <<'EOF'
{
  "source": ["aws.ec2"],
  "detail": { "state": ["running"] }
}
EOF
	mkdir d && cp p.json d/q.json
	printf '%s\n' '{"source":"aws.ec2","detail":{"state":"running"}}' '{"source":"aws.ec2"}' >in
	run -0 --separate-stderr evmatch -N -f p.json -f d/q.json in
	[ "$output" = $'p.json,d/q.json\t{"source":"aws.ec2","detail":{"state":"running"}}' ]
	[ -z "$stderr" ]
}

@test "evmatch: -f with a JSON array of named rules (object or string patterns)" {
	cat >rules.json <<'EOF'
[
  {"name": "ec2", "pattern": {"source": ["aws.ec2"]}},
  {"name": "s3", "pattern": "{\"source\": [\"aws.s3\"]}"},
  {"pattern": {"source": [{"prefix": "aws."}]}}
]
EOF
	printf '%s\n' '{"source":"aws.ec2"}' '{"source":"aws.s3"}' '{"source":"aws.sns"}' '{"source":"x"}' >in
	run -0 --separate-stderr evmatch -N -f rules.json in
	[ "$output" = $'ec2,rules.json:3\t{"source":"aws.ec2"}\ns3,rules.json:3\t{"source":"aws.s3"}\nrules.json:3\t{"source":"aws.sns"}' ]
	[ -z "$stderr" ]
}

@test "evmatch: -f with NDJSON named rules" {
	printf '%s\n' '{"name":"ec2","pattern":{"source":["aws.ec2"]}}' \
	    '{"name":"any","pattern":"{\"source\":[{\"exists\":true}]}"}' \
	    '{"pattern":{"source":["aws.s3"]}}' >rules.ndjson
	printf '%s\n' '{"source":"aws.ec2"}' '{"source":"aws.s3"}' '{"x":1}' >in
	run -0 --separate-stderr evmatch -N -f rules.ndjson in
	[ "$output" = $'ec2,any\t{"source":"aws.ec2"}\nany,rules.ndjson:3\t{"source":"aws.s3"}' ]
	[ -z "$stderr" ]
}

@test "evmatch: -f with a CloudFormation template uses its AWS::Events::Rule resources" {
	cat >template.json <<'EOF'
{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Description": "rules",
  "Resources": {
    "Topic": {
      "Type": "AWS::SNS::Topic",
      "Properties": { "EventPattern": { "source": ["aws.sns"] } }
    },
    "Ec2StateRule": {
      "Type": "AWS::Events::Rule",
      "Properties": {
        "EventBusName": "default",
        "EventPattern": { "source": ["aws.ec2"], "detail": { "state": ["running"] } },
        "State": "ENABLED",
        "Targets": [ { "Arn": { "Ref": "Topic" }, "Id": "t" } ]
      }
    },
    "S3Rule": {
      "Type": "AWS::Events::Rule",
      "Properties": { "EventPattern": { "source": ["aws.s3"] } }
    }
  }
}
EOF
	printf '%s\n' '{"source":"aws.ec2","detail":{"state":"running"}}' \
	    '{"source":"aws.s3"}' '{"source":"aws.sns"}' '{"source":"aws.ec2"}' >in
	run -0 --separate-stderr evmatch -N -f template.json in
	[ "$output" = $'Ec2StateRule\t{"source":"aws.ec2","detail":{"state":"running"}}\nS3Rule\t{"source":"aws.s3"}' ]
	[ -z "$stderr" ]
}

@test "evmatch: -f with 'aws events describe-rule' output" {
	cat >rule.json <<'EOF'
{
    "Name": "ec2-state",
    "Arn": "arn:aws:events:us-east-1:123456789012:rule/ec2-state",
    "EventPattern": "{\"source\":[\"aws.ec2\"],\"detail-type\":[\"EC2 Instance State-change Notification\"]}",
    "State": "ENABLED",
    "EventBusName": "default",
    "CreatedBy": "123456789012"
}
EOF
	printf '%s\n' '{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification"}' \
	    '{"source":"aws.ec2","detail-type":"other"}' >in
	run -0 --separate-stderr evmatch -N -f rule.json in
	[ "$output" = $'ec2-state\t{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification"}' ]
	[ -z "$stderr" ]
}

@test "evmatch: -f with a list of rules that have Targets (evroute's rules)" {
	cat >rules.json <<'EOF'
[{"Name": "paid", "State": "DISABLED", "EventPattern": {"detail-type": ["paid"]},
  "Targets": [{"Id": "t1", "Arn": "file:paid.ndjson",
    "InputTransformer": {"InputPathsMap": {"id": "$.detail.id"}, "InputTemplate": "<id>"}}]}]
EOF
	printf '%s\n' '{"detail-type":"paid","detail":{"id":1}}' '{"detail-type":"other"}' >in
	run -0 --separate-stderr evmatch -N -f rules.json in
	[ "$output" = $'paid\t{"detail-type":"paid","detail":{"id":1}}' ]
	[ -z "$stderr" ]
}

@test "evmatch: -f with 'aws events list-rules' output" {
	cat >rules.json <<'EOF'
{
    "Rules": [
        {
            "Name": "ec2",
            "Arn": "arn:aws:events:us-east-1:123456789012:rule/ec2",
            "EventPattern": "{\"source\":[\"aws.ec2\"]}",
            "State": "ENABLED",
            "EventBusName": "default"
        },
        {
            "Name": "not-s3",
            "Arn": "arn:aws:events:us-east-1:123456789012:rule/not-s3",
            "EventPattern": "{\"source\":[{\"anything-but\":\"aws.s3\"}]}",
            "State": "ENABLED",
            "EventBusName": "default"
        }
    ]
}
EOF
	printf '%s\n' '{"source":"aws.ec2"}' '{"source":"aws.s3"}' '{"source":"aws.sns"}' >in
	run -0 --separate-stderr evmatch -N -f rules.json in
	[ "$output" = $'ec2,not-s3\t{"source":"aws.ec2"}\nnot-s3\t{"source":"aws.sns"}' ]
	[ -z "$stderr" ]
}

# ---------------------------------------------------- errors inside rule files

@test "evmatch: an invalid pattern inside a rule list is located in the file" {
	printf '[\n  {"name": "a", "pattern": {"source": ["x"]}},\n  {"name": "b", "pattern": {"detail": {"n": []}}}\n]\n' >rules.json
	run -2 --separate-stderr evmatch -t -f rules.json
	[ "$stderr" = "evmatch: rules.json:3:45: invalid pattern at 'detail.n': Empty arrays are not allowed" ]
}

@test "evmatch: an invalid pattern in a template is located in the template" {
	printf '{"Resources": {\n "R": {"Type": "AWS::Events::Rule",\n  "Properties": {"EventPattern": {"a": 5}}}}}\n' >t.json
	run -2 --separate-stderr evmatch -t -f t.json
	[ "$stderr" = "evmatch: t.json:3:40: invalid pattern at 'a': \"a\" must be an object or an array" ]
}

@test "evmatch: a pattern file that is not JSON gets the scanner's located error" {
	printf '{"source": ["x"]\n' >p.json
	run -2 --separate-stderr evmatch -t -f p.json
	[[ "$stderr" =~ ^evmatch:\ p\.json:[12]:[0-9]+:\ invalid\ JSON:\  ]]
}

@test "evmatch: a template without event rules is an error" {
	printf '{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}\n' >t.json
	run -2 --separate-stderr evmatch -t -f t.json
	[ "$stderr" = "evmatch: t.json:1:1: no event rules in template" ]
}

@test "evmatch: a pattern file with no rules says so" {
	for c in '' ' \n\t\n' '# rules\n\n  # none yet\n' '[]\n' '{"Rules": []}\n' \
	    '\xef\xbb\xbf\n'; do
		printf "$c" >rules.json
		run -2 --separate-stderr evmatch -t -f rules.json
		[ -z "$output" ]
		[ "$stderr" = 'evmatch: rules.json: no rules' ] ||
		    { echo "file '$c': $stderr"; false; }
	done
	# a list of scheduled rules only holds no event rules
	printf '[{"Name":"cron","ScheduleExpression":"rate(1 hour)"}]\n' >rules.json
	run -2 --separate-stderr evmatch -t -f rules.json
	[ "$stderr" = 'evmatch: rules.json:1:1: no event rules in list' ]
}

@test "evmatch: a UTF-8 byte order mark at the start of a pattern file is skipped" {
	printf '{"a":"x"}\n{"a":"y"}\n' >in
	printf '\xef\xbb\xbf{"a":["x"]}\n' >p.json
	run -0 --separate-stderr evmatch -f p.json in
	[ "$output" = '{"a":"x"}' ] && [ -z "$stderr" ]
	printf '\xef\xbb\xbf[{"name":"r","pattern":{"a":["x"]}}]\n' >p.json
	run -0 --separate-stderr evmatch -N -f p.json in
	[ "$output" = $'r\t{"a":"x"}' ] && [ -z "$stderr" ]
	printf '\xef\xbb\xbf{"name":"r","pattern":{"a":["x"]}}\n{"name":"s","pattern":{"a":["y"]}}\n' >p.ndjson
	run -0 --separate-stderr evmatch -N -f p.ndjson in
	[ "$output" = $'r\t{"a":"x"}\ns\t{"a":"y"}' ] && [ -z "$stderr" ]
	printf '\xef\xbb\xbfResources:\n  R:\n    Type: AWS::Events::Rule\n    Properties: {EventPattern: {a: [x]}}\n' >t.yaml
	run -0 --separate-stderr evmatch -N -f t.yaml in
	[ "$output" = $'R\t{"a":"x"}' ] && [ -z "$stderr" ]
	# columns on the first line count from after the mark
	printf '\xef\xbb\xbf{"a":[]}\n' >p.json
	run -2 --separate-stderr evmatch -t -f p.json
	[ "$stderr" = "evmatch: p.json:1:6: invalid pattern at 'a': Empty arrays are not allowed" ]
}

# ------------------------------------------------------------------ threads

@test "evmatch: output, diagnostics and rejects on many CPUs equal those on one" {
	command -v taskset >/dev/null || skip "no taskset"
	[ "$(nproc)" -gt 1 ] || skip "one CPU"
	awk 'BEGIN {
		for (i = 1; i <= 30000; i++) {
			if (i % 997 == 0) print "{\"source\": broken " i
			else if (i % 1499 == 0) print "[" i "]"
			else printf "{\"source\":\"s%d\",\"detail\":{\"n\":%d,\"pad\":\"%0100d\"}}\n", i % 7, i, 0
		}
	}' >big.ndjson
	p='{"source":["s3"],"detail":{"n":[{"numeric":[">",100]}]}}'
	run -2 --separate-stderr evmatch -n --reject=rej.many "$p" big.ndjson
	many_out=$output many_err=$stderr
	run -2 --separate-stderr taskset -c 0 evmatch -n --reject=rej.one "$p" big.ndjson
	[ "$output" = "$many_out" ]
	[ "$stderr" = "$many_err" ]
	cmp rej.one rej.many
	[ "$(printf '%s\n' "$output" | wc -l)" -gt 4000 ]
	[ "$(wc -l <rej.one)" -eq 50 ]
}

# ------------------------------------------------------------ YAML templates

@test "evmatch: -f with a YAML SAM template uses its rules and function event sources" {
	cat >template.yaml <<'EOF2'
# orders
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: !Sub '${AWS::StackName}-q'}
  BigOrderRule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      EventPattern:
        source: [com.shop]
        detail-type: ["Order Placed"]
        detail:
          total:
            - numeric: [">", 0]
          rush: [true]
      Targets:
        - Arn: !GetAtt Queue.Arn
          Id: q
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Role: !GetAtt [Role, Arn]
      Events:
        Cancelled:
          Type: EventBridgeRule
          Properties:
            Pattern:
              detail-type: ['Order Cancelled']
EOF2
	printf '%s\n' '{"source":"com.shop","detail-type":"Order Placed","detail":{"total":5,"rush":true}}' \
	    '{"source":"com.shop","detail-type":"Order Placed","detail":{"total":0,"rush":true}}' \
	    '{"source":"com.shop","detail-type":"Order Placed","detail":{"total":5,"rush":"true"}}' \
	    '{"detail-type":"Order Cancelled"}' >in
	run -0 --separate-stderr evmatch -N -f template.yaml in
	[ "$output" = $'BigOrderRule\t{"source":"com.shop","detail-type":"Order Placed","detail":{"total":5,"rush":true}}\nFn.Cancelled\t{"detail-type":"Order Cancelled"}' ]
	[ -z "$stderr" ]
}

@test "evmatch: an invalid pattern in a YAML template is located at its YAML line and column" {
	printf 'Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern:\n        detail:\n          n: [ {numeric: [">", x]} ]\n' >t.yaml
	run -2 --separate-stderr evmatch -t -f t.yaml
	[ "$stderr" = "evmatch: t.yaml:7:32: invalid pattern at 'detail.n': Value of > must be numeric" ]
	printf 'Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern:\n        source: [!Ref Src]\n' >t.yaml
	run -2 --separate-stderr evmatch -t -f t.yaml
	[ "$stderr" = "evmatch: t.yaml:6:18: invalid pattern at 'source': Unrecognized match type Ref" ]
}

@test "evmatch: a YAML template with a syntax error gets a located 'invalid YAML' error" {
	printf 'Resources:\n  R:\n    Type: AWS::Events::Rule\n   Properties: {}\n' >t.yaml
	run -2 --separate-stderr evmatch -t -f t.yaml
	[ "$stderr" = "evmatch: t.yaml:4:4: invalid YAML: did not find expected key" ]
	printf 'a: &x 1\nResources: *x\n' >t.yaml
	run -2 --separate-stderr evmatch -t -f t.yaml
	[ "$stderr" = "evmatch: t.yaml:2:12: unsupported YAML: alias" ]
}

@test "evmatch: a YAML template nested 200000 deep is refused before libyaml reads it" {
	# libyaml alone takes minutes over this; the depth is checked first
	awk 'BEGIN { printf "Resources:\n  R: "
		for (i = 0; i < 200000; i++) printf "["
		for (i = 0; i < 200000; i++) printf "]"
		print "" }' >deep.yaml
	run -2 --separate-stderr evmatch -t -f deep.yaml
	[ "$stderr" = "evmatch: deep.yaml:2:518: invalid YAML: nesting too deep" ]
	awk 'BEGIN { printf "Resources:\n  R:\n    - "
		for (i = 0; i < 200000; i++) printf "{a: "
		for (i = 0; i < 200000; i++) printf "}"
		print "" }' >deep.yaml
	run -2 --separate-stderr evmatch -t -f deep.yaml
	[ "$stderr" = "evmatch: deep.yaml:3:2055: invalid YAML: nesting too deep" ]
	# one bracket per line: the line and column of the 513th
	awk 'BEGIN { print "Resources:"; print "  R:"
		for (i = 0; i < 600; i++) print "    ["
		for (i = 0; i < 600; i++) printf "]"
		print "" }' >deep.yaml
	run -2 --separate-stderr evmatch -t -f deep.yaml
	[ "$stderr" = "evmatch: deep.yaml:515:5: invalid YAML: nesting too deep" ]
}

@test "evmatch: brackets in YAML comments, quoted, block and plain scalars are no nesting" {
	b=$(printf '[%.0s' {1..600})
	{
		echo "# $b"
		printf 'Description: |\n  %s\n  {{{{\nOther: >-\n    %s\n' "$b" "$b"
		printf "Quoted: '%s it''s'\n" "$b"
		printf 'Dq: "%s \\" %s"\nPlain: a%s\n' "$b" "$b" "$b"
		printf "Plain2: it's %s\n" "$b"
		for i in $(seq 600); do echo "K$i: x["; done
		echo 'Resources:'
		echo '  R:'
		echo '    Type: AWS::Events::Rule'
		echo '    Properties:'
		echo "      EventPattern: {source: [\"a[b\", 'c{d'], detail: {x: [{prefix: \"]\"}]}}"
	} >ok.yaml
	run -0 --separate-stderr evmatch -N -f ok.yaml <<<'{"source":"a[b","detail":{"x":"]z"}}'
	[ "$output" = $'R\t{"source":"a[b","detail":{"x":"]z"}}' ]
	[ -z "$stderr" ]
}

@test "evmatch: a JSON or YAML file that is no template still gets the JSON error" {
	printf '{"Resources": {"R": {"Type": "AWS::Events::Rule",\n  "Properties": {"EventPattern": {"a": [1]}}}\n' >t.json
	run -2 --separate-stderr evmatch -t -f t.json
	[ "$stderr" = "evmatch: t.json:3:1: invalid JSON: unexpected end of input" ]
	printf 'source: [x]\n' >p.yaml
	run -2 --separate-stderr evmatch -t -f p.yaml
	[ "$stderr" = "evmatch: p.yaml:1:1: invalid JSON: invalid literal" ]
}

# ------------------------------------------------------------- hostile events

@test "evmatch: an event whose array consistency needs too many steps is a bad line" {
	awk 'BEGIN {
		printf "{\"a\":[{\"b\":["
		for (i = 0; i < 5000; i++) printf "{\"x\":1,\"y\":2},"
		print "{\"z\":3}]}]}"
		print "{\"a\":[{\"b\":[{\"x\":1,\"y\":2,\"z\":3}]}]}"
	}' >hostile.ndjson
	run -2 --separate-stderr evmatch -n --reject=rej '{"a":{"b":{"x":[1],"y":[2],"z":[3]}}}' hostile.ndjson
	[ "$stderr" = "evmatch: hostile.ndjson:1:1: event too complex: array consistency needs more than 16777216 steps" ]
	[ "$output" = 'hostile.ndjson:2:{"a":[{"b":[{"x":1,"y":2,"z":3}]}]}' ]
	[ "$(wc -l <rej)" -eq 1 ]
}

# cap_rules N: N rules r1..rN whose two sibling 64-way $or lists make 4096
# sub-rules each (2 fields per sub-rule, so the test stays cheap).
cap_rules() {
	awk -v n="$1" 'BEGIN {
		for (r = 1; r <= n; r++) {
			printf "{\"name\":\"r%d\",\"pattern\":{\"x\":{\"$or\":[", r
			for (i = 0; i < 64; i++)
				printf "%s{\"a\":[%d]}", i ? "," : "", i
			printf "]},\"y\":{\"$or\":["
			for (i = 0; i < 64; i++)
				printf "%s{\"b\":[%d]}", i ? "," : "", i
			printf "]}}}\n"
		}
	}'
}

@test "evmatch: the sub-rules of the whole rule set are capped, naming the rule that crosses the cap" {
	cap_rules 129 >cap.ndjson
	run -2 --separate-stderr evmatch -t -f cap.ndjson
	[ "$stderr" = "evmatch: cap.ndjson:129:39: rule 'r129': too many sub-rules in the rule set (\$or expands to 524289; the limit is 524288)" ]
	[ "$output" = "" ]
}

@test "evmatch: a rule set of exactly the sub-rule cap loads and matches" {
	cap_rules 128 >cap.ndjson
	printf '%s\n' '{"x":{"a":63},"y":{"b":0}}' '{"x":{"a":64},"y":{"b":0}}' >ev
	run -0 --separate-stderr evmatch -c -f cap.ndjson ev
	[ "$output" = 1 ]
	[ "$stderr" = "" ]
}

# ------------------------------------------------- input and output plumbing

# wait_for FILE TEXT: wait (up to 10 s) until FILE holds the line TEXT.
wait_for() {
	local i
	for ((i = 0; i < 200; i++)); do
		grep -qxF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "timed out waiting for '$2' in $1"
	return 1
}

@test "evmatch: --reject naming an input refuses before emptying it" {
	printf '{"a":1}\nbad\n' >e1
	run -2 --separate-stderr evmatch -c --reject e1 '{"a":[1]}' e1
	[ "$stderr" = "evmatch: e1: input file is also the reject file" ]
	[ "$(cat e1)" = $'{"a":1}\nbad' ]
	ln e1 e2
	run -2 --separate-stderr evmatch --reject ./e2 '{"a":[1]}' - <e1
	[ "$stderr" = "evmatch: <stdin>: input file is also the reject file" ]
	[ "$(cat e1)" = $'{"a":1}\nbad' ]
}

@test "evmatch: --reject naming standard input's file refuses before emptying it" {
	printf '{"a":1}\nbad\n' >e1
	run -2 --separate-stderr evmatch --reject e1 '{"a":[1]}' <e1
	[ "$stderr" = "evmatch: <stdin>: input file is also the reject file" ]
	[ "$output" = "" ]
	[ "$(cat e1)" = $'{"a":1}\nbad' ]
}

@test "evmatch: --reject naming a pattern file refuses before emptying it" {
	printf '{"a":[1]}\n' >p.json
	printf '{"a":1}\n' >e1
	run -2 --separate-stderr evmatch --reject p.json -f p.json e1
	[ "$stderr" = "evmatch: p.json: input file is also the reject file" ]
	[ "$(cat p.json)" = '{"a":[1]}' ]
}

@test "evmatch: --reject on /dev/null or a new file is fine, and is emptied" {
	printf '{"a":1}\nbad\n' >e1
	run -2 --separate-stderr evmatch --reject /dev/null '{"a":[1]}' e1 </dev/null
	[ "$output" = '{"a":1}' ]
	printf 'old rejects, longer than the new ones\n' >rej
	run -2 --separate-stderr evmatch --reject rej '{"a":[1]}' e1
	[ "$(cat rej)" = bad ]
}

@test "evmatch: an input that is also standard output is refused, as in grep" {
	printf '{"a":1}\n' >f
	printf '{"a":1}\n' >g
	run -2 --separate-stderr sh -c 'evmatch "{\"a\":[1]}" f g >>f'
	[ "$stderr" = "evmatch: f: input file is also the output" ]
	[ "$(cat f)" = $'{"a":1}\n{"a":1}' ]
	run -2 --separate-stderr sh -c 'evmatch "{\"a\":[1]}" <f >>f'
	[ "$stderr" = "evmatch: <stdin>: input file is also the output" ]
	run -0 sh -c 'evmatch "{\"a\":[1]}" /dev/null g >/dev/null'
}

# Bats' run keeps its own standard input: close descriptors in a shell.
@test "evmatch: closed standard input reads as empty (no hang)" {
	run -1 --separate-stderr timeout 10 sh -c 'exec evmatch "{\"a\":[1]}" <&-'
	[ "$output" = "" ]
	[ "$stderr" = "" ]
	run -1 --separate-stderr timeout 10 sh -c 'exec evmatch -j 2 "{\"a\":[1]}" - <&-'
	[ "$stderr" = "" ]
}

@test "evmatch: closed standard output is a write error, not the reject file" {
	printf '{"a":1}\nbad\n' >e1
	run -2 --separate-stderr sh -c 'exec evmatch --reject rej "{\"a\":[1]}" e1 >&-'
	[ "$stderr" = "evmatch: e1:2:1: invalid JSON: invalid literal
evmatch: write error on '<stdout>': Bad file descriptor" ]
	[ "$(cat rej)" = bad ]
	# More than a buffer of events: none may land in the reject file.
	for i in $(seq 20000); do echo '{"a":1}'; done >many
	run -2 --separate-stderr sh -c 'exec evmatch --reject rej "{\"a\":[1]}" many >&-'
	[ "$stderr" = "evmatch: write error on '<stdout>': Bad file descriptor" ]
	[ ! -s rej ]
}

@test "evmatch: closed standard error does not put diagnostics in the reject file" {
	printf '{"a":1}\nbad\n' >e1
	run -2 sh -c 'exec evmatch --reject rej "{\"a\":[1]}" e1 2>&-'
	[ "$output" = '{"a":1}' ]
	[ "$(cat rej)" = bad ]
}

@test "evmatch: --reject=- is a usage error, no file named '-'" {
	printf '{"a":1}\n' >e1
	run -2 --separate-stderr evmatch --reject=- '{"a":[1]}' e1
	[ "${stderr%%$'\n'*}" = "evmatch: --reject: '-' is not a file; use /dev/stdout or ./-" ]
	[ "${stderr#*$'\n'}" = "$(evmatch --help)" ]
	[ ! -e ./- ]
	run -0 --separate-stderr evmatch --reject ./- '{"a":[1]}' e1
	[ "$output" = '{"a":1}' ]
	[ -e ./- ]
}

@test "evmatch: a UTF-8 byte order mark at the start of an input is skipped" {
	printf '\xef\xbb\xbf{"a":1}\n{"a":2}\n' >bom
	for j in 1 2; do
		run -0 --separate-stderr evmatch -j $j -n '{"a":[1]}' bom
		[ "$output" = 'bom:1:{"a":1}' ]
		[ "$stderr" = "" ]
		run -0 --separate-stderr evmatch -j $j '{"a":[1]}' <bom
		[ "$output" = '{"a":1}' ]
	done
	# Columns of line 1 count from the byte after the mark.
	printf '\xef\xbb\xbf{"a":x}\n' >bom
	run -2 --separate-stderr evmatch '{"a":[1]}' bom
	[ "$stderr" = "evmatch: bom:1:6: invalid JSON: invalid literal" ]
	# Only at the very start of each input.
	printf '{"a":1}\n\xef\xbb\xbf{"a":1}\n' >bom2
	run -2 --separate-stderr evmatch '{"a":[1]}' bom2
	[ "$stderr" = "evmatch: bom2:2:1: invalid JSON: expected value" ]
	printf '\xef\xbb\xbf' >only
	printf '\xef\xbb\xbf{"a":2}' >two
	run -1 --separate-stderr evmatch '{"a":[1]}' only two
	[ "$stderr" = "" ]
}

@test "evmatch: -j, --jobs and EVKIT_JOBS take a number from 1 to 64" {
	printf '{"a":1}\n' >e1
	for bad in 0 -1 65 x 2x ''; do
		run -2 --separate-stderr evmatch -j "$bad" '{"a":[1]}' e1
		[ "${stderr%%$'\n'*}" = "evmatch: invalid job count '$bad': expected a number from 1 to 64" ]
		EVKIT_JOBS=$bad run -2 --separate-stderr evmatch '{"a":[1]}' e1 ||
		    [ -z "$bad" ]
	done
	EVKIT_JOBS=0 run -2 --separate-stderr evmatch '{"a":[1]}' e1
	[ "${stderr%%$'\n'*}" = "evmatch: invalid EVKIT_JOBS '0': expected a number from 1 to 64" ]
	EVKIT_JOBS= run -0 evmatch '{"a":[1]}' e1
	EVKIT_JOBS=x run -0 evmatch --jobs 3 '{"a":[1]}' e1
	[ "$output" = '{"a":1}' ]
}

# threads ARG...: run evmatch ARG... on a fifo fed one event, and print how
# many threads it runs once it has written that event's output.
threads() {
	mkfifo fifo
	exec 7<>fifo
	evmatch "$@" '{"a":[1]}' fifo >out 7>&- 3>&- &
	local pid=$!
	printf '{"a":1}\n' >&7
	wait_for out '{"a":1}' || return 1
	ls /proc/$pid/task | wc -l
	exec 7>&-
	wait $pid
	rm -f fifo out
}

@test "evmatch: -j 1 and EVKIT_JOBS=1 read serially; -j N runs N workers" {
	[ -d /proc/self/task ] || skip "no /proc"
	run -0 threads -j 1
	[ "$output" -eq 1 ]
	EVKIT_JOBS=1 run -0 threads
	[ "$output" -eq 1 ]
	# The reader, 3 workers and the writer.
	run -0 threads --jobs 3
	[ "$output" -eq 5 ]
	EVKIT_JOBS=3 run -0 threads
	[ "$output" -eq 5 ]
	EVKIT_JOBS=1 run -0 threads -j 3
	[ "$output" -eq 5 ]
}

@test "evmatch: SIGTERM or SIGINT ends a blocked read cleanly, exit 128+signal" {
	for j in 1 2; do
		for sig in TERM INT; do
			mkfifo fifo
			exec 7<>fifo
			evmatch -j $j --reject rej '{"a":[1]}' fifo >out 2>err 7>&- 3>&- &
			pid=$!
			printf '{"a":1}\nbad\n{"a":1}\n' >&7
			wait_for out '{"a":1}'
			kill -$sig $pid
			status=0
			wait $pid || status=$?
			exec 7>&-
			rm fifo
			want=$((128 + $(kill -l $sig)))
			[ "$status" -eq "$want" ] ||
			    { echo "-j $j SIG$sig: exit $status, want $want"; false; }
			# What was read is written: the reject file too.
			[ "$(cat rej)" = bad ]
			[ "$(cat out)" = $'{"a":1}\n{"a":1}' ]
			[ "$(cat err)" = "evmatch: fifo:2:1: invalid JSON: invalid literal" ]
		done
	done
}

@test "evmatch: --reject /dev/stdout onto a file standard output is written through it, not emptied" {
	printf '{"a":1}\nbad\n{"a":1}\n' >e1
	printf 'old\n' >out
	run -2 --separate-stderr sh -c 'exec evmatch --reject /dev/stdout "{\"a\":[1]}" e1 >>out'
	[ "$stderr" = "evmatch: e1:2:1: invalid JSON: invalid literal" ]
	[ "$(head -1 out)" = old ]
	[ "$(sort out)" = $'bad\nold\n{"a":1}\n{"a":1}' ]
}

# geo N [BAD]: a GeoJSON feature with N coordinate triples in one line;
# BAD, when given, is the last triple (no closing bracket of its own).
geo() {
	local i s='{"properties":{"STREET":"JEFFERSON"},"geometry":{"type":"Polygon","coordinates":[['
	for ((i = 0; i < $1; i++)); do
		s+="[-122.4391737642$((i % 10))3326,37.75665676936$((i % 7))845,0.0],"
	done
	s+=${2:-'[-122.4,37.7,0.0]'}']]}}'
	printf '%s\n' "$s"
}

@test "evmatch: every scanner path (EVKIT_SIMD) selects and rejects the same lines with the same columns" {
	local bad p
	geo 40 >f
	geo 40 '[-122.4,037.5,0.0]' >>f
	geo 40 '[-122.4,37.5.1,0.0]' >>f
	geo 40 '[-122.4,37.5,0.0],[[[1]]],[-]' >>f
	geo 3 >>f
	bad=$(awk 'NR == 2 { print index($0, "[-122.4,037.5") + 9 }' f)
	for p in scalar sse2 avx2 avx512 bogus; do
		EVKIT_SIMD=$p run -2 --separate-stderr evmatch -c '{"properties":{"STREET":["JEFFERSON"]}}' f
		[ "$output" = 2 ]
		[ "$stderr" = "evmatch: f:2:$bad: invalid JSON: invalid number
evmatch: f:3:$((bad + 3)): invalid JSON: invalid number
evmatch: f:4:$((bad + 19)): invalid JSON: invalid number" ] ||
		    { echo "EVKIT_SIMD=$p: $stderr"; false; }
	done
}

@test "evmatch: every scanner path rejects arrays nested too deep in a skipped subtree, and reads lines longer than a chunk" {
	local p deep
	deep=$(printf '%0600d' 0 | tr 0 '[')
	printf '{"a":1,"z":%s1]}\n' "$deep" >f
	geo 20000 >>f
	[ "$(wc -c <f)" -gt 600000 ]
	for p in scalar sse2 avx2 avx512; do
		EVKIT_SIMD=$p run -2 --separate-stderr evmatch -j 2 -c '{"properties":{"STREET":["JEFFERSON"]}}' f
		[ "$output" = 1 ]
		[ "$stderr" = "evmatch: f:1:523: invalid JSON: nesting too deep" ] ||
		    { echo "EVKIT_SIMD=$p: $stderr"; false; }
	done
}
