/* Message catalogs: conf/i18n/<lang>.json (flat key -> text). Japanese first, English second. */
#ifndef RS_I18N_H
#define RS_I18N_H
#include <json-c/json.h>

int i18n_load(const char *dir);
const char *i18n_get(const char *lang, const char *key);  /* falls back to ja, then the key itself */
json_object *i18n_catalog(const char *lang);               /* borrowed */
/* Pick "ja" or "en": explicit choice (may be NULL), then Accept-Language, default ja. */
const char *i18n_pick(const char *choice, const char *accept_language);
#endif
