/* libFuzzer harness: the template engine (template.c). The input is a template, optionally followed by a NUL
 * and a JSON context; the template is compiled, rendered and freed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "template.h"

static const char *default_ctx =
	"{\"title\":\"<b>x</b>\",\"n\":3,\"ok\":true,\"empty\":[],\"items\":[{\"name\":\"a\",\"sub\":[1,2]},"
	"{\"name\":\"\\u3042\",\"sub\":[]}],\"user\":{\"name\":\"&'\\\"\",\"roles\":[\"admin\"]},\"none\":null}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536) return 0;
	const char *nul = memchr(data, 0, size);
	size_t tlen = nul ? (size_t)(nul - (const char *)data) : size;
	char src[65537];
	memcpy(src, data, tlen);
	src[tlen] = 0;
	json_object *ctx = NULL;
	if (nul) {
		/* the bytes after the NUL are not NUL-terminated: copy them */
		size_t jl = size - tlen - 1;
		char *js = malloc(jl + 1);
		memcpy(js, nul + 1, jl);
		js[jl] = 0;
		ctx = json_tokener_parse(js);
		free(js);
	}
	if (!ctx) ctx = json_tokener_parse(default_ctx);
	char err[256];
	tmpl *t = tmpl_compile("fuzz", src, err, sizeof err);
	if (t) {
		buf out = {0};
		tmpl_render(t, ctx, &out);
		buf_free(&out);
		tmpl_free(t);
	}
	json_object_put(ctx);
	buf esc = {0};
	html_escape(&esc, src, tlen);
	buf_free(&esc);
	return 0;
}
