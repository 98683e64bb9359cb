/* The on-device inference runtime: RNN classifiers whose weight matrices are
 * dense, Kronecker (A⊗B), doped Kronecker (A⊗B + S), pruned (CSR) or low rank
 * (U·V), in three number formats. Plain C11, board independent, no heap: all
 * working memory is one arena the caller provides (its size is in the model
 * descriptor, computed by the exporter with the same rule as rt_arena_bytes).
 *
 * Kernels follow one naming rule: rt_<operation>_<format>, with the formats
 * s8 (integer only), w8 (int8 weights, float arithmetic) and f32, each with
 * its scratch size in rt_<operation>_<format>_get_buffer_size (bytes). Every
 * kernel adds its product into a vector: y = acc + W x, where acc is the
 * layer's bias, the previous term's output (acc == y) or NULL for zeros.
 *
 * The arithmetic is specified in device_fw/runtime/README.md; the exporter's
 * numpy reference (harness/export/reference.py) does exactly the same. */
#ifndef RT_RT_H
#define RT_RT_H

#include <stddef.h>
#include <stdint.h>

enum rt_dtype {
    RT_FP32 = 0,  /* float weights, float arithmetic */
    RT_W8 = 1,    /* int8 weights with a float scale per row, float arithmetic */
    RT_INT8 = 2,  /* int8 weights and activations, integer arithmetic only */
};

enum rt_cell { RT_LSTM = 0, RT_GRU = 1, RT_FASTGRNN = 2 };

/* A weight layer is a sum of terms, each adding into the layer's output. */
enum rt_term_kind {
    RT_TERM_DENSE = 0,    /* W (out x in) */
    RT_TERM_KRON = 1,     /* (A⊗B)[:out, :in], A (m1 x n1), B (m2 x n2) */
    RT_TERM_CSR = 2,      /* stored values of each row, indptr/indices */
    RT_TERM_LOWRANK = 3,  /* U (V x): V (rank x in) first, U (out x rank) */
};

/* Which factor a Kronecker term contracts first. With X the input as an
 * n1 x n2 matrix, (A⊗B)x = vec(A X Bᵀ). */
enum rt_kron_order {
    RT_KRON_B_FIRST = 1,  /* T = X Bᵀ (n1 x m2), then A T */
    RT_KRON_A_FIRST = 2,  /* U = A X (m1 x n2), then U Bᵀ */
};

/* Fixed-point formats of the int8 path (README.md, "int8 arithmetic"). */
#define RT_PRE_FRAC 12    /* layer outputs and pre-activations: int32, value * 2^12 */
#define RT_GATE_FRAC 15   /* sigmoid / tanh outputs: int16 range, value * 2^15 */
#define RT_CELL_FRAC 11   /* LSTM cell state: int16, value * 2^11 */
#define RT_HIDDEN_FRAC 7  /* hidden state: int8, value * 2^7 */
#define RT_LUT_SIZE 512   /* activation tables: 512 entries over [-8, 8) in steps of 1/32 */

/* A matrix (or CSR value array) in the model's dtype. */
struct rt_mat {
    uint16_t rows, cols;
    const float *f;       /* RT_FP32 */
    const int8_t *q;      /* RT_W8, RT_INT8 */
    const float *scale;   /* RT_W8: one per row (per stored row for CSR) */
};

/* RT_INT8: acc -> round(acc * mult / 2^shift), one pair per row. */
struct rt_requant {
    const int32_t *mult;
    const uint8_t *shift;
};

/* Scratch memory handed to a kernel (at least its get_buffer_size bytes, 4-byte aligned). */
struct rt_context {
    void *buf;
    uint32_t size;
};

struct rt_dense_params {
    struct rt_mat w;          /* out x in */
    struct rt_requant acc;    /* RT_INT8: per output row, to RT_PRE_FRAC */
};

struct rt_kron_params {
    uint16_t in, out;         /* the layer's sizes: input zero-padded to n1·n2, rows beyond out not computed */
    uint8_t order;            /* enum rt_kron_order */
    struct rt_mat a, b;
    struct rt_requant mid;    /* RT_INT8: first stage -> int16, per row of the factor contracted first */
    struct rt_requant acc;    /* RT_INT8: second stage -> RT_PRE_FRAC, per row of the other factor */
};

struct rt_csr_params {
    uint16_t in, out;
    struct rt_mat values;     /* stored values, rows = out */
    const uint16_t *indptr;   /* out + 1 entries */
    const uint16_t *indices;  /* column of each stored value */
    struct rt_requant acc;    /* RT_INT8: per output row */
};

struct rt_lowrank_params {
    struct rt_mat v;          /* rank x in, applied first */
    struct rt_mat u;          /* out x rank */
    struct rt_requant mid;    /* RT_INT8: per V row -> int16 */
    struct rt_requant acc;    /* RT_INT8: per U row -> RT_PRE_FRAC */
};

struct rt_term {
    uint8_t kind;             /* enum rt_term_kind */
    union {
        struct rt_dense_params dense;
        struct rt_kron_params kron;
        struct rt_csr_params csr;
        struct rt_lowrank_params lowrank;
    } p;
};

struct rt_linear {
    uint16_t in, out;
    uint16_t n_terms;
    const struct rt_term *terms;
    const float *bias_f;      /* RT_FP32, RT_W8; NULL when the layer has none */
    const int32_t *bias_q;    /* RT_INT8, in RT_PRE_FRAC; NULL when none */
};

struct rt_model {
    uint8_t dtype;            /* enum rt_dtype */
    uint8_t cell;             /* enum rt_cell */
    uint16_t seq_len, input_size, hidden, classes, gates;
    struct rt_linear ih, hh, head;
    /* FastGRNN only: gate and update biases, sigmoid(zeta), sigmoid(nu). */
    const float *fg_bias_z_f, *fg_bias_h_f;
    float fg_zeta_f, fg_nu_f;
    const int32_t *fg_bias_z_q, *fg_bias_h_q;   /* RT_PRE_FRAC */
    int32_t fg_zeta_q, fg_nu_q;                 /* RT_GATE_FRAC */
    uint32_t arena_bytes;     /* what rt_arena_bytes() returns for this model */
    const uint8_t *hash;      /* 32 bytes, the manifest's model_hash */
};

/* Input: seq_len x input_size, row-major; int8 for RT_INT8 (quantized by the
 * host with the manifest's input scale), float otherwise. Output: `classes`
 * logits, int32 in RT_PRE_FRAC for RT_INT8, float otherwise. The output may
 * share memory with the input: it is written only after the input is read.
 * Returns the index of the largest logit (the first on ties), or a negative
 * RT_ERR_* value. */
int rt_infer(const struct rt_model *m, const void *input, void *output, void *arena, size_t arena_size);

size_t rt_arena_bytes(const struct rt_model *m);
size_t rt_input_bytes(const struct rt_model *m);
size_t rt_output_bytes(const struct rt_model *m);

#define RT_ERR_ARENA (-1)   /* arena smaller than rt_arena_bytes() */
#define RT_ERR_MODEL (-2)   /* descriptor inconsistent (unknown dtype, cell or kind) */

/* ------------------------------------------------------------- kernels -- */
/* y[0:out] = sat32(acc + term(x)) (s8) or acc + term(x) (w8, f32); acc may
 * be NULL (zeros) or y itself. x is read before y is written only where
 * noted, so x must not overlap y. */

void rt_dense_s8(const struct rt_context *ctx, const struct rt_dense_params *p, const int8_t *x,
                 const int32_t *acc, int32_t *y);
void rt_dense_w8(const struct rt_dense_params *p, const float *x, const float *acc, float *y);
void rt_dense_f32(const struct rt_dense_params *p, const float *x, const float *acc, float *y);
size_t rt_dense_s8_get_buffer_size(const struct rt_dense_params *p);

void rt_kron_s8(const struct rt_context *ctx, const struct rt_kron_params *p, const int8_t *x,
                const int32_t *acc, int32_t *y);
void rt_kron_w8(const struct rt_context *ctx, const struct rt_kron_params *p, const float *x,
                const float *acc, float *y);
void rt_kron_f32(const struct rt_context *ctx, const struct rt_kron_params *p, const float *x,
                 const float *acc, float *y);
size_t rt_kron_s8_get_buffer_size(const struct rt_kron_params *p);
size_t rt_kron_w8_get_buffer_size(const struct rt_kron_params *p);
size_t rt_kron_f32_get_buffer_size(const struct rt_kron_params *p);

void rt_csr_s8(const struct rt_csr_params *p, const int8_t *x, const int32_t *acc, int32_t *y);
void rt_csr_w8(const struct rt_csr_params *p, const float *x, const float *acc, float *y);
void rt_csr_f32(const struct rt_csr_params *p, const float *x, const float *acc, float *y);

void rt_lowrank_s8(const struct rt_context *ctx, const struct rt_lowrank_params *p, const int8_t *x,
                   const int32_t *acc, int32_t *y);
void rt_lowrank_w8(const struct rt_context *ctx, const struct rt_lowrank_params *p, const float *x,
                   const float *acc, float *y);
void rt_lowrank_f32(const struct rt_context *ctx, const struct rt_lowrank_params *p, const float *x,
                    const float *acc, float *y);
size_t rt_lowrank_s8_get_buffer_size(const struct rt_lowrank_params *p);
size_t rt_lowrank_w8_get_buffer_size(const struct rt_lowrank_params *p);
size_t rt_lowrank_f32_get_buffer_size(const struct rt_lowrank_params *p);

/* A layer: bias, then each term in order (a short dispatcher over the kernels). */
void rt_linear_s8(const struct rt_context *ctx, const struct rt_linear *l, const int8_t *x, int32_t *y);
void rt_linear_w8(const struct rt_context *ctx, const struct rt_linear *l, const float *x, float *y);
void rt_linear_f32(const struct rt_context *ctx, const struct rt_linear *l, const float *x, float *y);
size_t rt_linear_get_buffer_size(const struct rt_linear *l, uint8_t dtype);

/* Activations. Float: max error about 1e-7 (README.md). Integer: input in
 * RT_PRE_FRAC (saturated to [-8, 8)), output in RT_GATE_FRAC, by linear
 * interpolation in the tables of rt_tables.c. */
float rt_expf(float x);
float rt_sigmoidf(float x);
float rt_tanhf(float x);
int32_t rt_sigmoid_q(int32_t x);
int32_t rt_tanh_q(int32_t x);

/* Entry k: f(-8 + k/32) in Q.15 in the low half and f(-8 + (k+1)/32) minus
 * that in the high half, so one load gives both ends of the interval. */
extern const uint32_t rt_sigmoid_table[RT_LUT_SIZE];
extern const uint32_t rt_tanh_table[RT_LUT_SIZE];

#endif
