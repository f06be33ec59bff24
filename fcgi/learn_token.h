/* Playback session ids: issued by the watch page / playback API to a viewer who may watch, verified by the
 * heartbeat handler with an HMAC alone, so the hot path needs no database round trip. Pure, unit-tested. */
#ifndef RS_LEARN_TOKEN_H
#define RS_LEARN_TOKEN_H
#include <stddef.h>

struct learn_pb {
	long uid;            /* users.id of the viewer */
	long vpk;            /* videos.id */
	char vid[17];        /* videos.public_id (16 hex) */
	long dur_ms;         /* the video's duration when issued: ranges are checked against it */
	long iat;            /* issued at, unix seconds */
	char sid[17];        /* random playback session id (16 hex) */
};
#define LEARN_TOKEN_MAX 160
/* Fill p->sid when empty, write "uid.vpk.vid.dur.iat.sid.mac" into out. 0, or -1 when it does not fit. */
int learn_token_make(const char *secret, struct learn_pb *p, char *out, size_t outlen);
/* 0 ok, -1 malformed or forged, -2 expired (older than ttl seconds at now). */
int learn_token_parse(const char *secret, const char *tok, long now, long ttl, struct learn_pb *out);
#endif
