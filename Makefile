# softent - build, test and benchmark.
#   make            build/softent, build/libsoftent.a and the test programs
#   make demo       install missing packages, build, run the main job (KJV, train, trace)
#   make digits     the small estimator example (scikit-learn's digits)
#   make check      install missing packages, run the test suite, then again
#                   under AddressSanitizer + UndefinedBehaviorSanitizer, and
#                   each fuzzer for a few seconds
#   make fuzz       each fuzzer for FUZZ_SECONDS (default 600) on its seeds
#   make test-c     the C unit tests alone (tests/c/test_*.c), no Python
#   make bench      the benchmarks in bench/
#   make install    headers, libsoftent.a/.so, softent.pc, the command and its
#                   help text under $(DESTDIR)$(PREFIX) (PREFIX=/usr/local)
#
# The library is built in layers (docs/architecture.md); each folder of lib/
# is one, and a layer's objects link with the layers below it alone.

CC      ?= cc
OPT     ?= -O3
PKG_CONFIG ?= pkg-config
MULTIARCH := $(shell $(CC) -print-multiarch)

# OpenBLAS's OpenMP build: called inside our parallel regions it runs one
# thread per call instead of fighting OpenMP for the cores.  Its pkg-config
# file is asked for first; the Debian path is the fallback.
BLAS_PC    := PKG_CONFIG_PATH=/usr/lib/$(MULTIARCH)/openblas-openmp/pkgconfig $(PKG_CONFIG)
BLAS_DIR   := $(shell $(BLAS_PC) --variable=libdir openblas 2>/dev/null || echo /usr/lib/$(MULTIARCH)/openblas-openmp)
BLAS_CFLAGS := $(shell $(BLAS_PC) --cflags openblas 2>/dev/null || echo -I/usr/include/$(MULTIARCH)/openblas-openmp)
BLAS_LIBS  := $(shell $(BLAS_PC) --libs openblas 2>/dev/null || echo -L$(BLAS_DIR) -lopenblas) -Wl,-rpath,$(BLAS_DIR)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs libcjson libpcre2-8 libutf8proc zlib 2>/dev/null || echo -lcjson -lpcre2-8 -lutf8proc -lz)
# oneDNN (Debian's libdnnl-dev, no pkg-config file): the forward pass's bf16
# products on AMX / AVX512-BF16 and the estimator's opt-in bf16 product (lib/common/matmul.c).
DNNL_LIBS  := -ldnnl

# -fno-trapping-math lets the compiler if-convert (and so vectorise) the
# softmax loops; softent never reads floating-point exception flags.
# -ffp-contract=off: the AVX-512 clones of SE_HOT (lib/common/fastmath.h)
# round as the others do, without fused multiply-adds.
# -fvisibility=hidden: only what SOFTENT_API marks leaves the library.
# -fPIC: the same objects make the shared library.
CFLAGS  += -std=gnu11 $(OPT) -g -Wall -Wextra -fopenmp -fno-trapping-math -ffp-contract=off -fvisibility=hidden -fPIC \
           -Iinclude -Ilib $(BLAS_CFLAGS) -MMD -MP
LDLIBS  += $(BLAS_LIBS) $(DNNL_LIBS) $(PKG_LIBS) -lm
LDFLAGS += -fopenmp

BUILD   ?= build

# MPI is optional: where Open MPI's mpicc is installed (--showme is Open
# MPI's; another MPI's mpicc leaves it off) the command is built
# with it (programs/mpi.c; the library stays free of MPI), else as one
# process.  MPI=0 builds without it.
MPI ?= $(if $(shell mpicc --showme:compile 2>/dev/null),1,0)
ifeq ($(MPI),1)
MPI_CFLAGS := -DSOFTENT_MPI $(shell mpicc --showme:compile)
MPI_LIBS   := $(shell mpicc --showme:link)
endif

# ---- the layers, bottom up ---------------------------------------------------
LAYERS        := common estimator formats text model train analysis
$(foreach l,$(LAYERS),$(eval $(l)_OBJ := $$(patsubst %.c,$(BUILD)/%.o,$$(wildcard lib/$(l)/*.c))))
LIB_OBJ       := $(foreach l,$(LAYERS),$($(l)_OBJ))
ESTIMATOR_ONLY_OBJ := $(common_OBJ) $(estimator_OBJ)

CLI_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard programs/*.c))
DRIVERS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/*_driver.c))
CTESTS  := $(patsubst tests/c/%.c,$(BUILD)/tests/c/%,$(wildcard tests/c/test_*.c))

VERSION := $(shell sed -n 's/^\#define SOFTENT_VERSION "\(.*\)"/\1/p' include/softent.h)
SONAME  := libsoftent.so.$(firstword $(subst ., ,$(VERSION)))

all: $(BUILD)/softent $(BUILD)/libsoftent.a $(BUILD)/libsoftent.so $(DRIVERS) $(CTESTS) $(BUILD)/tests/estimator_only \
     $(BUILD)/tests/libfull_disk.so

# One relocatable object with every symbol but softent_* made local (the
# clones SE_HOT makes ignore -fvisibility), so that the archive exports the
# softent_* API alone.
$(BUILD)/libsoftent.a: $(LIB_OBJ)
	$(LD) -r -o $(BUILD)/softent_all.o $^
	objcopy --localize-hidden --wildcard --keep-global-symbol='softent_*' $(BUILD)/softent_all.o
	rm -f $@
	$(AR) rcs $@ $(BUILD)/softent_all.o

# The shared library exports softent_* alone (packaging/softent.map).
$(BUILD)/libsoftent.so.$(VERSION): $(LIB_OBJ) packaging/softent.map
	$(CC) -shared $(LDFLAGS) -Wl,-soname,$(SONAME) -Wl,--version-script,packaging/softent.map -o $@ $(LIB_OBJ) $(LDLIBS)

$(BUILD)/libsoftent.so: $(BUILD)/libsoftent.so.$(VERSION)
	ln -sf libsoftent.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf libsoftent.so.$(VERSION) $@

# The command and the tests link the objects: they may use internals.
$(BUILD)/softent: $(CLI_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(MPI_LIBS)

# (a variable of its own: target-specific CFLAGS would reach $(BUILD)/cflags)
$(BUILD)/programs/mpi.o: OBJ_CFLAGS = $(MPI_CFLAGS)

$(BUILD)/tests/%: tests/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

# A full disk for one file at a time, preloaded by tests/test_full_disk.py
# (no sanitizer: it runs inside the command under test).
$(BUILD)/tests/libfull_disk.so: tests/c/full_disk.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -fPIC -shared -o $@ $< -ldl

# The partial build: the estimator with its common layer, OpenBLAS, oneDNN
# and libm alone (no cJSON, PCRE2, utf8proc).  tests/test_layering.py runs it.
$(BUILD)/tests/estimator_only: tests/c/estimator_only.c $(ESTIMATOR_ONLY_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(BLAS_LIBS) $(DNNL_LIBS) -lm

$(BUILD)/%.o: %.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(OBJ_CFLAGS) -c -o $@ $<

# Objects are rebuilt when the compiler or its flags change, not only when a
# source or header does.
$(BUILD)/cflags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(CFLAGS) MPI=$(MPI)' | cmp -s - $@ || echo '$(CC) $(CFLAGS) MPI=$(MPI)' > $@

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(DRIVERS:=.d) $(CTESTS:=.d) $(BUILD)/tests/estimator_only.d

deps:
	scripts/install-deps.sh main

deps-test:
	scripts/install-deps.sh test

demo: deps
	$(MAKE) all
	scripts/main-job.sh

digits:
	scripts/install-deps.sh digits
	$(MAKE) all
	scripts/digits.sh

ASAN_FLAGS := OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
              LDFLAGS="-fopenmp -fsanitize=address,undefined"

# The C unit tests, on the optimised build and the sanitizer build.
test-c:
	$(MAKE) all
	$(MAKE) BUILD=build-asan $(ASAN_FLAGS) all
	tests/run.sh --c-only

# The suite runs twice: the optimised build, then a sanitizer build; the
# fuzzers run briefly on generated seeds (tests/fuzz/run.sh).
check: deps-test
	$(MAKE) all
	$(MAKE) BUILD=build-asan $(ASAN_FLAGS) all
	$(MAKE) fuzzers
	tests/run.sh

# ---- fuzzing (tests/fuzz/: libFuzzer harnesses, one per parser) ------------------
# The library again, by clang with ASan + UBSan and libFuzzer's coverage;
# each harness links it.  make fuzz runs each FUZZ_SECONDS on its seeds.
FUZZ_BUILD   := build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_FLAGS   := CC=clang BUILD=$(FUZZ_BUILD) \
                OPT="-O1 -fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer -fno-sanitize-recover=undefined -Wno-pass-failed" \
                LDFLAGS="-fopenmp -fsanitize=address,undefined"
FUZZERS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

fuzzers:
	$(MAKE) $(FUZZ_FLAGS) fuzz-harnesses

fuzz-harnesses: $(FUZZERS)

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

fuzz: all fuzzers
	tests/fuzz/run.sh $(FUZZ_SECONDS)

bench: all
	bench/run.sh

# ---- install -------------------------------------------------------------------
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
BINDIR  ?= $(PREFIX)/bin
DOCDIR  ?= $(PREFIX)/share/doc/softent
INSTALL ?= install

install: all
	$(MAKE) --no-print-directory install-files

# What install copies, from an existing $(BUILD) (tests/test_install.py
# stages it without rebuilding).
install-files:
	$(INSTALL) -d $(DESTDIR)$(INCDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(BINDIR) $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 644 include/softent*.h $(DESTDIR)$(INCDIR)
	$(INSTALL) -m 644 $(BUILD)/libsoftent.a $(DESTDIR)$(LIBDIR)
	$(INSTALL) -m 755 $(BUILD)/libsoftent.so.$(VERSION) $(DESTDIR)$(LIBDIR)
	ln -sf libsoftent.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf libsoftent.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsoftent.so
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|; s|@VERSION@|$(VERSION)|' \
	    -e 's|@BLAS_LIBS@|$(BLAS_LIBS)|' packaging/softent.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/softent.pc
	$(INSTALL) -m 755 $(BUILD)/softent $(DESTDIR)$(BINDIR)
	scripts/help-text.sh $(BUILD)/softent > $(DESTDIR)$(DOCDIR)/softent-help.txt
	$(INSTALL) -m 644 README.md $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 644 docs/*.md $(DESTDIR)$(DOCDIR)

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all deps deps-test demo digits check test-c bench install install-files clean fuzz fuzzers fuzz-harnesses FORCE
