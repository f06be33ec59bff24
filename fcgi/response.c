/* Response building: buffered status, headers and body, sent by the server after the handler.
 * One JSON error envelope for API clients; an HTML error page for browsers. */
#include "http.h"
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "config.h"
#include "i18n.h"
#include "log.h"
#include "settings.h"
#include "template.h"

void res_header(req *r, const char *name, const char *value)
{
	/* header injection guard: values never carry CR/LF */
	if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n")) return;
	buf_printf(&r->headers, "%s: %s\r\n", name, value);
}

void res_body_reset(req *r)
{
	if (r->body_release) r->body_release(r->body_owner);
	r->body_release = NULL;
	r->body_owner = NULL;
	r->body_shared = NULL;
	r->body_shared_len = 0;
	buf_reset(&r->body_out);
}

void res_body(req *r, int status, const char *content_type, const char *data, size_t len)
{
	r->status = status;
	if (content_type) res_header(r, "Content-Type", content_type);
	res_body_reset(r);
	if (len) buf_append(&r->body_out, data, len);
}

void res_body_shared(req *r, int status, const char *content_type, const char *data, size_t len,
		     void (*release)(void *owner), void *owner)
{
	r->status = status;
	if (content_type) res_header(r, "Content-Type", content_type);
	res_body_reset(r);
	r->body_shared = data;
	r->body_shared_len = len;
	r->body_release = release;
	r->body_owner = owner;
}

char *http_gzip(const char *data, size_t len, size_t *out_len)
{
	z_stream z = {0};
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
	uLong cap = deflateBound(&z, (uLong)len);
	char *out = malloc(cap);
	if (!out) { deflateEnd(&z); return NULL; }
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	*out_len = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) { free(out); return NULL; }
	return out;
}

void res_json(req *r, int status, json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	res_body(r, status, "application/json; charset=utf-8", s, strlen(s));
	json_object_put(obj);
}

static const char *status_text(int s)
{
	switch (s) {
	case 200: return "OK"; case 201: return "Created"; case 202: return "Accepted"; case 204: return "No Content";
	case 206: return "Partial Content"; case 416: return "Range Not Satisfiable";
	case 303: return "See Other"; case 304: return "Not Modified";
	case 400: return "Bad Request"; case 401: return "Unauthorized"; case 403: return "Forbidden";
	case 404: return "Not Found"; case 405: return "Method Not Allowed"; case 409: return "Conflict";
	case 410: return "Gone"; case 413: return "Payload Too Large"; case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity"; case 423: return "Locked"; case 429: return "Too Many Requests";
	case 500: return "Internal Server Error"; case 502: return "Bad Gateway"; case 503: return "Service Unavailable";
	}
	return "";
}

void res_error(req *r, int status, const char *code, const char *message, json_object *details)
{
	buf_reset(&r->headers);
	if (req_wants_json(r)) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "code", json_object_new_string(code));
		json_object_object_add(e, "message", json_object_new_string(message));
		json_object_object_add(e, "details", details ? details : json_object_new_object());
		json_object *o = json_object_new_object();
		json_object_object_add(o, "error", e);
		res_json(r, status, o);
		return;
	}
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "status", json_object_new_int(status));
	json_object_object_add(ctx, "status_text", json_object_new_string(status_text(status)));
	json_object_object_add(ctx, "code", json_object_new_string(code));
	json_object_object_add(ctx, "message", json_object_new_string(message));
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, "error_title")));
	if (details) json_object_put(details);
	res_html(r, status, "error", ctx);
	json_object_put(ctx);
}

void res_unavailable(req *r)
{
	res_error(r, 503, "unavailable", tr(r, "error_unavailable"), NULL);
	res_header(r, "Retry-After", RETRY_AFTER_OUTAGE);
}

void res_redirect(req *r, const char *location)
{
	r->status = 303;
	res_header(r, "Location", location);
	res_body_reset(r);
}

/* notify.c adds the unread count for the bell; weak so tools linked without it still build */
__attribute__((weak)) void notify_layout(req *r, json_object *ctx);

void res_html(req *r, int status, const char *name, json_object *ctx)
{
	json_object_object_add(ctx, "t", json_object_get(i18n_catalog(r->lang)));
	json_object_object_add(ctx, "lang", json_object_new_string(r->lang));
	json_object_object_add(ctx, "lang_en", json_object_new_boolean(!strcmp(r->lang, "en")));
	json_object_object_add(ctx, "csrf", json_object_new_string(r->csrf ? r->csrf : ""));
	json_object_object_add(ctx, "path", json_object_new_string(r->path ? r->path : "/"));
	/* the admin's site name and logo (settings page) head every page */
	const char *site = config_get("site.name", "");
	json_object_object_add(ctx, "site_name", json_object_new_string(*site ? site : "R-Stream"));
	const char *logo = config_get("site.logo", "");
	if (*logo) json_object_object_add(ctx, "logo_url", json_object_new_string(arena_printf(r->a, "/site/logo?v=%s", logo)));
	/* the password policy, for every form that sets a password (partials/password_rule) */
	json_object_object_add(ctx, "password_min", json_object_new_int64(settings_password_min()));
	json_object_object_add(ctx, "password_mixed", json_object_new_boolean(config_get_int("password.require_mixed", 0) != 0));
	if (r->user) {
		json_object *u = json_object_new_object();
		json_object_object_add(u, "id", json_object_new_int64(r->user->id));
		json_object_object_add(u, "name", json_object_new_string(r->user->name ? r->user->name : ""));
		json_object_object_add(u, "email", json_object_new_string(r->user->email ? r->user->email : ""));
		json_object_object_add(u, "role", json_object_new_string(r->user->role));
		json_object_object_add(u, "is_admin", json_object_new_boolean(!strcmp(r->user->role, "admin")));
		json_object_object_add(u, "is_creator", json_object_new_boolean(!strcmp(r->user->role, "admin") ||
									     !strcmp(r->user->role, "creator")));
		json_object_object_add(ctx, "user", u);
		if (notify_layout) notify_layout(r, ctx);   /* the header's bell (notify.c) */
	}
	buf page = {0};
	if (tmpl_render_name(name, ctx, &page) < 0) {
		log_error("template %s missing or failed", name);
		buf_free(&page);
		r->status = 500;
		buf_reset(&r->headers);
		res_header(r, "Content-Type", "text/plain; charset=utf-8");
		res_body_reset(r);
		buf_puts(&r->body_out, "template error\n");
		return;
	}
	json_object_object_add(ctx, "content", json_object_new_string_len(page.p ? page.p : "", (int)page.len));
	buf_free(&page);
	r->status = status;
	res_header(r, "Content-Type", "text/html; charset=utf-8");
	res_header(r, "Cache-Control", "no-store");
	res_body_reset(r);
	if (tmpl_render_name("layout", ctx, &r->body_out) < 0) {
		/* fall back to the bare page so a missing layout never hides content */
		json_object *c;
		if (json_object_object_get_ex(ctx, "content", &c)) buf_puts(&r->body_out, json_object_get_string(c));
	}
}

void res_stream_begin(req *r, int status, const char *content_type)
{
	r->status = status;
	r->streamed = 1;
	if (!r->fcgx) return;
	buf h = {0};
	buf_printf(&h, "Status: %d %s\r\nContent-Type: %s\r\n", status, status_text(status), content_type);
	if (r->headers.p) buf_append(&h, r->headers.p, r->headers.len);
	buf_printf(&h, "X-Content-Type-Options: nosniff\r\nX-Request-Id: %s\r\n\r\n", r->request_id ? r->request_id : "");
	FCGX_PutStr(h.p, (int)h.len, ((FCGX_Request *)r->fcgx)->out);
	buf_free(&h);
}

void res_write(req *r, const char *data, size_t len)
{
	if (r->fcgx && len) FCGX_PutStr(data, (int)len, ((FCGX_Request *)r->fcgx)->out);
}

const char *res_status_text(int s);
const char *res_status_text(int s) { return status_text(s); }
