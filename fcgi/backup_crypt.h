/* Backup encryption: one file = "RSTRBAK1" + 12-byte nonce + AES-256-GCM ciphertext + 16-byte tag,
 * the magic as associated data; the sha256 of the plaintext is computed on the way (manifests list it). */
#ifndef RS_BACKUP_CRYPT_H
#define RS_BACKUP_CRYPT_H
#include <stddef.h>

#define BACKUP_KEY_LEN 32
#define BACKUP_SHA_HEX 65

/* Key file: 64 hex characters (optionally a trailing newline), mode 0600 or stricter. 0 ok, -1 with err. */
int backup_key_load(const char *path, unsigned char key[BACKUP_KEY_LEN], char *err, size_t errlen);
/* Encrypt everything read from in_fd into dst (written as dst.tmp, fsynced, renamed). Fills the plaintext's
 * sha256 (hex) and size. 0 ok, -1 with err (dst not created). */
int backup_encrypt_fd(const unsigned char *key, int in_fd, const char *dst, char sha_hex[BACKUP_SHA_HEX],
		      long long *size, char *err, size_t errlen);
int backup_encrypt_file(const unsigned char *key, const char *src, const char *dst, char sha_hex[BACKUP_SHA_HEX],
			long long *size, char *err, size_t errlen);
/* Decrypt src into out_fd (-1: verify only, nothing written). The tag is checked at the end: on -1 the caller
 * must discard whatever reached out_fd. Fills the plaintext's sha256 and size. */
int backup_decrypt_fd(const unsigned char *key, const char *src, int out_fd, char sha_hex[BACKUP_SHA_HEX],
		      long long *size, char *err, size_t errlen);
/* Decrypt a small file (a manifest) into a malloc'd NUL-terminated buffer; NULL with err. */
char *backup_decrypt_small(const unsigned char *key, const char *src, size_t max, char *err, size_t errlen);
/* Object name for content: hex HMAC-SHA256(key, sha256 hex) - content-addressed, without revealing the
 * plain sha256 (which would confirm a known file) to whoever reads the backup disk. */
void backup_object_name(const unsigned char *key, const char *sha_hex, char out[BACKUP_SHA_HEX]);
#endif
