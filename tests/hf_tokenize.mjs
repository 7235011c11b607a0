// hf_tokenize.mjs - the reference for `softent tokenize`: token ids of each
// line of a text from Hugging Face's own JavaScript tokenizer
// (@huggingface/tokenizers), or with --rust from its Rust library itself
// (the `tokenizers` Node binding, a prebuilt build of the Rust crate), both
// installed in tests/npm by scripts/install-npm-fixtures.sh; printed the way
// softent prints them.
//
// usage: node tests/hf_tokenize.mjs tokenizer.json corpus.txt [--no-special] [--rust] [--time]
//   One document per line ("\n" or "\r\n" ends one); the file is decoded as
//   UTF-8 with invalid bytes read as U+FFFD.  --time writes
//   {"load_s", "encode_s", "bytes"} to stderr, timing the encode loop alone.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith("--")));
const [tokenizerPath, corpusPath] = args.filter((a) => !a.startsWith("--"));
if (!tokenizerPath || !corpusPath) {
  console.error("usage: node tests/hf_tokenize.mjs tokenizer.json corpus.txt [--no-special] [--time]");
  process.exit(2);
}

// Resolve the package from tests/npm, where the fixtures script installs it.
const require = createRequire(new URL("./npm/package.json", import.meta.url));
const rust = flags.has("--rust");
const addSpecial = !flags.has("--no-special");
let encode;
const t0 = performance.now();
if (rust) {
  const { Tokenizer } = require("tokenizers");
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  encode = async (line) => (await tokenizer.encode(line, null, { addSpecialTokens: addSpecial })).getIds();
} else {
  const mod = await import(pathToFileURL(require.resolve("@huggingface/tokenizers")).href);
  const Tokenizer = mod.Tokenizer ?? mod.default.Tokenizer; // the CommonJS build comes as a default export
  const tokenizer = new Tokenizer(JSON.parse(readFileSync(tokenizerPath, "utf8")), {});
  encode = async (line) => tokenizer.encode(line, { add_special_tokens: addSpecial }).ids;
}
const t1 = performance.now();

const text = readFileSync(corpusPath, "utf8");
const lines = text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l)); // "\r\n" ends a line too, as softent reads
if (lines.length && lines[lines.length - 1] === "") lines.pop();

const out = new Array(lines.length);
const t2 = performance.now();
for (let i = 0; i < lines.length; i++) {
  out[i] = (await encode(lines[i])).join(" ");
}
const t3 = performance.now();

process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
if (flags.has("--time")) {
  const bytes = Buffer.byteLength(text, "utf8");
  console.error(JSON.stringify({ load_s: (t1 - t0) / 1000, encode_s: (t3 - t2) / 1000, bytes }));
}
