/* model_tokenizer.c - the tokenizer of a model as analyze, eval and
 * tokenize name it: a directory's (or a file's) tokenizer.json, or a GGUF
 * file's metadata restated as one (formats/gguf_tokenizer.c). */
#include <stdlib.h>
#include <string.h>

#include "softent_analysis.h"
#include "softent_gguf.h"

int softent_analysis_tokenizer_load(softent_tokenizer **out, const char *model)
{
    *out = NULL;
    const size_t n = strlen(model);
    if (n <= 5 || strcmp(model + n - 5, ".gguf")) return softent_tokenizer_load(out, model);
    softent_gguf *g;
    char *json = NULL;
    int rc = softent_gguf_open(&g, model);
    if (rc) return rc;
    rc = softent_gguf_tokenizer_json(g, model, &json);
    softent_gguf_close(g);
    if (!rc) rc = softent_tokenizer_load_json(out, json, strlen(json), model);
    free(json);
    return rc;
}
