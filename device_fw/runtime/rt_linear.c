/* Weight layers: each term adds its product into the layer output y.
 *
 * Kronecker terms never build A⊗B: with X the input as an n1 x n2 matrix
 * (row-major), (A⊗B)x = vec(A X B^T), computed in two stages through an
 * intermediate of n1 x m2 (order 1, B first) or m1 x n2 (order 2, A first).
 * An input shorter than n1·n2 is zero-padded in scratch; output rows beyond
 * `out` are not computed. */
#include "rt.h"

#include <stdbool.h>

#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
#include <arm_acle.h>
#define RT_SIMD 1
#else
#define RT_SIMD 0
#endif

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

/* Same scratch layout as the integer path (kron_q). */
static void kron_f(const struct rt_term *t, const float *x, float *y, float *scratch)
{
    const struct rt_mat *a = &t->a, *b = &t->b;
    uint32_t m1 = a->rows, n1 = a->cols, m2 = b->rows, n2 = b->cols;
    uint32_t n = n1 * n2;
    const float *xx = padded_f(t, x, scratch);
    float *free_words = n != t->in ? scratch + n : scratch;
    if (t->order == 1) {
        float *tt = free_words;   /* T transposed: tt[k*n1 + l] = T[l,k] */
        for (uint32_t l = 0; l < n1; l++) {
            for (uint32_t k = 0; k < m2; k++) {
                tt[k * n1 + l] = row_dot_f(b, k, &xx[l * n2]);
            }
        }
        for (uint32_t i = 0; i < m1; i++) {
            for (uint32_t k = 0; k < m2; k++) {
                uint32_t r = i * m2 + k;
                if (r < t->out) {
                    y[r] += row_dot_f(a, i, &tt[k * n1]);
                }
            }
        }
    } else {
        float *xt = free_words;   /* X transposed: xt[j*n1 + l] = X[l,j] */
        float *u = free_words + n;
        for (uint32_t l = 0; l < n1; l++) {
            for (uint32_t j = 0; j < n2; j++) {
                xt[j * n1 + l] = xx[l * n2 + j];
            }
        }
        for (uint32_t i = 0; i < m1; i++) {
            for (uint32_t j = 0; j < n2; j++) {
                u[i * n2 + j] = row_dot_f(a, i, &xt[j * n1]);
            }
        }
        for (uint32_t i = 0; i < m1; i++) {
            for (uint32_t k = 0; k < m2; k++) {
                uint32_t r = i * m2 + k;
                if (r < t->out) {
                    y[r] += row_dot_f(b, k, &u[i * n2]);
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

#if RT_SIMD
/* Dual 16-bit multiply-accumulate (SMLAD) on sign-extended byte pairs: four
 * int8 products in ten instructions instead of about twenty. Integer sums do
 * not depend on their order, so the result is the portable loop's, bit for
 * bit. */
static uint32_t load32(const void *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);   /* an unaligned word load, allowed on M4/M7/M33 */
    return v;
}

/* Bytes 1 and 3, sign-extended to halfwords (one SXTB16 with its rotation). */
static uint32_t sxtb16_odd(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static int32_t dot_q8(const int8_t *w, const int8_t *x, uint32_t n)
{
    int32_t acc = 0;
    const int8_t *end = w + (n & ~3u);
    while (w != end) {
        uint32_t a = load32(w), b = load32(x);
        w += 4;
        x += 4;
        acc = __smlad((int32_t)__sxtb16((int32_t)a), (int32_t)__sxtb16((int32_t)b), acc);
        acc = __smlad((int32_t)sxtb16_odd(a), (int32_t)sxtb16_odd(b), acc);
    }
    for (n &= 3u; n != 0u; n--) {
        acc += (int32_t)*w++ * *x++;
    }
    return acc;
}

static int32_t dot_q16(const int8_t *w, const int16_t *x, uint32_t n)
{
    int32_t acc = 0;
    const int8_t *end = w + (n & ~3u);
    while (w != end) {
        uint32_t a = load32(w);
        uint32_t x01 = load32(x), x23 = load32(x + 2);
        w += 4;
        x += 4;
        uint32_t x02 = (x01 & 0xFFFFu) | (x23 << 16);     /* PKHBT: x0, x2 */
        uint32_t x13 = (x23 & 0xFFFF0000u) | (x01 >> 16); /* PKHTB: x1, x3 */
        acc = __smlad((int32_t)__sxtb16((int32_t)a), (int32_t)x02, acc);
        acc = __smlad((int32_t)sxtb16_odd(a), (int32_t)x13, acc);
    }
    for (n &= 3u; n != 0u; n--) {
        acc += (int32_t)*w++ * *x++;
    }
    return acc;
}
#else
static int32_t dot_q8(const int8_t *w, const int8_t *x, uint32_t n)
{
    int32_t acc = 0;
    for (uint32_t j = 0; j < n; j++) {
        acc += (int32_t)w[j] * x[j];
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
#endif

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

/* Scratch layout (words): [padded input: n1·n2 when padding is needed]
 * [order 2: X transposed, n1·n2] [intermediate]. Both stages then run over
 * contiguous rows: order 1 keeps T transposed (m2 x n1), order 2 reads X
 * transposed (n2 x n1). */
static void kron_q(const struct rt_term *t, const int8_t *x, int32_t *y, int32_t *scratch)
{
    const struct rt_mat *a = &t->a, *b = &t->b;
    uint32_t m1 = a->rows, n1 = a->cols, m2 = b->rows, n2 = b->cols;
    uint32_t n = n1 * n2;
    const int8_t *xx = x;
    int32_t *free_words = scratch;
    if (n != t->in) {
        int8_t *pad = (int8_t *)free_words;
        for (uint32_t j = 0; j < n; j++) {
            pad[j] = j < t->in ? x[j] : 0;
        }
        xx = pad;
        free_words += n;
    }
    if (t->order == 1) {
        int16_t *tt = (int16_t *)free_words;   /* T transposed: tt[k*n1 + l] = T[l,k] */
        for (uint32_t l = 0; l < n1; l++) {
            for (uint32_t k = 0; k < m2; k++) {
                tt[k * n1 + l] = sat16(requant(dot_q8(&b->q[k * n2], &xx[l * n2], n2), &t->mid, k));
            }
        }
        for (uint32_t i = 0; i < m1; i++) {
            for (uint32_t k = 0; k < m2; k++) {
                uint32_t r = i * m2 + k;
                if (r < t->out) {
                    add_sat(&y[r], requant(dot_q16(&a->q[i * n1], &tt[k * n1], n1), &t->acc, i));
                }
            }
        }
    } else {
        int8_t *xt = (int8_t *)free_words;     /* X transposed: xt[j*n1 + l] = X[l,j] */
        int16_t *u = (int16_t *)(free_words + n);
        for (uint32_t l = 0; l < n1; l++) {
            for (uint32_t j = 0; j < n2; j++) {
                xt[j * n1 + l] = xx[l * n2 + j];
            }
        }
        for (uint32_t i = 0; i < m1; i++) {
            for (uint32_t j = 0; j < n2; j++) {
                u[i * n2 + j] = sat16(requant(dot_q8(&a->q[i * n1], &xt[j * n1], n1), &t->mid, i));
            }
        }
        for (uint32_t i = 0; i < m1; i++) {
            for (uint32_t k = 0; k < m2; k++) {
                uint32_t r = i * m2 + k;
                if (r < t->out) {
                    add_sat(&y[r], requant(dot_q16(&b->q[k * n2], &u[i * n2], n2), &t->acc, k));
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
