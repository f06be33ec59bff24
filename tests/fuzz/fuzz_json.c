/* libFuzzer harness: JSON body intake (request.c json_parse_limited, what every JSON route gets): a parsed value
 * is serialised and parsed again; a refusal carries a message. */
#include <stdint.h>
#include <string.h>
#include <json-c/json.h>
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[200] = "";
	json_object *o = json_parse_limited((const char *)data, size, err, sizeof err);
	if (!o) {
		if (!err[0]) __builtin_trap();
		return 0;
	}
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	json_object *back = json_parse_limited(s, strlen(s), err, sizeof err);
	json_object_put(back);
	json_object_put(o);
	return 0;
}
