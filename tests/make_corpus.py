"""Write a UTF-8 test corpus for the tokenizer, one document per line, from
files Debian installs on this machine (nothing is downloaded).

Sections, in this order, each filled to a share of --size from its files in
sorted path order (spread evenly over the list, so many packages appear):

  prose        /usr/share/common-licenses, /usr/share/doc/*/copyright
               (paragraphs joined into one line)
  changelogs   /usr/share/doc/*/changelog*.gz, gunzipped (lines as they are)
  code         /usr/include headers and Python files under /usr/lib/python3*
               (runs of lines, joined by "\\r" or " " so that line breaks
               and indentation reach the tokenizer)
  man pages    /usr/share/man/man1/*.gz, zcat'ed roff source
  translations the strings of .mo catalogues under /usr/share/locale, for
               languages in many scripts (CJK, Cyrillic, Arabic, Hebrew,
               Devanagari, Thai, ...), and glibc's locale sources
  emoji        sentences with emoji picked by name from unicodedata, skin
               tones, ZWJ sequences, flags, keycaps, variation selectors
  combining    accented translations in NFD, and stacks of combining marks

Documents containing NUL are dropped; none is longer than 50 kB.  The same
machine gives the same corpus (sorted paths, a seeded generator).

usage: /usr/bin/python3 tests/make_corpus.py OUT [--size BYTES]
"""
import argparse
import glob
import gettext
import gzip
import os
import random
import unicodedata

MAX_DOC = 50_000

SHARES = [  # section, fraction of the corpus
    ("prose", 0.24),
    ("changelogs", 0.09),
    ("code", 0.17),
    ("man", 0.09),
    ("translations", 0.27),
    ("emoji", 0.07),
    ("combining", 0.07),
]

LANGS = ["zh_CN", "zh_TW", "ja", "ko", "ru", "uk", "bg", "el", "ar", "he", "fa", "hi", "bn", "ta", "te", "mr",
         "th", "vi", "tr", "pl", "cs", "de", "fr", "es", "pt_BR", "it", "ka", "hy", "am", "km", "si", "my",
         "ml", "kn", "gu", "pa", "ne", "lo", "ug", "ur", "eo", "is", "hu", "ro", "sk", "lt", "lv", "et"]


def read_text(path):
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read(400_000)
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace")


def spread(paths, k):
    """k paths spread evenly over the sorted list."""
    paths = sorted(paths)
    if len(paths) <= k:
        return paths
    step = len(paths) / k
    return [paths[int(i * step)] for i in range(k)]


class Section:
    def __init__(self, budget):
        self.budget = budget
        self.docs = []
        self.size = 0

    def full(self):
        return self.size >= self.budget

    def add(self, doc):
        if self.full() or not doc or "\x00" in doc or "\n" in doc:
            return
        for i in range(0, len(doc), MAX_DOC // 4):  # chars, at most 4 bytes each
            piece = doc[i:i + MAX_DOC // 4]
            self.docs.append(piece)
            self.size += len(piece.encode()) + 1


def paragraphs(text):
    para = []
    for line in text.splitlines():
        if line.strip():
            para.append(line.strip())
        elif para:
            yield " ".join(para)
            para = []
    if para:
        yield " ".join(para)


def prose(sec, per_file=12_000):
    paths = sorted(glob.glob("/usr/share/common-licenses/*")) + spread(glob.glob("/usr/share/doc/*/copyright"), 120)
    for path in paths:
        if sec.full():
            return
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        used = 0
        for p in paragraphs(read_text(path)):
            if used > per_file:
                break
            sec.add(p)
            used += len(p)


def lines_of(sec, paths, per_file):
    """Each file's lines as documents, until per_file characters of it."""
    for path in paths:
        if sec.full():
            return
        used = 0
        for line in read_text(path).splitlines():
            if used > per_file:
                break
            sec.add(line)
            used += len(line)


def changelogs(sec, per_file=3_000):
    lines_of(sec, spread(glob.glob("/usr/share/doc/*/changelog*.gz"), 150), per_file)


def code(sec, rng, per_file=2_500):
    headers = [p for p in glob.glob("/usr/include/**/*.h", recursive=True) if os.path.isfile(p)]
    python = [p for p in glob.glob("/usr/lib/python3*/**/*.py", recursive=True) if os.path.isfile(p)]
    for path in spread(headers, 80) + spread(python, 80):
        if sec.full():
            return
        lines = read_text(path).splitlines()
        used, i = 0, 0
        while i < len(lines) and used < per_file:
            k = rng.randint(1, 8)
            joiner = "\r" if rng.random() < 0.5 else " "
            doc = joiner.join(lines[i:i + k])
            i += k
            if doc.strip():
                sec.add(doc)
                used += len(doc)


def man_pages(sec, per_file=2_000):
    lines_of(sec, spread(glob.glob("/usr/share/man/man1/*.gz"), 100), per_file)


def catalogue_strings(path):
    try:
        with open(path, "rb") as f:
            cat = gettext.GNUTranslations(f)._catalog
    except Exception:  # a catalogue Python cannot read is skipped
        return []
    out = []
    for key in sorted(cat, key=str):
        if key == "" or isinstance(key, tuple) and key[0] == "":
            continue  # the header entry
        value = cat[key]
        if isinstance(value, str) and value.strip():
            out.append(value.replace("\n", " "))
    return out


def translations(sec, rng, per_lang=None):
    per_lang = per_lang or max(2_000, int(sec.budget * 0.9) // len(LANGS))
    for lang in LANGS:
        used = 0
        for path in spread(glob.glob(f"/usr/share/locale/{lang}/LC_MESSAGES/*.mo"), 12):
            strings = catalogue_strings(path)
            i = 0
            while i < len(strings) and used < per_lang and not sec.full():
                k = rng.randint(1, 6)
                doc = " ".join(strings[i:i + k])
                i += k
                sec.add(doc)
                used += len(doc.encode())
            if used >= per_lang:
                break
    # glibc's locale sources: month and day names, and comments, in many scripts
    for path in spread(glob.glob("/usr/share/i18n/locales/*"), 200):
        if sec.full():
            return
        for line in read_text(path).splitlines():
            if any(ord(c) > 127 for c in line):
                sec.add(line)


def emoji(sec, rng):
    names = []
    for cp in list(range(0x1F300, 0x1FAFF)) + list(range(0x2600, 0x27C0)):
        ch = chr(cp)
        if unicodedata.category(ch) == "So" and unicodedata.name(ch, ""):
            names.append(ch)
    hands = ["\U0001F44D", "\U0001F44B", "\u270B", "\U0001F64F", "\U0001F44F", "\U0001F590"]
    tones = [chr(0x1F3FB + k) for k in range(5)]
    zwj = ["\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466", "\U0001F3F3\ufe0f\u200d\U0001F308",
           "\U0001F469\u200d\U0001F4BB", "\U0001F9D1\u200d\U0001F91D\u200d\U0001F9D1", "\u2764\ufe0f\u200d\U0001F525"]
    flags = ["".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in cc) for cc in
             ["FR", "DE", "JP", "US", "BR", "IN", "CN", "KR", "NG", "MX", "UA", "ZA"]]
    keycaps = [f"{d}\ufe0f\u20e3" for d in "0123456789#*"]
    templates = ["I love {e} so much!", "{e}{e2} lol", "Status: {e} ({n})", "  {e}   spaced   {e2}  ",
                 "{n} {e}{e}{e}", "Meeting at 10:30 {e} don't be late", "«{e}» — {n}?", "{e}\t{e2}\r{n}",
                 "Wow{e}wow", "{n}: {e2}!!! {e}..."]
    while not sec.full():
        e = rng.choice(names)
        e2 = rng.choice([rng.choice(hands) + rng.choice(tones), rng.choice(zwj), rng.choice(flags),
                         rng.choice(keycaps), rng.choice(names) + "\ufe0f", rng.choice(names)])
        n = unicodedata.name(e).lower()
        sec.add(" ".join(rng.choice(templates).format(e=e, e2=e2, n=n) for _ in range(rng.randint(1, 5))))


def combining(sec, rng):
    accented = []
    for lang in ["fr", "vi", "de", "pl", "cs", "pt_BR", "hu", "ro", "tr", "is"]:
        for path in spread(glob.glob(f"/usr/share/locale/{lang}/LC_MESSAGES/*.mo"), 4):
            accented += [s for s in catalogue_strings(path)[:200] if any(ord(c) > 127 for c in s)]
    marks = [chr(c) for c in range(0x300, 0x370)] + ["\u0483", "\u05b0", "\u05b4", "\u0651", "\u093c", "\u0e31", "\u20dd"]
    i = 0
    while not sec.full():
        if accented and rng.random() < 0.7:
            form = rng.choice(["NFD", "NFKD", "NFC"])
            sec.add(unicodedata.normalize(form, " ".join(accented[i % len(accented):i % len(accented) + 3])))
            i += 3
        else:
            words = []
            for _ in range(rng.randint(2, 10)):
                base = rng.choice("aeiouxyzAEIOUnN\u03b1\u0431")
                words.append(base + "".join(rng.choice(marks) for _ in range(rng.randint(1, 5))))
            sec.add(" ".join(words))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=1_200_000, help="bytes (default 1.2 MB)")
    args = ap.parse_args()
    rng = random.Random(0)
    builders = {"prose": lambda s: prose(s), "changelogs": lambda s: changelogs(s), "code": lambda s: code(s, rng),
                "man": lambda s: man_pages(s), "translations": lambda s: translations(s, rng),
                "emoji": lambda s: emoji(s, rng), "combining": lambda s: combining(s, rng)}
    total = 0
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        for name, share in SHARES:
            sec = Section(int(args.size * share))
            builders[name](sec)
            for doc in sec.docs:
                f.write(doc + "\n")
            total += sec.size
    if total < args.size * 0.9:
        raise SystemExit(f"make_corpus.py: only {total} bytes of text found on this machine (wanted {args.size})")


if __name__ == "__main__":
    main()
