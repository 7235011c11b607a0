"""softent as a system library (make install): the shared library has its
soname and exports the softent_* API alone; the staged install holds the
headers, both libraries, softent.pc, the command and its help text; and
programs of the public API, built with nothing but `pkg-config softent`,
link dynamically and statically and give what softent itself gives: the
estimator (whose numbers tests/test_layering.py checks against NumPy) and
the tokenizer (whose ids tests/test_tokenizer.py checks against Hugging
Face's), the latter being the link that once failed for want of utf8proc."""
import os
import subprocess

from common import BUILD, Fail, SOFTENT, main, tmp

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
STAGE = tmp("stage")
PREFIX = "/usr"
LLAMA3 = os.path.join(ROOT, "tests", "npm", "node_modules", "@lenml", "tokenizer-llama3", "models", "tokenizer.json")
SANITIZE = ["-fsanitize=address,undefined"] if "asan" in BUILD else []


def sh(*args, env=None, **kw):
    p = subprocess.run(list(args), capture_output=True, text=True, env=env, **kw)
    if p.returncode != 0:
        raise Fail(f"{' '.join(args)} exited {p.returncode}:\n{p.stderr[-2000:]}")
    return p.stdout


def staged():
    if not os.path.isdir(STAGE):
        sh("make", "-s", "-C", ROOT, "install-files", f"BUILD={os.path.abspath(BUILD)}", f"DESTDIR={STAGE}", f"PREFIX={PREFIX}")
    return STAGE + PREFIX


def pkg_config(*args):
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(staged(), "lib", "pkgconfig"), PKG_CONFIG_SYSROOT_DIR=STAGE)
    return sh("pkg-config", *args, "softent", env=env).split()


def build(source, name, static):
    out = tmp(name)
    libs = pkg_config("--libs", *(["--static"] if static else []))
    if static:  # the archive, not the shared library beside it
        libs = ["-Wl,-Bstatic" if a == "-lsoftent" else a for a in libs]
        libs.insert(libs.index("-Wl,-Bstatic") + 1, "-lsoftent")
        libs.insert(libs.index("-Wl,-Bstatic") + 2, "-Wl,-Bdynamic")
    sh("cc", "-std=gnu11", "-O1", *pkg_config("--cflags"), "-o", out, os.path.join(ROOT, "tests", "c", source), *libs,
       "-fopenmp", *SANITIZE)
    return out


def run_built(prog, *args):
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(staged(), "lib"))
    return sh(prog, *args, env=env)


def check_shared_library_exports_the_api_alone():
    so = os.path.join(BUILD, "libsoftent.so")
    names = [l.split()[-1] for l in sh("nm", "-D", "--defined-only", so).splitlines() if len(l.split()) == 3]
    others = [n for n in names if not n.startswith("softent_")]
    if not names or others:
        raise Fail(f"{so} exports {len(others)} symbols besides softent_*: {others[:10]}")
    soname = [l for l in sh("readelf", "-d", so).splitlines() if "SONAME" in l]
    if not soname or "[libsoftent.so.0]" not in soname[0]:
        raise Fail(f"{so}: soname {soname}")


def check_install_layout():
    root = staged()
    want = ["include/softent.h", "include/softent_io.h", "include/softent_tokenizer.h", "include/softent_corpus.h",
            "include/softent_model.h", "include/softent_train.h", "include/softent_analysis.h", "lib/libsoftent.a",
            "lib/libsoftent.so", "lib/libsoftent.so.0", "lib/pkgconfig/softent.pc", "bin/softent",
            "share/doc/softent/softent-help.txt", "share/doc/softent/architecture.md"]
    missing = [w for w in want if not os.path.exists(os.path.join(root, w))]
    if missing:
        raise Fail(f"not installed: {missing}")
    help_text = open(os.path.join(root, "share/doc/softent/softent-help.txt")).read()
    for cmd in ("estimate", "calibrate", "merge", "report", "analyze", "trace", "train", "tokenize", "tokenizer train"):
        if f"usage: softent {cmd}" not in help_text:
            raise Fail(f"the installed help text lacks 'softent {cmd} --help'")


def check_estimator_links_both_ways():
    want = sh(os.path.join(BUILD, "tests", "estimator_only"), "1500", "24", "5", "7")
    for static in (False, True):
        prog = build("estimator_only.c", f"estimator_{'static' if static else 'shared'}", static)
        got = run_built(prog, "1500", "24", "5", "7")
        if got != want:
            raise Fail(f"{'static' if static else 'shared'} estimator gives {got.strip()}, softent's objects {want.strip()}")
    deps = sh("readelf", "-d", tmp("estimator_shared"))
    if "libsoftent.so.0" not in deps:
        raise Fail("the shared build does not load libsoftent.so.0")


def check_tokenizer_links_both_ways():
    texts = ["Hello, world!", "  naïve café — 東京 🙂", "def f(x):\n    return x ** 2"]
    want = sh(SOFTENT, "tokenize", LLAMA3, input="\n".join(t.replace("\n", " ") for t in texts) + "\n")
    for static in (False, True):
        prog = build("tokenizer_only.c", f"tokenizer_{'static' if static else 'shared'}", static)
        got = run_built(prog, LLAMA3, *[t.replace("\n", " ") for t in texts])
        if got != want:
            raise Fail(f"{'static' if static else 'shared'} tokenizer ids:\n{got}softent tokenize:\n{want}")


main(globals())
