/* E-mail: composing RFC 5322 messages (Japanese subject as RFC 2047 encoded words, UTF-8 body in base64) and
 * sending them over SMTP with libcurl (STARTTLS and AUTH from the configuration). */
#ifndef RS_MAIL_H
#define RS_MAIL_H
#include <time.h>
#include "arena.h"

struct mail_msg {
	const char *from;        /* "R-Stream <noreply@example.jp>" */
	const char *to;          /* bare address */
	const char *subject;     /* UTF-8 */
	const char *body;        /* UTF-8 text */
	const char *unsub_url;   /* List-Unsubscribe target, may be NULL */
	time_t date;
	char message_id[160];    /* filled by mail_compose: <hex@domain> */
};

/* An address that is safe in a header and an SMTP envelope: one @, no spaces, controls, <>, quotes. */
int mail_addr_ok(const char *addr);
/* The address inside "Name <addr>" (or the whole text). Written to out. 0 ok, -1 not an address. */
int mail_addr_of(const char *from, char *out, size_t outlen);
/* Subject (or any header text) as RFC 2047 B encoded words of at most 75 characters, folded; plain ASCII
 * without specials stays as is. */
void mail_encode_header(buf *out, const char *text);
/* The whole message (CRLF line ends, body base64 at 76 columns). 0 ok, -1 bad address. */
int mail_compose(struct mail_msg *m, buf *out);
/* Send one composed message. 0 sent; -1 with err (curl's or the server's reply). */
int mail_send(const char *from_addr, const char *to_addr, const char *message, size_t len, char *err, int errlen);
/* 1 when an SMTP server is configured (mail.smtp_url / RSTREAM_SMTP_URL). */
int mail_configured(void);
#endif
