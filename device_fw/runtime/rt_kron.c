/* Kronecker term: y = acc + (A⊗B)[:out, :in] x, never building A⊗B.
 *
 * With X the input as an n1 x n2 matrix (row-major, zero-padded when in <
 * n1·n2), (A⊗B)x = vec(A X Bᵀ), in two stages:
 *   RT_KRON_B_FIRST: T = X Bᵀ (n1 x m2), then y[i·m2 + k] = Σ_l A[i,l] T[l,k];
 *   RT_KRON_A_FIRST: U = A X (m1 x n2), then y[i·m2 + k] = Σ_j U[i,j] B[k,j].
 * Output rows at or beyond `out` are not computed.
 *
 * s8: the input is packed once into the pair layout (rt_dsp.h) along the
 * dimension the first stage contracts; the first stage writes its int16
 * results straight into the pair layout the second stage reads, so the
 * second stage is SMLADs over words only (one SMUAD when the contracted
 * dimension is 1 or 2). The second stage runs with the row of its requant
 * multiplier outermost, so multiplier, shift and the packed factor row stay
 * in registers; with shift 32 the requantization is a single SMMULR. */
#include "rt.h"
#include "rt_dsp.h"

#define RT_ALWAYS_INLINE inline __attribute__((always_inline))

static uint32_t n_rows(const struct rt_kron_params *p, uint32_t k)
{
    /* Rows i with i·m2 + k < out. */
    uint32_t m2 = p->b.rows;
    return k < p->out ? (p->out - k + m2 - 1u) / m2 : 0u;
}

/* --------------------------------------------------------------- s8 -- */

struct kron_s8_layout {
    uint32_t first_len, first_count;   /* vectors the input is packed into */
    uint32_t mid_len, mid_count;       /* first-stage results, pair layout */
};

static struct kron_s8_layout layout_s8(const struct rt_kron_params *p)
{
    struct kron_s8_layout s;
    uint32_t m1 = p->a.rows, n1 = p->a.cols, m2 = p->b.rows, n2 = p->b.cols;
    if (p->order == RT_KRON_B_FIRST) {
        s.first_len = n2, s.first_count = n1;     /* rows of X */
        s.mid_len = n1, s.mid_count = m2;         /* T transposed: one vector per k */
    } else {
        s.first_len = n1, s.first_count = n2;     /* columns of X */
        s.mid_len = n2, s.mid_count = m1;         /* U: one vector per i */
    }
    (void)m1;
    return s;
}

size_t rt_kron_s8_get_buffer_size(const struct rt_kron_params *p)
{
    struct kron_s8_layout s = layout_s8(p);
    uint32_t words = s.first_count * rt_pair_words(s.first_len) + s.mid_count * rt_pair_words(s.mid_len)
                     + rt_pair_words(s.mid_len);   /* one packed row of the second-stage factor */
    return 4u * words;
}

/* One output row set of the second stage: y[r0 + t·stride] for t < count,
 * each from the pair-layout vector mid + t·mstride (halfwords) against f. */
static RT_ALWAYS_INLINE void stage2(const int16_t *mid, uint32_t mstride, uint32_t words, const int16_t *f,
                                    int32_t mult, uint32_t shift, const int32_t *acc, int32_t *y,
                                    uint32_t stride, uint32_t count)
{
    if (words == 1u && shift == 32u) {
        uint32_t f0 = rt_load32(f);
        if (acc == NULL) {
            for (; count >= 2u; count -= 2u) {
                int32_t s0 = rt_smmulr(rt_smuad(rt_load32(mid), f0), mult);
                int32_t s1 = rt_smmulr(rt_smuad(rt_load32(mid + mstride), f0), mult);
                y[0] = s0;
                y[stride] = s1;
                mid += 2u * mstride;
                y += 2u * stride;
            }
            if (count != 0u) {
                *y = rt_smmulr(rt_smuad(rt_load32(mid), f0), mult);
            }
        } else {
            for (; count >= 2u; count -= 2u) {
                int32_t s0 = rt_smmulr(rt_smuad(rt_load32(mid), f0), mult);
                int32_t s1 = rt_smmulr(rt_smuad(rt_load32(mid + mstride), f0), mult);
                y[0] = rt_qadd(acc[0], s0);
                y[stride] = rt_qadd(acc[stride], s1);
                mid += 2u * mstride;
                acc += 2u * stride;
                y += 2u * stride;
            }
            if (count != 0u) {
                *y = rt_qadd(*acc, rt_smmulr(rt_smuad(rt_load32(mid), f0), mult));
            }
        }
        return;
    }
    if (words == 2u && shift == 32u) {
        uint32_t f0 = rt_load32(f), f1 = rt_load32(f + 2);
        if (acc == NULL) {
            for (; count != 0u; count--) {
                *y = rt_smmulr(rt_smlad(rt_load32(mid + 2), f1, rt_smuad(rt_load32(mid), f0)), mult);
                mid += mstride;
                y += stride;
            }
        } else {
            for (; count != 0u; count--) {
                *y = rt_qadd(*acc, rt_smmulr(rt_smlad(rt_load32(mid + 2), f1, rt_smuad(rt_load32(mid), f0)), mult));
                mid += mstride;
                acc += stride;
                y += stride;
            }
        }
        return;
    }
    for (; count != 0u; count--) {
        int32_t s = rt_requant(rt_dot_pair(mid, f, words, 0), mult, shift);
        *y = acc != NULL ? rt_qadd(*acc, s) : s;
        mid += mstride;
        if (acc != NULL) {
            acc += stride;
        }
        y += stride;
    }
}

/* First stage, one requant row: out[t] for t < count = sat16(rq(w · vec_t)),
 * written at halfword pos(t) of the destination vector(s). */
static void kron_s8_b_first(const struct rt_context *ctx, const struct rt_kron_params *p, const int8_t *x,
                            const int32_t *acc, int32_t *y)
{
    const uint32_t m1 = p->a.rows, n1 = p->a.cols, m2 = p->b.rows, n2 = p->b.cols;
    const uint32_t xw = 2u * rt_pair_words(n2), tw = 2u * rt_pair_words(n1);
    int16_t *xr = ctx->buf;                 /* n1 rows of X, pair layout */
    int16_t *tt = xr + n1 * xw;             /* m2 vectors T[:, k], pair layout */
    int16_t *ap = tt + m2 * tw;             /* one packed row of A */
    for (uint32_t l = 0; l < n1; l++) {
        uint32_t at = l * n2;
        uint32_t limit = at < p->in ? p->in - at : 0u;
        rt_pack_s8(&x[at < p->in ? at : 0u], 1u, limit, n2, &xr[l * xw]);
    }
    for (uint32_t k = 0; k < m2; k++) {
        const int8_t *bk = &p->b.q[k * n2];
        int32_t mult = p->mid.mult[k];
        uint32_t shift = p->mid.shift[k];
        int16_t *t = &tt[k * tw];
        for (uint32_t l = 0; l < n1; l++) {
            t[rt_pair_index(n1, l)] = (int16_t)rt_ssat16(rt_requant(rt_dot_s8_pair(bk, &xr[l * xw], n2, 0), mult, shift));
        }
        if (n1 & 1u) {
            t[n1] = 0;
        }
    }
    for (uint32_t i = 0; i < m1; i++) {
        uint32_t r0 = i * m2;
        if (r0 >= p->out) {
            break;
        }
        uint32_t count = p->out - r0 < m2 ? p->out - r0 : m2;
        rt_pack_s8_row(&p->a.q[i * n1], n1, ap);
        /* Here the mid vectors are the T columns (stride tw), the fixed row is A's. */
        stage2(tt, tw, tw / 2u, ap, p->acc.mult[i], p->acc.shift[i], acc != NULL ? &acc[r0] : NULL, &y[r0], 1u,
               count);
    }
}

static void kron_s8_a_first(const struct rt_context *ctx, const struct rt_kron_params *p, const int8_t *x,
                            const int32_t *acc, int32_t *y)
{
    const uint32_t m1 = p->a.rows, n1 = p->a.cols, m2 = p->b.rows, n2 = p->b.cols;
    const uint32_t xw = 2u * rt_pair_words(n1), uw = 2u * rt_pair_words(n2);
    int16_t *xc = ctx->buf;                 /* n2 columns of X, pair layout */
    int16_t *u = xc + n2 * xw;              /* m1 vectors U[i, :], pair layout */
    int16_t *bp = u + m1 * uw;              /* one packed row of B */
    for (uint32_t j = 0; j < n2; j++) {
        rt_pack_s8(&x[j < p->in ? j : 0u], n2, j < p->in ? p->in - j : 0u, n1, &xc[j * xw]);
    }
    for (uint32_t i = 0; i < m1; i++) {
        const int8_t *ai = &p->a.q[i * n1];
        int32_t mult = p->mid.mult[i];
        uint32_t shift = p->mid.shift[i];
        int16_t *ui = &u[i * uw];
        if (n2 == 2u) {
            /* Both columns in one pass over the row of A. */
            const int16_t *c0 = xc, *c1 = xc + xw;
            const int8_t *w = ai;
            int32_t s0 = 0, s1 = 0;
            for (uint32_t g = n1 >> 2; g != 0u; g--) {
                uint32_t a = rt_load32(w);
                uint32_t lo = rt_sxtb16(a), hi = rt_sxtb16_ror8(a);
                s0 = rt_smlad(lo, rt_load32(c0), s0);
                s0 = rt_smlad(hi, rt_load32(c0 + 2), s0);
                s1 = rt_smlad(lo, rt_load32(c1), s1);
                s1 = rt_smlad(hi, rt_load32(c1 + 2), s1);
                w += 4;
                c0 += 4;
                c1 += 4;
            }
            for (uint32_t r = 0; r < (n1 & 3u); r++) {
                s0 += (int32_t)w[r] * c0[r];
                s1 += (int32_t)w[r] * c1[r];
            }
            ui[0] = (int16_t)rt_ssat16(rt_requant(s0, mult, shift));
            ui[1] = (int16_t)rt_ssat16(rt_requant(s1, mult, shift));
            continue;
        }
        for (uint32_t j = 0; j < n2; j++) {
            ui[rt_pair_index(n2, j)] = (int16_t)rt_ssat16(rt_requant(rt_dot_s8_pair(ai, &xc[j * xw], n1, 0), mult, shift));
        }
        if (n2 & 1u) {
            ui[n2] = 0;
        }
    }
    for (uint32_t k = 0; k < m2; k++) {
        rt_pack_s8_row(&p->b.q[k * n2], n2, bp);
        stage2(u, uw, uw / 2u, bp, p->acc.mult[k], p->acc.shift[k], acc != NULL ? &acc[k] : NULL, &y[k], m2,
               n_rows(p, k));
    }
}

void rt_kron_s8(const struct rt_context *ctx, const struct rt_kron_params *p, const int8_t *x,
                const int32_t *acc, int32_t *y)
{
    if (p->order == RT_KRON_B_FIRST) {
        kron_s8_b_first(ctx, p, x, acc, y);
    } else {
        kron_s8_a_first(ctx, p, x, acc, y);
    }
}

/* ------------------------------------------------------- f32 and w8 -- */
/* Scratch (floats): [padded input, n1·n2, when in < n1·n2] [A first: X
 * transposed, n1·n2] [intermediate: T transposed (m2 x n1) or U (m1 x n2)].
 * Both stages then run over contiguous rows. */

static size_t kron_float_words(const struct rt_kron_params *p)
{
    uint32_t n = (uint32_t)p->a.cols * p->b.cols;
    uint32_t pad = n != p->in ? n : 0u;
    uint32_t mid = p->order == RT_KRON_B_FIRST ? (uint32_t)p->a.cols * p->b.rows : (uint32_t)p->a.rows * p->b.cols;
    uint32_t transposed = p->order == RT_KRON_A_FIRST ? n : 0u;
    return pad + transposed + mid;
}

size_t rt_kron_f32_get_buffer_size(const struct rt_kron_params *p)
{
    return 4u * kron_float_words(p);
}

size_t rt_kron_w8_get_buffer_size(const struct rt_kron_params *p)
{
    return 4u * kron_float_words(p);
}

/* Row i of m against v; w8 applies the row scale once to the sum. */
static float row_dot(const struct rt_mat *m, uint32_t i, const float *v)
{
    float s = 0.0f;
    if (m->f != NULL) {
        const float *w = &m->f[i * m->cols];
        for (uint32_t j = 0; j < m->cols; j++) {
            s += w[j] * v[j];
        }
        return s;
    }
    const int8_t *w = &m->q[i * m->cols];
    for (uint32_t j = 0; j < m->cols; j++) {
        s += (float)w[j] * v[j];
    }
    return s * m->scale[i];
}

static void kron_float(const struct rt_context *ctx, const struct rt_kron_params *p, const float *x,
                       const float *acc, float *y)
{
    const struct rt_mat *a = &p->a, *b = &p->b;
    uint32_t m1 = a->rows, n1 = a->cols, m2 = b->rows, n2 = b->cols;
    uint32_t n = n1 * n2;
    float *free_words = ctx->buf;
    const float *xx = x;
    if (n != p->in) {
        for (uint32_t j = 0; j < n; j++) {
            free_words[j] = j < p->in ? x[j] : 0.0f;
        }
        xx = free_words;
        free_words += n;
    }
    if (p->order == RT_KRON_B_FIRST) {
        float *tt = free_words;   /* T transposed: tt[k*n1 + l] = T[l,k] */
        for (uint32_t l = 0; l < n1; l++) {
            for (uint32_t k = 0; k < m2; k++) {
                tt[k * n1 + l] = row_dot(b, k, &xx[l * n2]);
            }
        }
        for (uint32_t i = 0; i < m1; i++) {
            for (uint32_t k = 0; k < m2; k++) {
                uint32_t r = i * m2 + k;
                if (r < p->out) {
                    y[r] = (acc != NULL ? acc[r] : 0.0f) + row_dot(a, i, &tt[k * n1]);
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
                u[i * n2 + j] = row_dot(a, i, &xt[j * n1]);
            }
        }
        for (uint32_t i = 0; i < m1; i++) {
            for (uint32_t k = 0; k < m2; k++) {
                uint32_t r = i * m2 + k;
                if (r < p->out) {
                    y[r] = (acc != NULL ? acc[r] : 0.0f) + row_dot(b, k, &u[i * n2]);
                }
            }
        }
    }
}

void rt_kron_f32(const struct rt_context *ctx, const struct rt_kron_params *p, const float *x,
                 const float *acc, float *y)
{
    kron_float(ctx, p, x, acc, y);
}

void rt_kron_w8(const struct rt_context *ctx, const struct rt_kron_params *p, const float *x,
                const float *acc, float *y)
{
    kron_float(ctx, p, x, acc, y);
}
