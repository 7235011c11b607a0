# softent - build, test and benchmark.
#   make            build/softent and build/libsoftent.a
#   make demo       install missing packages, build, run the main job (KJV, train, trace)
#   make digits     the small estimator example (scikit-learn's digits)
#   make check      install missing packages, run the test suite, then again
#                   under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      the benchmarks in bench/

CC      ?= cc
OPT     ?= -O3
# OpenBLAS's OpenMP build: called inside our parallel regions it runs one
# thread per call instead of fighting OpenMP for the cores.
MULTIARCH := $(shell $(CC) -print-multiarch)
BLAS_INC := /usr/include/$(MULTIARCH)/openblas-openmp
BLAS_LIB := /usr/lib/$(MULTIARCH)/openblas-openmp
# -fno-trapping-math lets the compiler if-convert (and so vectorise) the
# softmax loops; softent never reads floating-point exception flags.
CFLAGS  += -std=gnu11 $(OPT) -g -Wall -Wextra -fopenmp -fno-trapping-math -Iinclude -Ilib -I$(BLAS_INC)
LDLIBS  += -L$(BLAS_LIB) -Wl,-rpath,$(BLAS_LIB) -lopenblas -lcjson -lpcre2-8 -lutf8proc -lm
LDFLAGS += -fopenmp

BUILD   ?= build
LIB_SRC := $(wildcard lib/*.c)
CLI_SRC := $(wildcard programs/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
DRIVERS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/*_driver.c))

all: $(BUILD)/softent $(DRIVERS)

$(BUILD)/libsoftent.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/softent: $(CLI_OBJ) $(BUILD)/libsoftent.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(BUILD)/libsoftent.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c $(wildcard include/*.h lib/*.h programs/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

deps:
	scripts/install-deps.sh

demo: deps
	$(MAKE) all
	scripts/main-job.sh

digits: deps
	$(MAKE) all
	scripts/digits.sh

# The suite runs twice: the optimised build, then a sanitizer build.
check: deps
	$(MAKE) all
	$(MAKE) BUILD=build-asan OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	        LDFLAGS="-fopenmp -fsanitize=address,undefined" all
	tests/run.sh

bench: all
	bench/run.sh

clean:
	rm -rf build build-asan

.PHONY: all deps demo digits check bench clean
