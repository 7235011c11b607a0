"""softent eval end to end on fixture models (tests/make_models.py) with a
small byte-level BPE tokenizer (BOS added by its post-processor): the loss
task's nats per token, bits per byte and next-token accuracy, and the
multiple-choice task's per-choice log-likelihoods (--details) and
accuracies, equal a plain PyTorch computation on the float64 reference
forward (tests/torch_reference.py) to 1e-5 relative; the token ids scored
are those of `softent tokenize`; the scores CSV has correlate's tidy
columns; bad input is refused with one line.

Usage: /usr/bin/python3 tests/test_eval.py BUILD_DIR
"""
import csv
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import torch_reference  # noqa: E402
except ImportError as e:
    print(f"FAIL eval: the reference needs Debian's python3-torch ({e})")
    sys.exit(1)
import make_models  # noqa: E402
from common import Fail, bytes_to_unicode, expect_error, main, run, tmp, write_bos_bpe_tokenizer, write_tmp  # noqa: E402

torch = torch_reference.torch
TOL = 1e-5
BOS = 299
MERGES = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("Ġ", "a"), ("i", "n"), ("Ġ", "o"), ("e", "r"), ("Ġ", "s")]
_models = {}
_worst = {"loss": 0.0, "logprob": 0.0}


def write_tokenizer(model_dir):
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    for a, b in MERGES:
        vocab[a + b] = len(vocab)
    write_bos_bpe_tokenizer(model_dir, vocab, [f"{a} {b}" for a, b in MERGES], BOS)


def model(name):
    if name not in _models:
        path = make_models.make(tmp("models"), [name])[name]
        write_tokenizer(path)
        config, weights = torch_reference.load(path)
        _models[name] = (path, config, torch_reference.to_torch(weights, torch.float64))
    return _models[name]


def license_lines(n):
    with open("/usr/share/common-licenses/GPL-3") as f:
        return [" ".join(l.split()) for l in f if len(l.split()) >= 4][:n]


def tokenize(mdir, texts):
    """softent tokenize's ids of each text (no newlines in them)."""
    path = tmp("tok-in.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in texts))
    out = run("tokenize", mdir, path).stdout.splitlines()
    if len(out) != len(texts):
        raise Fail(f"softent tokenize gave {len(out)} lines for {len(texts)} texts")
    return [[int(x) for x in line.split()] for line in out]


def log_probs(config, weights, ids):
    """[len(ids) - 1] log p(ids[i] | ids[<i]) and the argmax hits, float64."""
    _, logits = torch_reference.forward(config, weights, ids)
    lsm = torch.log_softmax(logits.double(), dim=-1).numpy()
    nxt = np.asarray(ids[1:])
    return lsm[np.arange(len(ids) - 1), nxt], (lsm[:-1].argmax(-1) == nxt)


def rel(got, want):
    return abs(got - want) / max(abs(want), 1e-300)


def eval_details(mdir, *tasks, name="m"):
    out, det = tmp("scores.csv"), tmp("details.json")
    # float32 products: the reference is float64 (a bf16 checkpoint's default would be bf16)
    run("eval", mdir, *tasks, "--out", out, "--details", det, "--model-name", name, "--compute", "f32")
    with open(det) as f:
        details = json.load(f)
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    return details, rows


# ---- loss ----------------------------------------------------------------------

def check_loss(names=("gpt2", "llama")):
    lines = license_lines(12)
    # a long document: past gpt2's 128 positions, truncated
    lines.append(" ".join(license_lines(40)[12:40]))
    corpus = tmp("loss.txt")
    with open(corpus, "w") as f:
        f.write("\n".join(lines[:6]) + "\n\n" + "\n".join(lines[6:]) + "\n")  # an empty line is skipped
    for name in names:
        mdir, config, weights = model(name)
        maxpos = config.get("n_positions") or config["max_position_embeddings"]
        details, rows = eval_details(mdir, f"loss={corpus}")
        t = details["tasks"][0]
        ids_all = tokenize(mdir, lines)
        nats = correct = predicted = 0
        nats_whole = bytes_whole = 0
        truncated = 0
        for i, (ids, d) in enumerate(zip(ids_all, t["docs"])):
            cut = len(ids) > maxpos
            ids = ids[:maxpos]
            lp, hits = log_probs(config, weights, ids)
            if d["tokens"] != len(ids) or d["truncated"] != cut:
                raise Fail(f"{name} doc {i}: {d['tokens']} tokens (truncated {d['truncated']}), want {len(ids)} ({cut})")
            e = rel(d["nats"], -lp.sum())
            _worst["loss"] = max(_worst["loss"], e)
            if not e <= TOL:
                raise Fail(f"{name} doc {i}: nats {d['nats']!r} vs reference {-lp.sum()!r} (rel {e:.3g})")
            if d["correct"] != int(hits.sum()):
                raise Fail(f"{name} doc {i}: {d['correct']} correct, reference {int(hits.sum())}")
            nats += -lp.sum()
            correct += int(hits.sum())
            predicted += len(ids) - 1
            truncated += cut
            if not cut:
                nats_whole += -lp.sum()
                bytes_whole += len(lines[i].encode())
        if len(t["docs"]) != len(lines) or truncated != 1 and name == "gpt2":
            raise Fail(f"{name}: {len(t['docs'])} documents ({t['truncated']} truncated), want {len(lines)}")
        want = {"loss": nats / predicted, "bpb": nats_whole / (math.log(2) * bytes_whole), "accuracy": correct / predicted}
        for k, v in want.items():
            if not rel(t[k], v) <= TOL:
                raise Fail(f"{name}: {k} {t[k]!r} vs reference {v!r}")
        print(f"  {name}: loss {t['loss']:.4f} nats/token, bpb {t['bpb']:.4f}, accuracy {t['accuracy']:.4f}; "
              f"worst rel err of a document's nats so far {_worst['loss']:.1e}", flush=True)
        if rows[0] != ["model", "benchmark", "score", "baseline"]:
            raise Fail(f"CSV header {rows[0]}")
        got = {r[1]: r for r in rows[1:]}
        if sorted(got) != ["loss.accuracy", "loss.bpb", "loss.loss"]:
            raise Fail(f"CSV benchmarks {sorted(got)}")
        for k, v in want.items():
            r = got["loss." + k]
            if r[0] != "m" or not rel(float(r[2]), v) <= TOL:
                raise Fail(f"CSV row {r}: want m,loss.{k},{v}")
        if got["loss.loss"][3] != "" or got["loss.bpb"][3] != "" or not rel(float(got["loss.accuracy"][3]), 1 / 300) <= 1e-12:
            raise Fail(f"CSV baselines: {rows}")


# ---- multiple choice ------------------------------------------------------------

def mc_records():
    lines = license_lines(30)
    recs = []
    for i, line in enumerate(lines[:10]):
        words = line.split()
        cut = 2 + i % 3
        ctx = " ".join(words[:cut])
        true = " " + " ".join(words[cut:cut + 3])
        others = [" " + " ".join(lines[(i + 7 * k) % 30].split()[:2 + k]) for k in range(1, 2 + i % 3)]
        choices = others[:i % len(others)] + [true] + others[i % len(others):]
        recs.append({"context": ctx, "choices": choices, "answer": choices.index(true)})
    # the context's trailing space moves to the choices; a non-ASCII choice (bytes != characters)
    recs.append({"context": "This License ", "choices": ["refers", "caf\u00e9 cr\u00e8me", "x"], "answer": 0})
    # an empty context: the BOS alone precedes the choice
    recs.append({"context": "", "choices": ["the work", "zq"], "answer": 1})
    return recs


def check_multiple_choice(names=("gpt2", "llama")):
    recs = mc_records()
    path = tmp("mc.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")
    for name in names:
        mdir, config, weights = model(name)
        details, rows = eval_details(mdir, f"mc:quiz={path}")
        t = details["tasks"][0]
        texts = []
        for r in recs:
            ctx = r["context"].rstrip(" ")
            moved = r["context"][len(ctx):]
            texts.append(ctx)
            texts += [ctx + moved + c for c in r["choices"]]
        ids = iter(tokenize(mdir, texts))
        hits = hits_norm = 0
        base = 0
        worst = 0.0
        for i, (r, d) in enumerate(zip(recs, t["details"])):
            ctx_ids = next(ids)
            lps = []
            for k, c in enumerate(r["choices"]):
                whole = next(ids)
                lp, _ = log_probs(config, weights, whole)
                want = lp[len(ctx_ids) - 1:].sum()
                e = rel(d["logprob"][k], want)
                worst = max(worst, e)
                if not e <= TOL:
                    raise Fail(f"{name} record {i} choice {k}: log p {d['logprob'][k]!r} vs reference {want!r} (rel {e:.3g})")
                if d["tokens"][k] != len(whole) - len(ctx_ids) or d["bytes"][k] != len(c.encode()):
                    raise Fail(f"{name} record {i} choice {k}: {d['tokens'][k]} tokens, {d['bytes'][k]} bytes")
                lps.append(want)
            pred = int(np.argmax(lps))
            pred_norm = int(np.argmax([lp / max(1, len(c.encode())) for lp, c in zip(lps, r["choices"])]))
            if d["pred"] != pred or d["pred_norm"] != pred_norm or d["answer"] != r["answer"]:
                raise Fail(f"{name} record {i}: pred {d['pred']}/{d['pred_norm']}, reference {pred}/{pred_norm}")
            hits += pred == r["answer"]
            hits_norm += pred_norm == r["answer"]
            base += 1 / len(r["choices"])
        _worst["logprob"] = max(_worst["logprob"], worst)
        n = len(recs)
        if t["records"] != n or not rel(t["acc"], hits / n) <= 1e-12 or not rel(t["acc_norm"], hits_norm / n) <= 1e-12:
            raise Fail(f"{name}: acc {t['acc']} acc_norm {t['acc_norm']} of {t['records']}, want {hits / n} {hits_norm / n} of {n}")
        print(f"  {name}: acc {t['acc']:.3f}, acc_norm {t['acc_norm']:.3f}; worst rel err of a log-likelihood {worst:.1e}", flush=True)
        want_rows = [["model", "benchmark", "score", "baseline"], ["m", "quiz.acc"], ["m", "quiz.acc_norm"]]
        if rows[0] != want_rows[0] or [r[:2] for r in rows[1:]] != want_rows[1:]:
            raise Fail(f"CSV rows {rows}")
        for r, v in zip(rows[1:], (hits / n, hits_norm / n)):
            if not rel(float(r[2]), v) <= 1e-12 or not rel(float(r[3]), base / n) <= 1e-12:
                raise Fail(f"CSV row {r}: want score {v}, baseline {base / n}")


def check_csv_stdout_and_names():
    mdir, _, _ = model("gpt2")
    corpus = tmp("small.txt")
    with open(corpus, "w") as f:
        f.write("the work\n")
    p = run("eval", mdir + "/", f"loss:my,set={corpus}", "--threads", "1")
    rows = list(csv.reader(p.stdout.splitlines()))
    if rows[0] != ["model", "benchmark", "score", "baseline"] or [r[:2] for r in rows[1:]] != [
            ["gpt2", "my,set.loss"], ["gpt2", "my,set.bpb"], ["gpt2", "my,set.accuracy"]]:
        raise Fail(f"stdout CSV {rows}")


# ---- bad input --------------------------------------------------------------------

write = write_tmp


def check_bad_input():
    mdir, _, _ = model("gpt2")
    expect_error(["eval", mdir, "mc=" + tmp("nope.jsonl")], "nope.jsonl", code=1)
    expect_error(["eval", mdir, "loss=" + tmp("nope.txt")], "nope.txt", code=1)
    ok = '{"context": "a", "choices": ["b", "c"], "answer": 0}\n'
    expect_error(["eval", mdir, "mc=" + write("bad1.jsonl", ok + "\n" + '{"context": "a", "choices": ["b"]\n')],
                 "bad1.jsonl:3", "JSON", code=1)
    expect_error(["eval", mdir, "mc=" + write("bad2.jsonl", ok + '{"context": "a", "choices": ["b", "c"], "answer": 2}\n')],
                 "bad2.jsonl:2", "answer", "out of range", code=1)
    expect_error(["eval", mdir, "mc=" + write("bad3.jsonl", '{"context": "a", "choices": [], "answer": 0}\n')],
                 "bad3.jsonl:1", "empty", code=1)
    expect_error(["eval", mdir, "mc=" + write("bad4.jsonl", '{"context": "a", "choices": ["b", 3], "answer": 0}\n')],
                 "bad4.jsonl:1", "choice 1", code=1)
    expect_error(["eval", mdir, "mc=" + write("bad5.jsonl", '{"choices": ["b"], "answer": 0}\n')],
                 "bad5.jsonl:1", "context", code=1)
    expect_error(["eval", mdir, "mc=" + write("bad6.jsonl", '{"context": "a", "choices": ["b", ""], "answer": 0}\n')],
                 "bad6.jsonl:1", "choice 1", "no tokens", code=1)
    expect_error(["eval", mdir, "mc=" + write("bad7.jsonl", '{"context": "a", "choices": ["b"], "answer": 0.5}\n')],
                 "bad7.jsonl:1", "answer", code=1)
    expect_error(["eval", mdir, "mc=" + write("empty.jsonl", "\n\n")], "empty.jsonl", "no records", code=1)
    expect_error(["eval", mdir, "loss=" + write("empty.txt", "\n\n")], "empty.txt", code=1)
    expect_error(["eval", mdir, "mcq=x.jsonl"], "mcq", code=2)
    expect_error(["eval", mdir], "TASK", code=2)
    expect_error(["eval", mdir, "loss=" + tmp("small.txt"), "--threads", "x"], "--threads", code=2)
    expect_error(["eval", tmp("nomodel"), "loss=" + tmp("small.txt")], "nomodel", code=1)
    # a CSV is not written when a task fails
    out = tmp("never.csv")
    expect_error(["eval", mdir, "loss=" + tmp("small.txt"), "mc=" + tmp("bad2.jsonl"), "--out", out], "bad2.jsonl", code=1)
    if os.path.exists(out):
        raise Fail("a scores CSV was written despite the error")


def check_worst_errors():
    print(f"  worst rel err vs the float64 reference: document nats {_worst['loss']:.1e}, "
          f"choice log-likelihoods {_worst['logprob']:.1e}", flush=True)


if __name__ == "__main__":
    main(globals())
