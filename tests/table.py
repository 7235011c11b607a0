"""Reading softent's readable table (programs/output.c, write_table) back
into numbers, for the tests that check it against JSON and the oracle.

A label set's row is: name, values, rows, H(Z); then the corrected I
(unless --correction none) and, with a null, the null's sd and p; then,
after a "|" when a corrected I leads, the plug-in I(X;Z), H(Z|X),
regularity and, with a null, the null mean."""
import re

LEAD, PLUG = ("values", "rows", "H"), ("I", "H_cond", "regularity")


def columns_of(header):
    corrected, null = "I corrected" in header, "null sd" in header
    return (LEAD + (("I_corrected",) if corrected else ()) + (("I_null_sd", "p_value") if null else ())
            + (("|",) if corrected else ()) + PLUG + (("I_null_mean",) if null else ()))
NUMBER = r"(-?[0-9.]+)"


def labelsets(stdout):
    """name -> {column: float} for every row under the "label set" header."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("label set"))
    columns = columns_of(lines[start])
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
