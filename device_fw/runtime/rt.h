/* The on-device inference runtime: RNN classifiers whose weight matrices are
 * dense, Kronecker (A⊗B), doped Kronecker (A⊗B + S), pruned (CSR) or low rank
 * (U·V), in three number formats. Plain C11, board independent, no heap: all
 * working memory is one arena the caller provides (its size is in the model
 * descriptor, computed by the exporter with the same rule as rt_arena_bytes).
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
    RT_TERM_DENSE = 0,    /* a = W (out x in) */
    RT_TERM_KRON = 1,     /* a = A (m1 x n1), b = B (m2 x n2); (A⊗B)[:out, :in] */
    RT_TERM_CSR = 2,      /* a = stored values (rows = out), indptr/indices */
    RT_TERM_LOWRANK = 3,  /* a = V (rank x in) applied first, b = U (out x rank) */
};

/* Fixed-point formats of the int8 path (README.md, "int8 arithmetic"). */
#define RT_PRE_FRAC 12    /* layer outputs and pre-activations: int32, value * 2^12 */
#define RT_GATE_FRAC 15   /* sigmoid / tanh outputs: int16 range, value * 2^15 */
#define RT_CELL_FRAC 11   /* LSTM cell state: int16, value * 2^11 */
#define RT_HIDDEN_FRAC 7  /* hidden state: int8, value * 2^7 */
#define RT_LUT_SIZE 513   /* activation tables over [-8, 8] in steps of 1/32, plus the end point */

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

struct rt_term {
    uint8_t kind;          /* enum rt_term_kind */
    uint8_t order;         /* RT_TERM_KRON: 1 contracts B first, 2 contracts A first */
    uint16_t in, out;      /* the part of the layer this term covers: all of it */
    struct rt_mat a, b;
    const uint16_t *indptr;   /* RT_TERM_CSR: out + 1 entries */
    const uint16_t *indices;  /* RT_TERM_CSR: column of each stored value */
    struct rt_requant mid;    /* RT_INT8, KRON and LOWRANK: intermediate -> int16 */
    struct rt_requant acc;    /* RT_INT8: accumulators -> RT_PRE_FRAC */
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

/* Kernels, exposed for the host tests and benchmarks. `y` accumulates. */
void rt_linear_f(const struct rt_model *m, const struct rt_linear *l, const float *x, float *y, float *scratch);
void rt_linear_q(const struct rt_linear *l, const int8_t *x, int32_t *y, int32_t *scratch);

/* Activations. Float: max error about 1e-7 (README.md). Integer: input in
 * RT_PRE_FRAC (saturated to [-8, 8)), output in RT_GATE_FRAC, by linear
 * interpolation in the tables of rt_tables.c. */
float rt_expf(float x);
float rt_sigmoidf(float x);
float rt_tanhf(float x);
int32_t rt_sigmoid_q(int32_t x);
int32_t rt_tanh_q(int32_t x);

extern const int16_t rt_sigmoid_table[RT_LUT_SIZE];
extern const int16_t rt_tanh_table[RT_LUT_SIZE];

#endif
