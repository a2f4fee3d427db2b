/*
 * refmatch.c - unit tests of the reference matcher (lib/ref/refmatch.c):
 * one table row per behaviour, pattern and event as JSON text, the
 * expected verdict and, where it matters, the exact explanation.
 */
#include <stdio.h>
#include <string.h>

#include <jv.h>

#include "ref/ref_int.h"
#include "tap.h"

struct mcase {
	const char *pattern;
	const char *event;
	int want;		/* 1 match, 0 no match, -1 error */
	const char *why;	/* expected explanation, or NULL */
};

static const struct mcase cases[] = {
	/* exact values */
	{ "{\"source\":[\"aws.ec2\"]}", "{\"source\":\"aws.ec2\"}", 1, NULL },
	{ "{\"source\":[\"aws.ec2\"]}", "{\"source\":\"aws.s3\"}", 0,
	  "source: \"aws.s3\" is not \"aws.ec2\"" },
	{ "{\"detail\":{\"state\":[\"running\"]}}", "{\"source\":\"x\"}", 0,
	  "detail.state: missing, wanted \"running\"" },
	{ "{\"a\":[\"x\",\"y\"]}", "{\"a\":\"y\"}", 1, NULL },
	{ "{\"a\":[\"x\",\"y\"]}", "{\"a\":\"z\"}", 0,
	  "a: \"z\" is not one of [\"x\", \"y\"]" },
	{ "{\"a\":[\"x\"],\"b\":[\"y\"]}", "{\"a\":\"x\",\"b\":\"y\",\"c\":1}",
	  1, NULL },
	{ "{\"a\":[\"x\"],\"b\":[\"y\"]}", "{\"a\":\"x\",\"b\":\"z\"}", 0,
	  "b: \"z\" is not \"y\"" },
	{ "{\"s\":[\"\"]}", "{\"s\":\"\"}", 1, NULL },
	{ "{\"s\":[\"\\u00e9\"]}", "{\"s\":\"\xc3\xa9\"}", 1, NULL },
	/* numbers by value, never against strings */
	{ "{\"n\":[5]}", "{\"n\":5.0}", 1, NULL },
	{ "{\"n\":[5]}", "{\"n\":5e0}", 1, NULL },
	{ "{\"n\":[300]}", "{\"n\":3e2}", 1, NULL },
	{ "{\"n\":[0.1]}", "{\"n\":0.10}", 1, NULL },
	{ "{\"n\":[-0]}", "{\"n\":0}", 1, NULL },
	{ "{\"n\":[5]}", "{\"n\":\"5\"}", 0, "n: \"5\" is not 5" },
	{ "{\"n\":[\"5\"]}", "{\"n\":5}", 0, NULL },
	{ "{\"n\":[5]}", "{\"n\":5.5}", 0, NULL },
	/* literals */
	{ "{\"b\":[true]}", "{\"b\":true}", 1, NULL },
	{ "{\"b\":[true]}", "{\"b\":\"true\"}", 0, NULL },
	{ "{\"b\":[false]}", "{\"b\":true}", 0, NULL },
	{ "{\"z\":[null]}", "{\"z\":null}", 1, NULL },
	{ "{\"z\":[null]}", "{}", 0, "z: missing, wanted null" },
	{ "{\"z\":[null]}", "{\"z\":\"null\"}", 0, NULL },
	/* a pattern value never matches an object */
	{ "{\"d\":[\"x\"]}", "{\"d\":{\"x\":1}}", 0,
	  "d: is an object, wanted \"x\"" },
	/* arrays: any element, nested arrays flattened */
	{ "{\"r\":[\"b\"]}", "{\"r\":[\"a\",\"b\"]}", 1, NULL },
	{ "{\"r\":[\"c\"]}", "{\"r\":[[\"a\"],[\"b\",[\"c\"]]]}", 1, NULL },
	{ "{\"r\":[\"a\"]}", "{\"r\":[]}", 0,
	  "r: is an empty array, wanted \"a\"" },
	{ "{\"r\":[\"q\"]}", "{\"r\":[\"a\",\"b\"]}", 0,
	  "r: [\"a\", \"b\"] is not \"q\"" },
	{ "{\"r\":{\"k\":[\"v\"]}}", "{\"r\":[{\"k\":\"x\"},{\"k\":\"v\"}]}", 1,
	  NULL },
	{ "{\"r\":{\"k\":[1]}}", "{\"r\":[[{\"k\":2}],[{\"k\":1}]]}", 1,
	  NULL },
	/* prefix, suffix */
	{ "{\"s\":[{\"prefix\":\"aws.\"}]}", "{\"s\":\"aws.ec2\"}", 1, NULL },
	{ "{\"s\":[{\"prefix\":\"aws.\"}]}", "{\"s\":\"AWS.ec2\"}", 0, NULL },
	{ "{\"s\":[{\"prefix\":\"aws.\"}]}", "{\"s\":5}", 0,
	  "s: 5 does not match prefix \"aws.\"" },
	{ "{\"s\":[{\"prefix\":\"\"}]}", "{\"s\":\"\"}", 1, NULL },
	{ "{\"s\":[{\"prefix\":\"\"}]}", "{\"s\":null}", 0, NULL },
	{ "{\"f\":[{\"suffix\":\".png\"}]}", "{\"f\":\"a.png\"}", 1, NULL },
	{ "{\"f\":[{\"suffix\":\".png\"}]}", "{\"f\":\"a.PNG\"}", 0,
	  "f: \"a.PNG\" does not match suffix \".png\"" },
	{ "{\"f\":[{\"suffix\":\"png\"}]}", "{\"f\":\"pn\"}", 0, NULL },
	/* equals-ignore-case, also with prefix and suffix */
	{ "{\"s\":[{\"equals-ignore-case\":\"AbC\"}]}", "{\"s\":\"aBc\"}", 1,
	  NULL },
	{ "{\"s\":[{\"equals-ignore-case\":\"AbC\"}]}", "{\"s\":\"aBcd\"}", 0,
	  "s: \"aBcd\" does not match equals-ignore-case \"AbC\"" },
	{ "{\"s\":[{\"equals-ignore-case\":\"\xc3\xa9t\xc3\xa9\"}]}",
	  "{\"s\":\"\xc3\x89T\xc3\x89\"}", 1, NULL },
	{ "{\"s\":[{\"equals-ignore-case\":\"a\"}]}", "{\"s\":1}", 0, NULL },
	/* per character: the event's is the pattern's lower or upper case */
	/* final sigma matches capital sigma; sigma does not match final */
	{ "{\"s\":[{\"equals-ignore-case\":\"\xcf\x82\"}]}",
	  "{\"s\":\"\xce\xa3\"}", 1, NULL },
	{ "{\"s\":[{\"equals-ignore-case\":\"\xcf\x83\"}]}",
	  "{\"s\":\"\xcf\x82\"}", 0, NULL },
	/* Kelvin sign: lower case k; k does not match it */
	{ "{\"s\":[{\"equals-ignore-case\":\"\xe2\x84\xaa\"}]}",
	  "{\"s\":\"k\"}", 1, NULL },
	{ "{\"s\":[{\"equals-ignore-case\":\"k\"}]}",
	  "{\"s\":\"\xe2\x84\xaa\"}", 0, NULL },
	{ "{\"s\":[{\"prefix\":{\"equals-ignore-case\":\"EventB\"}}]}",
	  "{\"s\":\"eventbridge\"}", 1, NULL },
	{ "{\"s\":[{\"prefix\":{\"equals-ignore-case\":\"EventB\"}}]}",
	  "{\"s\":\"even\"}", 0,
	  "s: \"even\" does not match prefix equals-ignore-case \"EventB\"" },
	{ "{\"s\":[{\"suffix\":{\"equals-ignore-case\":\".PNG\"}}]}",
	  "{\"s\":\"x.png\"}", 1, NULL },
	{ "{\"s\":[{\"suffix\":{\"equals-ignore-case\":\".PNG\"}}]}",
	  "{\"s\":\"x.pnk\"}", 0, NULL },
	/* wildcard */
	{ "{\"s\":[{\"wildcard\":\"*.png\"}]}", "{\"s\":\"a.png\"}", 1, NULL },
	{ "{\"s\":[{\"wildcard\":\"*.png\"}]}", "{\"s\":\"a.jpg\"}", 0,
	  "s: \"a.jpg\" does not match wildcard \"*.png\"" },
	{ "{\"s\":[{\"wildcard\":\"a*b*c\"}]}", "{\"s\":\"abc\"}", 1, NULL },
	{ "{\"s\":[{\"wildcard\":\"a*b*c\"}]}", "{\"s\":\"aXbYbc\"}", 1, NULL },
	{ "{\"s\":[{\"wildcard\":\"a*b*c\"}]}", "{\"s\":\"acb\"}", 0, NULL },
	{ "{\"s\":[{\"wildcard\":\"a\\\\*b\"}]}", "{\"s\":\"a*b\"}", 1, NULL },
	{ "{\"s\":[{\"wildcard\":\"a\\\\*b\"}]}", "{\"s\":\"axb\"}", 0, NULL },
	{ "{\"s\":[{\"wildcard\":\"a\\\\\\\\b\"}]}", "{\"s\":\"a\\\\b\"}", 1,
	  NULL },
	{ "{\"s\":[{\"wildcard\":\"*\"}]}", "{\"s\":\"\"}", 1, NULL },
	{ "{\"s\":[{\"wildcard\":\"*\"}]}", "{\"s\":5}", 0, NULL },
	/* anything-but: the field must exist; other kinds are never out */
	{ "{\"s\":[{\"anything-but\":\"x\"}]}", "{\"s\":\"y\"}", 1, NULL },
	{ "{\"s\":[{\"anything-but\":\"x\"}]}", "{\"s\":\"x\"}", 0,
	  "s: \"x\" is excluded by anything-but \"x\"" },
	{ "{\"s\":[{\"anything-but\":\"x\"}]}", "{\"s\":5}", 1, NULL },
	{ "{\"s\":[{\"anything-but\":\"x\"}]}", "{\"s\":null}", 1, NULL },
	{ "{\"s\":[{\"anything-but\":\"x\"}]}", "{\"s\":true}", 1, NULL },
	{ "{\"s\":[{\"anything-but\":\"x\"}]}", "{}", 0,
	  "s: missing, wanted {\"anything-but\":\"x\"}" },
	{ "{\"s\":[{\"anything-but\":\"x\"}]}", "{\"s\":[\"x\",\"y\"]}", 1,
	  NULL },
	{ "{\"s\":[{\"anything-but\":\"x\"}]}", "{\"s\":[\"x\"]}", 0, NULL },
	{ "{\"s\":[{\"anything-but\":[\"a\",\"b\"]}]}", "{\"s\":\"c\"}", 1,
	  NULL },
	{ "{\"s\":[{\"anything-but\":[\"a\",\"b\"]}]}", "{\"s\":\"b\"}", 0,
	  "s: \"b\" is excluded by anything-but [\"a\", \"b\"]" },
	{ "{\"n\":[{\"anything-but\":[1,2]}]}", "{\"n\":3}", 1, NULL },
	{ "{\"n\":[{\"anything-but\":[1,2]}]}", "{\"n\":2.0}", 0, NULL },
	{ "{\"n\":[{\"anything-but\":[1,2]}]}", "{\"n\":\"2\"}", 1, NULL },
	{ "{\"n\":[{\"anything-but\":5}]}", "{\"n\":5}", 0, NULL },
	{ "{\"n\":[{\"anything-but\":5}]}", "{\"n\":false}", 1, NULL },
	{ "{\"r\":[{\"anything-but\":{\"prefix\":\"us-\"}}]}",
	  "{\"r\":\"eu-west-1\"}", 1, NULL },
	{ "{\"r\":[{\"anything-but\":{\"prefix\":\"us-\"}}]}",
	  "{\"r\":\"us-east-1\"}", 0,
	  "r: \"us-east-1\" is excluded by anything-but {\"prefix\":\"us-\"}" },
	{ "{\"r\":[{\"anything-but\":{\"prefix\":\"us-\"}}]}", "{\"r\":7}", 1,
	  NULL },
	{ "{\"r\":[{\"anything-but\":{\"prefix\":[\"us-\",\"eu-\"]}}]}",
	  "{\"r\":\"eu-west-1\"}", 0, NULL },
	{ "{\"f\":[{\"anything-but\":{\"suffix\":\".png\"}}]}",
	  "{\"f\":\"a.png\"}", 0, NULL },
	{ "{\"f\":[{\"anything-but\":{\"suffix\":\".png\"}}]}",
	  "{\"f\":\"a.gif\"}", 1, NULL },
	{ "{\"s\":[{\"anything-but\":{\"equals-ignore-case\":[\"Alpha\","
	  "\"beta\"]}}]}", "{\"s\":\"ALPHA\"}", 0, NULL },
	{ "{\"s\":[{\"anything-but\":{\"equals-ignore-case\":[\"Alpha\","
	  "\"beta\"]}}]}", "{\"s\":\"gamma\"}", 1, NULL },
	{ "{\"s\":[{\"anything-but\":{\"equals-ignore-case\":\"x\"}}]}",
	  "{\"s\":7}", 1, NULL },
	{ "{\"p\":[{\"anything-but\":{\"wildcard\":\"*/lib/*\"}}]}",
	  "{\"p\":\"/usr/lib/x\"}", 0, NULL },
	{ "{\"p\":[{\"anything-but\":{\"wildcard\":\"*/lib/*\"}}]}",
	  "{\"p\":\"/usr/bin/x\"}", 1, NULL },
	/* numeric: numbers only */
	{ "{\"c\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"c\":5}", 1, NULL },
	{ "{\"c\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"c\":0}", 0, NULL },
	{ "{\"c\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"c\":12}", 0,
	  "c: 12 is not in numeric [\">\", 0, \"<=\", 5]" },
	{ "{\"c\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"c\":\"3\"}", 0,
	  NULL },
	{ "{\"c\":[{\"numeric\":[\"=\",3.018e2]}]}", "{\"c\":301.8}", 1, NULL },
	{ "{\"c\":[{\"numeric\":[\"<\",-1]}]}", "{\"c\":-1}", 0, NULL },
	{ "{\"c\":[{\"numeric\":[\"<=\",-1]}]}", "{\"c\":-1}", 1, NULL },
	{ "{\"c\":[{\"numeric\":[\">=\",1e3,\"<\",1e4]}]}", "{\"c\":1000}", 1,
	  NULL },
	{ "{\"c\":[{\"numeric\":[\">=\",1e3,\"<\",1e4]}]}", "{\"c\":10000}", 0,
	  NULL },
	{ "{\"c\":[{\"numeric\":[\">\",0]}]}", "{\"c\":[-1,2]}", 1, NULL },
	/* exists */
	{ "{\"u\":[{\"exists\":true}]}", "{\"u\":null}", 1, NULL },
	{ "{\"u\":[{\"exists\":true}]}", "{\"u\":[1]}", 1, NULL },
	{ "{\"u\":[{\"exists\":true}]}", "{\"u\":[]}", 0, NULL },
	{ "{\"u\":[{\"exists\":true}]}", "{\"u\":{}}", 0, NULL },
	{ "{\"u\":[{\"exists\":true}]}", "{\"u\":{\"a\":1}}", 0, NULL },
	{ "{\"u\":[{\"exists\":true}]}", "{}", 0,
	  "u: missing (exists: true)" },
	{ "{\"u\":[{\"exists\":false}]}", "{}", 1, NULL },
	{ "{\"u\":[{\"exists\":false}]}", "{\"u\":null}", 0,
	  "u: null is present (exists: false)" },
	{ "{\"u\":[{\"exists\":false}]}", "{\"u\":{\"a\":1}}", 1, NULL },
	{ "{\"u\":[{\"exists\":false}]}", "{\"u\":[]}", 1, NULL },
	{ "{\"u\":[{\"exists\":false}]}", "{\"u\":[1]}", 0, NULL },
	{ "{\"d\":{\"u\":[{\"exists\":false}]}}", "{\"d\":\"s\"}", 1, NULL },
	{ "{\"u\":[{\"exists\":false},\"x\"]}", "{\"u\":\"x\"}", 1, NULL },
	{ "{\"u\":[{\"exists\":false},\"x\"]}", "{}", 1, NULL },
	{ "{\"u\":[{\"exists\":false},\"x\"]}", "{\"u\":\"y\"}", 0, NULL },
	/* cidr: the lowest address of the block up to its host bits all set */
	{ "{\"ip\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"ip\":\"10.0.0.255\"}", 1,
	  NULL },
	{ "{\"ip\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"ip\":\"10.0.1.0\"}", 0,
	  "ip: \"10.0.1.0\" is not in cidr \"10.0.0.0/24\"" },
	{ "{\"ip\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"ip\":10}", 0, NULL },
	{ "{\"ip\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"ip\":\"2001:db8::1\"}",
	  0, NULL },
	{ "{\"ip\":[{\"cidr\":\"10.0.0.5/24\"}]}", "{\"ip\":\"10.0.0.1\"}", 1,
	  NULL },
	{ "{\"ip\":[{\"cidr\":\"10.1.2.3/8\"}]}", "{\"ip\":\"10.0.0.0\"}", 1,
	  NULL },
	{ "{\"ip\":[{\"cidr\":\"10.1.2.3/8\"}]}", "{\"ip\":\"11.0.0.0\"}", 0,
	  NULL },
	{ "{\"ip\":[{\"cidr\":\"10.0.0.5/24\"}]}", "{\"ip\":\"10.0.0.9\"}", 1,
	  NULL },
	{ "{\"ip\":[{\"cidr\":\"2001:db8::/32\"}]}",
	  "{\"ip\":\"2001:DB8:0:0::5\"}", 1, NULL },
	{ "{\"ip\":[{\"cidr\":\"2001:db8::/32\"}]}", "{\"ip\":\"2001:db9::1\"}",
	  0, NULL },
	{ "{\"ip\":[{\"cidr\":\"10.0.0.0/8\"}]}",
	  "{\"ip\":\"::ffff:a00:1\"}", 1, NULL },
	{ "{\"ip\":[{\"cidr\":\"10.0.0.0/8\"}]}",
	  "{\"ip\":\"::ffff:10.0.0.1\"}", 0, NULL },
	/*
	 * event-ruler compares an address's hex digits along the block's
	 * bottom and top digits, whatever the two lengths (er-check)
	 */
	{ "{\"ip\":[{\"cidr\":\"10.0.0.0/8\"}]}", "{\"ip\":\"a00:1::\"}", 1,
	  NULL },
	{ "{\"ip\":[{\"cidr\":\"10.0.0.0/8\"}]}", "{\"ip\":\"b00:1::\"}", 0,
	  NULL },
	{ "{\"ip\":[\"1.2.3.4\"]}", "{\"ip\":\"102:304::1\"}", 1, NULL },
	{ "{\"ip\":[\"1.2.3.4\"]}", "{\"ip\":\"102:305::\"}", 0, NULL },
	{ "{\"ip\":[{\"cidr\":\"::/0\"}]}", "{\"ip\":\"1.2.3.4\"}", 1, NULL },
	{ "{\"ip\":[{\"cidr\":\"::/0\"}]}", "{\"ip\":\"0.0.0.0\"}", 0, NULL },
	{ "{\"ip\":[{\"cidr\":\"::/0\"}]}", "{\"ip\":\"255.255.255.255\"}",
	  0, NULL },
	{ "{\"ip\":[{\"cidr\":\"::/8\"}]}", "{\"ip\":\"0.0.0.1\"}", 1, NULL },
	{ "{\"ip\":[{\"cidr\":\"::/31\"}]}", "{\"ip\":\"0.0.0.1\"}", 0, NULL },
	{ "{\"ip\":[\"10.0.0.1\"]}", "{\"ip\":\"0000000010.0.0.1\"}", 0,
	  NULL },
	/* equals-ignore-case: Java's full case mappings (er-check) */
	{ "{\"s\":[{\"equals-ignore-case\":\"stra\xc3\x9f" "e\"}]}",
	  "{\"s\":\"STRASSE\"}", 1, NULL },
	{ "{\"s\":[{\"equals-ignore-case\":\"SS\"}]}", "{\"s\":\"\xc3\x9f\"}", 0,
	  NULL },
	{ "{\"s\":[{\"equals-ignore-case\":\"\xef\xac\x81\"}]}",
	  "{\"s\":\"FI\"}", 1, NULL },
	{ "{\"s\":[{\"equals-ignore-case\":\"\xc4\xb0\"}]}", "{\"s\":\"i\"}",
	  0, NULL },
	{ "{\"s\":[{\"prefix\":{\"equals-ignore-case\":\"\xc3\x9f\"}}]}",
	  "{\"s\":\"SSx\"}", 1, NULL },
	{ "{\"s\":[{\"equals-ignore-case\":\"\xf0\x9f\x98\x80\"}]}",
	  "{\"s\":\"\xf0\x9f\x98\x80\"}", 0, NULL },
	{ "{\"s\":[{\"equals-ignore-case\":\"\xf0\x9f\x98\x80\"}]}",
	  "{\"s\":\"??\"}", 1, NULL },
	/*
	 * a number's text walks a CIDR range when the rule has no numeric
	 * condition on the path (er-check)
	 */
	{ "{\"ip\":[{\"cidr\":\"0.0.0.0/0\"}]}", "{\"ip\":1}", 1, NULL },
	{ "{\"ip\":[{\"cidr\":\"0.0.0.0/0\"}]}", "{\"ip\":0.5}", 0, NULL },
	{ "{\"ip\":[{\"cidr\":\"0.0.0.0/0\"},5]}", "{\"ip\":1}", 0, NULL },
	{ "{\"ip\":[{\"cidr\":\"0.0.0.0/0\"},{\"numeric\":[\">\",9]}]}",
	  "{\"ip\":1}", 0, NULL },
	{ "{\"ip\":[{\"cidr\":\"100.0.0.0/8\"}]}", "{\"ip\":64123}", 1,
	  NULL },
	{ "{\"ip\":[{\"cidr\":\"100.0.0.0/8\"}]}", "{\"ip\":6400}", 0,
	  NULL },
	/* a plain string that is an IP address matches the address */
	{ "{\"ip\":[\"10.0.0.1\"]}", "{\"ip\":\"10.0.0.1\"}", 1, NULL },
	{ "{\"ip\":[\"10.0.0.1\"]}", "{\"ip\":\"10.0.0.01\"}", 1, NULL },
	{ "{\"ip\":[\"10.0.0.1\"]}", "{\"ip\":\"10.0.0.2\"}", 0, NULL },
	{ "{\"ip\":[\"::1\"]}", "{\"ip\":\"0:0:0:0:0:0:0:1\"}", 1, NULL },
	{ "{\"ip\":[\"ABCD::1\"]}", "{\"ip\":\"abcd::1\"}", 1, NULL },
	{ "{\"ip\":[\"1.2.3\"]}", "{\"ip\":\"1.2.3\"}", 1, NULL },
	{ "{\"ip\":[\"300.0.0.1\"]}", "{\"ip\":\"300.0.0.1\"}", 1, NULL },
	/* $or, expanded against its siblings */
	{ "{\"$or\":[{\"a\":[\"1\"]},{\"b\":[\"2\"]}]}", "{\"b\":\"2\"}", 1,
	  NULL },
	{ "{\"$or\":[{\"a\":[\"1\"]},{\"b\":[\"2\"]}]}", "{\"c\":\"3\"}", 0,
	  NULL },
	{ "{\"detail\":{\"$or\":[{\"x\":[1]},{\"y\":[2]}]}}",
	  "{\"detail\":{\"y\":2}}", 1, NULL },
	{ "{\"s\":[\"a\"],\"$or\":[{\"x\":[1]},{\"y\":[2]}]}",
	  "{\"s\":\"a\",\"y\":2}", 1, NULL },
	{ "{\"s\":[\"a\"],\"$or\":[{\"x\":[1]},{\"y\":[2]}]}",
	  "{\"s\":\"b\",\"y\":2}", 0, "s: \"b\" is not \"a\"" },
	{ "{\"$or\":[{\"a\":[1]},{\"$or\":[{\"b\":[2]},{\"c\":[3]}]}]}",
	  "{\"c\":3}", 1, NULL },
	{ "{\"a\":[\"x\"],\"$or\":[{\"a\":[\"y\"]},{\"b\":[\"z\"]}]}",
	  "{\"a\":\"y\"}", 1, NULL },
	{ "{\"a\":[\"x\"],\"$or\":[{\"a\":[\"y\"]},{\"b\":[\"z\"]}]}",
	  "{\"a\":\"x\",\"b\":\"z\"}", 1, NULL },
	{ "{\"a\":[\"x\"],\"$or\":[{\"a\":[\"y\"]},{\"b\":[\"z\"]}]}",
	  "{\"a\":\"x\"}", 0, "b: missing, wanted \"z\"" },
	{ "{\"$or\":[{\"a\":[\"y\"]},{\"b\":[\"z\"]}],\"a\":[\"x\"]}",
	  "{\"a\":\"y\"}", 0, NULL },
	/* dotted keys are paths, in patterns and in events */
	{ "{\"a.b\":[\"x\"]}", "{\"a\":{\"b\":\"x\"}}", 1, NULL },
	{ "{\"a\":{\"b\":[\"x\"]}}", "{\"a.b\":\"x\"}", 1, NULL },
	{ "{\"a\":{\"b\":{\"c\":[\"x\"]}}}", "{\"a\":{\"b.c\":\"x\"}}", 1,
	  NULL },
	/* duplicate keys: the last one wins */
	{ "{\"a\":[\"x\"],\"a\":[\"y\"]}", "{\"a\":\"y\"}", 1, NULL },
	{ "{\"a\":[\"x\"],\"a\":[\"y\"]}", "{\"a\":\"x\"}", 0, NULL },
	/* array consistency */
	{ "{\"r\":{\"a\":[1],\"b\":[4]}}",
	  "{\"r\":[{\"a\":1,\"b\":2},{\"a\":3,\"b\":4}]}", 0,
	  "r.b: the fields matched must come from the same array element" },
	{ "{\"r\":{\"a\":[1],\"b\":[4]}}",
	  "{\"r\":[{\"a\":1,\"b\":2},{\"a\":1,\"b\":4}]}", 1, NULL },
	{ "{\"a\":[\"x\"],\"b\":[\"y\"]}",
	  "{\"a\":[\"x\",\"z\"],\"b\":[\"q\",\"y\"]}", 1, NULL },
	{ "{\"r\":{\"a\":[1]},\"s\":{\"b\":[2]}}",
	  "{\"r\":[{\"a\":1}],\"s\":[{\"b\":2}]}", 1, NULL },
	{ "{\"u\":{\"t\":{\"k\":[\"color\"],\"v\":[\"blue\"]}}}",
	  "{\"u\":[{\"t\":[{\"k\":\"color\"},{\"v\":\"blue\"}]}]}", 0, NULL },
	{ "{\"u\":{\"t\":{\"k\":[\"color\"],\"v\":[\"blue\"]}}}",
	  "{\"u\":[{\"t\":[{\"k\":\"color\",\"v\":\"blue\"}]}]}", 1, NULL },
	{ "{\"u\":{\"t\":{\"k\":[\"c\"],\"v\":[\"b\"]}}}",
	  "{\"u\":[{\"t\":{\"k\":\"c\"}},{\"t\":{\"v\":\"b\"}}]}", 0, NULL },
	{ "{\"d\":{\"n\":[{\"exists\":true}],\"i\":{\"x\":[\"1\"]}}}",
	  "{\"d\":[{\"n\":\"a\"},{\"i\":{\"x\":\"1\"}}]}", 0, NULL },
	{ "{\"d\":{\"n\":[{\"exists\":true}],\"i\":{\"x\":[\"1\"]}}}",
	  "{\"d\":[{\"n\":\"a\",\"i\":{\"x\":\"1\"}}]}", 1, NULL },
	{ "{\"r\":{\"a\":[1],\"b\":[2]}}",
	  "{\"r\":[[{\"a\":1}],[{\"b\":2}]]}", 0, NULL },
	{ "{\"r\":{\"a\":[1],\"b\":[2]}}",
	  "{\"r\":[[{\"a\":1},{\"b\":2}]]}", 0, NULL },
	{ "{\"r\":{\"a\":[1],\"b\":[2]}}", "{\"r\":[[{\"a\":1,\"b\":2}]]}", 1,
	  NULL },
	/* exists:false against the fields before it (sorted paths) */
	{ "{\"r\":{\"a\":[1],\"b\":[{\"exists\":false}]}}",
	  "{\"r\":[{\"a\":1,\"b\":2},{\"a\":1}]}", 1, NULL },
	{ "{\"r\":{\"a\":[1],\"b\":[{\"exists\":false}]}}",
	  "{\"r\":[{\"a\":1,\"b\":2}]}", 0,
	  "r.b: 2 is present (exists: false)" },
	{ "{\"r\":{\"a\":[1],\"b\":[{\"exists\":false}]}}",
	  "{\"r\":[{\"a\":1},{\"b\":2}]}", 1, NULL },
	{ "{\"r\":{\"b\":[2],\"a\":[{\"exists\":false}]}}",
	  "{\"r\":[{\"a\":1},{\"b\":2}]}", 0,
	  "r.a: 1 is present (exists: false)" },
	{ "{\"r\":{\"b\":[2],\"a\":[{\"exists\":false}]}}",
	  "{\"r\":[{\"b\":2}]}", 1, NULL },
	/* ... sorted as Java sorts strings: by UTF-16 code units, so that
	 * U+1F600 (a surrogate pair) comes before U+FF21 */
	{ "{\"r\":{\"\xf0\x9f\x98\x80\":[1],"
	  "\"\xef\xbc\xa1\":[{\"exists\":false}]}}",
	  "{\"r\":[{\"\xef\xbc\xa1\":1},{\"\xf0\x9f\x98\x80\":1}]}", 1, NULL },
	{ "{\"r\":{\"\xef\xbc\xa1\":[1],"
	  "\"\xf0\x9f\x98\x80\":[{\"exists\":false}]}}",
	  "{\"r\":[{\"\xf0\x9f\x98\x80\":1},{\"\xef\xbc\xa1\":1}]}", 0, NULL },
	/* a scalar element is not a member of its array: only objects and
	 * arrays inside an array take part in array consistency */
	{ "{\"a\":[\"y\"],\"a.n\":[\"x\"]}", "{\"a\":[\"y\",{\"n\":\"x\"}]}", 1,
	  NULL },
	{ "{\"a\":[\"y\"],\"a.n\":[\"x\"]}",
	  "{\"a\":[[\"y\"],{\"n\":\"x\"}]}", 0, NULL },
	/* errors */
	{ "[]", "{}", -1, "invalid pattern: filter is not an object" },
	{ "{\"a\":[\"x\"]}", "[1]", -1, "event is not a JSON object" },
	{ "{\"a\":[]}", "{}", -1,
	  "invalid pattern at 'a': empty arrays are not allowed" },
};

struct ccase {
	const char *pattern;
	int want;		/* 0 valid, -1 invalid */
	const char *why;
};

static const struct ccase checks[] = {
	{ "{\"a\":[1,\"x\",true,false,null,{\"prefix\":\"p\"}]}", 0, NULL },
	{ "{\"prefix\":[\"x\"]}", 0, NULL },
	{ "{\"$or\":[{\"a\":[1]},{\"b\":[2]}]}", 0, NULL },
	{ "{\"a\":[{\"exactly\":\"x\"}]}", 0, NULL },
	{ "{\"a\":[{\"anything-but\":{\"equals-ignore-case\":[]}}]}", 0, NULL },
	{ "{\"a\":[{\"cidr\":\"::/0\"}]}", 0, NULL },
	{ "{\"a\":[{\"cidr\":\"10.0.0.0/+8\"}]}", 0, NULL },
	{ "[]", -1, "invalid pattern: filter is not an object" },
	{ "{}", -1, "invalid pattern: empty objects are not allowed" },
	{ "{\"a\":{}}", -1,
	  "invalid pattern at 'a': empty objects are not allowed" },
	{ "{\"a\":\"x\"}", -1,
	  "invalid pattern at 'a': a field must hold an object or an array" },
	{ "{\"a\":[]}", -1, NULL },
	{ "{\"a\":[[1]]}", -1, NULL },
	{ "{\"a\":[{}]}", -1, NULL },
	{ "{\"a\":[{\"prefix\":1}]}", -1,
	  "invalid pattern at 'a': prefix takes a string" },
	{ "{\"a\":[{\"prefix\":\"x\",\"suffix\":\"y\"}]}", -1, NULL },
	{ "{\"a\":[{\"prefix\":{\"wildcard\":\"x\"}}]}", -1, NULL },
	{ "{\"a\":[{\"foo\":\"x\"}]}", -1,
	  "invalid pattern at 'a': unrecognized match type 'foo'" },
	{ "{\"a\":[{\"numeric\":[\">\"]}]}", -1, NULL },
	{ "{\"a\":[{\"numeric\":[\"<\",1,\">\",0]}]}", -1, NULL },
	{ "{\"a\":[{\"numeric\":[\">\",5,\"<\",1]}]}", -1, NULL },
	{ "{\"a\":[{\"numeric\":[\">\",\"5\"]}]}", -1, NULL },
	{ "{\"a\":[{\"numeric\":5}]}", -1, NULL },
	{ "{\"a\":[{\"anything-but\":[\"a\",1]}]}", -1, NULL },
	{ "{\"a\":[{\"anything-but\":[]}]}", -1, NULL },
	{ "{\"a\":[{\"anything-but\":null}]}", -1, NULL },
	{ "{\"a\":[{\"anything-but\":[true]}]}", -1, NULL },
	{ "{\"a\":[{\"anything-but\":{\"prefix\":\"\"}}]}", -1, NULL },
	{ "{\"a\":[{\"anything-but\":{\"foo\":\"x\"}}]}", -1, NULL },
	{ "{\"a\":[{\"anything-but\":{\"wildcard\":\"a**\"}}]}", -1, NULL },
	{ "{\"a\":[{\"exists\":\"yes\"}]}", -1, NULL },
	{ "{\"a\":[{\"cidr\":\"10.0.0.0\"}]}", -1, NULL },
	{ "{\"a\":[{\"cidr\":\"10.0.0.0/32\"}]}", -1,
	  "invalid pattern at 'a': IPv4 mask bits must be < 32" },
	{ "{\"a\":[{\"cidr\":\"::/128\"}]}", -1, NULL },
	{ "{\"a\":[{\"cidr\":\"x/8\"}]}", -1, NULL },
	{ "{\"a\":[{\"cidr\":\"10.0.0.0/-1\"}]}", -1, NULL },
	{ "{\"a\":[{\"wildcard\":\"a**b\"}]}", -1, NULL },
	{ "{\"a\":[{\"wildcard\":\"a\\\\b\"}]}", -1,
	  "invalid pattern at 'a': invalid escape character in wildcard" },
	{ "{\"a\":[{\"wildcard\":\"a\\\\\"}]}", -1, NULL },
	{ "{\"$or\":[{\"a\":[1]}]}", -1,
	  "invalid pattern: \"$or\" needs at least two objects" },
	{ "{\"d\":{\"$or\":[{\"a\":[1]}]}}", -1,
	  "invalid pattern at 'd': \"$or\" needs at least two objects" },
	{ "{\"$or\":{\"a\":[1]}}", -1, NULL },
	{ "{\"$or\":[{\"a\":[1]},\"x\"]}", -1, NULL },
	{ "{\"$or\":[{\"prefix\":[\"x\"]},{\"b\":[1]}]}", -1,
	  "invalid pattern at 'prefix': 'prefix' is reserved inside \"$or\"" },
	{ "{\"$or\":[{},{\"a\":[1]}]}", -1, NULL },
};

int
main(void)
{
	size_t i;
	char why[512];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mcase *c = &cases[i];
		jv p = jv_parse(c->pattern), e = jv_parse(c->event);
		int r;

		if (!jv_is_valid(p) || !jv_is_valid(e)) {
			ok(0, "case %zu: bad test JSON %s %s", i, c->pattern,
			    c->event);
			jv_free(p);
			jv_free(e);
			continue;
		}
		strcpy(why, "(unset)");
		r = ev_ref_match(p, e, why, sizeof(why));
		is_int(r, c->want, "%s ~ %s -> %d", c->pattern, c->event,
		    c->want);
		if (r != c->want)
			printf("#   why: %s\n", why);
		if (c->why != NULL)
			is_str(why, c->why, "  why: %s", c->why);
		else if (r == 0)
			ok(why[0] != '\0', "  why is given: %s", why);
		jv_free(p);
		jv_free(e);
	}
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		const struct ccase *c = &checks[i];
		jv p = jv_parse(c->pattern);
		int r;

		why[0] = '\0';
		r = ev_ref_check(p, why, sizeof(why));
		is_int(r, c->want, "check %s -> %d (%s)", c->pattern, c->want,
		    why);
		if (c->why != NULL)
			is_str(why, c->why, "  why: %s", c->why);
		jv_free(p);
	}
	/* the explanation is cut to the buffer, on a character boundary */
	{
		jv p = jv_parse("{\"source\":[\"aws.ec2\"]}");
		jv e = jv_parse("{\"source\":\"aws.s3\"}");
		char small[9];

		ev_ref_match(p, e, small, sizeof(small));
		is_str(small, "source: ", "explanation truncated to fit");
		jv_free(p);
		jv_free(e);
	}
	return tap_done();
}
