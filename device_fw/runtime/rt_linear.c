/* Weight layers: each term adds its product into the layer output y.
 *
 * Kronecker terms never build A⊗B: with X the input as an n1 x n2 matrix
 * (row-major), (A⊗B)x = vec(A X B^T), computed in two stages through an
 * intermediate of n1 x m2 (order 1, B first) or m1 x n2 (order 2, A first).
 * An input shorter than n1·n2 is zero-padded in scratch; output rows beyond
 * `out` are not computed. */
#include "rt.h"

#include <stdbool.h>

/* ------------------------------------------------------------ float path -- */

/* Dot product of row i of a float or int8 matrix with x; the w8 row scale is
 * applied once to the sum (same order as the reference). */
static float row_dot_f(const struct rt_mat *m, uint32_t i, const float *x)
{
    float acc = 0.0f;
    if (m->f != NULL) {
        const float *w = &m->f[i * m->cols];
        for (uint32_t j = 0; j < m->cols; j++) {
            acc += w[j] * x[j];
        }
        return acc;
    }
    const int8_t *w = &m->q[i * m->cols];
    for (uint32_t j = 0; j < m->cols; j++) {
        acc += (float)w[j] * x[j];
    }
    return acc * m->scale[i];
}

/* Like row_dot_f over a strided column of x: sum_l w[i,l] * x[l*stride + k]. */
static float row_dot_strided_f(const struct rt_mat *m, uint32_t i, const float *x, uint32_t stride)
{
    float acc = 0.0f;
    if (m->f != NULL) {
        const float *w = &m->f[i * m->cols];
        for (uint32_t l = 0; l < m->cols; l++) {
            acc += w[l] * x[l * stride];
        }
        return acc;
    }
    const int8_t *w = &m->q[i * m->cols];
    for (uint32_t l = 0; l < m->cols; l++) {
        acc += (float)w[l] * x[l * stride];
    }
    return acc * m->scale[i];
}

static void dense_f(const struct rt_term *t, const float *x, float *y)
{
    for (uint32_t i = 0; i < t->out; i++) {
        y[i] += row_dot_f(&t->a, i, x);
    }
}

static void csr_f(const struct rt_term *t, const float *x, float *y)
{
    const struct rt_mat *v = &t->a;
    for (uint32_t i = 0; i < t->out; i++) {
        float acc = 0.0f;
        for (uint32_t p = t->indptr[i]; p < t->indptr[i + 1]; p++) {
            float w = v->f != NULL ? v->f[p] : (float)v->q[p];
            acc += w * x[t->indices[p]];
        }
        y[i] += v->f != NULL ? acc : acc * v->scale[i];
    }
}

static const float *padded_f(const struct rt_term *t, const float *x, float *pad)
{
    uint32_t n = (uint32_t)t->a.cols * t->b.cols;
    if (n == t->in) {
        return x;
    }
    for (uint32_t j = 0; j < n; j++) {
        pad[j] = j < t->in ? x[j] : 0.0f;
    }
    return pad;
}

static void kron_f(const struct rt_term *t, const float *x, float *y, float *scratch)
{
    const struct rt_mat *a = &t->a, *b = &t->b;
    uint32_t m1 = a->rows, n1 = a->cols, m2 = b->rows, n2 = b->cols;
    bool padded = (uint32_t)n1 * n2 != t->in;
    const float *xx = padded_f(t, x, scratch);
    float *mid = padded ? scratch + n1 * n2 : scratch;
    if (t->order == 1) {
        /* T = X B^T (n1 x m2), then Y = A T. */
        for (uint32_t l = 0; l < n1; l++) {
            for (uint32_t k = 0; k < m2; k++) {
                mid[l * m2 + k] = row_dot_f(b, k, &xx[l * n2]);
            }
        }
        for (uint32_t i = 0; i < m1; i++) {
            for (uint32_t k = 0; k < m2; k++) {
                uint32_t r = i * m2 + k;
                if (r < t->out) {
                    y[r] += row_dot_strided_f(a, i, &mid[k], m2);
                }
            }
        }
    } else {
        /* U = A X (m1 x n2), then Y = U B^T. */
        for (uint32_t i = 0; i < m1; i++) {
            for (uint32_t j = 0; j < n2; j++) {
                mid[i * n2 + j] = row_dot_strided_f(a, i, &xx[j], n2);
            }
        }
        for (uint32_t i = 0; i < m1; i++) {
            for (uint32_t k = 0; k < m2; k++) {
                uint32_t r = i * m2 + k;
                if (r < t->out) {
                    y[r] += row_dot_f(b, k, &mid[i * n2]);
                }
            }
        }
    }
}

static void lowrank_f(const struct rt_term *t, const float *x, float *y, float *scratch)
{
    const struct rt_mat *v = &t->a, *u = &t->b;
    for (uint32_t r = 0; r < v->rows; r++) {
        scratch[r] = row_dot_f(v, r, x);
    }
    for (uint32_t i = 0; i < t->out; i++) {
        y[i] += row_dot_f(u, i, scratch);
    }
}

void rt_linear_f(const struct rt_model *m, const struct rt_linear *l, const float *x, float *y, float *scratch)
{
    (void)m;
    for (uint32_t i = 0; i < l->out; i++) {
        y[i] = l->bias_f != NULL ? l->bias_f[i] : 0.0f;
    }
    for (uint32_t n = 0; n < l->n_terms; n++) {
        const struct rt_term *t = &l->terms[n];
        switch (t->kind) {
        case RT_TERM_DENSE:
            dense_f(t, x, y);
            break;
        case RT_TERM_KRON:
            kron_f(t, x, y, scratch);
            break;
        case RT_TERM_CSR:
            csr_f(t, x, y);
            break;
        case RT_TERM_LOWRANK:
            lowrank_f(t, x, y, scratch);
            break;
        default:
            break;
        }
    }
}

/* ---------------------------------------------------------- integer path -- */

static int32_t sat32(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

static int16_t sat16(int32_t v)
{
    return (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);
}

static void add_sat(int32_t *y, int32_t v)
{
    *y = sat32((int64_t)*y + v);
}

/* round(acc * mult / 2^shift), halves rounded up; shift >= 1. */
static int32_t requant(int32_t acc, const struct rt_requant *rq, uint32_t i)
{
    uint32_t shift = rq->shift[i];
    int64_t p = (int64_t)acc * rq->mult[i];
    if (shift > 32u) {
        /* Same value with 32-bit work only: the rounding constant touches the
         * high word alone, and the low word cannot carry into the result
         * (|p| < 2^62, so the high word never overflows either). */
        int32_t hi = (int32_t)(p >> 32);
        uint32_t s = shift - 32u;
        return (hi + (int32_t)(1u << (s - 1u))) >> s;
    }
    return sat32((p + ((int64_t)1 << (shift - 1u))) >> shift);
}

static int32_t dot_q8(const int8_t *w, const int8_t *x, uint32_t n)
{
    int32_t acc = 0;
    for (uint32_t j = 0; j < n; j++) {
        acc += (int32_t)w[j] * x[j];
    }
    return acc;
}

static int32_t dot_q8_strided(const int8_t *w, const int8_t *x, uint32_t n, uint32_t stride)
{
    int32_t acc = 0;
    for (uint32_t l = 0; l < n; l++) {
        acc += (int32_t)w[l] * x[l * stride];
    }
    return acc;
}

static int32_t dot_q16(const int8_t *w, const int16_t *x, uint32_t n)
{
    int32_t acc = 0;
    for (uint32_t j = 0; j < n; j++) {
        acc += (int32_t)w[j] * x[j];
    }
    return acc;
}

static int32_t dot_q16_strided(const int8_t *w, const int16_t *x, uint32_t n, uint32_t stride)
{
    int32_t acc = 0;
    for (uint32_t l = 0; l < n; l++) {
        acc += (int32_t)w[l] * x[l * stride];
    }
    return acc;
}

static void dense_q(const struct rt_term *t, const int8_t *x, int32_t *y)
{
    const struct rt_mat *w = &t->a;
    for (uint32_t i = 0; i < t->out; i++) {
        add_sat(&y[i], requant(dot_q8(&w->q[i * w->cols], x, w->cols), &t->acc, i));
    }
}

static void csr_q(const struct rt_term *t, const int8_t *x, int32_t *y)
{
    const int8_t *v = t->a.q;
    for (uint32_t i = 0; i < t->out; i++) {
        int32_t acc = 0;
        for (uint32_t p = t->indptr[i]; p < t->indptr[i + 1]; p++) {
            acc += (int32_t)v[p] * x[t->indices[p]];
        }
        add_sat(&y[i], requant(acc, &t->acc, i));
    }
}

static void kron_q(const struct rt_term *t, const int8_t *x, int32_t *y, int32_t *scratch)
{
    const struct rt_mat *a = &t->a, *b = &t->b;
    uint32_t m1 = a->rows, n1 = a->cols, m2 = b->rows, n2 = b->cols;
    uint32_t n = n1 * n2;
    const int8_t *xx = x;
    int16_t *mid = (int16_t *)scratch;
    if (n != t->in) {
        int8_t *pad = (int8_t *)scratch;
        for (uint32_t j = 0; j < n; j++) {
            pad[j] = j < t->in ? x[j] : 0;
        }
        xx = pad;
        mid = (int16_t *)(scratch + n);   /* n words: room for n int8 entries */
    }
    if (t->order == 1) {
        for (uint32_t l = 0; l < n1; l++) {
            for (uint32_t k = 0; k < m2; k++) {
                mid[l * m2 + k] = sat16(requant(dot_q8(&b->q[k * n2], &xx[l * n2], n2), &t->mid, k));
            }
        }
        for (uint32_t i = 0; i < m1; i++) {
            for (uint32_t k = 0; k < m2; k++) {
                uint32_t r = i * m2 + k;
                if (r < t->out) {
                    add_sat(&y[r], requant(dot_q16_strided(&a->q[i * n1], &mid[k], n1, m2), &t->acc, i));
                }
            }
        }
    } else {
        for (uint32_t i = 0; i < m1; i++) {
            for (uint32_t j = 0; j < n2; j++) {
                mid[i * n2 + j] = sat16(requant(dot_q8_strided(&a->q[i * n1], &xx[j], n1, n2), &t->mid, i));
            }
        }
        for (uint32_t i = 0; i < m1; i++) {
            for (uint32_t k = 0; k < m2; k++) {
                uint32_t r = i * m2 + k;
                if (r < t->out) {
                    add_sat(&y[r], requant(dot_q16(&b->q[k * n2], &mid[i * n2], n2), &t->acc, k));
                }
            }
        }
    }
}

static void lowrank_q(const struct rt_term *t, const int8_t *x, int32_t *y, int32_t *scratch)
{
    const struct rt_mat *v = &t->a, *u = &t->b;
    int16_t *mid = (int16_t *)scratch;
    for (uint32_t r = 0; r < v->rows; r++) {
        mid[r] = sat16(requant(dot_q8(&v->q[r * v->cols], x, v->cols), &t->mid, r));
    }
    for (uint32_t i = 0; i < t->out; i++) {
        add_sat(&y[i], requant(dot_q16(&u->q[i * u->cols], mid, u->cols), &t->acc, i));
    }
}

void rt_linear_q(const struct rt_linear *l, const int8_t *x, int32_t *y, int32_t *scratch)
{
    for (uint32_t i = 0; i < l->out; i++) {
        y[i] = l->bias_q != NULL ? l->bias_q[i] : 0;
    }
    for (uint32_t n = 0; n < l->n_terms; n++) {
        const struct rt_term *t = &l->terms[n];
        switch (t->kind) {
        case RT_TERM_DENSE:
            dense_q(t, x, y);
            break;
        case RT_TERM_KRON:
            kron_q(t, x, y, scratch);
            break;
        case RT_TERM_CSR:
            csr_q(t, x, y);
            break;
        case RT_TERM_LOWRANK:
            lowrank_q(t, x, y, scratch);
            break;
        default:
            break;
        }
    }
}
