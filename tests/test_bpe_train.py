"""softent tokenizer train (include/softent_tokenizer.h) against outside
references: the tokenizer.json it writes must load in Hugging Face's
JavaScript tokenizer (@huggingface/tokenizers) and encode a held-out text
to the same ids as softent tokenize; its merges must equal those of an
independent, naive Python BPE (a full recount every round, its own GPT-2
pre-tokenizer); and on the word counts of the unit test of Hugging Face's
Rust BpeTrainer it must learn the merges that test expects.  Then the
vocabulary's structure, determinism, the corpus formats, and bad input.

The npm fixtures are installed by scripts/install-npm-fixtures.sh when
missing; without them the comparison FAILs, it is never skipped.

usage: /usr/bin/python3 tests/test_bpe_train.py BUILD_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import unicodedata
from collections import Counter

import common
from common import SOFTENT, TMP, Fail, bytes_to_unicode, main, run, tmp, write_tmp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NPM = os.path.join(ROOT, "tests", "npm", "node_modules")
HF_SCRIPT = os.path.join(ROOT, "tests", "hf_tokenize.mjs")
VOCAB = 4096

state = {}


write = write_tmp


def documents(path):
    """The documents softent's corpus reader sees in a .txt file: lines with
    trailing CR/LF removed, empty ones skipped."""
    with open(path, encoding="utf-8", newline="") as f:
        return [d for d in (line.rstrip("\r\n") for line in f.read().split("\n")) if d]


def corpus():
    """~1.1 MB of training text and a held-out tenth, from this machine's
    files (tests/make_corpus.py: prose, code, man pages, many scripts, emoji)."""
    if "docs" not in state:
        path = tmp("corpus.txt")
        p = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "make_corpus.py"), path], capture_output=True, text=True)
        if p.returncode:
            raise Fail(f"tests/make_corpus.py failed: {p.stderr.strip()[-600:]}")
        with open(path, encoding="utf-8", newline="") as f:
            lines = [line for line in f.read().split("\n") if line]
        state["docs"] = lines
        state["train"] = write("train.txt", "".join(d + "\n" for i, d in enumerate(lines) if i % 10))
        held = [d for i, d in enumerate(lines) if i % 10 == 0]
        # The special token inside text, where both encoders split it out.
        held += ["one<|endoftext|>two", "<|endoftext|>", " <|endoftext|> x", "<|endoftext|><|endoftext|>"]
        state["heldout"] = write("heldout.txt", "".join(d + "\n" for d in held))
    return state["docs"]


def trained():
    """The tokenizer trained on the training text (once), and its summary."""
    if "tok" not in state:
        corpus()
        state["tok"] = tmp("tokenizer.json")
        state["summary"] = run("tokenizer", "train", state["train"], "--vocab", VOCAB, "-o", state["tok"]).stdout
    return state["tok"]


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ---- (a) Hugging Face encodes with it as softent does -----------------------------------


def ensure_fixtures():
    if not shutil.which("node"):
        raise Fail("node is not installed (scripts/install-deps.sh installs nodejs and npm)")
    if not os.path.exists(os.path.join(NPM, "@huggingface/tokenizers/package.json")):
        p = subprocess.run([os.path.join(ROOT, "scripts", "install-npm-fixtures.sh")], capture_output=True, text=True, timeout=300)
        if p.returncode:
            raise Fail(f"the npm fixtures are missing and scripts/install-npm-fixtures.sh failed: {p.stderr.strip()[-300:]}")


def check_ids_match_hf_on_held_out_text():
    ensure_fixtures()
    tok = trained()
    p = subprocess.run(["node", HF_SCRIPT, tok, state["heldout"]], capture_output=True, text=True)
    if p.returncode:
        raise Fail(f"Hugging Face's tokenizer does not load or run it: {p.stderr.strip()[-600:]}")
    theirs = p.stdout.split("\n")
    ours = run("tokenize", tok, state["heldout"]).stdout.split("\n")
    held = documents(state["heldout"])
    if len(theirs) < len(held):
        raise Fail(f"Hugging Face gave {len(theirs)} lines for {len(held)} documents")
    bad = [i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b] + ([-1] if len(ours) != len(theirs) else [])
    if bad:
        i = bad[0]
        raise Fail(f"{len(bad)} of {len(theirs) - 1} documents differ; first: document {i + 1}: softent {ours[i][:120]!r} vs "
                   f"Hugging Face {theirs[i][:120]!r}")
    ids = [int(x) for line in ours for x in line.split()]
    if max(ids) < VOCAB - 200:
        raise Fail(f"the held-out text uses ids up to {max(ids)} only: the merges are hardly used")
    if ours[-2] != "0 0" or ours[-4] != "0":
        raise Fail(f"<|endoftext|> is not encoded as its id 0: {ours[-5:-1]}")
    n_bytes = os.path.getsize(state["heldout"])
    if len(ids) > n_bytes / 2.5:
        raise Fail(f"{len(ids)} tokens for {n_bytes} bytes of held-out text: the vocabulary compresses badly")


# ---- (b) the vocabulary ------------------------------------------------------------------


def check_vocabulary_structure():
    j = load(trained())
    vocab, merges = j["model"]["vocab"], j["model"]["merges"]
    if len(vocab) != VOCAB:
        raise Fail(f"{len(vocab)} tokens, asked for {VOCAB}")
    if sorted(vocab.values()) != list(range(VOCAB)):
        raise Fail("the ids are not 0..vocab-1 without gaps")
    if list(vocab.values()) != list(range(VOCAB)):
        raise Fail("the vocabulary is not written in id order")
    if j["added_tokens"] != [{"id": 0, "content": "<|endoftext|>", "single_word": False, "lstrip": False, "rstrip": False,
                              "normalized": False, "special": True}]:
        raise Fail(f"added_tokens: {j['added_tokens']}")
    first = list(vocab)[:257]
    if first != ["<|endoftext|>"] + sorted(bytes_to_unicode().values()):
        raise Fail(f"ids 0..256 are not <|endoftext|> and the 256 byte symbols in code-point order: {first[:8]}...")
    if len(merges) < VOCAB - 257:
        raise Fail(f"{len(merges)} merges for {VOCAB - 257} new tokens")
    made, next_id = set(first[1:]), 257
    for k, m in enumerate(merges):
        a, b = m.split(" ")
        if a not in made or b not in made:
            raise Fail(f"merge {k + 1} {m!r} uses a token no earlier merge made")
        if a + b not in vocab:
            raise Fail(f"merge {k + 1} {m!r}: {a + b!r} is not in the vocabulary")
        if a + b not in made:
            if vocab[a + b] != next_id:
                raise Fail(f"merge {k + 1} {m!r} gives id {vocab[a + b]}, want the next id {next_id}")
            made.add(a + b)
            next_id += 1
    if next_id != VOCAB:
        raise Fail(f"the merges make {next_id - 257} tokens, the vocabulary has {VOCAB - 257} beyond the bytes")
    if len(set(merges)) != len(merges):
        raise Fail("a merge is written twice")
    assert j["pre_tokenizer"] == {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    assert j["normalizer"] is None and j["decoder"]["type"] == "ByteLevel" and j["post_processor"]["type"] == "ByteLevel"
    m = j["model"]
    assert m["type"] == "BPE" and m["dropout"] is None and m["unk_token"] is None and not m["byte_fallback"] and not m["fuse_unk"]
    if f"{VOCAB} tokens (1 special, 256 bytes, {len(merges)} merges)" not in state["summary"]:
        raise Fail(f"summary line: {state['summary']!r}")


def check_stops_early_when_pairs_run_out():
    """The word counts of HF's BpeTrainer unit test (trainer.rs, test_train),
    one word a line, min_frequency 2: HF expects the merges r+e, a+re, i+s
    (a+re and i+s tie at 2; the smaller id goes first), then nothing is
    left to merge and the vocabulary stays below the size asked."""
    words = {"roses": 1, "are": 2, "red": 1, "voilets": 1, "blue": 1, "BERT": 1, "is": 2, "big": 1, "and": 1, "so": 1, "GPT-2": 1}
    path = write("hf-words.txt", "".join((w + "\n") * c for w, c in words.items()))
    out = tmp("hf-words.json")
    p = run("tokenizer", "train", path, "--vocab", 1000, "--min-frequency", 2, "--no-special", "-o", out)
    j = load(out)
    if j["model"]["merges"] != ["r e", "a re", "i s"]:
        raise Fail(f"merges {j['model']['merges']}, want ['r e', 'a re', 'i s'] as Hugging Face's trainer gives")
    if len(j["model"]["vocab"]) != 259 or j["added_tokens"] != []:
        raise Fail(f"{len(j['model']['vocab'])} tokens and added tokens {j['added_tokens']}, want 259 and none")
    if "stops at 259 of 1000" not in p.stdout:
        raise Fail(f"the summary does not say the vocabulary stopped early: {p.stdout!r}")


# ---- (c) determinism -------------------------------------------------------------------


def check_deterministic():
    """Two runs give the same bytes, and so does the corpus in reverse
    document order (only the word counts matter)."""
    tok = trained()
    again = tmp("again.json")
    run("tokenizer", "train", state["train"], "--vocab", VOCAB, "-o", again, "--quiet")
    docs = documents(state["train"])
    reverse = write("reverse.txt", "".join(d + "\n" for d in reversed(docs)))
    rev = tmp("reverse.json")
    run("tokenizer", "train", reverse, "--vocab", VOCAB, "-o", rev, "--quiet")
    with open(tok, "rb") as f:
        a = f.read()
    for path, what in ((again, "a second run"), (rev, "the documents in reverse order")):
        with open(path, "rb") as f:
            if f.read() != a:
                raise Fail(f"{what} gives a different file")


# ---- (d) an independent, naive BPE -------------------------------------------------------

WHITE = set(map(chr, [*range(9, 14), 32, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]))
CONTRACTIONS = ("s", "t", "re", "ve", "m", "ll", "d")


def is_letter(c):
    return unicodedata.category(c)[0] == "L"


def is_number(c):
    return unicodedata.category(c)[0] == "N"


def is_other(c):
    return not (c in WHITE or is_letter(c) or is_number(c))


def gpt2_split(s):
    """GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+|
    ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+ scanned by hand, with Unicode
    White_Space for \\s (as Oniguruma reads it)."""
    words, i, n = [], 0, len(s)

    def span(j, pred):
        while j < n and pred(s[j]):
            j += 1
        return j

    while i < n:
        c, j = s[i], None
        if c == "'":
            j = next((i + 1 + len(k) for k in CONTRACTIONS if s.startswith(k, i + 1)), None)
        if j is None:
            for pred in (is_letter, is_number, is_other):
                if c == " " and i + 1 < n and pred(s[i + 1]):
                    j = span(i + 1, pred)
                    break
                if pred(c):
                    j = span(i, pred)
                    break
        if j is None:  # whitespace: leave the last one to the word after it
            j = span(i, WHITE.__contains__)
            if j < n and j - i >= 2:
                j -= 1
        words.append(s[i:j])
        i = j
    return words


def naive_bpe(docs, vocab_size, min_frequency, specials):
    """Greedy BPE recounting every pair every round: the highest count
    wins, ties to the smaller (left id, right id); a merged string already
    in the vocabulary keeps its id."""
    b2u = bytes_to_unicode()
    counts = Counter("".join(b2u[b] for b in w.encode()) for d in docs for w in gpt2_split(d))
    vocab = {}
    for s in specials + sorted(b2u.values()):
        vocab.setdefault(s, len(vocab))
    token = {i: s for s, i in vocab.items()}
    words = Counter()
    for w, c in counts.items():
        if len(w) > 1:  # a single byte has no pairs, ever
            words[tuple(vocab[ch] for ch in w)] += c
    merges, done = [], set()
    while len(vocab) < vocab_size:
        pairs = Counter()
        for w, c in words.items():
            for p in zip(w, w[1:]):
                pairs[p] += c
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[best] < max(min_frequency, 1):
            break
        s = token[best[0]] + token[best[1]]
        if s not in vocab:
            vocab[s] = len(vocab)
            token[vocab[s]] = s
        x = vocab[s]
        if best not in done:
            merges.append(f"{token[best[0]]} {token[best[1]]}")
            done.add(best)
        merged = Counter()
        for w, c in words.items():
            if best[0] not in w:
                merged[w] += c
                continue
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(x)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] += c
        words = merged
    return vocab, merges


def check_same_merges_as_naive_python():
    docs = corpus()
    small, size = [], 0
    for d in docs[::41]:  # spread over every section: prose, code, scripts, emoji, marks
        d = d.rstrip("\r")[:400]
        if d:
            small.append(d)
            size += len(d.encode())
        if size > 20_000:
            break
    path = write("small.txt", "".join(d + "\n" for d in small))
    for vocab_size, min_freq, specials in ((520, 2, ["<|endoftext|>"]), (2000, 10, ["<s>", "</s>", "<s>"])):
        out = tmp(f"small-{vocab_size}.json")
        args = [a for s in specials for a in ("--special", s)]
        run("tokenizer", "train", path, "--vocab", vocab_size, "--min-frequency", min_freq, *args, "-o", out)
        j = load(out)
        want_vocab, want_merges = naive_bpe(small, vocab_size, min_freq, specials)
        got = j["model"]["merges"]
        if got != want_merges:
            k = next((i for i, (a, b) in enumerate(zip(got, want_merges)) if a != b), min(len(got), len(want_merges)))
            raise Fail(f"vocab {vocab_size}, min-frequency {min_freq}: merge {k + 1} differs: softent "
                       f"{got[k:k + 3]} vs Python {want_merges[k:k + 3]} ({len(got)} and {len(want_merges)} merges)")
        if j["model"]["vocab"] != want_vocab:
            raise Fail(f"vocab {vocab_size}: the vocabularies differ (same merges)")
        if vocab_size == 2000 and len(want_vocab) >= 2000:
            raise Fail("the min-frequency 10 run was meant to run out of pairs")
        distinct = list(dict.fromkeys(specials))
        if [(t["id"], t["content"]) for t in j["added_tokens"]] != list(enumerate(distinct)):
            raise Fail(f"added_tokens {j['added_tokens']}, want {list(enumerate(distinct))}")


def check_special_tokens():
    """Special tokens take the first ids in the order given (a repeat is
    dropped, one spelling a byte symbol shares that id), survive JSON
    escaping, and both encoders split them out of text alike."""
    ensure_fixtures()
    specials = ["<|im_start|>", "!", 'q"uo\\te\tx', "é<sep>", "<|im_start|>"]
    corpus()
    docs = documents(state["train"])[:300]
    path = write("special-train.txt", "".join(d + "\n" for d in docs))
    out = tmp("special.json")
    run("tokenizer", "train", path, "--vocab", 600, *[a for s in specials for a in ("--special", s)], "-o", out, "--quiet")
    j = load(out)
    want = [(0, "<|im_start|>"), (1, "!"), (2, 'q"uo\\te\tx'), (3, "é<sep>")]
    if [(t["id"], t["content"]) for t in j["added_tokens"]] != want:
        raise Fail(f"added_tokens {j['added_tokens']}, want {want}")
    vocab = j["model"]["vocab"]
    if len(vocab) != 600 or sorted(vocab.values()) != list(range(600)) or vocab["!"] != 1 or vocab["\""] != 4:
        raise Fail(f"{len(vocab)} tokens, '!' {vocab.get('!')}, '\"' {vocab.get(chr(34))}: want 600, 1 and 4")
    text = write("special-text.txt", "".join(d + "\n" for d in docs[:50]) +
                 'Hi! <|im_start|>user\tq"uo\\te\tx é<sep> done!!\n<|im_start|><|im_start|>\n')
    p = subprocess.run(["node", HF_SCRIPT, out, text], capture_output=True, text=True)
    if p.returncode:
        raise Fail(f"Hugging Face's tokenizer does not load or run it: {p.stderr.strip()[-600:]}")
    ours = run("tokenize", out, text).stdout
    if ours != p.stdout:
        a, b = ours.split("\n"), p.stdout.split("\n")
        i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        raise Fail(f"line {i + 1}: softent {a[i][:160]!r} vs Hugging Face {b[i][:160]!r}")
    last = [int(x) for x in ours.split("\n")[-3].split()]
    if last.count(0) != 1 or last.count(2) != 1 or last.count(3) != 1 or last.count(1) < 3:
        raise Fail(f"the special tokens are not split out: {last}")


# ---- corpus formats ----------------------------------------------------------------------


def check_jsonl_max_docs_and_stdin():
    """--max-docs N of a .jsonl file, the same N lines of a .txt file and of
    standard input give the same file."""
    corpus()
    docs = documents(state["train"])[:800]
    txt = write("first.txt", "".join(d + "\n" for d in docs) + "never read\n")
    jsonl = write("first.jsonl", "".join(json.dumps({"id": i, "body": d}) + "\n" for i, d in enumerate(docs)) + '{"body": "never"}\n')
    outs = []
    for name, args in (("txt", [txt]), ("jsonl", [jsonl, "--text-field", "body"]), ("auto", [jsonl])):
        outs.append(tmp(f"first-{name}.json"))
        run("tokenizer", "train", *args, "--max-docs", len(docs), "--vocab", 700, "-o", outs[-1], "--quiet")
    outs.append(tmp("first-stdin.json"))
    with open(txt, "rb") as f:
        p = subprocess.run([SOFTENT, "tokenizer", "train", "-", "--max-docs", str(len(docs)), "--vocab", "700", "-o", outs[-1],
                            "--quiet"], stdin=f, capture_output=True)
    if p.returncode:
        raise Fail(f"training from stdin failed: {p.stderr.decode(errors='replace').strip()}")
    blobs = []
    for o in outs:
        with open(o, "rb") as f:
            blobs.append(f.read())
    if len(set(blobs)) != 1:
        raise Fail("txt, jsonl (named and detected field) and stdin give different files")


# ---- (e) bad input -----------------------------------------------------------------------


def expect_error(args, *words, code=1):
    common.expect_error(args, *words, code=code, results="a summary")


def check_bad_input():
    text = write("bad-ok.txt", "some text to train on\n")
    out = tmp("bad.json")
    expect_error(["tokenizer", "train", write("empty.txt", ""), "-o", out], "empty.txt", "no documents")
    expect_error(["tokenizer", "train", write("blank.txt", "\n\n\r\n"), "-o", out], "blank.txt", "no documents")
    expect_error(["tokenizer", "train", tmp("no-such-corpus.txt"), "-o", out], "no-such-corpus.txt")
    expect_error(["tokenizer", "train", text, "--vocab", 256, "-o", out], "--vocab", "257", code=2)
    expect_error(["tokenizer", "train", text, "--vocab", 257, "--special", "<a>", "--special", "<b>", "-o", out], "--vocab", "258", code=2)
    expect_error(["tokenizer", "train", text, "--vocab", "many", "-o", out], "--vocab", code=2)
    expect_error(["tokenizer", "train", text, "--min-frequency", -1, "-o", out], "--min-frequency", code=2)
    expect_error(["tokenizer", "train", text, "--special", "", "-o", out], "--special", code=2)
    expect_error(["tokenizer", "train", text], "-o", code=2)
    expect_error(["tokenizer", "train", "-o", out], "corpus", code=2)
    expect_error(["tokenizer", "train", text, "-o", out, "--frobnicate"], "--frobnicate", code=2)
    expect_error(["tokenizer", "frobnicate"], "frobnicate", code=2)
    expect_error(["tokenizer"], "train", code=2)
    expect_error(["tokenizer", "train", text, "-o", tmp("no-such-dir/tok.json")], "no-such-dir/tok.json", "No such file")
    os.makedirs(tmp("a-directory"), exist_ok=True)
    expect_error(["tokenizer", "train", text, "-o", tmp("a-directory")], "a-directory")
    if os.path.exists(out):
        raise Fail(f"a failed run left {out}")
    left = [n for n in os.listdir(TMP) if ".tmp" in n]
    if left:
        raise Fail(f"failed runs left temporary files: {left}")
    # A failed run leaves an existing file as it was.
    keep = write("keep.json", "{}")
    expect_error(["tokenizer", "train", write("empty2.txt", ""), "-o", keep], "empty2.txt")
    with open(keep) as f:
        if f.read() != "{}":
            raise Fail("a failed run overwrote the output file")


def check_help():
    p = run("tokenizer", "train", "--help")
    if "--vocab" not in p.stdout or "--min-frequency" not in p.stdout or p.stderr:
        raise Fail(f"tokenizer train --help: {p.stdout[:200]!r}")
    if "tokenizer train" not in run("--help").stdout:
        raise Fail("softent --help does not list tokenizer train")


if __name__ == "__main__":
    try:
        main(globals())
    except SystemExit as e:
        if not e.code:
            shutil.rmtree(TMP, ignore_errors=True)
        raise
