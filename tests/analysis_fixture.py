"""The analysis tests' fixtures: the fixture models of tests/make_models.py,
each with a byte-level BPE tokenizer trained on a corpus of real text (the
licences Debian ships), and that corpus in the test's temporary directory."""
import os
import subprocess

from common import bytes_to_unicode, run, tmp, write_bos_bpe_tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = tmp("models")


def write_tokenizer(model_dir, corpus_lines, vocab_limit=299):
    """A byte-level BPE whose merges are the most frequent pairs of the
    corpus (a few dozen, to stay inside the fixture's 300-token vocabulary),
    with a BOS token added by a TemplateProcessing post-processor."""
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    words = {}
    for line in corpus_lines:
        for w in line.split(" "):
            key = tuple(b2u[b] for b in ("Ġ" if False else " " + w).encode())
            words[key] = words.get(key, 0) + 1
    merges = []
    while len(vocab) < vocab_limit - 1:
        pairs = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append(f"{a} {b}")
        vocab[a + b] = len(vocab)
        new = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        words = new
    bos = vocab_limit
    write_bos_bpe_tokenizer(model_dir, vocab, merges, bos)


def corpus():
    lines = []
    for name in ("GPL-3", "Apache-2.0"):
        with open(f"/usr/share/common-licenses/{name}") as f:
            lines += [" ".join(l.split()) for l in f if len(l.split()) >= 3]
    return lines[:80]


_made = {}


def corpus_lines():
    """The corpus' lines (written to tmp("corpus.txt") by model())."""
    model("gpt2")
    return _made["lines"]


def model(name):
    if not _made:
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_models.py"), MODELS], check=True, capture_output=True)
        lines = corpus()
        with open(tmp("corpus.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        _made["lines"] = lines
    path = os.path.join(MODELS, name)
    if name not in _made:
        write_tokenizer(path, _made["lines"])
        _made[name] = path
    return path




def training_run():
    """A small training run of softent train (three checkpoints, steps 1, 3
    and 8) and the corpus it trained on: a trace's input."""
    run_dir, text = tmp("train_run"), tmp("train_corpus.txt")
    if not os.path.isdir(run_dir):
        with open("/usr/share/common-licenses/GPL-3") as f:
            lines = [" ".join(l.split()) for l in f if len(l.split()) > 3]
        with open(text, "w") as f:
            f.write("\n".join(lines[:200]) + "\n")
        run("train", text, "--out", run_dir, "--layers", 2, "--d-model", 32, "--heads", 2, "--context", 48,
            "--batch", 4, "--steps", 8, "--checkpoints", 3, "--seed", 1)
    return run_dir, text


def repeated_corpus(times):
    """The fixture corpus `times` times over (more documents, to split
    among processes or to be caught between checkpoints)."""
    path = tmp(f"corpus_x{times}.txt")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write("\n".join(corpus_lines() * times) + "\n")
    return path
