# softent - build, test and benchmark.
#   make            build/softent, build/libsoftent.a and the test programs
#   make demo       install missing packages, build, run the main job (KJV, train, trace)
#   make digits     the small estimator example (scikit-learn's digits)
#   make check      install missing packages, run the test suite, then again
#                   under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test-c     the C unit tests alone (tests/c/test_*.c), no Python
#   make bench      the benchmarks in bench/
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
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs libcjson libpcre2-8 libutf8proc 2>/dev/null || echo -lcjson -lpcre2-8 -lutf8proc)

# -fno-trapping-math lets the compiler if-convert (and so vectorise) the
# softmax loops; softent never reads floating-point exception flags.
# -fvisibility=hidden: only what SOFTENT_API marks leaves the library.
CFLAGS  += -std=gnu11 $(OPT) -g -Wall -Wextra -fopenmp -fno-trapping-math -fvisibility=hidden \
           -Iinclude -Ilib $(BLAS_CFLAGS) -MMD -MP
LDLIBS  += $(BLAS_LIBS) $(PKG_LIBS) -lm
LDFLAGS += -fopenmp

BUILD   ?= build

# ---- the layers, bottom up ---------------------------------------------------
LAYERS        := common estimator formats text model train analysis
$(foreach l,$(LAYERS),$(eval $(l)_OBJ := $$(patsubst %.c,$(BUILD)/%.o,$$(wildcard lib/$(l)/*.c))))
LIB_OBJ       := $(foreach l,$(LAYERS),$($(l)_OBJ))
ESTIMATOR_ONLY_OBJ := $(common_OBJ) $(estimator_OBJ)

CLI_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard programs/*.c))
DRIVERS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/*_driver.c))
CTESTS  := $(patsubst tests/c/%.c,$(BUILD)/tests/c/%,$(wildcard tests/c/test_*.c))

all: $(BUILD)/softent $(BUILD)/libsoftent.a $(DRIVERS) $(CTESTS) $(BUILD)/tests/estimator_only

# One relocatable object with every symbol but softent_* made local (the
# clones SE_HOT makes ignore -fvisibility), so that the archive exports the
# softent_* API alone.
$(BUILD)/libsoftent.a: $(LIB_OBJ)
	$(LD) -r -o $(BUILD)/softent_all.o $^
	objcopy --localize-hidden --wildcard --keep-global-symbol='softent_*' $(BUILD)/softent_all.o
	rm -f $@
	$(AR) rcs $@ $(BUILD)/softent_all.o

# The command and the tests link the objects: they may use internals.
$(BUILD)/softent: $(CLI_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

# The partial build: the estimator with its common layer, OpenBLAS and libm
# alone (no cJSON, PCRE2, utf8proc).  tests/test_layering.py runs it.
$(BUILD)/tests/estimator_only: tests/c/estimator_only.c $(ESTIMATOR_ONLY_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(BLAS_LIBS) -lm

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(DRIVERS:=.d) $(CTESTS:=.d) $(BUILD)/tests/estimator_only.d

deps:
	scripts/install-deps.sh

demo: deps
	$(MAKE) all
	scripts/main-job.sh

digits: deps
	$(MAKE) all
	scripts/digits.sh

ASAN_FLAGS := OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
              LDFLAGS="-fopenmp -fsanitize=address,undefined"

# The C unit tests, on the optimised build and the sanitizer build.
test-c:
	$(MAKE) all
	$(MAKE) BUILD=build-asan $(ASAN_FLAGS) all
	tests/run.sh --c-only

# The suite runs twice: the optimised build, then a sanitizer build.
check: deps
	$(MAKE) all
	$(MAKE) BUILD=build-asan $(ASAN_FLAGS) all
	tests/run.sh

bench: all
	bench/run.sh

clean:
	rm -rf build build-asan

.PHONY: all deps demo digits check test-c bench clean
