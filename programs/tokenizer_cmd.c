/* tokenizer_cmd.c - `softent tokenizer train`: train a byte-level BPE on a
 * corpus and write a Hugging Face tokenizer.json (softent_tokenizer.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "softent_tokenizer.h"

static const char USAGE[] =
    "usage: softent tokenizer train CORPUS -o tokenizer.json [options]\n"
    "\n"
    "Train a byte-level BPE tokenizer on CORPUS (a .txt file with one document\n"
    "per line, a .jsonl file, a directory of .txt files, or - for stdin) as\n"
    "Hugging Face's BpeTrainer does behind GPT-2's pre-tokenizer: text split by\n"
    "GPT-2's regex, the 256 byte symbols as the first tokens, then the most\n"
    "frequent adjacent pair merged each round (ties to the smaller pair of ids).\n"
    "Writes a tokenizer.json laid out like GPT-2's, which softent tokenize and\n"
    "Hugging Face tokenizers encode alike.  See docs/tokenizer.md.\n"
    "\n"
    "  -o, --output FILE      the tokenizer.json to write (required)\n"
    "  --vocab N              ids in all, special tokens included (default 4096);\n"
    "                         fewer when no pair is left at --min-frequency\n"
    "  --min-frequency K      merge only pairs seen at least K times (default 2)\n"
    "  --special TOKEN        a special token, given the first ids (repeatable;\n"
    "                         default <|endoftext|>)\n"
    "  --no-special           no special tokens\n"
    "  --max-docs N           read at most N documents\n"
    "  --text-field NAME      the .jsonl field holding the text (default: detect)\n"
    "  --quiet                no summary line\n"
    "  -h, --help             this help\n";

static const char TOP_USAGE[] =
    "usage: softent tokenizer train CORPUS -o tokenizer.json [options]\n"
    "\n"
    "  train                  train a byte-level BPE tokenizer (see 'softent tokenizer train --help')\n";

enum { OPT_VOCAB = 256, OPT_MIN_FREQ, OPT_SPECIAL, OPT_NO_SPECIAL, OPT_MAX_DOCS, OPT_TEXT_FIELD, OPT_QUIET };

#define CMD "tokenizer train"
#define MAX_SPECIAL 256

static int cmd_train_tokenizer(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"vocab", required_argument, 0, OPT_VOCAB},
        {"min-frequency", required_argument, 0, OPT_MIN_FREQ}, {"special", required_argument, 0, OPT_SPECIAL},
        {"no-special", no_argument, 0, OPT_NO_SPECIAL}, {"max-docs", required_argument, 0, OPT_MAX_DOCS},
        {"text-field", required_argument, 0, OPT_TEXT_FIELD}, {"quiet", no_argument, 0, OPT_QUIET},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    softent_bpe_train_params p = softent_bpe_train_default_params();
    static const char *specials[MAX_SPECIAL];
    int n_special = 0, no_special = 0, quiet = 0, c;
    const char *out = NULL;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(USAGE, stdout); return 0;
        case 'o': out = optarg; break;
        case OPT_VOCAB:
            if (!parse_i64(optarg, 1, INT32_MAX, &p.vocab_size)) return cli_usage_error(CMD, "--vocab %s: need a positive integer", optarg);
            break;
        case OPT_MIN_FREQ:
            if (!parse_i64(optarg, 0, INT64_MAX, &p.min_frequency))
                return cli_usage_error(CMD, "--min-frequency %s: need a non-negative integer", optarg);
            break;
        case OPT_SPECIAL:
            if (!*optarg) return cli_usage_error(CMD, "--special: the token is empty");
            if (n_special == MAX_SPECIAL) return cli_usage_error(CMD, "--special: at most %d special tokens", MAX_SPECIAL);
            specials[n_special++] = optarg;
            break;
        case OPT_NO_SPECIAL: no_special = 1; break;
        case OPT_MAX_DOCS:
            if (!parse_i64(optarg, 1, INT64_MAX, &p.max_docs)) return cli_usage_error(CMD, "--max-docs %s: need a positive integer", optarg);
            break;
        case OPT_TEXT_FIELD: p.text_field = optarg; break;
        case OPT_QUIET: quiet = 1; break;
        default:
            if (optopt == 'o') return cli_usage_error(CMD, "-o needs a file name");
            return cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return cli_usage_error(CMD, "no corpus given");
    if (argc - optind > 1) return cli_usage_error(CMD, "one corpus, please ('%s' is a second)", argv[optind + 1]);
    if (!out) return cli_usage_error(CMD, "no output file given (-o tokenizer.json)");
    if (no_special && n_special) return cli_usage_error(CMD, "--special and --no-special contradict each other");
    if (n_special || no_special) {
        p.special_tokens = specials;
        p.n_special_tokens = n_special;
    }
    int64_t start = softent_bpe_train_initial_size(&p);
    if (p.vocab_size < start)
        return cli_usage_error(CMD, "--vocab %lld: below the %lld tokens every vocabulary starts with (256 bytes + %lld special)",
                               (long long)p.vocab_size, (long long)start, (long long)(start - 256));
    const char *corpus = argv[optind];

    softent_bpe_train_stats st;
    int rc = softent_bpe_train(corpus, &p, out, &st);
    if (rc) return cli_lib_error(rc);
    if (!quiet) {
        printf("%s: %lld tokens (%lld special, 256 bytes, %lld merges) from %lld documents, %.2f MB, %lld distinct words; "
               "%.2f s counting, %.2f s merging\n",
               out, (long long)st.vocab_size, (long long)st.n_special, (long long)st.n_merges, (long long)st.documents,
               (double)st.bytes / 1e6, (long long)st.distinct_words, st.count_seconds, st.merge_seconds);
        if (st.vocab_size < p.vocab_size)
            printf("%s: the vocabulary stops at %lld of %lld: no pair is left with a count of at least %lld\n", out,
                   (long long)st.vocab_size, (long long)p.vocab_size, (long long)(p.min_frequency > 1 ? p.min_frequency : 1));
    }
    return 0;
}

int cmd_tokenizer(int argc, char **argv)
{
    if (argc < 2) return cli_usage_error("tokenizer", "no command given (train)");
    const char *sub = argv[1];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
        fputs(TOP_USAGE, stdout);
        return 0;
    }
    if (!strcmp(sub, "train")) return cmd_train_tokenizer(argc - 1, argv + 1);
    return cli_usage_error("tokenizer", "unknown command '%s' (train)", sub);
}
