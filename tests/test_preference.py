"""softent analyze --preference end to end, on a fixture model
(tests/make_models.py) and a synthetic preference set whose chosen
responses are lines of one licence and rejected responses lines of another:
- per-layer I(P;Z) (plug-in, rows, H) equals the NumPy estimator
  (tests/oracle.py) on the PyTorch reference's hidden states
  (tests/torch_reference.py) at the response positions, to 1e-5, and the
  layer mean is the mean over layers >= 1;
- the difference is significant (null p at its floor, interval above 0);
  with the chosen/rejected labels of each pair swapped at random it is not
  (the null, which permutes whole responses, gives p > 0.01 at every layer and the
  interval of the layer mean holds 0);
- the other position rules (last, all) and the record formats (chat
  messages, no prompt field) label the tokens they say they do;
- bad records and options get one-line errors."""
import json
import os
import random
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_models  # noqa: E402
import oracle  # noqa: E402
import torch_reference  # noqa: E402
from common import Fail, bytes_to_unicode, expect_error, main, run, tmp, write_bos_bpe_tokenizer  # noqa: E402

TOL = 1e-5
BOS = 299
MERGES = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("Ġ", "a"), ("i", "n"), ("Ġ", "o"), ("e", "r"), ("Ġ", "s")]
MAXLEN = 64
_cache = {}


def fixture():
    if not _cache:
        path = make_models.make(tmp("models"), ["gpt2"])["gpt2"]
        b2u = bytes_to_unicode()
        vocab = {b2u[b]: b for b in range(256)}
        for a, b in MERGES:
            vocab[a + b] = len(vocab)
        write_bos_bpe_tokenizer(path, vocab, [f"{a} {b}" for a, b in MERGES], BOS)
        _cache["model"] = path
        _cache["ref"] = torch_reference.load(path)
    return _cache["model"]


def lines(name, n, words=4):
    with open(f"/usr/share/common-licenses/{name}") as f:
        return [" ".join(l.split()) for l in f if len(l.split()) >= words][:n]


def pairs(n=60):
    """(prompt, chosen, rejected): MPL prompts, GPL-3 chosen, Artistic rejected."""
    return list(zip(lines("MPL-2.0", n), lines("GPL-3", n), lines("Artistic", n)))


def write_jsonl(name, records):
    path = tmp(name)
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
    return path


def tokenize(texts):
    path = tmp("tok-in.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in texts))
    out = run("tokenize", fixture(), path).stdout.splitlines()
    assert len(out) == len(texts)
    return [[int(x) for x in line.split()] for line in out]


def analyze(records, out, *args):
    path = write_jsonl(os.path.basename(out) + ".jsonl", records)
    p = run("analyze", fixture(), corpus(), "--out", out, "--ngrams", 1, "--max-length", MAXLEN, "--bins", 32,
            "--preference", path, *args)
    with open(os.path.join(out, "analysis.json")) as f:
        return json.load(f), p.stdout


def corpus():
    path = tmp("corpus.txt")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write("\n".join(lines("Apache-2.0", 20)) + "\n")
    return path


def reference(triples, layers, eps, rule="response"):
    """The oracle's I(P;Z) per layer: prompt and response tokenized as softent
    documents them (the prompt's trailing spaces move to the response), the
    sequence's last MAXLEN ids kept, the labelled positions per rule."""
    prompts = [p.rstrip(" ") for p, _, _ in triples]
    wholes = [p + r for p, c, rj in triples for r in (c, rj)]
    ctx = tokenize(prompts)
    whole = tokenize(wholes)
    config, weights = _cache["ref"]
    rows = {l: [] for l in layers}
    labels = []
    for i, ids in enumerate(whole):
        n_ctx = len(ctx[i // 2])
        cut = max(0, len(ids) - MAXLEN)
        ids, n_ctx = ids[cut:], max(0, n_ctx - cut)
        pos = {"response": np.arange(n_ctx, len(ids)), "last": np.array([len(ids) - 1]), "all": np.arange(len(ids))}[rule]
        hidden, _ = torch_reference.forward(config, weights, ids)
        for l in layers:
            rows[l].append(hidden[l].numpy()[pos])
        labels += [1 - i % 2] * len(pos)
    w = oracle.reference_points(0, 32, config["n_embd"])
    out = {}
    for l in layers:
        p, keep = oracle.soft_assign(np.concatenate(rows[l]).astype(np.float32), w, eps)
        assert keep.all()
        out[l] = oracle.labelset_measures(p, np.array(labels))
        out[l]["p"], out[l]["labels"] = p, np.array(labels)
        out[l]["pair"] = np.repeat(np.arange(len(whole)) // 2, [len(r) for r in rows[l]])
    return out


def swap_null(ref, labels, n=200, seed=3):
    """I under n random swaps of chosen and rejected within pairs (NumPy):
    a flipped pair's rows all change label."""
    rng = np.random.default_rng(seed)
    n_pairs = ref["pair"].max() + 1
    out = []
    for _ in range(n):
        flip = rng.integers(0, 2, n_pairs)[ref["pair"]]
        out.append(oracle.labelset_measures(ref["p"], labels ^ flip)["I"])
    return np.array(out)


def compare(r, triples, rule):
    layers = [l["layer"] for l in r["preference"]["layers"]]
    want = reference(triples, layers, r["settings"]["eps"], rule)
    for l in r["preference"]["layers"]:
        ref = want[l["layer"]]
        if l["rows"] != ref["rows"]:
            raise Fail(f"{rule}: layer {l['layer']}: {l['rows']} labelled rows vs the reference's {ref['rows']}")
        for k in ("I", "H"):
            if abs(l[k] - ref[k]) > TOL:
                raise Fail(f"{rule}: layer {l['layer']}: {k} {l[k]} vs reference {ref[k]}")
    upper = [l for l in r["preference"]["layers"] if l["layer"] >= 1]
    mean = sum(l["I"] for l in upper) / len(upper)
    if abs(r["layer_mean"]["preference_plugin"] - mean) > 1e-12:
        raise Fail(f"layer mean {r['layer_mean']['preference_plugin']} vs {mean}")


def check_values_against_the_reference():
    """Per-layer I(P;Z) as the reference gives it; and the null is the
    paired one: its mean and sd are those of NumPy's random swaps of chosen
    and rejected within pairs."""
    triples = pairs(40)
    records = [{"prompt": p, "chosen": c, "rejected": rj} for p, c, rj in triples]
    r, out = analyze(records, tmp("pref"), "--null", 99, "--bootstrap", 50)
    compare(r, triples, "response")
    # short responses after a shared prompt: a pair's two responses share
    # most of their context, which a null that keeps the pairs must keep
    short = [(p, " ".join(c.split()[:2]), " ".join(rj.split()[:2])) for p, c, rj in triples]
    rs, _ = analyze([{"prompt": p + " ", "chosen": c, "rejected": rj} for p, c, rj in short], tmp("pref_short"), "--null", 99,
                    "--layers", "2")
    want = reference([(p + " ", c, rj) for p, c, rj in short], [2], rs["settings"]["eps"])[2]
    got = rs["preference"]["layers"][0]["null"]
    ref = swap_null(want, want["labels"])
    se = np.sqrt(got["I_null_sd"] ** 2 / 99 + ref.var() / len(ref))
    if abs(got["I_null_mean"] - ref.mean()) > 4 * se:
        raise Fail(f"paired null mean {got['I_null_mean']:.3g} vs NumPy's within-pair swaps {ref.mean():.3g} (se {se:.2g})")
    if not 0.6 < got["I_null_sd"] / ref.std(ddof=1) < 1.6:
        raise Fail(f"paired null sd {got['I_null_sd']:.3g} vs NumPy's {ref.std(ddof=1):.3g}")
    info = r["preference"]
    if info["pairs_used"] != 40 or info["fields"] != {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"}:
        raise Fail(f"preference block {info['pairs_used']} pairs, fields {info['fields']}")
    if "preference information I(P;Z)" not in out or "nan" in out.lower():
        raise Fail("the table of I(P;Z) is missing or prints nan:\n" + out)
    for l in r["layers"]:
        if "preference" not in l:
            raise Fail(f"layer {l['layer']} of the results lacks its preference value")
    with open(os.path.join(tmp("pref"), "analysis.csv")) as f:
        if not any(",mean,preference,I_corrected," in line for line in f):
            raise Fail("analysis.csv has no mean preference row")


def check_significant_and_shuffled_not():
    """Chosen from one licence, rejected from another: the responses differ
    in every token, so I(P;Z) stands far above its null.  Swapping each
    pair's labels at random keeps the texts and removes the information."""
    triples = pairs(60)
    r, _ = analyze([{"prompt": p, "chosen": c, "rejected": rj} for p, c, rj in triples], tmp("sig"), "--null", 50,
                   "--bootstrap", 100)
    for l in r["preference"]["layers"]:
        if l["null"]["p_value"] > 1.5 / 51:
            raise Fail(f"layer {l['layer']}: chosen and rejected from different texts, but p = {l['null']['p_value']}")
    lo, hi = r["layer_mean"]["preference_interval"]
    if not lo > 0:
        raise Fail(f"the layer mean's interval [{lo}, {hi}] does not exclude 0")
    rng = random.Random(1)
    shuffled = []
    for p, c, rj in triples:
        a, b = (c, rj) if rng.random() < 0.5 else (rj, c)
        shuffled.append({"prompt": p, "chosen": a, "rejected": b})
    r, _ = analyze(shuffled, tmp("shuf"), "--null", 50, "--bootstrap", 100)
    for l in r["preference"]["layers"]:
        if l["null"]["p_value"] <= 0.01:
            raise Fail(f"layer {l['layer']}: shuffled labels, yet p = {l['null']['p_value']} (I = {l['I']}, null mean {l['null']['I_null_mean']})")
    lo, hi = r["layer_mean"]["preference_interval"]
    if not lo <= 0 <= hi:
        raise Fail(f"shuffled labels: the layer mean's interval [{lo}, {hi}] excludes 0")


def check_position_rules():
    triples = pairs(12)
    records = [{"prompt": p, "chosen": c, "rejected": rj} for p, c, rj in triples]
    for rule in ("last", "all"):
        r, _ = analyze(records, tmp(f"rule_{rule}"), "--preference-positions", rule, "--layers", "0,2")
        compare(r, triples, rule)
        if r["preference"]["labelled"] != rule:
            raise Fail(f"labelled {r['preference']['labelled']!r}, want {rule!r}")


def check_record_formats():
    """Chat messages (the response is the last message, the ones before it
    the prompt, ended by a blank line, when there is no prompt field) and
    string pairs without a prompt (their common prefix, cut at a space, is
    the prompt) label the same tokens as the explicit records they stand
    for; named fields are read."""
    triples = pairs(10)
    chat = [{"chosen": [{"role": "user", "content": p}, {"role": "assistant", "content": c}],
             "rejected": [{"role": "user", "content": p}, {"role": "assistant", "content": rj}]} for p, c, rj in triples]
    r, _ = analyze(chat, tmp("chat"), "--layers", "1")
    if r["preference"]["fields"]["prompt"] != "":
        raise Fail(f"no prompt field, but {r['preference']['fields']}")
    # the same as the prompt written out, joined by a blank line (softent
    # tokenize reads lines, so the reference cannot tokenize it directly)
    explicit, _ = analyze([{"prompt": p + "\n\n", "chosen": c, "rejected": rj} for p, c, rj in triples], tmp("chat_explicit"),
                          "--layers", "1")
    for k in ("token_stream_fnv1a64", "positions"):
        if r["preference"][k] != explicit["preference"][k]:
            raise Fail(f"chat messages vs their explicit prompt: {k} {r['preference'][k]} vs {explicit['preference'][k]}")
    if r["preference"]["layers"][0]["I"] != explicit["preference"]["layers"][0]["I"]:
        raise Fail("chat messages and their explicit prompt gave different I(P;Z)")
    hh = [{"chosen": f"Human: {p} Assistant: {c}", "rejected": f"Human: {p} Assistant: {rj}"} for p, c, rj in triples]
    r, _ = analyze(hh, tmp("hh"), "--layers", "1")
    split = []
    for p, c, rj in triples:
        a, b = f"Human: {p} Assistant: {c}", f"Human: {p} Assistant: {rj}"
        n = len(os.path.commonprefix([a, b]))
        while n > 0 and a[n - 1] != " ":
            n -= 1
        split.append((a[:n], a[n:], b[n:]))
    compare(r, split, "response")
    named = [{"q": p, "good": c, "bad": rj} for p, c, rj in triples]
    r, _ = analyze(named, tmp("named"), "--layers", "1", "--preference-fields", "q,good,bad")
    compare(r, triples, "response")


def check_bad_input():
    d = fixture()
    good = {"prompt": "a b c", "chosen": "d e f", "rejected": "g h i"}
    cases = [
        (["{not json"], "malformed JSON"),
        ([json.dumps(good), "[1, 2]"], "not a JSON object"),
        ([{"prompt": "a", "answer": "b"}], "no chosen field"),
        ([good, {"prompt": "a", "chosen": "b"}], "no \"rejected\" field"),
        ([{"prompt": "a", "chosen": 3, "rejected": "x"}], "neither a string nor"),
        ([{"chosen": [{"role": "user"}], "rejected": [{"content": "x"}]}], "no string \"content\""),
        ([{"chosen": "x y", "rejected": [{"content": "x"}]}], "one response is a string"),
        ([{"prompt": 7, "chosen": "b", "rejected": "c"}], "\"prompt\" is missing or not a string"),
        ([{"chosen": [{"content": "hi"}, {"content": "a"}], "rejected": [{"content": "bye"}, {"content": "b"}]}],
         "different conversations"),
        ([{"prompt": "a", "chosen": "", "rejected": ""}], "no preference pair"),
    ]
    for i, (records, words) in enumerate(cases):
        path = write_jsonl(f"bad{i}.jsonl", records)
        expect_error(["analyze", d, corpus(), "--out", tmp("x"), "--bins", 8, "--preference", path], os.path.basename(path), words)
    expect_error(["analyze", d, corpus(), "--preference", tmp("missing.jsonl")], "missing.jsonl")
    expect_error(["analyze", d, corpus(), "--preference-positions", "middle"], "--preference-positions", "response, last or all")
    expect_error(["analyze", d, corpus(), "--preference-fields", "a,b"], "--preference-fields", "PROMPT,CHOSEN,REJECTED")
    expect_error(["trace", d, corpus(), "--preference", tmp("bad0.jsonl")], "--preference", "analyze")
    path = write_jsonl("good.jsonl", [good] * 4)
    expect_error(["analyze", d, corpus(), "--out", tmp("x"), "--bins", 8, "--preference", path, "--null", "scaled"],
                 "exact null over pairs", "--null R")


main(globals())
