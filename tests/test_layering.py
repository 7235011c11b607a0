"""The layers of lib/ (docs/architecture.md), checked as zstd checks its
partial builds: every #include in lib/LAYER reaches only the layers below
it and the public headers it may use; the estimator-only program, linked
from lib/common and lib/estimator objects with OpenBLAS, oneDNN and libm alone,
needs no other library and gives the NumPy oracle's numbers; the archive
exports the softent_* API and nothing else."""
import os
import re
import subprocess

import numpy as np

import oracle
from common import BUILD, Fail, main

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

# layer -> (internal layers it may include, public headers it may include)
ALLOWED = {
    "common": ({"common"}, {"softent.h"}),
    "estimator": ({"common", "estimator"}, {"softent.h"}),
    "formats": ({"common", "formats"}, {"softent.h", "softent_io.h", "softent_gguf.h"}),
    "text": ({"common", "text"}, {"softent.h", "softent_tokenizer.h", "softent_corpus.h"}),
    "model": ({"common", "formats", "model"}, {"softent.h", "softent_io.h", "softent_gguf.h", "softent_model.h"}),
    "train": ({"common", "formats", "model", "train"}, {"softent.h", "softent_io.h", "softent_model.h", "softent_train.h"}),
    "analysis": ({"common", "estimator", "formats", "text", "model", "analysis"},
                 {"softent.h", "softent_io.h", "softent_gguf.h", "softent_tokenizer.h", "softent_corpus.h", "softent_model.h", "softent_correlate.h",
                  "softent_analysis.h", "softent_eval.h"}),
}
# system headers of a library that only some layers link
THIRD_PARTY = {"cjson/": {"formats", "text", "model", "train", "analysis"},
               "pcre2": {"text"}, "utf8proc": {"text"}, "zlib.h": {"text"},
               "cblas": {"common", "estimator", "model", "train"}, "dnnl": {"common"}}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def includes(path):
    with open(path, encoding="utf-8") as f:
        return INCLUDE.findall(f.read())


def check_layers_exist():
    got = sorted(d for d in os.listdir(os.path.join(ROOT, "lib")) if os.path.isdir(os.path.join(ROOT, "lib", d)))
    if got != sorted(ALLOWED):
        raise Fail(f"lib/ holds {got}; the layers are {sorted(ALLOWED)} (update this test and docs/architecture.md)")
    loose = [f for f in os.listdir(os.path.join(ROOT, "lib")) if not os.path.isdir(os.path.join(ROOT, "lib", f))]
    if loose:
        raise Fail(f"files outside any layer: lib/{', lib/'.join(loose)}")


def check_includes_point_down():
    bad = []
    for layer, (layers, public) in ALLOWED.items():
        folder = os.path.join(ROOT, "lib", layer)
        for name in sorted(os.listdir(folder)):
            if not name.endswith((".c", ".h")):
                continue
            for kind, header in includes(os.path.join(folder, name)):
                where = f"lib/{layer}/{name}: #include {kind}{header}{'>' if kind == '<' else kind}"
                if kind == "<":
                    for lib, users in THIRD_PARTY.items():
                        if header.startswith(lib) and layer not in users:
                            bad.append(f"{where} (layer {layer} does not link {lib.rstrip('/')})")
                elif "/" in header:
                    if header.split("/")[0] not in layers:
                        bad.append(f"{where} (layer {layer} may use {sorted(layers)})")
                elif header.startswith("softent"):
                    if header not in public:
                        bad.append(f"{where} (layer {layer} may use {sorted(public)})")
                elif not os.path.exists(os.path.join(folder, header)):
                    bad.append(f"{where} (no such header in lib/{layer}; name another layer's with its folder)")
    if bad:
        raise Fail("includes that break the layering:\n" + "\n".join(bad))


def check_estimator_only_build():
    prog = os.path.join(BUILD, "tests", "estimator_only")
    needed = subprocess.run(["readelf", "-d", prog], capture_output=True, text=True, check=True).stdout
    for lib in ("cjson", "pcre2", "utf8proc", "libz"):
        if lib in needed:
            raise Fail(f"{prog} links {lib}: the estimator must need only OpenBLAS and libm")
    for n, d, seed, k in ((2000, 16, 3, 5), (1500, 64, 11, 40)):
        out = subprocess.run([prog, str(n), str(d), str(seed), str(k)], capture_output=True, text=True, check=True).stdout
        H, I = map(float, out.split())
        z = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
        m = oracle.measures(z, oracle.reference_points(0, 100, d), oracle_eps(d), {"y": np.arange(n) % k})
        want_H, want_I = m["H"], m["sets"]["y"]["I"]
        if abs(H - want_H) > 1e-6 or abs(I - want_I) > 1e-6:
            raise Fail(f"n={n} d={d}: estimator_only H {H}, I {I}; oracle H {want_H}, I {want_I}")


def oracle_eps(d):
    # the default (exact) temperature, as softent calibrate computes it
    out = subprocess.run([os.path.join(BUILD, "softent"), "calibrate", "--dim", str(d), "--bins", "100"],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"^eps\s+(\S+)", out, re.M).group(1))


def check_archive_links_as_the_readme_says():
    # the README's link line, for a program of the public API alone
    prog = os.path.join(BUILD, "tests", "estimator_from_archive")
    cc = subprocess.run(["cc", "-std=gnu11", "-O1", "-I" + os.path.join(ROOT, "include"), "-o", prog,
                         os.path.join(ROOT, "tests", "c", "estimator_only.c"), os.path.join(BUILD, "libsoftent.a"),
                         "-lopenblas", "-ldnnl", "-lcjson", "-lpcre2-8", "-lutf8proc", "-lz", "-lm", "-fopenmp",
                         *(["-fsanitize=address,undefined"] if "asan" in BUILD else [])],
                        capture_output=True, text=True)
    if cc.returncode != 0:
        raise Fail(f"linking against libsoftent.a as the README says failed:\n{cc.stderr[-2000:]}")
    args = ["1000", "16", "3", "5"]
    a = subprocess.run([prog, *args], capture_output=True, text=True, check=True).stdout
    b = subprocess.run([os.path.join(BUILD, "tests", "estimator_only"), *args], capture_output=True, text=True, check=True).stdout
    if a != b:
        raise Fail(f"the archive's estimator gives {a.strip()}, the objects' {b.strip()}")


def check_archive_exports_the_api_alone():
    nm = subprocess.run(["nm", "-g", "--defined-only", os.path.join(BUILD, "libsoftent.a")],
                        capture_output=True, text=True, check=True).stdout
    names = [line.split()[-1] for line in nm.splitlines() if len(line.split()) == 3]
    others = sorted(n for n in names if not n.startswith("softent_"))
    if not names or others:
        raise Fail(f"libsoftent.a exports {len(others)} symbols besides softent_*: {others[:10]}")


main(globals())
