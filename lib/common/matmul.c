/*
 * matmul.c - the products of matmul.h: float32 through cblas_sgemm,
 * bf16 through oneDNN's matmul primitive.
 *
 * oneDNN makes a primitive per problem shape (JIT-compiled brgemm kernels
 * for AMX or AVX512-BF16), which costs far more than one product of a
 * short document, so each model, and each thread of an accumulator, keeps
 * the primitives of the shapes it has run: a layer has at most a handful
 * of shapes, n changing only with the document's length, and an
 * accumulator's tiles two (a whole tile and the stream's last).
 *
 * On a CPU without AVX-512 oneDNN 2.6 has no bf16 matmul at all; bf16
 * products are then emulated, exactly: the bf16 values widened to float32
 * (their products are exact in float32) and multiplied by sgemm, which
 * accumulates in float32 as oneDNN does, a little slower than float32
 * products (the weights are widened again for every product).
 */
#include <cblas.h>
#include <dnnl.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fastmath.h"
#include "matmul.h"

enum { CACHE_SLOTS = 48 };

/* One shape's primitive and the memory objects it runs on, their data
 * handles set per call. */
typedef struct {
    int64_t n, in, out, ld;
    int conv1d, bias, accumulate;
    uint64_t used;           /* when last run: the least recent is replaced */
    dnnl_primitive_t prim;   /* NULL: an empty slot */
    dnnl_memory_t src, wei, b, dst;
} cached;

struct se_matmul {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    cached slot[CACHE_SLOTS];
    uint64_t clock;
    int status;              /* the first failure since se_matmul_status */
    int emulate;             /* oneDNN has no bf16 matmul here: widen and sgemm */
    float *wide;             /* [wide_len] scratch of the emulation: x, then W */
    int64_t wide_len;
};

int se_bf16_native(void)
{
    const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return ((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) == (unsigned)dnnl_cpu_isa_avx512_core_bf16;
}

int se_matmul_new(se_matmul **out)
{
    se_matmul *mm = calloc(1, sizeof *mm);
    *out = NULL;
    if (!mm) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    if (dnnl_engine_create(&mm->engine, dnnl_cpu, 0) || dnnl_stream_create(&mm->stream, mm->engine, dnnl_stream_default_flags)) {
        se_matmul_free(mm);
        return se_fail(SOFTENT_E_NOMEM, "oneDNN could not make a CPU engine and stream for the bf16 products");
    }
    *out = mm;
    return SOFTENT_OK;
}

static void slot_free(cached *c)
{
    if (c->prim) dnnl_primitive_destroy(c->prim);
    dnnl_memory_destroy(c->src);  /* (NULL is accepted) */
    dnnl_memory_destroy(c->wei);
    dnnl_memory_destroy(c->b);
    dnnl_memory_destroy(c->dst);
    memset(c, 0, sizeof *c);
}

void se_matmul_free(se_matmul *mm)
{
    if (!mm) return;
    for (int i = 0; i < CACHE_SLOTS; i++) slot_free(&mm->slot[i]);
    if (mm->stream) dnnl_stream_destroy(mm->stream);
    if (mm->engine) dnnl_engine_destroy(mm->engine);
    free(mm->wide);
    free(mm);
}

int se_matmul_failed(const se_matmul *mm) { return mm->status != 0; }

int se_matmul_status(se_matmul *mm)
{
    const int rc = mm ? mm->status : SOFTENT_OK;
    if (mm) mm->status = SOFTENT_OK;
    return rc;
}

/* The primitive of y [n, out] (+)= x [n, in] . W, made into slot c. */
static dnnl_status_t make(se_matmul *mm, cached *c)
{
    const dnnl_dims_t src_dims = {c->n, c->in}, src_strides = {c->in, 1};
    const dnnl_dims_t wei_dims = {c->in, c->out};
    const dnnl_dims_t wei_strides_linear = {1, c->ld}, wei_strides_conv1d = {c->ld, 1};
    const dnnl_dims_t dst_dims = {c->n, c->out}, dst_strides = {c->out, 1};
    const dnnl_dims_t b_dims = {1, c->out}, b_strides = {c->out, 1};
    dnnl_memory_desc_t src, wei, b, dst;
    dnnl_status_t st;
    if ((st = dnnl_memory_desc_init_by_strides(&src, 2, src_dims, dnnl_bf16, src_strides)) ||
        (st = dnnl_memory_desc_init_by_strides(&wei, 2, wei_dims, dnnl_bf16, c->conv1d ? wei_strides_conv1d : wei_strides_linear)) ||
        (st = dnnl_memory_desc_init_by_strides(&b, 2, b_dims, dnnl_f32, b_strides)) ||
        (st = dnnl_memory_desc_init_by_strides(&dst, 2, dst_dims, dnnl_f32, dst_strides)))
        return st;
    dnnl_matmul_desc_t desc;
    if ((st = dnnl_matmul_desc_init(&desc, &src, &wei, c->bias ? &b : NULL, &dst))) return st;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    if (!(st = dnnl_primitive_attr_create(&attr)) && c->accumulate && !(st = dnnl_post_ops_create(&ops)) &&
        !(st = dnnl_post_ops_append_sum(ops, 1.0f)))
        st = dnnl_primitive_attr_set_post_ops(attr, ops);
    if (!st) st = dnnl_primitive_desc_create(&pd, &desc, attr, mm->engine, NULL);
    if (!st) st = dnnl_primitive_create(&c->prim, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!st) st = dnnl_memory_create(&c->src, &src, mm->engine, DNNL_MEMORY_NONE);
    if (!st) st = dnnl_memory_create(&c->wei, &wei, mm->engine, DNNL_MEMORY_NONE);
    if (!st && c->bias) st = dnnl_memory_create(&c->b, &b, mm->engine, DNNL_MEMORY_NONE);
    if (!st) st = dnnl_memory_create(&c->dst, &dst, mm->engine, DNNL_MEMORY_NONE);
    return st;
}

/* The cached primitive of this shape, made (into the least recently used
 * slot) if there is none; NULL on failure, recorded. */
static cached *primitive(se_matmul *mm, se_linear f, int64_t n, int accumulate)
{
    cached *lru = &mm->slot[0];
    mm->clock++;
    for (int i = 0; i < CACHE_SLOTS; i++) {
        cached *c = &mm->slot[i];
        if (c->prim && c->n == n && c->in == f.in && c->out == f.out && c->ld == f.ld && c->conv1d == f.conv1d &&
            c->bias == !!f.b && c->accumulate == accumulate) {
            c->used = mm->clock;
            return c;
        }
        if (c->used < lru->used) lru = c;
    }
    slot_free(lru);
    *lru = (cached){.n = n, .in = f.in, .out = f.out, .ld = f.ld, .conv1d = f.conv1d, .bias = !!f.b,
                    .accumulate = accumulate, .used = mm->clock};
    const dnnl_status_t st = make(mm, lru);
    if (st == dnnl_success) return lru;
    slot_free(lru);
    if (st == dnnl_unimplemented) {  /* no bf16 matmul on this CPU */
        mm->emulate = 1;
        return NULL;
    }
    if (!mm->status)
        mm->status = se_fail(st == dnnl_out_of_memory ? SOFTENT_E_NOMEM : SOFTENT_E_INVALID,
                             "oneDNN cannot make a bf16 product of %lld x %lld by %lld x %lld (dnnl status %d); "
                             "run the model in float32 (--compute f32)",
                             (long long)n, (long long)f.in, (long long)f.in, (long long)f.out, (int)st);
    return NULL;
}

static void widen(float *out, const uint16_t *h, int64_t rows, int64_t cols, int64_t ld)
{
    #pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++) {
            const uint32_t u = (uint32_t)h[r * ld + j] << 16;
            memcpy(&out[r * cols + j], &u, sizeof u);
        }
}

static void add_bias(float *y, const float *b, int64_t n, int64_t out)
{
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < out; j++) y[i * out + j] += b[j];
}

/* The bf16 product without oneDNN: bf16 x and W widened, sgemm. */
static void emulate_bf16(se_matmul *mm, float *y, const uint16_t *x, se_linear f, int64_t n, float beta)
{
    const int64_t need = n * f.in + f.in * f.out;
    if (need > mm->wide_len) {
        float *grown = realloc(mm->wide, (size_t)need * sizeof *grown);
        if (!grown) {
            if (!mm->status) mm->status = se_fail(SOFTENT_E_NOMEM, "out of memory for a bf16 product of %lld x %lld", (long long)n, (long long)f.in);
            return;
        }
        mm->wide = grown;
        mm->wide_len = need;
    }
    float *xf = mm->wide, *wf = mm->wide + n * f.in;
    widen(xf, x, n, f.in, f.in);
    if (f.conv1d) widen(wf, f.w16, f.in, f.out, f.ld);
    else widen(wf, f.w16, f.out, f.in, f.ld);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, f.conv1d ? CblasNoTrans : CblasTrans, (int)n, (int)f.out, (int)f.in,
                1.0f, xf, (int)f.in, wf, f.conv1d ? (int)f.out : (int)f.in, beta, y, (int)f.out);
    if (f.b) add_bias(y, f.b, n, f.out);
}

static void run_bf16(se_matmul *mm, float *y, const uint16_t *x, se_linear f, int64_t n, float beta)
{
    cached *c = mm->emulate ? NULL : primitive(mm, f, n, beta != 0);
    if (!c && mm->emulate) emulate_bf16(mm, y, x, f, n, beta);
    if (!c) return;
    dnnl_memory_set_data_handle(c->src, (void *)x);
    dnnl_memory_set_data_handle(c->wei, (void *)f.w16);
    dnnl_memory_set_data_handle(c->dst, y);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, c->src}, {DNNL_ARG_WEIGHTS, c->wei}, {DNNL_ARG_DST, c->dst}};
    int nargs = 3;
    if (f.b) {
        dnnl_memory_set_data_handle(c->b, (void *)f.b);
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, c->b};
    }
    dnnl_status_t st = dnnl_primitive_execute(c->prim, mm->stream, nargs, args);
    if (!st) st = dnnl_stream_wait(mm->stream);
    if (st && !mm->status)
        mm->status = se_fail(st == dnnl_out_of_memory ? SOFTENT_E_NOMEM : SOFTENT_E_INVALID,
                             "oneDNN failed to run a bf16 product of %lld x %lld by %lld x %lld (dnnl status %d)",
                             (long long)n, (long long)f.in, (long long)f.in, (long long)f.out, (int)st);
}

void se_matmul_run(se_matmul *mm, float *y, se_operand x, se_linear f, int64_t n, float beta)
{
    if (f.w16) {
        run_bf16(mm, y, x.bf16, f, n, beta);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, f.conv1d ? CblasNoTrans : CblasTrans, (int)n, (int)f.out, (int)f.in,
                1.0f, x.f32, (int)f.in, f.w, (int)f.ld, beta, y, (int)f.out);
    if (f.b) add_bias(y, f.b, n, f.out);
}

SE_HOT void se_to_bf16(uint16_t *out, const float *x, int64_t len)
{
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < len; i++) out[i] = se_bf16_of(x[i]);
}

SE_HOT void se_to_bf16_serial(uint16_t *out, const float *x, int64_t len)
{
    #pragma omp simd
    for (int64_t i = 0; i < len; i++) out[i] = se_bf16_of(x[i]);
}
