/* IP/CIDR matching for API client allowlists and trusted proxies.
 * Parsing goes through inet_pton so nothing but a real address is ever accepted. */
#include "netaddr.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct addr { int family; unsigned char b[16]; };

static int addr_parse(const char *s, struct addr *a)
{
	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, s, a->b) == 1) { a->family = 4; return 0; }
	if (inet_pton(AF_INET6, s, a->b) == 1) {
		/* ::ffff:1.2.3.4 is an IPv4 client seen through a v6 socket */
		static const unsigned char mapped[12] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff};
		if (!memcmp(a->b, mapped, 12)) { memmove(a->b, a->b + 12, 4); memset(a->b + 4, 0, 12); a->family = 4; }
		else a->family = 6;
		return 0;
	}
	return -1;
}

static int cidr_parse(const char *cidr, struct addr *net, int *bits)
{
	char tmp[64];
	size_t n = strlen(cidr);
	if (n == 0 || n >= sizeof tmp) return -1;
	memcpy(tmp, cidr, n + 1);
	char *slash = strchr(tmp, '/');
	if (slash) *slash = 0;
	if (addr_parse(tmp, net) < 0) return -1;
	int max = net->family == 4 ? 32 : 128;
	if (!slash) { *bits = max; return 0; }
	char *end;
	long b = strtol(slash + 1, &end, 10);
	if (*end || end == slash + 1 || b < 0 || b > max) return -1;
	*bits = (int)b;
	return 0;
}

int cidr_valid(const char *cidr)
{
	struct addr a; int bits;
	return cidr && cidr_parse(cidr, &a, &bits) == 0;
}

int cidr_match(const char *ip, const char *cidr)
{
	struct addr a, net; int bits;
	if (!ip || !cidr || addr_parse(ip, &a) < 0 || cidr_parse(cidr, &net, &bits) < 0) return 0;
	if (a.family != net.family) return 0;
	int full = bits / 8, rest = bits % 8;
	if (memcmp(a.b, net.b, (size_t)full)) return 0;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		if ((a.b[full] & mask) != (net.b[full] & mask)) return 0;
	}
	return 1;
}

int cidr_list_match(const char *ip, const char *list)
{
	if (!ip || !list) return 0;
	char item[64];
	const char *p = list;
	while (*p) {
		while (*p == ',' || *p == ' ' || *p == '\n' || *p == '\t') p++;
		size_t n = strcspn(p, ", \n\t");
		if (n == 0) break;
		if (n < sizeof item) {
			memcpy(item, p, n); item[n] = 0;
			if (cidr_match(ip, item)) return 1;
		}
		p += n;
	}
	return 0;
}

void client_ip_resolve(const char *peer, const char *xff, const char *trusted, char *out, int outlen)
{
	snprintf(out, (size_t)outlen, "%s", peer ? peer : "");
	if (!xff || !*xff || !trusted || !*trusted || !cidr_list_match(peer, trusted)) return;
	/* walk X-Forwarded-For right to left, skipping our own proxies; the first other hop is the client */
	char tmp[1024];
	/* the trusted hops are at the right end: an over-long header keeps its tail, minus the cut first item
	 * (keeping the head let a client choose which of its own entries ended up last) */
	size_t xl = strlen(xff);
	if (xl >= sizeof tmp) {
		const char *tail = strchr(xff + xl - (sizeof tmp - 1), ',');
		if (!tail) return;
		xff = tail + 1;
	}
	snprintf(tmp, sizeof tmp, "%s", xff);
	for (;;) {
		char *comma = strrchr(tmp, ',');
		char *item = comma ? comma + 1 : tmp;
		while (*item == ' ') item++;
		char *e = item + strlen(item);
		while (e > item && e[-1] == ' ') *--e = 0;
		struct addr a;
		if (addr_parse(item, &a) < 0) return;        /* garbage: keep the last trusted hop */
		snprintf(out, (size_t)outlen, "%s", item);
		if (!cidr_list_match(item, trusted) || !comma) return;
		*comma = 0;
	}
}
