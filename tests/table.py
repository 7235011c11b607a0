"""Reading softent's readable table (programs/output.c, write_table) back
into numbers, for the tests that check it against JSON and the oracle.

Without a null a label set's row is: name, values, rows, H(Z), H(Z|X),
I(X;Z), regularity.  With one it leads with the corrected value: name,
values, rows, H(Z), I corrected, null sd, p, then "|" and the plug-in
columns I(X;Z), H(Z|X), regularity, null mean."""
import re

PLAIN = ("values", "rows", "H", "H_cond", "I", "regularity")
WITH_NULL = ("values", "rows", "H", "I_corrected", "I_null_sd", "p_value", "|", "I", "H_cond", "regularity", "I_null_mean")
NUMBER = r"(-?[0-9.]+)"


def labelsets(stdout):
    """name -> {column: float} for every row under the "label set" header."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("label set"))
    columns = WITH_NULL if "I corrected" in lines[start] else PLAIN
    out = {}
    for line in lines[start + 1:]:
        cells = line.split()
        if len(cells) != len(columns) + 1:
            break
        out[cells[0]] = {c: float(v) for c, v in zip(columns, cells[1:]) if c != "|"}
    return out


def optimality(stdout):
    """(out, in) -> (corrected or None, plug-in or None); corrected is
    absent (the key "corrected" missing) without a null."""
    out = {}
    for m in re.finditer(r"^optimality I\((.+?)\)/I\((.+?)\) = (.*)$", stdout, re.M):
        text = m.group(3)
        plug = re.search(r"plug-in " + NUMBER, text)
        first = re.match(NUMBER, text)
        entry = {"plug_in": float(first.group(1)) if first and "plug-in" not in text else None}
        if "plug-in" in text:
            entry["corrected"] = float(first.group(1)) if first else None
            entry["plug_in"] = float(plug.group(1)) if plug else None
        entry["text"] = text
        out[(m.group(1), m.group(2))] = entry
    return out


def has_nan(stdout):
    return re.search(r"\bnan\b", stdout, re.I) is not None
