#include <criterion/criterion.h>
#include <jwt.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "auth.h"

static const char *secret = "0123456789abcdef0123456789abcdef-test";

Test(auth, password_hash_verifies_and_rejects)
{
	char h[PASSWORD_HASH_MAX];
	cr_assert_eq(password_hash("correct horse", h), 0);
	cr_assert(strncmp(h, "scrypt$", 7) == 0);
	cr_assert(password_verify("correct horse", h));
	cr_assert_not(password_verify("correct horsf", h));
	cr_assert_not(password_verify("x", "garbage"));
	cr_assert_not(password_verify("x", NULL));
	char h2[PASSWORD_HASH_MAX];
	password_hash("correct horse", h2);
	cr_assert_str_neq(h, h2, "salted: two hashes of one password differ");
}

static char *issue(int ttl)
{
	struct token t = {0};
	strcpy(t.sub, "42");
	strcpy(t.role, "admin");
	strcpy(t.kind, "session");
	return token_issue(secret, &t, ttl);
}

Test(auth, token_roundtrip)
{
	char *jwt = issue(60);
	struct token t;
	cr_assert_eq(token_verify(secret, jwt, &t), 0);
	cr_assert_str_eq(t.sub, "42");
	cr_assert_str_eq(t.role, "admin");
	cr_assert_eq(strlen(t.jti), 32);
	free(jwt);
}

Test(auth, token_with_wrong_key_is_rejected)
{
	char *jwt = issue(60);
	struct token t;
	cr_assert_eq(token_verify("another-secret-another-secret-xxxx", jwt, &t), -1);
	free(jwt);
}

Test(auth, expired_token_is_rejected)
{
	char *jwt = issue(-10);
	struct token t;
	cr_assert_eq(token_verify(secret, jwt, &t), -2);
	free(jwt);
}

/* token_verify remembers what verified (per worker): the memory must never widen what is accepted */
Test(auth, remembered_token_still_needs_its_secret_and_expires)
{
	char *jwt = issue(60);
	struct token t, again;
	cr_assert_eq(token_verify(secret, jwt, &t), 0);
	cr_assert_eq(token_verify("another-secret-another-secret-xxxx", jwt, &again), -1, "a remembered token under another key");
	cr_assert_eq(token_verify(secret, jwt, &again), 0);
	cr_assert_str_eq(again.sub, t.sub);
	cr_assert_str_eq(again.jti, t.jti);
	cr_assert_eq(again.exp, t.exp);
	/* one character of the signature changed: not the remembered token */
	size_t k = strlen(jwt) - 5;
	jwt[k] = jwt[k] == 'A' ? 'B' : 'A';
	cr_assert_eq(token_verify(secret, jwt, &again), -1);
	free(jwt);
	char *old = issue(-10);
	cr_assert_eq(token_verify(secret, old, &t), -2);
	cr_assert_eq(token_verify(secret, old, &t), -2, "an expired token stays expired when remembered");
	free(old);
}

Test(auth, alg_none_token_is_rejected)
{
	/* {"alg":"none","typ":"JWT"} . {"sub":"1","role":"admin","jti":"x","kind":"session","exp":9999999999} . (empty) */
	const char *none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
			   "eyJzdWIiOiIxIiwicm9sZSI6ImFkbWluIiwianRpIjoieCIsImtpbmQiOiJzZXNzaW9uIiwiZXhwIjo5OTk5OTk5OTk5fQ.";
	struct token t;
	cr_assert_eq(token_verify(secret, none, &t), -1);
}

Test(auth, other_algorithms_are_rejected_even_with_the_right_key)
{
	jwt_t *j;
	jwt_new(&j);
	jwt_add_grant(j, "sub", "1");
	jwt_add_grant(j, "role", "admin");
	jwt_add_grant(j, "jti", "x");
	jwt_add_grant(j, "kind", "session");
	jwt_add_grant_int(j, "exp", time(NULL) + 60);
	jwt_set_alg(j, JWT_ALG_HS512, (const unsigned char *)secret, (int)strlen(secret));
	char *s = jwt_encode_str(j);
	struct token t;
	cr_assert_eq(token_verify(secret, s, &t), -1);
	free(s);
	jwt_free(j);
}

Test(auth, tampered_payload_is_rejected)
{
	char *jwt = issue(60);
	char *dot = strchr(jwt, '.');
	dot[3] = dot[3] == 'A' ? 'B' : 'A';
	struct token t;
	cr_assert_eq(token_verify(secret, jwt, &t), -1);
	free(jwt);
	cr_assert_eq(token_verify(secret, "not-a-token", &t), -1);
	cr_assert_eq(token_verify(secret, "", &t), -1);
}

Test(auth, csrf_tokens_bind_to_the_session)
{
	char tok[65];
	csrf_make(secret, "jti-1", tok);
	cr_assert(csrf_check(secret, "jti-1", tok));
	cr_assert_not(csrf_check(secret, "jti-2", tok));
	cr_assert_not(csrf_check(secret, "jti-1", NULL));
	cr_assert_not(csrf_check(secret, "jti-1", ""));
	tok[0] = tok[0] == 'a' ? 'b' : 'a';
	cr_assert_not(csrf_check(secret, "jti-1", tok));
}

Test(auth, base64url_has_no_padding_or_plus)
{
	char out[16];
	cr_assert_eq(base64url_encode((const unsigned char *)"\xfb\xff", 2, out, sizeof out), 3);
	cr_assert_str_eq(out, "-_8");
}

/* request and trace ids: lowercase hex of the asked length, never the same twice in a row, and a forked child does
 * not repeat its parent's sequence */
Test(auth, unique_hex_ids_are_hex_distinct_and_differ_across_fork)
{
	char a[33], b[33], child[33] = "";
	unique_hex(a, 16);
	unique_hex(b, 16);
	cr_assert_eq(strlen(a), 32);
	cr_assert_eq(strspn(a, "0123456789abcdef"), 32);
	cr_assert_str_neq(a, b);
	char span[17];
	unique_hex(span, 8);
	cr_assert_eq(strlen(span), 16);
	int fd[2];
	cr_assert_eq(pipe(fd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char c[33];
		unique_hex(c, 16);
		if (write(fd[1], c, 32) != 32) _exit(1);
		_exit(0);
	}
	char parent[33];
	unique_hex(parent, 16);
	cr_assert_eq(read(fd[0], child, 32), 32);
	child[32] = 0;
	waitpid(pid, NULL, 0);
	cr_assert_str_neq(child, parent, "the child repeated its parent's next id");
}

/* sha256_hex keeps its digest and context between calls: the known vectors still come out, call after call, for
 * an empty input, a short one and one longer than a block */
Test(auth, sha256_hex_gives_the_known_digests_call_after_call)
{
	char out[65], big[1000];
	memset(big, 'a', sizeof big);
	for (int round = 0; round < 3; round++) {
		sha256_hex("", 0, out);
		cr_assert_str_eq(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
		sha256_hex("abc", 3, out);
		cr_assert_str_eq(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
		sha256_hex(big, sizeof big, out);
		cr_assert_str_eq(out, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
	}
}
