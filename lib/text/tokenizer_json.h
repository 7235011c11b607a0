/*
 * tokenizer_json.h - reading tokenizer.json fields with cJSON, with errors
 * that name the file and the component ("PATH: normalizer Strip: ...").
 */
#ifndef SOFTENT_TOKENIZER_JSON_H
#define SOFTENT_TOKENIZER_JSON_H

#include <cjson/cJSON.h>

#include "common/error.h"
#include "tokenizer_regex.h"

/* A component's "type", or NULL. */
static inline const char *se_json_type(const cJSON *o)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

/* A boolean field; missing or null gives dflt. */
static inline int se_json_bool(const cJSON *o, const char *key, int dflt, int *out, const char *what)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = dflt;
    if (cJSON_IsBool(v)) *out = cJSON_IsTrue(v);
    else if (v && !cJSON_IsNull(v)) return se_fail(SOFTENT_E_FORMAT, "%s: \"%s\" is not a boolean", what, key);
    return 0;
}

/* A string field; missing or null gives dflt (which may be NULL). */
static inline int se_json_str(const cJSON *o, const char *key, const char *dflt, const char **out, const char *what)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = dflt;
    if (cJSON_IsString(v)) *out = v->valuestring;
    else if (v && !cJSON_IsNull(v)) return se_fail(SOFTENT_E_FORMAT, "%s: \"%s\" is not a string", what, key);
    return 0;
}

/* A Split / Replace "pattern": {"String": s} (literal) or {"Regex": s}. */
static inline int se_json_pattern(const cJSON *o, se_regex *re, const char *what)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "pattern");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(p, "String");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(p, "Regex");
    if (cJSON_IsString(s)) return se_regex_compile(re, s->valuestring, strlen(s->valuestring), SE_RE_LITERAL, what);
    if (cJSON_IsString(r)) return se_regex_compile(re, r->valuestring, strlen(r->valuestring), SE_RE_ONIG, what);
    return se_fail(SOFTENT_E_FORMAT, "%s: \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}", what);
}

#endif
