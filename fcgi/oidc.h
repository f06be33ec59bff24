/* OpenID Connect relying party: discovery, JWKS (cached, refetched on an unknown kid, bounded), PKCE, ID-token
 * verification with the algorithm pinned to RS256 (OpenSSL directly), and the HTTPS client (libcurl).
 * No FastCGI here: the handlers are in h_oidc.c. */
#ifndef RS_OIDC_H
#define RS_OIDC_H
#include <stddef.h>
#include <json-c/json.h>

struct oidc_expect {
	const char *issuer, *client_id, *nonce;
	long now;          /* unix seconds */
	int skew;          /* seconds of clock skew allowed on exp/iat */
};
struct oidc_claims {
	char sub[256], email[320];
	int email_verified;
};
enum { OIDC_OK = 0, OIDC_INVALID = -1, OIDC_UNKNOWN_KID = -2, OIDC_EXPIRED = -3 };
/* Verify an ID token against a JWKS document ({"keys":[…]}). Only RS256 is accepted (none, HS*, ES* are refused);
 * checks signature, iss, aud (and azp when several audiences), exp, iat, nonce, sub. err gets a reason for logs. */
int oidc_verify_id_token(const char *jwt, json_object *jwks, const struct oidc_expect *x, struct oidc_claims *out,
			 char *err, int errlen);
/* PKCE: a fresh verifier (43 base64url chars) and its S256 challenge. 0 / -1. */
int oidc_pkce(char verifier[64], char challenge[64]);
int oidc_pkce_challenge(const char *verifier, char challenge[64]);
/* base64url without padding → bytes; returns length or -1. */
int oidc_b64url_decode(const char *in, size_t n, unsigned char *out, size_t outlen);

/* Client secrets at rest: AES-256-GCM under a key derived from the server secret. malloc'd strings, NULL on error. */
char *oidc_secret_seal(const char *server_secret, const char *plain);
char *oidc_secret_open(const char *server_secret, const char *sealed);

/* Network (libcurl): https only, except loopback issuers (development and tests). */
int oidc_url_allowed(const char *url);
/* Provider metadata from <issuer>/.well-known/openid-configuration, cached per process for an hour; the document's
 * issuer must equal ours. Borrowed object, NULL with err on failure. */
json_object *oidc_discovery(const char *issuer, char *err, int errlen);
/* JWKS for the issuer: cached; refresh=1 refetches unless fetched in the last 5 s (an attacker sending unknown
 * kids cannot make us hammer the provider). Borrowed, NULL with err. */
json_object *oidc_jwks(const char *issuer, const char *jwks_uri, int refresh, char *err, int errlen);
/* POST a form (already url-encoded) and parse a JSON answer; http status in *status. Caller puts. */
json_object *oidc_post_form(const char *url, const char *form, long *status, char *err, int errlen);
#endif
