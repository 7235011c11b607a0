/* main.c - the softent command: subcommand dispatch. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mpi.h"

static const char USAGE[] =
    "usage: softent COMMAND [options]\n"
    "\n"
    "Measure what representations remember and forget: soft entropy H(Z),\n"
    "I(X;Z) for label sets, and the permutation null.\n"
    "\n"
    "commands:\n"
    "  estimate Z [--labels NAME=PATH ...]   entropy and information of embeddings\n"
    "  calibrate --dim D --bins M            the temperature eps\n"
    "  merge STATE... -o OUT                 merge shard states\n"
    "  report STATE                          measures of a saved state\n"
    "  analyze MODEL_DIR CORPUS              per-layer H, I(in n-gram), I(out n-gram), optimality\n"
    "  trace RUN_DIR CORPUS                  checkpoints of a training run on the information plane\n"
    "  correlate RESULT.json... --scores CSV measures of several models against benchmark scores\n"
    "  eval MODEL_DIR TASK... [--out CSV]    loss, bits per byte, multiple choice: scores for correlate\n"
    "  train CORPUS --out RUN_DIR            train a small GPT-2, checkpoints as HF directories\n"
    "  tokenize MODEL [FILE]                 token ids of each line, as Hugging Face tokenizers\n"
    "  tokenizer train CORPUS -o FILE        train a byte-level BPE tokenizer\n"
    "\n"
    "'softent COMMAND --help' describes each; --version prints the version.\n";

/* The commands that split their work across MPI ranks. */
static int runs_on_ranks(const char *cmd) { return !strcmp(cmd, "estimate") || !strcmp(cmd, "analyze") || !strcmp(cmd, "trace"); }

static int dispatch(int argc, char **argv)
{
    if (argc < 2) { fputs(USAGE, stderr); return EXIT_USAGE; }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) { fputs(USAGE, stdout); return 0; }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("softent %s%s\n", SOFTENT_VERSION, cli_mpi_built() ? " (with MPI)" : "");
        return 0;
    }
    static const struct { const char *name; int (*run)(int, char **); } commands[] = {
        {"estimate", cmd_estimate}, {"calibrate", cmd_calibrate}, {"merge", cmd_merge}, {"report", cmd_report}, {"train", cmd_train},
        {"tokenize", cmd_tokenize}, {"analyze", cmd_analyze}, {"tokenizer", cmd_tokenizer}, {"trace", cmd_trace}, {"correlate", cmd_correlate},
        {"eval", cmd_eval},
    };
    if (cli_mpi_size() > 1 && !runs_on_ranks(cmd)) {
        if (cli_mpi_rank() == 0) fprintf(stderr, "softent: %s runs in one process; under mpirun only estimate, analyze and trace split their work\n", cmd);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "softent: unknown command '%s' (see 'softent --help')\n", cmd);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    cli_mpi_init(&argc, &argv);
    const int rc = dispatch(argc, argv);
    cli_mpi_finalize();
    return rc;
}
