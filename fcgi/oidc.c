/* OpenID Connect relying party pieces, see oidc.h. Why OpenSSL and not libjwt for ID tokens: the keys arrive as JWK
 * (n, e), which libjwt 1.10 cannot take (it wants PEM), and one EVP_DigestVerify with RS256 fixed here is less code to
 * trust than converting keys for a library whose algorithm choice we would have to pin anyway. */
#include "oidc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include "auth.h"
#include "log.h"

#define SET_ERR(...) snprintf(err, (size_t)errlen, __VA_ARGS__)

int oidc_b64url_decode(const char *in, size_t n, unsigned char *out, size_t outlen)
{
	size_t o = 0;
	unsigned v = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)in[i], d;
		if (c >= 'A' && c <= 'Z') d = c - 'A';
		else if (c >= 'a' && c <= 'z') d = c - 'a' + 26;
		else if (c >= '0' && c <= '9') d = c - '0' + 52;
		else if (c == '-') d = 62;
		else if (c == '_') d = 63;
		else if (c == '=') break;
		else return -1;
		v = (v << 6) | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outlen) return -1;
			out[o++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	return (int)o;
}

/* one base64url JSON segment of a JWT */
static json_object *segment_json(const char *s, size_t n)
{
	if (n == 0 || n > 16384) return NULL;
	unsigned char *b = malloc(n);
	if (!b) return NULL;
	int len = oidc_b64url_decode(s, n, b, n);
	json_object *o = NULL;
	if (len > 0) {
		json_tokener *tk = json_tokener_new_ex(16);
		o = json_tokener_parse_ex(tk, (const char *)b, len);
		if (json_tokener_get_error(tk) != json_tokener_success || !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			o = NULL;
		}
		json_tokener_free(tk);
	}
	free(b);
	return o;
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* An RSA public key from a JWK's n and e (OpenSSL 3 params). */
static EVP_PKEY *rsa_from_jwk(json_object *jwk)
{
	const char *n = jstr(jwk, "n"), *e = jstr(jwk, "e");
	if (!n || !e || strlen(n) > 1400 || strlen(e) > 16) return NULL;
	unsigned char nb[1100], eb[16];
	int nl = oidc_b64url_decode(n, strlen(n), nb, sizeof nb), el = oidc_b64url_decode(e, strlen(e), eb, sizeof eb);
	if (nl < 256 || el < 1) return NULL;   /* at least 2048-bit moduli */
	EVP_PKEY *pk = NULL;
	BIGNUM *bn = BN_bin2bn(nb, nl, NULL), *be = BN_bin2bn(eb, el, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!bn || !be || !bld || !ctx || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) || !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return pk;
}

/* The signing key for kid: RSA, meant for signatures, for RS256 (when the JWK says). NULL if none. */
static json_object *find_key(json_object *jwks, const char *kid)
{
	json_object *keys;
	if (!jwks || !json_object_object_get_ex(jwks, "keys", &keys) || !json_object_is_type(keys, json_type_array)) return NULL;
	json_object *only = NULL;
	int rsa = 0;
	for (size_t i = 0; i < json_object_array_length(keys); i++) {
		json_object *k = json_object_array_get_idx(keys, i);
		const char *kty = jstr(k, "kty"), *use = jstr(k, "use"), *alg = jstr(k, "alg"), *id = jstr(k, "kid");
		if (!kty || strcmp(kty, "RSA") || (use && strcmp(use, "sig")) || (alg && strcmp(alg, "RS256"))) continue;
		rsa++;
		only = k;
		if (kid && id && !strcmp(kid, id)) return k;
	}
	/* a token without kid is fine only when there is exactly one candidate key */
	return !kid && rsa == 1 ? only : NULL;
}

static int aud_ok(json_object *claims, const char *client_id)
{
	json_object *aud;
	if (!json_object_object_get_ex(claims, "aud", &aud)) return 0;
	if (json_object_is_type(aud, json_type_string)) return !strcmp(json_object_get_string(aud), client_id);
	if (!json_object_is_type(aud, json_type_array)) return 0;
	int found = 0, n = (int)json_object_array_length(aud);
	for (int i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(aud, i);
		if (json_object_is_type(a, json_type_string) && !strcmp(json_object_get_string(a), client_id)) found = 1;
	}
	/* several audiences: the token must have been issued to us (OIDC Core 3.1.3.7 point 4-5) */
	const char *azp = jstr(claims, "azp");
	return found && (n == 1 || (azp && !strcmp(azp, client_id)));
}

static int claim_long(json_object *claims, const char *k, long *out)
{
	json_object *v;
	if (!json_object_object_get_ex(claims, k, &v) || !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return 0;
	*out = (long)json_object_get_int64(v);
	return 1;
}

int oidc_verify_id_token(const char *jwt, json_object *jwks, const struct oidc_expect *x, struct oidc_claims *out,
			 char *err, int errlen)
{
	int rc = OIDC_INVALID;
	json_object *hdr = NULL, *claims = NULL;
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *md = NULL;
	memset(out, 0, sizeof *out);
	const char *d1 = jwt ? strchr(jwt, '.') : NULL, *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d1 || !d2 || strchr(d2 + 1, '.') || strlen(jwt) > 16384) { SET_ERR("not a signed JWT"); goto out; }
	if (!(hdr = segment_json(jwt, (size_t)(d1 - jwt))) || !(claims = segment_json(d1 + 1, (size_t)(d2 - d1 - 1)))) {
		SET_ERR("undecodable header or claims");
		goto out;
	}
	/* the algorithm is ours to choose, not the token's: RS256 only (no none, no HS256 with the public key as secret) */
	const char *alg = jstr(hdr, "alg");
	if (!alg || strcmp(alg, "RS256")) { SET_ERR("algorithm %s refused", alg ? alg : "(missing)"); goto out; }
	json_object *key = find_key(jwks, jstr(hdr, "kid"));
	if (!key) { SET_ERR("no key for kid %s", jstr(hdr, "kid") ? jstr(hdr, "kid") : "(none)"); rc = OIDC_UNKNOWN_KID; goto out; }
	if (!(pk = rsa_from_jwk(key))) { SET_ERR("unusable key"); goto out; }
	size_t slen = strlen(d2 + 1);
	unsigned char *sig = malloc(slen + 1);
	int sl = sig ? oidc_b64url_decode(d2 + 1, slen, sig, slen + 1) : -1;
	int ok = sl > 0 && (md = EVP_MD_CTX_new()) && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
		 EVP_DigestVerify(md, sig, (size_t)sl, (const unsigned char *)jwt, (size_t)(d2 - jwt)) == 1;
	free(sig);
	if (!ok) { SET_ERR("bad signature"); goto out; }
	const char *iss = jstr(claims, "iss"), *nonce = jstr(claims, "nonce"), *sub = jstr(claims, "sub");
	if (!iss || strcmp(iss, x->issuer)) { SET_ERR("issuer %s is not %s", iss ? iss : "(missing)", x->issuer); goto out; }
	if (!aud_ok(claims, x->client_id)) { SET_ERR("audience is not %s", x->client_id); goto out; }
	long exp, iat;
	if (!claim_long(claims, "exp", &exp)) { SET_ERR("no exp"); goto out; }
	if (exp + x->skew < x->now) { SET_ERR("expired"); rc = OIDC_EXPIRED; goto out; }
	if (claim_long(claims, "iat", &iat) && iat - x->skew > x->now) { SET_ERR("issued in the future"); goto out; }
	if (!nonce || !x->nonce || !ct_streq(nonce, x->nonce)) { SET_ERR("nonce mismatch"); goto out; }
	if (!sub || !*sub || strlen(sub) >= sizeof out->sub) { SET_ERR("bad sub"); goto out; }
	snprintf(out->sub, sizeof out->sub, "%s", sub);
	const char *email = jstr(claims, "email");
	if (email && strlen(email) < sizeof out->email) snprintf(out->email, sizeof out->email, "%s", email);
	json_object *ev;
	if (json_object_object_get_ex(claims, "email_verified", &ev))
		out->email_verified = json_object_is_type(ev, json_type_boolean) ? json_object_get_boolean(ev)
				      : json_object_is_type(ev, json_type_string) && !strcmp(json_object_get_string(ev), "true");
	rc = OIDC_OK;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	json_object_put(hdr);
	json_object_put(claims);
	return rc;
}

int oidc_pkce_challenge(const char *verifier, char challenge[64])
{
	unsigned char h[32];
	SHA256((const unsigned char *)verifier, strlen(verifier), h);
	return base64url_encode(h, sizeof h, challenge, 64) < 0 ? -1 : 0;
}

int oidc_pkce(char verifier[64], char challenge[64])
{
	unsigned char rnd[32];
	if (RAND_bytes(rnd, sizeof rnd) != 1 || base64url_encode(rnd, sizeof rnd, verifier, 64) < 0) return -1;
	return oidc_pkce_challenge(verifier, challenge);
}

/* ---- client secrets at rest ---- */

static void seal_key(const char *server_secret, unsigned char key[32])
{
	unsigned int len = 32;
	HMAC(EVP_sha256(), server_secret, (int)strlen(server_secret), (const unsigned char *)"oidc-client-secret", 18, key, &len);
}

static void hex_of(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

char *oidc_secret_seal(const char *server_secret, const char *plain)
{
	size_t n = strlen(plain);
	if (n > 1000) return NULL;
	unsigned char key[32], iv[12], tag[16], ct[1024];
	int len = 0, fl = 0;
	seal_key(server_secret, key);
	if (RAND_bytes(iv, sizeof iv) != 1) return NULL;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) == 1 &&
		 EVP_EncryptUpdate(c, ct, &len, (const unsigned char *)plain, (int)n) == 1 &&
		 EVP_EncryptFinal_ex(c, ct + len, &fl) == 1 && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok) return NULL;
	char *out = malloc(3 + 2 * (12 + 16 + (size_t)(len + fl)) + 1);
	if (!out) return NULL;
	strcpy(out, "v1:");
	hex_of(iv, 12, out + 3);
	hex_of(tag, 16, out + 3 + 24);
	hex_of(ct, (size_t)(len + fl), out + 3 + 56);
	return out;
}

char *oidc_secret_open(const char *server_secret, const char *sealed)
{
	size_t n = sealed ? strlen(sealed) : 0;
	if (n < 3 + 56 || strncmp(sealed, "v1:", 3) || (n - 3) % 2 || n > 3 + 56 + 2048) return NULL;
	unsigned char raw[1100], key[32];
	size_t rl = (n - 3) / 2;
	for (size_t i = 0; i < rl; i++) {
		unsigned v;
		if (sscanf(sealed + 3 + 2 * i, "%2x", &v) != 1) return NULL;
		raw[i] = (unsigned char)v;
	}
	seal_key(server_secret, key);
	char *out = malloc(rl - 28 + 1);
	int len = 0, fl = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int ok = out && c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, raw) == 1 &&
		 EVP_DecryptUpdate(c, (unsigned char *)out, &len, raw + 28, (int)(rl - 28)) == 1 &&
		 EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, raw + 12) == 1 &&
		 EVP_DecryptFinal_ex(c, (unsigned char *)out + len, &fl) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok) { free(out); return NULL; }
	out[len + fl] = 0;
	return out;
}

/* ---- network ---- */

int oidc_url_allowed(const char *url)
{
	if (!url) return 0;
	if (!strncasecmp(url, "https://", 8)) return 1;
	/* plain http only to this machine: a development or test provider */
	return !strncmp(url, "http://127.0.0.1:", 17) || !strncmp(url, "http://127.0.0.1/", 17) ||
	       !strncmp(url, "http://localhost:", 17) || !strncmp(url, "http://[::1]:", 13);
}

struct body { char *p; size_t len; int over; };

static size_t on_data(char *d, size_t sz, size_t nm, void *ud)
{
	struct body *b = ud;
	size_t n = sz * nm;
	if (b->len + n > 1 << 20) { b->over = 1; return 0; }   /* a provider's answer is small; refuse a flood */
	char *p = realloc(b->p, b->len + n + 1);
	if (!p) return 0;
	memcpy(p + b->len, d, n);
	b->p = p;
	b->len += n;
	b->p[b->len] = 0;
	return n;
}

/* GET (form NULL) or POST a form; the JSON answer or NULL with err. */
static json_object *http_json(const char *url, const char *form, long *status, char *err, int errlen)
{
	static int inited;
	if (!inited) { curl_global_init(CURL_GLOBAL_DEFAULT); inited = 1; }
	if (!oidc_url_allowed(url)) { SET_ERR("refusing %s: https only", url ? url : "(null)"); return NULL; }
	CURL *c = curl_easy_init();
	if (!c) { SET_ERR("curl init"); return NULL; }
	struct body b = {0};
	struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "R-Stream");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (form) curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	CURLcode rc = curl_easy_perform(c);
	long st = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (status) *status = st;
	json_object *o = NULL;
	if (rc != CURLE_OK) SET_ERR("%s: %s", url, b.over ? "answer too large" : curl_easy_strerror(rc));
	else if (!b.p || !(o = json_tokener_parse(b.p)) || !json_object_is_type(o, json_type_object)) {
		SET_ERR("%s: HTTP %ld, not a JSON object", url, st);
		json_object_put(o);
		o = NULL;
	}
	free(b.p);
	return o;
}

json_object *oidc_post_form(const char *url, const char *form, long *status, char *err, int errlen)
{
	return http_json(url, form, status, err, errlen);
}

/* Per-process caches, a few issuers at most (one per configured provider). */
#define OIDC_CACHE 16
static struct { char issuer[512]; json_object *disco, *jwks; time_t disco_at, jwks_at; } cache[OIDC_CACHE];

static int cache_slot(const char *issuer)
{
	int free_slot = -1;
	for (int i = 0; i < OIDC_CACHE; i++) {
		if (!strcmp(cache[i].issuer, issuer)) return i;
		if (!cache[i].issuer[0] && free_slot < 0) free_slot = i;
	}
	int i = free_slot >= 0 ? free_slot : (int)(time(NULL) % OIDC_CACHE);
	json_object_put(cache[i].disco);
	json_object_put(cache[i].jwks);
	memset(&cache[i], 0, sizeof cache[i]);
	snprintf(cache[i].issuer, sizeof cache[i].issuer, "%s", issuer);
	return i;
}

json_object *oidc_discovery(const char *issuer, char *err, int errlen)
{
	if (!issuer || strlen(issuer) >= sizeof cache[0].issuer - 40) { SET_ERR("issuer too long"); return NULL; }
	int i = cache_slot(issuer);
	time_t now = time(NULL);
	if (cache[i].disco && now - cache[i].disco_at < 3600) return cache[i].disco;
	char url[600];
	size_t n = strlen(issuer);
	snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration", (int)(n && issuer[n - 1] == '/' ? n - 1 : n), issuer);
	json_object *d = http_json(url, NULL, NULL, err, errlen);
	if (!d) return NULL;
	const char *iss = jstr(d, "issuer");
	if (!iss || strcmp(iss, issuer) || !jstr(d, "authorization_endpoint") || !jstr(d, "token_endpoint") || !jstr(d, "jwks_uri")) {
		SET_ERR("discovery document of %s: wrong issuer or missing endpoints", issuer);
		json_object_put(d);
		return NULL;
	}
	json_object_put(cache[i].disco);
	cache[i].disco = d;
	cache[i].disco_at = now;
	return d;
}

json_object *oidc_jwks(const char *issuer, const char *jwks_uri, int refresh, char *err, int errlen)
{
	int i = cache_slot(issuer);
	time_t now = time(NULL);
	if (cache[i].jwks && (refresh ? now - cache[i].jwks_at < 5 : now - cache[i].jwks_at < 3600)) return cache[i].jwks;
	json_object *k = http_json(jwks_uri, NULL, NULL, err, errlen);
	json_object *keys;
	if (!k || !json_object_object_get_ex(k, "keys", &keys) || !json_object_is_type(keys, json_type_array)) {
		if (k) SET_ERR("%s: no keys", jwks_uri);
		json_object_put(k);
		return cache[i].jwks;   /* keep using the last good set while the provider has trouble */
	}
	json_object_put(cache[i].jwks);
	cache[i].jwks = k;
	cache[i].jwks_at = now;
	return k;
}
