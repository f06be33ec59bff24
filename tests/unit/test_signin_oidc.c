/* ID-token verification (RS256 pinned), PKCE and sealed client secrets, with keys made here by OpenSSL. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include "auth.h"
#include "oidc.h"

static EVP_PKEY *key1, *key2;
static json_object *jwks;

static void b64(const unsigned char *in, size_t n, char *out, size_t outlen) { cr_assert_geq(base64url_encode(in, n, out, outlen), 0); }

static json_object *jwk(EVP_PKEY *k, const char *kid)
{
	BIGNUM *n = NULL, *e = NULL;
	cr_assert(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) && EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e));
	unsigned char nb[512], eb[8];
	int nl = BN_bn2bin(n, nb), el = BN_bn2bin(e, eb);
	char ns[800], es[16];
	b64(nb, (size_t)nl, ns, sizeof ns);
	b64(eb, (size_t)el, es, sizeof es);
	BN_free(n);
	BN_free(e);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "kty", json_object_new_string("RSA"));
	json_object_object_add(o, "use", json_object_new_string("sig"));
	json_object_object_add(o, "kid", json_object_new_string(kid));
	json_object_object_add(o, "n", json_object_new_string(ns));
	json_object_object_add(o, "e", json_object_new_string(es));
	return o;
}

static void setup(void)
{
	key1 = EVP_RSA_gen(2048);
	key2 = EVP_RSA_gen(2048);
	cr_assert(key1 && key2);
	jwks = json_object_new_object();
	json_object *keys = json_object_new_array();
	json_object_array_add(keys, jwk(key1, "k1"));
	json_object_object_add(jwks, "keys", keys);
}

static void teardown(void)
{
	EVP_PKEY_free(key1);
	EVP_PKEY_free(key2);
	json_object_put(jwks);
}

/* header and claims as JSON text; signed with key (NULL: alg none, unsigned; hs: HMAC with a string) */
static char *make(const char *header, const char *claims, EVP_PKEY *key, const char *hs)
{
	static char out[8192];
	char h[1024], c[2048], sig[1024] = "";
	b64((const unsigned char *)header, strlen(header), h, sizeof h);
	b64((const unsigned char *)claims, strlen(claims), c, sizeof c);
	char msg[4096];
	snprintf(msg, sizeof msg, "%s.%s", h, c);
	unsigned char s[512];
	size_t sl = sizeof s;
	if (key) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		cr_assert(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
			  EVP_DigestSign(md, s, &sl, (unsigned char *)msg, strlen(msg)) == 1);
		EVP_MD_CTX_free(md);
		b64(s, sl, sig, sizeof sig);
	} else if (hs) {
		unsigned int l = 0;
		HMAC(EVP_sha256(), hs, (int)strlen(hs), (unsigned char *)msg, strlen(msg), s, &l);
		b64(s, l, sig, sizeof sig);
	}
	snprintf(out, sizeof out, "%s.%s", msg, sig);
	return out;
}

#define NOW 1800000000L
static const struct oidc_expect X = {"https://idp.example", "rstream", "n-1", NOW, 60};
static const char *HDR = "{\"alg\":\"RS256\",\"kid\":\"k1\"}";

static char *claims(const char *aud, long exp, const char *nonce, const char *extra)
{
	static char c[1024];
	snprintf(c, sizeof c, "{\"iss\":\"https://idp.example\",\"aud\":%s,\"sub\":\"s-1\",\"email\":\"a@b.example\","
		 "\"email_verified\":true,\"iat\":%ld,\"exp\":%ld,\"nonce\":\"%s\"%s}", aud, NOW - 10, exp, nonce, extra ? extra : "");
	return c;
}

static int verify(const char *jwt)
{
	struct oidc_claims c;
	char err[200];
	return oidc_verify_id_token(jwt, jwks, &X, &c, err, sizeof err);
}

TestSuite(signin_oidc, .init = setup, .fini = teardown);

Test(signin_oidc, accepts_a_good_token_and_reads_its_claims)
{
	struct oidc_claims c;
	char err[200];
	int rc = oidc_verify_id_token(make(HDR, claims("\"rstream\"", NOW + 300, "n-1", NULL), key1, NULL), jwks, &X, &c, err, sizeof err);
	cr_assert_eq(rc, OIDC_OK, "%s", err);
	cr_assert_str_eq(c.sub, "s-1");
	cr_assert_str_eq(c.email, "a@b.example");
	cr_assert_eq(c.email_verified, 1);
}

Test(signin_oidc, refuses_none_hs256_and_other_algorithms)
{
	cr_assert_eq(verify(make("{\"alg\":\"none\",\"kid\":\"k1\"}", claims("\"rstream\"", NOW + 300, "n-1", NULL), NULL, NULL)), OIDC_INVALID);
	cr_assert_eq(verify(make("{\"alg\":\"HS256\",\"kid\":\"k1\"}", claims("\"rstream\"", NOW + 300, "n-1", NULL), NULL, "k")), OIDC_INVALID);
	cr_assert_eq(verify(make("{\"alg\":\"RS512\",\"kid\":\"k1\"}", claims("\"rstream\"", NOW + 300, "n-1", NULL), key1, NULL)), OIDC_INVALID);
	cr_assert_eq(verify(make("{\"kid\":\"k1\"}", claims("\"rstream\"", NOW + 300, "n-1", NULL), key1, NULL)), OIDC_INVALID);
}

Test(signin_oidc, refuses_a_signature_by_another_key_and_reports_unknown_kids)
{
	cr_assert_eq(verify(make(HDR, claims("\"rstream\"", NOW + 300, "n-1", NULL), key2, NULL)), OIDC_INVALID);
	cr_assert_eq(verify(make("{\"alg\":\"RS256\",\"kid\":\"k9\"}", claims("\"rstream\"", NOW + 300, "n-1", NULL), key2, NULL)),
		     OIDC_UNKNOWN_KID);
	/* a tampered payload with the original signature */
	char *good = make(HDR, claims("\"rstream\"", NOW + 300, "n-1", NULL), key1, NULL);
	char copy[8192];
	snprintf(copy, sizeof copy, "%s", good);
	char *dot = strchr(copy, '.');
	dot[3] = dot[3] == 'A' ? 'B' : 'A';
	cr_assert_eq(verify(copy), OIDC_INVALID);
}

Test(signin_oidc, checks_audience_azp_issuer_expiry_and_nonce)
{
	cr_assert_eq(verify(make(HDR, claims("\"other\"", NOW + 300, "n-1", NULL), key1, NULL)), OIDC_INVALID);
	cr_assert_eq(verify(make(HDR, claims("[\"rstream\"]", NOW + 300, "n-1", NULL), key1, NULL)), OIDC_OK);
	cr_assert_eq(verify(make(HDR, claims("[\"rstream\",\"x\"]", NOW + 300, "n-1", NULL), key1, NULL)), OIDC_INVALID, "azp needed");
	cr_assert_eq(verify(make(HDR, claims("[\"rstream\",\"x\"]", NOW + 300, "n-1", ",\"azp\":\"rstream\""), key1, NULL)), OIDC_OK);
	cr_assert_eq(verify(make(HDR, claims("\"rstream\"", NOW - 61, "n-1", NULL), key1, NULL)), OIDC_EXPIRED);
	cr_assert_eq(verify(make(HDR, claims("\"rstream\"", NOW - 30, "n-1", NULL), key1, NULL)), OIDC_OK, "within the skew");
	cr_assert_eq(verify(make(HDR, claims("\"rstream\"", NOW + 300, "n-2", NULL), key1, NULL)), OIDC_INVALID);
	char c[1024];
	snprintf(c, sizeof c, "%s", claims("\"rstream\"", NOW + 300, "n-1", NULL));
	char *iss = strstr(c, "idp.example");
	memcpy(iss, "evl", 3);
	cr_assert_eq(verify(make(HDR, c, key1, NULL)), OIDC_INVALID);
}

Test(signin_oidc, pkce_matches_the_rfc_7636_example)
{
	char ch[64], v[64], ch2[64];
	cr_assert_eq(oidc_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", ch), 0);
	cr_assert_str_eq(ch, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	cr_assert_eq(oidc_pkce(v, ch), 0);
	cr_assert_eq(strlen(v), 43);
	oidc_pkce_challenge(v, ch2);
	cr_assert_str_eq(ch, ch2);
}

Test(signin_oidc, sealed_secrets_open_only_with_the_same_server_secret_and_untouched)
{
	char *s = oidc_secret_seal("server-secret-1", "client-secret");
	cr_assert_not_null(s);
	cr_assert_null(strstr(s, "client-secret"));
	char *o = oidc_secret_open("server-secret-1", s);
	cr_assert_str_eq(o, "client-secret");
	free(o);
	cr_assert_null(oidc_secret_open("server-secret-2", s));
	s[strlen(s) - 1] = s[strlen(s) - 1] == '0' ? '1' : '0';
	cr_assert_null(oidc_secret_open("server-secret-1", s));
	free(s);
}

Test(signin_oidc, only_https_or_loopback_urls_are_fetched)
{
	cr_assert(oidc_url_allowed("https://accounts.google.com"));
	cr_assert(oidc_url_allowed("http://127.0.0.1:18090/jwks"));
	cr_assert_not(oidc_url_allowed("http://idp.example/jwks"));
	cr_assert_not(oidc_url_allowed("http://127.0.0.1.evil.example/"));
	cr_assert_not(oidc_url_allowed("file:///etc/passwd"));
	cr_assert_not(oidc_url_allowed(NULL));
}
