/* tokenize.c - `softent tokenize`: token ids of each line of a text, as
 * Hugging Face tokenizers gives them for the model's tokenizer.json. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "softent_analysis.h"
#include "softent_tokenizer.h"
#include "text/lines.h"
#include "text/tokenizer_write.h"

static const char USAGE[] =
    "usage: softent tokenize MODEL_DIR|tokenizer.json [FILE|-] [options]\n"
    "\n"
    "Token ids of each line of FILE (default: standard input), one document\n"
    "per line, exactly as Hugging Face tokenizers encodes it with the model's\n"
    "tokenizer.json (BOS/EOS from its post-processor included).  FILE is read\n"
    "as analyze, train and eval read a .txt corpus (gzip or plain; a binary\n"
    "file is refused), except that a blank line gives a line of its own: only\n"
    "the line ending (\\n or \\r\\n) is removed.  Invalid UTF-8 is read as\n"
    "U+FFFD, as Hugging Face's Python and JavaScript bindings decode it.\n"
    "Prints the ids of each line separated by spaces, one line per line.\n"
    "\n"
    "  --json                 one JSON object per line: {\"ids\": [...], \"tokens\": [...]}\n"
    "  --no-special           leave out the post-processor's special tokens\n"
    "                         (add_special_tokens=False)\n"
    "  -h, --help             this help\n";

enum { OPT_JSON = 256, OPT_NO_SPECIAL };

/* JSON string of a token (valid UTF-8 from the vocabulary, written as is). */
/* A token as a JSON string (null for an id without one), escaped as the
 * tokenizer.json writer escapes. */
static void put_json_string(const char *s, FILE *out)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    putc('"', out);
    se_json_put_escaped(out, s, strlen(s));
    putc('"', out);
}

/* Ids separated by spaces (or commas for JSON), formatted by hand into one
 * buffer: printf per id would dominate the run time. */
static int put_numbers(const int32_t *ids, int64_t n, char sep, FILE *out)
{
    static char *buf;
    static size_t cap;
    size_t need = (size_t)n * 11 + 1;
    if (need > cap) {
        char *p = realloc(buf, need);
        if (!p) return -1;
        buf = p;
        cap = need;
    }
    char *o = buf;
    for (int64_t i = 0; i < n; i++) {
        char num[12];
        int k = sizeof num;
        uint32_t v = (uint32_t)ids[i];
        do num[--k] = (char)('0' + v % 10); while (v /= 10);
        if (i) *o++ = sep;
        memcpy(o, num + k, sizeof num - (size_t)k);
        o += sizeof num - (size_t)k;
    }
    fwrite(buf, 1, (size_t)(o - buf), out);
    return 0;
}

static int put_ids(const softent_tokenizer *tok, const int32_t *ids, int64_t n, int json, FILE *out)
{
    if (json) fputs("{\"ids\":[", out);
    if (put_numbers(ids, n, json ? ',' : ' ', out)) return cli_error("out of memory for %lld ids", (long long)n);
    if (json) {
        fputs("],\"tokens\":[", out);
        for (int64_t i = 0; i < n; i++) {
            if (i) putc(',', out);
            put_json_string(softent_tokenizer_token(tok, ids[i]), out);
        }
        fputs("]}", out);
    }
    putc('\n', out);
    return 0;
}

int cmd_tokenize(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, 0, OPT_JSON}, {"no-special", no_argument, 0, OPT_NO_SPECIAL}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    int json = 0, special = 1, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(USAGE, stdout); return 0;
        case OPT_JSON: json = 1; break;
        case OPT_NO_SPECIAL: special = 0; break;
        default: return cli_usage_error("tokenize", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return cli_usage_error("tokenize", "no tokenizer given");
    if (argc - optind > 2) return cli_usage_error("tokenize", "one tokenizer and at most one input file, please");
    const char *model = argv[optind], *input = optind + 1 < argc ? argv[optind + 1] : "-";

    softent_tokenizer *tok;
    int rc = softent_analysis_tokenizer_load(&tok, model);
    if (rc) return cli_lib_error(rc);
    se_lines in;
    if ((rc = se_lines_open(&in, input))) {
        se_lines_close(&in);
        softent_tokenizer_free(tok);
        return cli_lib_error(rc);
    }
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    const char *line;
    size_t len;
    int status = 0;
    while (!status && !(rc = se_lines_next(&in, &line, &len)) && line) {
        int32_t *ids;
        int64_t n;
        if ((rc = softent_tokenizer_encode(tok, line, len, special, &ids, &n))) break;
        if (put_ids(tok, ids, n, json, stdout)) status = cli_error("out of memory writing the ids");
        free(ids);
    }
    if (!status && rc) status = cli_lib_error(rc);
    if (fflush(stdout) && !status) status = cli_error("writing the ids: %s", strerror(errno));
    se_lines_close(&in);
    softent_tokenizer_free(tok);
    return status;
}
