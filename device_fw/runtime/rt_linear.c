/* A weight layer: its bias, then each term added in order (acc = bias for
 * the first term, the output itself for the next ones). Dispatch only; the
 * kernels are rt_dense.c, rt_kron.c, rt_csr.c and rt_lowrank.c. */
#include "rt.h"

void rt_linear_s8(const struct rt_context *ctx, const struct rt_linear *l, const int8_t *x, int32_t *y)
{
    const int32_t *acc = l->bias_q;
    if (l->n_terms == 0u) {
        for (uint32_t i = 0; i < l->out; i++) {
            y[i] = acc != NULL ? acc[i] : 0;
        }
    }
    for (uint32_t n = 0; n < l->n_terms; n++, acc = y) {
        const struct rt_term *t = &l->terms[n];
        switch (t->kind) {
        case RT_TERM_DENSE:
            rt_dense_s8(ctx, &t->p.dense, x, acc, y);
            break;
        case RT_TERM_KRON:
            rt_kron_s8(ctx, &t->p.kron, x, acc, y);
            break;
        case RT_TERM_CSR:
            rt_csr_s8(&t->p.csr, x, acc, y);
            break;
        case RT_TERM_LOWRANK:
            rt_lowrank_s8(ctx, &t->p.lowrank, x, acc, y);
            break;
        default:
            break;
        }
    }
}

static void bias_only_f(const struct rt_linear *l, float *y)
{
    for (uint32_t i = 0; i < l->out; i++) {
        y[i] = l->bias_f != NULL ? l->bias_f[i] : 0.0f;
    }
}

void rt_linear_f32(const struct rt_context *ctx, const struct rt_linear *l, const float *x, float *y)
{
    const float *acc = l->bias_f;
    if (l->n_terms == 0u) {
        bias_only_f(l, y);
    }
    for (uint32_t n = 0; n < l->n_terms; n++, acc = y) {
        const struct rt_term *t = &l->terms[n];
        switch (t->kind) {
        case RT_TERM_DENSE:
            rt_dense_f32(&t->p.dense, x, acc, y);
            break;
        case RT_TERM_KRON:
            rt_kron_f32(ctx, &t->p.kron, x, acc, y);
            break;
        case RT_TERM_CSR:
            rt_csr_f32(&t->p.csr, x, acc, y);
            break;
        case RT_TERM_LOWRANK:
            rt_lowrank_f32(ctx, &t->p.lowrank, x, acc, y);
            break;
        default:
            break;
        }
    }
}

void rt_linear_w8(const struct rt_context *ctx, const struct rt_linear *l, const float *x, float *y)
{
    const float *acc = l->bias_f;
    if (l->n_terms == 0u) {
        bias_only_f(l, y);
    }
    for (uint32_t n = 0; n < l->n_terms; n++, acc = y) {
        const struct rt_term *t = &l->terms[n];
        switch (t->kind) {
        case RT_TERM_DENSE:
            rt_dense_w8(&t->p.dense, x, acc, y);
            break;
        case RT_TERM_KRON:
            rt_kron_w8(ctx, &t->p.kron, x, acc, y);
            break;
        case RT_TERM_CSR:
            rt_csr_w8(&t->p.csr, x, acc, y);
            break;
        case RT_TERM_LOWRANK:
            rt_lowrank_w8(ctx, &t->p.lowrank, x, acc, y);
            break;
        default:
            break;
        }
    }
}

static size_t term_bytes(const struct rt_term *t, uint8_t dtype)
{
    switch (t->kind) {
    case RT_TERM_DENSE:
        return dtype == RT_INT8 ? rt_dense_s8_get_buffer_size(&t->p.dense) : 0u;
    case RT_TERM_KRON:
        return dtype == RT_INT8 ? rt_kron_s8_get_buffer_size(&t->p.kron)
               : dtype == RT_W8 ? rt_kron_w8_get_buffer_size(&t->p.kron)
                                : rt_kron_f32_get_buffer_size(&t->p.kron);
    case RT_TERM_LOWRANK:
        return dtype == RT_INT8 ? rt_lowrank_s8_get_buffer_size(&t->p.lowrank)
               : dtype == RT_W8 ? rt_lowrank_w8_get_buffer_size(&t->p.lowrank)
                                : rt_lowrank_f32_get_buffer_size(&t->p.lowrank);
    default:
        return 0u;
    }
}

size_t rt_linear_get_buffer_size(const struct rt_linear *l, uint8_t dtype)
{
    size_t most = 0;
    for (uint32_t n = 0; n < l->n_terms; n++) {
        size_t b = term_bytes(&l->terms[n], dtype);
        most = b > most ? b : most;
    }
    return most;
}
