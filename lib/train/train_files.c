/* train_files.c - the trainer's files: Hugging Face checkpoints and the state a run resumes from (see softent_train.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fs.h"
#include "formats/safetensors.h"
#include "trainer.h"

/* Every file format here stores numbers little-endian, as the host does. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "softent's training files assume a little-endian host"
#endif

/* ---- Hugging Face checkpoint -------------------------------------------- */

static int write_config(const softent_gpt2_trainer *t, const char *path)
{
    const softent_train_params *p = &t->p;
    cJSON *c = cJSON_CreateObject();
    if (!c) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    const char *arch = "GPT2LMHeadModel";
    cJSON_AddItemToObject(c, "architectures", cJSON_CreateStringArray(&arch, 1));
    cJSON_AddStringToObject(c, "model_type", "gpt2");
    cJSON_AddNumberToObject(c, "vocab_size", p->vocab_size);
    cJSON_AddNumberToObject(c, "n_positions", p->context);
    cJSON_AddNumberToObject(c, "n_ctx", p->context);
    cJSON_AddNumberToObject(c, "n_embd", p->d_model);
    cJSON_AddNumberToObject(c, "n_layer", p->n_layer);
    cJSON_AddNumberToObject(c, "n_head", p->n_head);
    cJSON_AddNullToObject(c, "n_inner");
    cJSON_AddStringToObject(c, "activation_function", "gelu_new");
    cJSON_AddNumberToObject(c, "layer_norm_epsilon", 1e-5);
    cJSON_AddNumberToObject(c, "initializer_range", 0.02);
    /* trained without dropout */
    cJSON_AddNumberToObject(c, "resid_pdrop", 0.0);
    cJSON_AddNumberToObject(c, "embd_pdrop", 0.0);
    cJSON_AddNumberToObject(c, "attn_pdrop", 0.0);
    cJSON_AddBoolToObject(c, "scale_attn_weights", 1);
    cJSON_AddBoolToObject(c, "scale_attn_by_inverse_layer_idx", 0);
    cJSON_AddBoolToObject(c, "reorder_and_upcast_attn", 0);
    cJSON_AddBoolToObject(c, "tie_word_embeddings", 1);
    if (p->eos_id >= 0) {
        cJSON_AddNumberToObject(c, "bos_token_id", p->eos_id);
        cJSON_AddNumberToObject(c, "eos_token_id", p->eos_id);
    } else {
        cJSON_AddNullToObject(c, "bos_token_id");
        cJSON_AddNullToObject(c, "eos_token_id");
    }
    cJSON_AddStringToObject(c, "torch_dtype", "float32");
    cJSON_AddBoolToObject(c, "use_cache", 1);
    char *text = cJSON_Print(c);
    cJSON_Delete(c);
    if (!text) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    se_atomic_file a;
    int rc = se_atomic_open(&a, path);
    if (!rc) {
        se_atomic_write(&a, text, strlen(text));
        se_atomic_write(&a, "\n", 1);
        rc = se_atomic_commit(&a);
    }
    free(text);
    return rc;
}

static int write_safetensors(softent_gpt2_trainer *t, const char *path)
{
    const int n = softent_gpt2_trainer_n_tensors(t);
    se_st_out *out = calloc((size_t)n, sizeof *out);
    softent_train_tensor *views = calloc((size_t)n, sizeof *views);  /* own the names out[] borrows */
    int rc = out && views ? SOFTENT_OK : se_fail(SOFTENT_E_NOMEM, "out of memory");
    for (int i = 0; !rc && i < n; i++) {
        softent_gpt2_trainer_tensor(t, i, &views[i]);
        out[i] = (se_st_out){.name = views[i].name, .ndim = views[i].ndim, .data = views[i].data};
        memcpy(out[i].shape, views[i].shape, sizeof views[i].shape);
    }
    const char *key = "format", *value = "pt";
    if (!rc) rc = se_safetensors_write(path, out, n, &key, &value, 1);
    free(out);
    free(views);
    return rc;
}

int softent_gpt2_trainer_save_hf(const softent_gpt2_trainer *t, const char *dir)
{
    char *config = se_path_join(dir, "config.json"), *weights = se_path_join(dir, "model.safetensors");
    int rc = !config || !weights ? se_fail(SOFTENT_E_NOMEM, "out of memory") : SOFTENT_OK;
    /* the tensor views hand out writable pointers; nothing is written here */
    if (!rc) rc = write_safetensors((softent_gpt2_trainer *)t, weights);
    if (!rc) rc = write_config(t, config);
    free(config);
    free(weights);
    return rc;
}

/* ---- the state file --------------------------------------------------------
 *
 *   "SETRAIN\0"  u32 version  u32 n_slots
 *   n_slots 8-byte slots: the settings, the step and the run (see slots())
 *   params, m, v: [num_params] f32 each
 *   u64 checksum of everything before it
 */

#define STATE_MAGIC "SETRAIN"
#define STATE_VERSION 1u
#define STATE_SLOTS 26

typedef union { int64_t i; double d; uint64_t u; } slot;

static void to_slots(const softent_gpt2_trainer *t, const softent_train_resume *r, slot *s)
{
    const softent_train_params *p = &t->p;
    slot v[STATE_SLOTS] = {
        {.i = p->n_layer}, {.i = p->d_model}, {.i = p->n_head}, {.i = p->context}, {.i = p->vocab_size},
        {.i = p->eos_id}, {.i = p->batch}, {.i = p->steps}, {.d = p->lr}, {.d = p->warmup_frac},
        {.d = p->min_lr_frac}, {.d = p->weight_decay}, {.d = p->grad_clip}, {.d = p->beta1}, {.d = p->beta2},
        {.d = p->adam_eps}, {.u = p->seed}, {.i = p->n_checkpoints}, {.d = p->val_fraction}, {.i = p->val_batches},
        {.i = t->step}, {.u = t->model.num_params}, {.u = r->data_hash}, {.i = r->n_tokens}, {.i = r->log_bytes},
        {.d = r->elapsed_s},
    };
    memcpy(s, v, sizeof v);
}

static int fits_int(int64_t x) { return x >= INT32_MIN && x <= INT32_MAX; }

static int from_slots(const slot *s, softent_train_params *p, int64_t *step, uint64_t *num_params, softent_train_resume *r)
{
    for (int k = 0; k < 8; k++)
        if (k != 7 && !fits_int(s[k].i)) return 0;
    if (!fits_int(s[17].i) || !fits_int(s[19].i)) return 0;
    *p = (softent_train_params){
        .n_layer = (int)s[0].i, .d_model = (int)s[1].i, .n_head = (int)s[2].i, .context = (int)s[3].i,
        .vocab_size = (int)s[4].i, .eos_id = (int)s[5].i, .batch = (int)s[6].i, .steps = s[7].i,
        .lr = s[8].d, .warmup_frac = s[9].d, .min_lr_frac = s[10].d, .weight_decay = s[11].d,
        .grad_clip = s[12].d, .beta1 = s[13].d, .beta2 = s[14].d, .adam_eps = s[15].d, .seed = s[16].u,
        .n_checkpoints = (int)s[17].i, .val_fraction = s[18].d, .val_batches = (int)s[19].i,
    };
    *step = s[20].i;
    *num_params = s[21].u;
    *r = (softent_train_resume){.data_hash = s[22].u, .n_tokens = s[23].i, .log_bytes = s[24].i, .elapsed_s = s[25].d};
    return 1;
}

int softent_gpt2_trainer_save_state(const softent_gpt2_trainer *t, const softent_train_resume *run, const char *path)
{
    unsigned char head[16] = STATE_MAGIC;
    const uint32_t version = STATE_VERSION, n_slots = STATE_SLOTS;
    memcpy(head + 8, &version, 4);
    memcpy(head + 12, &n_slots, 4);
    slot s[STATE_SLOTS];
    to_slots(t, run, s);
    const size_t bytes = t->model.num_params * sizeof(float);
    uint64_t h = se_hash_words(0, head, sizeof head);
    h = se_hash_words(h, s, sizeof s);
    h = se_hash_words(h, t->model.params_memory, bytes);
    h = se_hash_words(h, t->m, bytes);
    h = se_hash_words(h, t->v, bytes);

    se_atomic_file a;
    int rc = se_atomic_open(&a, path);
    if (rc) return rc;
    se_atomic_write(&a, head, sizeof head);
    se_atomic_write(&a, s, sizeof s);
    se_atomic_write(&a, t->model.params_memory, bytes);
    se_atomic_write(&a, t->m, bytes);
    se_atomic_write(&a, t->v, bytes);
    se_atomic_write(&a, &h, sizeof h);
    return se_atomic_commit(&a);
}

/* Before the trainer is allocated (its size comes from the file): the file
 * is exactly as long as its declared parameters make it, and its checksum
 * holds, so that a corrupt state costs a read, not an allocation sized by
 * garbage.  f is left just after the slots. */
static int check_before_alloc(FILE *f, const char *path, const unsigned char *head, const void *slots, size_t slots_size,
                              uint64_t num_params)
{
    struct stat sb;
    const uint64_t fixed = 16 + slots_size + 8;
    if (fstat(fileno(f), &sb) != 0) return se_fail(SOFTENT_E_IO, "%s: cannot stat: %s", path, strerror(errno));
    if (num_params == 0 || num_params > ((uint64_t)sb.st_size) / 12 || (uint64_t)sb.st_size != fixed + 12 * num_params)
        return se_fail(SOFTENT_E_FORMAT, "%s: %llu bytes, but a state of %llu parameters has %llu: truncated or corrupt", path,
                       (unsigned long long)sb.st_size, (unsigned long long)num_params, (unsigned long long)(fixed + 12 * num_params));
    const long start = ftell(f);
    uint64_t h = se_hash_words(se_hash_words(0, head, 16), slots, slots_size), stored = 0;
    /* parameters, then AdamW's m and v, each hashed whole as the writer did;
     * the buffer is a third of the file, which is on disk already */
    const size_t bytes = (size_t)num_params * sizeof(float);
    unsigned char *buf = malloc(bytes);
    int rc = buf ? SOFTENT_OK : se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", path);
    for (int k = 0; k < 3 && !rc; k++)
        if (fread(buf, 1, bytes, f) != bytes) rc = se_fail(SOFTENT_E_FORMAT, "%s: truncated training state", path);
        else h = se_hash_words(h, buf, bytes);
    free(buf);
    if (!rc && fread(&stored, 1, 8, f) != 8) rc = se_fail(SOFTENT_E_FORMAT, "%s: truncated training state", path);
    if (!rc && h != stored) rc = se_fail(SOFTENT_E_FORMAT, "%s: checksum mismatch: the training state is corrupt", path);
    if (!rc && fseek(f, start, SEEK_SET) != 0) rc = se_fail(SOFTENT_E_IO, "%s: cannot seek", path);
    return rc;
}

int softent_gpt2_trainer_load_state(softent_gpt2_trainer **out, softent_train_resume *run, const char *path)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return se_fail(SOFTENT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char head[16];
    slot s[STATE_SLOTS];
    uint32_t version = 0, n_slots = 0;
    int rc = SOFTENT_OK;
    if (fread(head, 1, sizeof head, f) != sizeof head || memcmp(head, STATE_MAGIC, 8) != 0) {
        fclose(f);
        return se_fail(SOFTENT_E_FORMAT, "%s: not a softent training state", path);
    }
    memcpy(&version, head + 8, 4);
    memcpy(&n_slots, head + 12, 4);
    if (version != STATE_VERSION || n_slots != STATE_SLOTS) {
        fclose(f);
        return se_fail(SOFTENT_E_FORMAT, "%s: training state version %u with %u fields; this softent reads version %u",
                       path, version, n_slots, STATE_VERSION);
    }
    softent_train_params p;
    int64_t step = 0;
    uint64_t num_params = 0;
    if (fread(s, 1, sizeof s, f) != sizeof s) rc = se_fail(SOFTENT_E_FORMAT, "%s: truncated training state", path);
    else if (!from_slots(s, &p, &step, &num_params, run)) rc = se_fail(SOFTENT_E_FORMAT, "%s: corrupt training state (settings out of range)", path);
    else if (softent_train_check_params(&p)) {
        char why[256];
        snprintf(why, sizeof why, "%s", softent_last_error());
        rc = se_fail(SOFTENT_E_FORMAT, "%s: corrupt training state: %s", path, why);
    }
    if (!rc) {
        /* the settings must imply the parameters the file holds, before they size anything */
        const se_gpt2_config c = {.L = p.n_layer, .C = p.d_model, .NH = p.n_head, .maxT = p.context, .V = p.vocab_size};
        if (se_gpt2_num_params(&c) != num_params) rc = se_fail(SOFTENT_E_FORMAT, "%s: corrupt training state (its settings imply another parameter count)", path);
    }
    if (!rc) rc = check_before_alloc(f, path, head, s, sizeof s, num_params);
    if (rc) { fclose(f); return rc; }

    softent_gpt2_trainer *t;
    if ((rc = se_gpt2_trainer_alloc(&t, &p))) {
        char why[256];
        snprintf(why, sizeof why, "%s", softent_last_error());
        fclose(f);
        return se_fail(rc, "%s: %s", path, why);
    }
    const size_t bytes = t->model.num_params * sizeof(float);
    uint64_t stored = 0, h = se_hash_words(0, head, sizeof head);
    h = se_hash_words(h, s, sizeof s);
    if (num_params != t->model.num_params || step < 0 || step > p.steps || run->n_tokens < 0 || run->log_bytes < 0) {
        rc = se_fail(SOFTENT_E_FORMAT, "%s: corrupt training state (inconsistent fields)", path);
    } else if (fread(t->model.params_memory, 1, bytes, f) != bytes || fread(t->m, 1, bytes, f) != bytes ||
               fread(t->v, 1, bytes, f) != bytes || fread(&stored, 1, 8, f) != 8) {
        rc = se_fail(SOFTENT_E_FORMAT, "%s: truncated training state", path);
    } else {
        h = se_hash_words(h, t->model.params_memory, bytes);
        h = se_hash_words(h, t->m, bytes);
        h = se_hash_words(h, t->v, bytes);
        if (h != stored) rc = se_fail(SOFTENT_E_FORMAT, "%s: checksum mismatch: the training state is corrupt", path);
        else if (fgetc(f) != EOF) rc = se_fail(SOFTENT_E_FORMAT, "%s: trailing bytes after the training state", path);
    }
    fclose(f);
    if (rc) {
        softent_gpt2_trainer_free(t);
        return rc;
    }
    t->step = step;
    *out = t;
    return SOFTENT_OK;
}
