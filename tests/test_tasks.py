"""scripts/make-tasks.py, the main job's benchmarks from Debian data, on a
small made-up Bible and fortune file: every record is one softent eval
reads (context, 4 choices, answer in range); the answer is the true next
verse (or the word cut from the text, or the verse's own word order) and
every distractor comes from another chapter (or is another word within one
letter of its length, or another order of the same words); the
preference pairs' chosen verse follows the prompt and the rejected one is
from another chapter; the same seed gives the same files; softent eval
accepts them."""
import json
import os
import subprocess

import make_models
from common import Fail, bytes_to_unicode, main, run, tmp, write_bos_bpe_tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "scripts", "make-tasks.py")
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec".split()


def bible():
    """40 chapters of 6 verses; verse text names its chapter and verse."""
    lines = []
    for c in range(1, 41):
        for v in range(1, 7):
            w = [WORDS[(c * 7 + v * 3 + k) % len(WORDS)] for k in range(8)]
            lines.append(f"Bk{c}:{v} chapter{c} verse{v} " + " ".join(w))
    path = tmp("verses.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path, {l.split(" ", 1)[1]: l.split(" ", 1)[0] for l in lines}


def fortunes():
    d = tmp("fortunes")
    os.makedirs(d, exist_ok=True)
    for k, name in enumerate(("fortunes", "literature", "riddles")):
        with open(os.path.join(d, name), "w") as f:
            f.write("\n%\n".join(f"{' '.join(WORDS[(i + k) % 17:(i + k) % 17 + 7])} sentence number {i}\n\t\t-- Someone"
                                 for i in range(30)) + "\n")
    return d


def make(out, seed=0):
    verses, _ = bible()
    p = subprocess.run(["/usr/bin/python3", SCRIPT, verses, fortunes(), out, "--records", "40", "--seed", str(seed)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise Fail(f"make-tasks.py failed: {p.stderr}")
    tasks = {}
    for name in ("kjv-next-verse", "kjv-word-order", "kjv-cloze", "fortune-cloze", "kjv-preference"):
        with open(os.path.join(out, name + ".jsonl")) as f:
            tasks[name] = [json.loads(l) for l in f]
    return tasks


def ref(verse_ref):
    book, cv = verse_ref.split(":")[0], verse_ref.split(":")[1]
    return int(book[2:]), int(cv)


def check_records():
    tasks = make(tmp("t0"))
    _, where = bible()
    held = {c for c in range(10, 41, 10)}
    for r in tasks["kjv-next-verse"]:
        if len(r["choices"]) != 4 or not 0 <= r["answer"] < 4:
            raise Fail(f"record {r}")
        c, v = ref(where[r["context"]])
        right = ref(where[r["choices"][r["answer"]][1:]])
        if c not in held or right != (c, v + 1):
            raise Fail(f"next verse of {c}:{v} is {right}")
        for k, ch in enumerate(r["choices"]):
            if k != r["answer"] and (ref(where[ch[1:]])[0] == c or ref(where[ch[1:]])[0] not in held):
                raise Fail(f"distractor {ch!r} of {c}:{v} is from the same or a training chapter")
    for name in ("kjv-cloze", "fortune-cloze"):
        if not tasks[name]:
            raise Fail(f"{name} is empty")
        for r in tasks[name]:
            right = r["choices"][r["answer"]].strip()
            others = [c.strip() for k, c in enumerate(r["choices"]) if k != r["answer"]]
            if any(abs(len(o) - len(right)) > 1 or o.lower() == right.lower() for o in others):
                raise Fail(f"{name}: distractors {others} for {right!r}")
    for name in ("kjv-cloze",):
        for r in tasks[name]:
            if not any(v.startswith(r["context"] + r["choices"][r["answer"]]) for v in where):
                raise Fail(f"{name}: context + answer {r['context']!r} + {r['choices'][r['answer']]!r} is no verse's start")
    for r in tasks["kjv-word-order"]:
        right = r["context"] + r["choices"][r["answer"]]
        if right not in where or len(set(r["choices"])) != 4:
            raise Fail(f"word order: {right!r} is no verse, or choices repeat")
        if any(sorted(c.split()) != sorted(r["choices"][r["answer"]].split()) for c in r["choices"]):
            raise Fail(f"word order: choices {r['choices']} are not orders of the same words")
    for r in tasks["kjv-preference"]:
        c, v = ref(where[r["prompt"]])
        if ref(where[r["chosen"][1:]]) != (c, v + 1) or ref(where[r["rejected"][1:]])[0] == c:
            raise Fail(f"preference pair {r}")


def check_deterministic():
    a, b, c = make(tmp("t1"), 0), make(tmp("t2"), 0), make(tmp("t3"), 5)
    if a != b:
        raise Fail("the same seed gave different tasks")
    if a == c:
        raise Fail("another seed gave the same tasks")


def check_eval_reads_them():
    make(tmp("t4"))
    path = make_models.make(tmp("models"), ["gpt2"])["gpt2"]
    b2u = bytes_to_unicode()
    write_bos_bpe_tokenizer(path, {b2u[b]: b for b in range(256)}, [], 299)
    p = run("eval", path, f"mc={tmp('t4')}/kjv-next-verse.jsonl", f"mc={tmp('t4')}/fortune-cloze.jsonl",
            f"loss={tmp('t4')}/kjv-verses.txt", "--out", tmp("t4.csv"))
    with open(tmp("t4.csv")) as f:
        rows = f.read().splitlines()
    if not any(r.split(",")[1] == "kjv-next-verse.acc" for r in rows[1:]):
        raise Fail(f"eval's CSV {rows}")


main(globals())
