/* Backup encryption (AES-256-GCM, OpenSSL EVP) and plaintext sha256, streamed in 64 KiB blocks so a video
 * of any size passes through constant memory. Format in backup_crypt.h. */
#include "backup_crypt.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "RSTRBAK1"
#define MAGIC_LEN 8
#define NONCE_LEN 12
#define TAG_LEN 16
#define BLOCK 65536

static void hexify(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) { out[2 * i] = hx[in[i] >> 4]; out[2 * i + 1] = hx[in[i] & 15]; }
	out[2 * n] = 0;
}

int backup_key_load(const char *path, unsigned char key[BACKUP_KEY_LEN], char *err, size_t errlen)
{
	int rc = -1;
	char buf[130];
	if (!path || !*path) { snprintf(err, errlen, "no key file (backup.key_file / RSTREAM_BACKUP_KEY_FILE)"); return -1; }
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) { snprintf(err, errlen, "key file %s: %s", path, strerror(errno)); return -1; }
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) { snprintf(err, errlen, "key file %s is not a regular file", path); goto out; }
	/* a key others can read protects nothing */
	if (st.st_mode & 077) { snprintf(err, errlen, "key file %s is readable by group or others (chmod 600 it)", path); goto out; }
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n < 0) { snprintf(err, errlen, "key file %s: %s", path, strerror(errno)); goto out; }
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = 0;
	if (n != 2 * BACKUP_KEY_LEN) { snprintf(err, errlen, "key file %s must hold 64 hex characters (openssl rand -hex 32)", path); goto out; }
	for (int i = 0; i < BACKUP_KEY_LEN; i++) {
		unsigned v;
		if (sscanf(buf + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", buf[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", buf[2 * i + 1])) {
			snprintf(err, errlen, "key file %s must hold 64 hex characters (openssl rand -hex 32)", path);
			goto out;
		}
		key[i] = (unsigned char)v;
	}
	rc = 0;
out:
	memset(buf, 0, sizeof buf);
	close(fd);
	return rc;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR) continue;
		if (w <= 0) return -1;
		p += w; n -= (size_t)w;
	}
	return 0;
}

static ssize_t read_full(int fd, unsigned char *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) return -1;
		if (r == 0) break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int backup_encrypt_fd(const unsigned char *key, int in_fd, const char *dst, char sha_hex[BACKUP_SHA_HEX],
		      long long *size, char *err, size_t errlen)
{
	int rc = -1, out = -1, len;
	unsigned char nonce[NONCE_LEN], tag[TAG_LEN], md[32];
	unsigned char *in = malloc(BLOCK), *ct = malloc(BLOCK + 32);
	char tmp[4096];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	long long total = 0;
	snprintf(tmp, sizeof tmp, "%s.tmp", dst);
	if (!in || !ct || !c || !h) { snprintf(err, errlen, "out of memory"); goto out; }
	if (RAND_bytes(nonce, NONCE_LEN) != 1) { snprintf(err, errlen, "no random nonce"); goto out; }
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) { snprintf(err, errlen, "%s: %s", tmp, strerror(errno)); goto out; }
	if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
	    EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &len, (const unsigned char *)MAGIC, MAGIC_LEN) != 1 ||
	    EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) { snprintf(err, errlen, "cipher setup failed"); goto out; }
	if (write_all(out, (const unsigned char *)MAGIC, MAGIC_LEN) < 0 || write_all(out, nonce, NONCE_LEN) < 0) goto werr;
	for (;;) {
		ssize_t n = read_full(in_fd, in, BLOCK);
		if (n < 0) { snprintf(err, errlen, "read: %s", strerror(errno)); goto out; }
		if (n == 0) break;
		total += n;
		if (EVP_DigestUpdate(h, in, (size_t)n) != 1 || EVP_EncryptUpdate(c, ct, &len, in, (int)n) != 1) {
			snprintf(err, errlen, "encryption failed"); goto out;
		}
		if (write_all(out, ct, (size_t)len) < 0) goto werr;
	}
	if (EVP_EncryptFinal_ex(c, ct, &len) != 1 || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1 ||
	    EVP_DigestFinal_ex(h, md, NULL) != 1) { snprintf(err, errlen, "encryption failed"); goto out; }
	if (write_all(out, ct, (size_t)len) < 0 || write_all(out, tag, TAG_LEN) < 0) goto werr;
	if (fsync(out) < 0) goto werr;
	if (close(out) < 0) { out = -1; goto werr; }
	out = -1;
	if (rename(tmp, dst) < 0) goto werr;
	hexify(md, 32, sha_hex);
	if (size) *size = total;
	rc = 0;
	goto out;
werr:
	snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
out:
	if (out >= 0) close(out);
	if (rc < 0) unlink(tmp);
	EVP_CIPHER_CTX_free(c);
	EVP_MD_CTX_free(h);
	free(in);
	free(ct);
	return rc;
}

int backup_encrypt_file(const unsigned char *key, const char *src, const char *dst, char sha_hex[BACKUP_SHA_HEX],
			long long *size, char *err, size_t errlen)
{
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0) { snprintf(err, errlen, "%s: %s", src, strerror(errno)); return -1; }
	int rc = backup_encrypt_fd(key, fd, dst, sha_hex, size, err, errlen);
	close(fd);
	return rc;
}

int backup_decrypt_fd(const unsigned char *key, const char *src, int out_fd, char sha_hex[BACKUP_SHA_HEX],
		      long long *size, char *err, size_t errlen)
{
	int rc = -1, len, fd = -1;
	unsigned char head[MAGIC_LEN + NONCE_LEN], tag[TAG_LEN], md[32];
	unsigned char *in = malloc(BLOCK), *pt = malloc(BLOCK + 32);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	long long total = 0;
	struct stat st;
	if (!in || !pt || !c || !h) { snprintf(err, errlen, "out of memory"); goto out; }
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0) { snprintf(err, errlen, "%s: %s", src, strerror(errno)); goto out; }
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)(sizeof head + TAG_LEN) ||
	    read_full(fd, head, sizeof head) != (ssize_t)sizeof head || memcmp(head, MAGIC, MAGIC_LEN)) {
		snprintf(err, errlen, "%s: not an R-Stream backup file (truncated or wrong format)", src);
		goto out;
	}
	if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
	    EVP_DecryptInit_ex(c, NULL, NULL, key, head + MAGIC_LEN) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &len, head, MAGIC_LEN) != 1 ||
	    EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) { snprintf(err, errlen, "cipher setup failed"); goto out; }
	long long left = (long long)st.st_size - (long long)sizeof head - TAG_LEN;
	while (left > 0) {
		size_t want = left > BLOCK ? BLOCK : (size_t)left;
		if (read_full(fd, in, want) != (ssize_t)want) { snprintf(err, errlen, "%s: short read", src); goto out; }
		left -= (long long)want;
		if (EVP_DecryptUpdate(c, pt, &len, in, (int)want) != 1) { snprintf(err, errlen, "%s: decryption failed", src); goto out; }
		total += len;
		EVP_DigestUpdate(h, pt, (size_t)len);
		if (out_fd >= 0 && write_all(out_fd, pt, (size_t)len) < 0) { snprintf(err, errlen, "write: %s", strerror(errno)); goto out; }
	}
	if (read_full(fd, tag, TAG_LEN) != TAG_LEN) { snprintf(err, errlen, "%s: short read", src); goto out; }
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag);
	if (EVP_DecryptFinal_ex(c, pt, &len) != 1) {
		snprintf(err, errlen, "%s: authentication failed: the file was altered or damaged, or the key is not the one it was made with", src);
		goto out;
	}
	EVP_DigestFinal_ex(h, md, NULL);
	hexify(md, 32, sha_hex);
	if (size) *size = total;
	rc = 0;
out:
	if (fd >= 0) close(fd);
	EVP_CIPHER_CTX_free(c);
	EVP_MD_CTX_free(h);
	free(in);
	free(pt);
	return rc;
}

char *backup_decrypt_small(const unsigned char *key, const char *src, size_t max, char *err, size_t errlen)
{
	/* decrypt into an anonymous memory file, then read it back: one code path for big and small files */
	int mfd = memfd_create("rstream-manifest", MFD_CLOEXEC);
	char sha[BACKUP_SHA_HEX], *buf = NULL;
	long long n = 0;
	if (mfd < 0) { snprintf(err, errlen, "memfd: %s", strerror(errno)); return NULL; }
	struct stat st;
	if (stat(src, &st) == 0 && (size_t)st.st_size > max) { snprintf(err, errlen, "%s: larger than %zu bytes", src, max); goto out; }
	if (backup_decrypt_fd(key, src, mfd, sha, &n, err, errlen) < 0) goto out;
	buf = malloc((size_t)n + 1);
	if (!buf) { snprintf(err, errlen, "out of memory"); goto out; }
	if (pread(mfd, buf, (size_t)n, 0) != n) { free(buf); buf = NULL; snprintf(err, errlen, "memfd read failed"); goto out; }
	buf[n] = 0;
out:
	close(mfd);
	return buf;
}

void backup_object_name(const unsigned char *key, const char *sha_hex, char out[BACKUP_SHA_HEX])
{
	unsigned char md[32];
	unsigned int len = 32;
	HMAC(EVP_sha256(), key, BACKUP_KEY_LEN, (const unsigned char *)sha_hex, strlen(sha_hex), md, &len);
	hexify(md, 32, out);
}
