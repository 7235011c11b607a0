/*
 * rng.c - NumPy-compatible random numbers: SeedSequence -> PCG64 -> ziggurat.
 *
 * Every step below mirrors what numpy.random.default_rng(seed) does, because
 * the point of this module is to produce the very same bits as NumPy (see
 * tests/test_rng.py). Where NumPy's choices look arbitrary, that is why.
 */
#include "rng.h"

#include <math.h>
#include <pthread.h>

/* ------------------------------------------------------------------------ */
/* SeedSequence (numpy/random/bit_generator.pyx), specialised to one integer
 * of entropy, the default pool of four 32-bit words and no spawn key. */

#define SS_POOL_SIZE 4
#define SS_INIT_A 0x43b0d7e5u
#define SS_MULT_A 0x931e8875u
#define SS_INIT_B 0x8b51f9ddu
#define SS_MULT_B 0x58f38dedu
#define SS_MIX_MULT_L 0xca01f9ddu
#define SS_MIX_MULT_R 0x4973f715u
#define SS_XSHIFT 16

/* The multiplier advances on every call, so later words hash differently. */
static uint32_t ss_hashmix(uint32_t value, uint32_t *hash_const) {
    value ^= *hash_const;
    *hash_const *= SS_MULT_A;
    value *= *hash_const;
    value ^= value >> SS_XSHIFT;
    return value;
}

static uint32_t ss_mix(uint32_t x, uint32_t y) {
    uint32_t result = SS_MIX_MULT_L * x - SS_MIX_MULT_R * y;
    result ^= result >> SS_XSHIFT;
    return result;
}

/* SeedSequence(seed).generate_state(4, np.uint64) */
static void ss_generate_state(uint64_t seed, uint64_t out[4]) {
    /* NumPy splits a Python int into little-endian 32-bit words with no
     * leading zero words, except that 0 becomes [0]. The word count matters:
     * 5 and 5 + 0 * 2^32 must not hash like [5, 0]. */
    uint32_t entropy[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
    int n_entropy = (seed >> 32) ? 2 : 1;

    uint32_t pool[SS_POOL_SIZE];
    uint32_t hash_const = SS_INIT_A;
    for (int i = 0; i < SS_POOL_SIZE; i++)
        pool[i] = ss_hashmix(i < n_entropy ? entropy[i] : 0, &hash_const);
    /* Mix every word into every other so late words affect early ones. With
     * at most two entropy words the pool (size 4) absorbs them all above, so
     * NumPy's "remaining entropy" loop never runs here. */
    for (int src = 0; src < SS_POOL_SIZE; src++)
        for (int dst = 0; dst < SS_POOL_SIZE; dst++)
            if (src != dst)
                pool[dst] = ss_mix(pool[dst], ss_hashmix(pool[src], &hash_const));

    /* 4 uint64 words are drawn as 8 uint32 words, paired little-endian. */
    uint32_t words[8];
    uint32_t hash_b = SS_INIT_B;
    for (int i = 0; i < 8; i++) {
        uint32_t v = pool[i % SS_POOL_SIZE];
        v ^= hash_b;
        hash_b *= SS_MULT_B;
        v *= hash_b;
        v ^= v >> SS_XSHIFT;
        words[i] = v;
    }
    for (int i = 0; i < 4; i++)
        out[i] = (uint64_t)words[2 * i] | ((uint64_t)words[2 * i + 1] << 32);
}

/* ------------------------------------------------------------------------ */
/* PCG64 (XSL-RR 128/64), numpy/random/src/pcg64/pcg64.h */

__extension__ typedef unsigned __int128 u128;

#define PCG_MULT_HI 0x2360ED051FC65DA4ULL
#define PCG_MULT_LO 0x4385DF649FCCF645ULL

static void pcg_step(se_pcg64 *rng) {
    const u128 mult = ((u128)PCG_MULT_HI << 64) | PCG_MULT_LO;
    rng->state = rng->state * mult + rng->inc;
}

void se_pcg64_seed_numpy(se_pcg64 *rng, uint64_t seed) {
    uint64_t s[4];
    ss_generate_state(seed, s);
    /* pcg64_set_seed: the first word of each pair is the HIGH half. */
    u128 initstate = ((u128)s[0] << 64) | s[1];
    u128 initseq = ((u128)s[2] << 64) | s[3];
    /* pcg_setseq_128_srandom_r: the increment must be odd, and the two steps
     * keep the first output from being a simple function of the seed. */
    rng->state = 0;
    rng->inc = (initseq << 1) | 1u;
    pcg_step(rng);
    rng->state += initstate;
    pcg_step(rng);
}

uint64_t se_pcg64_next64(se_pcg64 *rng) {
    pcg_step(rng); /* NumPy steps first, then outputs from the new state */
    uint64_t x = (uint64_t)(rng->state >> 64) ^ (uint64_t)rng->state;
    unsigned rot = (unsigned)(rng->state >> 122);
    return (x >> rot) | (x << ((64u - rot) & 63u));
}

double se_pcg64_next_double(se_pcg64 *rng) {
    return (double)(se_pcg64_next64(rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* ------------------------------------------------------------------------ */
/* Ziggurat tables (Marsaglia & Tsang 2000, 256 layers, 52-bit mantissas).
 *
 * NumPy ships these as literal tables. We rebuild them instead, and to get
 * NumPy's bits we must repeat the computation that produced NumPy's numbers,
 * not a more accurate one: NumPy's tables come from a double-precision
 * script that walks the layer edges x[k] down from r with
 *     x[k] = sqrt(-2 log(pdf(x[k+1]) + v / x[k+1])),  pdf(x) = exp(-0.5 x x)
 * rounding every operation to double. That recursion amplifies rounding
 * errors toward the bottom layers, so computing the edges exactly (in high
 * precision throughout) gives tables that differ from NumPy's in almost
 * every entry, by up to ~1000 ulps near k = 1. The script's constants are r
 * and v below (v is the area of each layer, as a double). */

#define ZIG_R 3.6541528853610087963519472518
#define ZIG_V 0.0049286732339746519
#define ZIG_MANTISSA 4503599627370496.0 /* 2^52: rabs below has 52 bits */

/* The script's exp/log were correctly rounded at every point it evaluated
 * them but one (see ZIG_QUIRK_LAYER), and some of those points lie within
 * 0.0015 ulp of a rounding tie. Evaluating in long double and rounding once
 * makes us correctly rounded there without trusting libm's double exp/log to
 * be that close (glibc's double exp only promises < 1 ulp). */
static double exp_rounded(double a) { return (double)expl((long double)a); }
static double log_rounded(double a) { return (double)logl((long double)a); }

/* The one place where NumPy's tables are not reproducible from first
 * principles: the libm that generated them rounded pdf(x[38]) UP, although
 * the exact value lies 0.498 ulp above the lower neighbour (a 0.502-ulp
 * error, within the usual libm accuracy bound). Because x[37..1] are derived
 * from it, leaving this out makes wi[1..37] (up to 76 ulps), fi[1..38] (up
 * to 4 ulps) and 17 of ki[2..38] differ from NumPy's, and ~15% of all normal
 * draws (those landing in layers 1..37) come out different in the last bits.
 * Rounding this single value up, and nothing else, reproduces all 768
 * entries exactly (checked against NumPy 1.24's compiled tables). */
#define ZIG_QUIRK_LAYER 38

static uint64_t ki_double[256];
static double wi_double[256];
static double fi_double[256];

static double zig_pdf(int layer, double x) {
    double f = exp_rounded(-0.5 * x * x);
    if (layer == ZIG_QUIRK_LAYER)
        f = nextafter(f, INFINITY);
    return f;
}

static void zig_build_tables(void) {
    double x[256];
    x[255] = ZIG_R;
    fi_double[255] = zig_pdf(255, ZIG_R);
    for (int k = 254; k >= 1; k--) {
        x[k] = sqrt(-2.0 * log_rounded(fi_double[k + 1] + ZIG_V / x[k + 1]));
        fi_double[k] = zig_pdf(k, x[k]);
    }
    x[0] = 0.0;
    fi_double[0] = 1.0; /* pdf(0) */

    /* Layer 0 is the base strip plus the tail beyond r: its "width" is the
     * one a rectangle of area v at height pdf(r) would have. */
    wi_double[0] = ZIG_V / fi_double[255] / ZIG_MANTISSA;
    ki_double[0] = (uint64_t)rint(ZIG_R * fi_double[255] / ZIG_V * ZIG_MANTISSA);
    for (int k = 1; k < 256; k++) {
        wi_double[k] = x[k] / ZIG_MANTISSA;
        /* x[k-1]/x[k] * 2^52 can land exactly on .5; rint (in the default
         * rounding mode) breaks ties to even like the script's np.round. */
        ki_double[k] = (uint64_t)rint(x[k - 1] / x[k] * ZIG_MANTISSA);
    }
}

static pthread_once_t zig_once = PTHREAD_ONCE_INIT;

/* ------------------------------------------------------------------------ */
/* random_standard_normal, numpy/random/src/distributions/distributions.c */

double se_standard_normal(se_pcg64 *rng) {
    pthread_once(&zig_once, zig_build_tables);
    for (;;) {
        /* One 64-bit draw: 8 bits of layer, 1 sign bit, 52 bits of position
         * (the top 3 bits are unused). */
        uint64_t r = se_pcg64_next64(rng);
        int idx = (int)(r & 0xff);
        r >>= 8;
        int negative = (int)(r & 1);
        uint64_t rabs = (r >> 1) & 0x000fffffffffffffULL;
        double x = (double)rabs * wi_double[idx];
        if (negative)
            x = -x;
        if (rabs < ki_double[idx])
            return x; /* inside the layer's rectangle: ~99.3% of draws */
        if (idx == 0) {
            /* Tail beyond r (Marsaglia's method). log1p(-u) rather than
             * log(u) because u can be 0; NumPy uses the same form. */
            for (;;) {
                double xx = -(1.0 / ZIG_R) * log1p(-se_pcg64_next_double(rng));
                double yy = -log1p(-se_pcg64_next_double(rng));
                if (yy + yy > xx * xx)
                    return ((rabs >> 8) & 1) ? -(ZIG_R + xx) : ZIG_R + xx;
            }
        }
        /* Wedge between the rectangle and the curve. NumPy rounds the
         * product before adding; `volatile` keeps compilers allowed to
         * contract (e.g. -std=gnu11 -march=native) from fusing it into an
         * FMA, which would change a few accept/reject decisions. This path
         * runs for under 1% of draws, so the extra store costs nothing. */
        volatile double height = (fi_double[idx - 1] - fi_double[idx]) * se_pcg64_next_double(rng);
        if (height + fi_double[idx] < exp(-0.5 * x * x))
            return x;
    }
}

uint64_t se_pcg64_below(se_pcg64 *rng, uint64_t bound)
{
    __extension__ typedef unsigned __int128 u128;
    u128 x = (u128)se_pcg64_next64(rng) * bound;
    if ((uint64_t)x < bound) {
        const uint64_t floor = -bound % bound;
        while ((uint64_t)x < floor) x = (u128)se_pcg64_next64(rng) * bound;
    }
    return (uint64_t)(x >> 64);
}

void se_pcg64_shuffle(se_pcg64 *rng, int64_t *perm, int64_t n)
{
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        const int64_t j = (int64_t)se_pcg64_below(rng, (uint64_t)i + 1);
        const int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

