/* Playback session ids: "uid.vpk.vid.dur_ms.iat.sid" plus a truncated HMAC-SHA256 over it, keyed with the
 * app secret (domain-separated from CSRF and JWTs by the "pb1:" prefix). */
#include "learn_token.h"
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"

static void mac_hex(const char *secret, const char *payload, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char msg[LEARN_TOKEN_MAX + 8];
	snprintf(msg, sizeof msg, "pb1:%s", payload);
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, strlen(msg), md, &mdlen);
	for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int learn_token_make(const char *secret, struct learn_pb *p, char *out, size_t outlen)
{
	if (!p->sid[0]) random_hex(p->sid, 8);
	char payload[LEARN_TOKEN_MAX], mac[33];
	int n = snprintf(payload, sizeof payload, "%ld.%ld.%s.%ld.%ld.%s", p->uid, p->vpk, p->vid, p->dur_ms, p->iat, p->sid);
	if (n < 0 || (size_t)n >= sizeof payload) return -1;
	mac_hex(secret, payload, mac);
	n = snprintf(out, outlen, "%s.%s", payload, mac);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int all_hex(const char *s, size_t n)
{
	if (strlen(s) != n) return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
	return 1;
}

/* a positive decimal that fits a long, nothing else */
static int pos_long(const char *s, long *out)
{
	if (!*s || strlen(s) > 18) return 0;
	for (const char *c = s; *c; c++) if (*c < '0' || *c > '9') return 0;
	*out = strtol(s, NULL, 10);
	return 1;
}

int learn_token_parse(const char *secret, const char *tok, long now, long ttl, struct learn_pb *out)
{
	if (!tok || strlen(tok) >= LEARN_TOKEN_MAX) return -1;
	int dots = 0;
	for (const char *c = tok; *c; c++) dots += *c == '.';
	if (dots != 6) return -1;
	char copy[LEARN_TOKEN_MAX], *part[7], *save = NULL;
	snprintf(copy, sizeof copy, "%s", tok);
	int n = 0;
	for (char *p = strtok_r(copy, ".", &save); p && n < 7; p = strtok_r(NULL, ".", &save)) part[n++] = p;
	if (n != 7) return -1;
	struct learn_pb p = {0};
	if (!pos_long(part[0], &p.uid) || !pos_long(part[1], &p.vpk) || !all_hex(part[2], 16) ||
	    !pos_long(part[3], &p.dur_ms) || !pos_long(part[4], &p.iat) || !all_hex(part[5], 16) || !all_hex(part[6], 32))
		return -1;
	if (p.uid <= 0 || p.vpk <= 0 || p.dur_ms <= 0) return -1;
	memcpy(p.vid, part[2], 17);
	memcpy(p.sid, part[5], 17);
	char payload[LEARN_TOKEN_MAX], mac[33];
	snprintf(payload, sizeof payload, "%ld.%ld.%s.%ld.%ld.%s", p.uid, p.vpk, p.vid, p.dur_ms, p.iat, p.sid);
	mac_hex(secret, payload, mac);
	/* the canonical re-encoding must be what was sent (no leading zeros smuggled past the MAC) */
	if (strncmp(tok, payload, strlen(payload)) || !ct_streq(mac, part[6])) return -1;
	if (now - p.iat > ttl || p.iat > now + 300) return -2;
	*out = p;
	return 0;
}
