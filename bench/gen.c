/*
 * gen.c - deterministic input generator for bench/run.
 *
 *   gen events N      N EventBridge-shaped events (NDJSON) on stdout; one
 *                     in ten has source aws.ec2 and detail.state running
 *   gen citylots N    N GeoJSON features shaped like SF's citylots.json
 *                     (~900 bytes each, mostly coordinate arrays)
 *   gen rules N       N named rules (NDJSON of {"name","pattern"}); exactly
 *                     one, "ec2-running", selects the events above (bench/run
 *                     makes 10,000 and 100,000: matching and compile time)
 *   gen rss CMD ...   run CMD with stdout on /dev/null, print its peak
 *                     resident set size in KiB (from wait4's rusage)
 *
 * The same N always gives the same bytes: the generator has its own PRNG.
 */
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

/* xorshift64* */
static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, n). */
static unsigned
pick(unsigned n)
{
	return (unsigned)((rnd() >> 33) % n);
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *regions[] = {"us-east-1", "us-east-1", "us-east-1",
    "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"};

static void
ip(char *buf, size_t size)
{
	static const char *nets[] = {
	    "10.0", "10.1", "192.0.2", "198.51.100", "203.0.113"};
	unsigned n = pick(NELEM(nets));

	if (n < 2)
		snprintf(
		    buf, size, "%s.%u.%u", nets[n], pick(256), 1 + pick(254));
	else
		snprintf(buf, size, "%s.%u", nets[n], 1 + pick(254));
}

static void
header(
    unsigned long i, const char *dtype, const char *source, const char *region)
{
	static const char *accounts[] = {
	    "123456789012", "111122223333", "444455556666"};

	printf("{\"version\":\"0\",\"id\":\"%08x-%04x-4%03x-%04x-%012llx\","
	       "\"detail-type\":\"%s\",\"source\":\"%s\",\"account\":\"%s\","
	       "\"time\":\"2024-05-%02uT%02u:%02u:%02uZ\",\"region\":\"%s\",",
	    (unsigned)i, pick(0x10000), pick(0x1000), 0x8000 | pick(0x4000),
	    (unsigned long long)(rnd() >> 16), dtype, source,
	    accounts[pick(NELEM(accounts))], 1 + (unsigned)(i / 20000 % 28),
	    (unsigned)(i / 3600 % 24), (unsigned)(i / 60 % 60),
	    (unsigned)(i % 60), region);
}

static void
ev_ec2(unsigned long i, const char *region)
{
	/* 40% running: with aws.ec2 at 25% of events, 10% of all. */
	static const char *states[] = {"running", "running", "running",
	    "running", "pending", "pending", "stopping", "stopped",
	    "shutting-down", "terminated"};
	unsigned long long id = rnd() >> 4;

	header(i, "EC2 Instance State-change Notification", "aws.ec2", region);
	printf("\"resources\":[\"arn:aws:ec2:%s:123456789012:instance/"
	       "i-%017llx\"],\"detail\":{\"instance-id\":\"i-%017llx\","
	       "\"state\":\"%s\"}}\n",
	    region, id, id, states[pick(NELEM(states))]);
}

static void
ev_s3(unsigned long i, const char *region)
{
	static const char *buckets[] = {
	    "acme-uploads", "acme-reports", "acme-logs", "media-assets"};
	static const char *dirs[] = {
	    "uploads", "invoices/2024/05", "daily", "avatars", "tmp"};
	static const char *exts[] = {"pdf", "png", "csv", "json", "jpg"};
	const char *b = buckets[pick(NELEM(buckets))];
	char addr[32];

	ip(addr, sizeof(addr));
	header(i, "Object Created", "aws.s3", region);
	printf("\"resources\":[\"arn:aws:s3:::%s\"],\"detail\":{\"version\":"
	       "\"0\",\"bucket\":{\"name\":\"%s\"},\"object\":{\"key\":"
	       "\"%s/%08x.%s\",\"size\":%u,\"etag\":\"%016llx%016llx\","
	       "\"sequencer\":\"%016llX\"},\"request-id\":\"%016llX\","
	       "\"requester\":\"123456789012\",\"source-ip-address\":\"%s\","
	       "\"reason\":\"PutObject\"}}\n",
	    b, b, dirs[pick(NELEM(dirs))], (unsigned)(rnd() >> 32),
	    exts[pick(NELEM(exts))], pick(1 << 24), (unsigned long long)rnd(),
	    (unsigned long long)rnd(), (unsigned long long)rnd(),
	    (unsigned long long)rnd(), addr);
}

static void
ev_order(unsigned long i, const char *region)
{
	static const char *types[] = {"Order Placed", "Order Placed",
	    "Order Shipped", "Order Cancelled", "Payment Failed"};
	static const char *tiers[] = {"standard", "silver", "gold"};
	static const char *skus[] = {"BK", "MUG", "TEE", "PEN", "HDPH", "CBL"};
	static const char *channels[] = {"web", "mobile", "store"};
	unsigned n = 1 + pick(5), k;
	char addr[32];

	ip(addr, sizeof(addr));
	header(i, types[pick(NELEM(types))], "com.example.orders", region);
	printf(
	    "\"resources\":[],\"detail\":{\"order-id\":\"ord-%lu\","
	    "\"customer\":{\"id\":\"c-%u\",\"tier\":\"%s\"},\"amount\":%u.%02u,"
	    "\"currency\":\"EUR\",\"items\":[",
	    100000 + i, pick(50000), tiers[pick(NELEM(tiers))], pick(2000),
	    pick(100));
	for (k = 0; k < n; k++)
		printf("%s{\"sku\":\"%s-%04u\",\"qty\":%u,\"price\":%u.%02u}",
		    k ? "," : "", skus[pick(NELEM(skus))], pick(10000),
		    1 + pick(9), 1 + pick(300), pick(100));
	printf("],\"channel\":\"%s\",\"client-ip\":\"%s\"}}\n",
	    channels[pick(NELEM(channels))], addr);
}

static void
ev_signin(unsigned long i, const char *region)
{
	char addr[32];
	unsigned u = pick(500);

	ip(addr, sizeof(addr));
	header(i, "AWS Console Sign In via CloudTrail", "aws.signin", region);
	printf(
	    "\"resources\":[],\"detail\":{\"eventVersion\":\"1.08\","
	    "\"userIdentity\":{\"type\":\"IAMUser\",\"principalId\":"
	    "\"AIDA%016llX\",\"arn\":\"arn:aws:iam::123456789012:user/user%u\","
	    "\"userName\":\"user%u\"},\"eventSource\":\"signin.amazonaws.com\","
	    "\"eventName\":\"ConsoleLogin\",\"sourceIPAddress\":\"%s\","
	    "\"responseElements\":{\"ConsoleLogin\":\"%s\"},"
	    "\"additionalEventData\":{\"MFAUsed\":\"%s\"}}}\n",
	    (unsigned long long)(rnd() >> 1), u, u, addr,
	    pick(10) ? "Success" : "Failure", pick(2) ? "Yes" : "No");
}

static void
ev_autoscaling(unsigned long i, const char *region)
{
	unsigned g = pick(40);
	unsigned long long id = rnd() >> 4;

	header(i, "EC2 Instance Launch Successful", "aws.autoscaling", region);
	printf(
	    "\"resources\":[\"arn:aws:autoscaling:%s:123456789012:"
	    "autoScalingGroup:%08x:autoScalingGroupName/asg-%u\","
	    "\"arn:aws:ec2:%s:123456789012:instance/i-%017llx\"],"
	    "\"detail\":{\"StatusCode\":\"InProgress\","
	    "\"AutoScalingGroupName\":"
	    "\"asg-%u\",\"ActivityId\":\"%016llx\",\"EC2InstanceId\":"
	    "\"i-%017llx\",\"Details\":{\"Subnet ID\":\"subnet-%08x\","
	    "\"Availability Zone\":\"%sa\"},\"Cause\":\"At 2024-05-01T00:00:00Z"
	    " a monitor alarm triggered policy scale-out changing the desired"
	    " capacity from %u to %u.\"}}\n",
	    region, g * 7919u, g, region, id, g, (unsigned long long)rnd(), id,
	    pick(1u << 31), region, 1 + g, 2 + g);
}

static void
ev_health(unsigned long i, const char *region)
{
	unsigned long long id = rnd() >> 4;

	header(i, "AWS Health Event", "aws.health", region);
	printf(
	    "\"resources\":[\"i-%017llx\"],\"detail\":{\"eventArn\":"
	    "\"arn:aws:health:%s::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/%08x\","
	    "\"service\":\"EC2\",\"eventTypeCode\":\"AWS_EC2_OPERATIONAL_"
	    "ISSUE\","
	    "\"eventTypeCategory\":\"issue\",\"statusCode\":\"%s\","
	    "\"eventDescription\":[{\"language\":\"en_US\","
	    "\"latestDescription\":"
	    "\"We are investigating increased API error rates in the %s"
	    " Region.\"}],\"affectedEntities\":[{\"entityValue\":\"i-%017llx\","
	    "\"tags\":{\"team\":\"t%u\"}}]}}\n",
	    id, region, (unsigned)(rnd() >> 32), pick(3) ? "open" : "closed",
	    region, id, pick(30));
}

static void
gen_events(unsigned long n)
{
	unsigned long i;
	unsigned r;
	const char *region;

	for (i = 0; i < n; i++) {
		r = pick(100);
		region = regions[pick(NELEM(regions))];
		if (r < 25)
			ev_ec2(i, region);
		else if (r < 45)
			ev_s3(i, region);
		else if (r < 70)
			ev_order(i, region);
		else if (r < 80)
			ev_signin(i, region);
		else if (r < 90)
			ev_autoscaling(i, region);
		else
			ev_health(i, region);
	}
}

static void
gen_citylots(unsigned long n)
{
	static const char *streets[] = {"JEFFERSON", "BEACH", "NORTH POINT",
	    "BAY", "FRANCISCO", "CHESTNUT", "LOMBARD", "GREENWICH", "FILBERT",
	    "UNION", "GREEN", "VALLEJO", "BROADWAY", "PACIFIC", "JACKSON",
	    "WASHINGTON", "CLAY", "SACRAMENTO", "CALIFORNIA", "PINE", "BUSH",
	    "SUTTER", "POST", "GEARY", "OFARRELL", "ELLIS", "EDDY", "TURK",
	    "GOLDEN GATE", "MCALLISTER", "FULTON", "GROVE", "HAYES", "FELL",
	    "OAK", "PAGE", "HAIGHT", "WALLER", "DUBOCE", "MARKET"};
	unsigned long i;
	unsigned k, npts, blk, lot;
	long x, y;
	int st;

	for (i = 0; i < n; i++) {
		blk = 1 + (unsigned)(i / 40 % 9999);
		lot = 1 + (unsigned)(i % 40);
		st = (int)pick(NELEM(streets));
		printf(
		    "{\"type\":\"Feature\",\"properties\":{\"MAPBLKLOT\":"
		    "\"%04u%03u\",\"BLKLOT\":\"%04u%03u\",\"BLOCK_NUM\":\"%"
		    "04u\","
		    "\"LOT_NUM\":\"%03u\",\"FROM_ST\":\"%u\",\"TO_ST\":\"%u\","
		    "\"STREET\":\"%s\",\"ST_TYPE\":%s,\"ODD_EVEN\":\"%s\"},"
		    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[",
		    blk, lot, blk, lot, blk, lot, 2 * pick(1500),
		    2 * pick(1500) + 1, streets[st],
		    pick(8) ? "\"ST\"" : "null", pick(2) ? "E" : "O");
		x = 380000000000000L + (long)(rnd() % 150000000000000ULL);
		y = 708000000000000L + (long)(rnd() % 100000000000000ULL);
		npts = 8 + pick(13);
		for (k = 0; k < npts; k++) {
			printf("%s[-122.%015ld,37.%015ld,0.0]", k ? "," : "", x,
			    y);
			x += (long)pick(2000000000) - 1000000000;
			y += (long)pick(2000000000) - 1000000000;
		}
		printf("]]}}\n");
	}
}

static void
gen_rules(unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		printf("{\"name\":");
		if (i == n / 2)
			printf("\"ec2-running\",\"pattern\":{\"source\":"
			       "[\"aws.ec2\"],\"detail\":{\"state\":["
			       "\"running\"]}}");
		else if (i % 20 == 0)
			printf(
			    "\"r%05lu\",\"pattern\":{\"source\":[\"aws.s3\"],"
			    "\"detail\":{\"object\":{\"key\":[{\"prefix\":"
			    "\"archive-%lu/\"}]}}}",
			    i, i);
		else if (i % 20 == 1)
			printf(
			    "\"r%05lu\",\"pattern\":{\"source\":"
			    "[\"com.example.orders\"],\"detail\":{\"amount\":"
			    "[{\"numeric\":[\">\",%lu]}]}}",
			    i, 100000 + i);
		else if (i % 3 == 0)
			printf(
			    "\"r%05lu\",\"pattern\":{\"source\":[\"aws.ec2\"],"
			    "\"detail\":{\"state\":[\"state-%lu\"]}}",
			    i, i);
		else
			printf("\"r%05lu\",\"pattern\":{\"source\":"
			       "[\"com.vendor%lu.app\"],\"detail-type\":"
			       "[\"Event Type %lu\"],\"detail\":{\"state\":"
			       "[\"state-%lu\"]}}",
			    i, i % 997, i, i);
		printf("}\n");
	}
}

static int
rss(char **argv)
{
	struct rusage ru;
	pid_t pid;
	int fd, st;

	if ((pid = fork()) == -1) {
		perror("gen: fork");
		return 1;
	}
	if (pid == 0) {
		if ((fd = open("/dev/null", O_WRONLY)) == -1 ||
		    dup2(fd, 1) == -1) {
			perror("gen: /dev/null");
			_exit(127);
		}
		execvp(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) == -1) {
		perror("gen: wait4");
		return 1;
	}
	printf("%ld\n", ru.ru_maxrss);
	return WIFEXITED(st) && WEXITSTATUS(st) == 127;
}

static void
usage(void)
{
	fputs("usage: gen {events | citylots | rules} N\n"
	      "       gen rss CMD [ARG ...]\n",
	    stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	unsigned long n;
	char *end;

	if (argc >= 3 && strcmp(argv[1], "rss") == 0)
		return rss(argv + 2);
	if (argc != 3)
		usage();
	n = strtoul(argv[2], &end, 10);
	if (*argv[2] == '\0' || *end != '\0')
		usage();
	if (strcmp(argv[1], "events") == 0)
		gen_events(n);
	else if (strcmp(argv[1], "citylots") == 0)
		gen_citylots(n);
	else if (strcmp(argv[1], "rules") == 0)
		gen_rules(n);
	else
		usage();
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror("gen: write error");
		return 1;
	}
	return 0;
}
