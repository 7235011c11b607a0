#!/bin/sh
# The command's whole --help text, for `make install` (share/doc/softent):
# softent --help, then each subcommand's.
#   scripts/help-text.sh PATH/TO/softent > softent-help.txt
set -eu
SOFTENT=$1
"$SOFTENT" --help
for cmd in $("$SOFTENT" --help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p'); do
    printf '\n\n==== softent %s ====\n\n' "$cmd"
    if [ "$cmd" = tokenizer ]; then "$SOFTENT" tokenizer train --help; else "$SOFTENT" "$cmd" --help; fi
done
