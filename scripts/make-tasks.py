#!/usr/bin/env python3
"""The main job's held-out benchmarks and preference set, from text in
Debian packages (docs/eval.md, "Tasks from Debian data"):

  kjv-next-verse.jsonl   which verse comes next: a held-out verse as context,
                         the true next verse and 3 verses of other held-out
                         chapters, of about its length, as choices
  kjv-word-order.jsonl   a held-out verse's first 3 words as context, the rest
                         in its own order and in 3 random orders as choices
  kjv-cloze.jsonl        the last word of a held-out verse, among 3 other words
                         of the held-out chapters of about its length
  fortune-cloze.jsonl    the same cloze over fortunes-min's quotations (text the
                         models never saw)
  kjv-preference.jsonl   prompt: a held-out verse; chosen: the verse that
                         follows it; rejected: a verse of another chapter
  kjv-verses.txt         held-out verses, one a line, for eval's loss task

usage: scripts/make-tasks.py VERSES.txt FORTUNES_DIR OUT_DIR [--records N] [--seed S]
  VERSES.txt: `bible -f` output ("Ge1:1 In the beginning ..."), one verse a
  line; the held-out chapters are every 10th, as scripts/main-job.sh holds
  them out.  Deterministic for a seed (Python's own random.Random).
"""
import json
import os
import random
import re
import sys

WORD = re.compile(r"[A-Za-z]{4,}")


def held_out_chapters(path):
    """[[verse, ...], ...] of every 10th chapter (1-based count, as awk's NR % 10 == 0)."""
    chapters = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            ref, _, text = line.rstrip("\n").partition(" ")
            if ref.split(":")[-1] == "1":
                chapters.append([])
            chapters[-1].append(text)
    return [c for i, c in enumerate(chapters, 1) if i % 10 == 0]


def fortunes(directory):
    """Each quotation's text, attribution lines ("-- Mark Twain") dropped."""
    out = []
    for name in ("fortunes", "literature", "riddles"):
        with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as f:
            for block in f.read().split("\n%\n"):
                lines = [l for l in block.splitlines() if not l.strip().startswith("--")]
                text = " ".join(" ".join(lines).split())
                if len(text.split()) >= 6:
                    out.append(text)
    return out


def write_lines(path, lines):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("".join(l + "\n" for l in lines))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write(path, records):
    write_lines(path, [json.dumps(r, ensure_ascii=False) for r in records])


def choices(rng, right, wrong, k=3):
    """The right answer among k wrong ones, at a random place."""
    opts = rng.sample(wrong, k)
    answer = rng.randrange(k + 1)
    opts.insert(answer, right)
    return opts, answer


def next_verse(rng, chapters, n):
    verses = [(ci, vi) for ci, c in enumerate(chapters) for vi in range(len(c) - 1)]
    out = []
    for ci, vi in rng.sample(verses, min(n, len(verses))):
        others = [v for cj, c in enumerate(chapters) if cj != ci for v in c]
        right = chapters[ci][vi + 1]
        # the 3 of 40 drawn verses nearest its length: a summed log-likelihood
        # would otherwise pick the shortest choice, whatever the context
        pool = sorted(rng.sample(others, min(40, len(others))), key=lambda v: abs(len(v) - len(right)))[:3]
        opts, answer = choices(rng, " " + right, [" " + v for v in pool])
        out.append({"context": chapters[ci][vi], "choices": opts, "answer": answer})
    return out


def word_order(rng, verses, n):
    """The verse's own word order among 3 shuffles of its words (all the
    same length, so no choice wins on length)."""
    out = []
    for v in rng.sample(verses, len(verses)):
        words = v.split()
        head, rest = words[:3], words[3:]
        shuffles = set()
        for _ in range(20):
            s = rest[:]
            rng.shuffle(s)
            if s != rest:
                shuffles.add(" " + " ".join(s))
        if len(rest) < 5 or len(shuffles) < 3:
            continue
        opts, answer = choices(rng, " " + " ".join(rest), sorted(shuffles))
        out.append({"context": " ".join(head), "choices": opts, "answer": answer})
        if len(out) == n:
            break
    return out


def cloze(rng, texts, n):
    """The last word of >= 4 letters of a text (with >= 5 words before it),
    against words of the same texts within 1 letter of its length."""
    vocab = sorted({w for t in texts for w in WORD.findall(t)})
    by_len = {}
    for w in vocab:
        by_len.setdefault(len(w), []).append(w)
    out = []
    for t in rng.sample(texts, len(texts)):
        hits = [m for m in WORD.finditer(t) if len(t[:m.start()].split()) >= 5]
        if not hits:
            continue
        m = hits[-1]
        word = m.group()
        pool = [w for L in (len(word) - 1, len(word), len(word) + 1) for w in by_len.get(L, []) if w.lower() != word.lower()]
        if len(pool) < 3:
            continue
        opts, answer = choices(rng, " " + word, [" " + w for w in pool])
        out.append({"context": t[:m.start()].rstrip(" "), "choices": opts, "answer": answer})
        if len(out) == n:
            break
    return out


def preference(rng, chapters, n):
    pairs = [(ci, vi) for ci, c in enumerate(chapters) for vi in range(len(c) - 1)]
    out = []
    for ci, vi in rng.sample(pairs, min(n, len(pairs))):
        cj = rng.choice([j for j in range(len(chapters)) if j != ci])
        out.append({"prompt": chapters[ci][vi], "chosen": " " + chapters[ci][vi + 1], "rejected": " " + rng.choice(chapters[cj])})
    return out


def main():
    args = sys.argv[1:]
    opts = {"--records": 300, "--seed": 0}
    for k in list(opts):
        if k in args:
            i = args.index(k)
            opts[k] = int(args[i + 1])
            del args[i:i + 2]
    if len(args) != 3:
        sys.exit(__doc__)
    verses, fortune_dir, out = args
    n, seed = opts["--records"], opts["--seed"]
    chapters = held_out_chapters(verses)
    if not chapters:
        sys.exit(f"make-tasks: {verses}: no chapters")
    os.makedirs(out, exist_ok=True)
    held = [v for c in chapters for v in c]
    tasks = {
        "kjv-next-verse": next_verse(random.Random(seed), chapters, n),
        "kjv-word-order": word_order(random.Random(seed + 5), held, n),
        "kjv-cloze": cloze(random.Random(seed + 1), held, n),
        "fortune-cloze": cloze(random.Random(seed + 2), fortunes(fortune_dir), n),
        "kjv-preference": preference(random.Random(seed + 3), chapters, n // 2),
    }
    for name, records in tasks.items():
        write(os.path.join(out, name + ".jsonl"), records)
        print(f"{name}: {len(records)} records")
    verses = random.Random(seed + 4).sample(held, min(3 * n, len(held)))
    write_lines(os.path.join(out, "kjv-verses.txt"), verses)
    print(f"kjv-verses: {len(verses)} verses")


if __name__ == "__main__":
    main()
