/* Dense weight term: y = acc + W x.
 *
 * s8: x is packed once into the pair layout (rt_dsp.h); four rows are then
 * done per pass, so each pair of x words loaded serves four rows: per four
 * weights of a row, one load, two SXTB16 and two SMLAD. Each row's sum is
 * requantized to RT_PRE_FRAC and added with saturation (QADD). */
#include "rt.h"
#include "rt_dsp.h"

size_t rt_dense_s8_get_buffer_size(const struct rt_dense_params *p)
{
    return 4u * rt_pair_words(p->w.cols);
}

static int32_t start(const int32_t *acc, uint32_t i)
{
    return acc != NULL ? acc[i] : 0;
}

void rt_dense_s8(const struct rt_context *ctx, const struct rt_dense_params *p, const int8_t *x,
                 const int32_t *acc, int32_t *y)
{
    const uint32_t rows = p->w.rows, cols = p->w.cols, groups = cols >> 2;
    const int8_t *w = p->w.q;
    const int32_t *mult = p->acc.mult;
    const uint8_t *shift = p->acc.shift;
    int16_t *xv = ctx->buf;
    rt_pack_s8_row(x, cols, xv);

    uint32_t i = 0;
    for (; i + 4u <= rows; i += 4u) {
        const int8_t *w0 = &w[i * cols], *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
        const int16_t *v = xv;
        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (uint32_t g = groups; g != 0u; g--) {
            uint32_t x02 = rt_load32(v), x13 = rt_load32(v + 2);
            uint32_t a = rt_load32(w0);
            s0 = rt_smlad(rt_sxtb16(a), x02, s0);
            s0 = rt_smlad(rt_sxtb16_ror8(a), x13, s0);
            a = rt_load32(w1);
            s1 = rt_smlad(rt_sxtb16(a), x02, s1);
            s1 = rt_smlad(rt_sxtb16_ror8(a), x13, s1);
            a = rt_load32(w2);
            s2 = rt_smlad(rt_sxtb16(a), x02, s2);
            s2 = rt_smlad(rt_sxtb16_ror8(a), x13, s2);
            a = rt_load32(w3);
            s3 = rt_smlad(rt_sxtb16(a), x02, s3);
            s3 = rt_smlad(rt_sxtb16_ror8(a), x13, s3);
            w0 += 4;
            w1 += 4;
            w2 += 4;
            w3 += 4;
            v += 4;
        }
        for (uint32_t r = 0; r < (cols & 3u); r++) {
            int32_t xr = v[r];
            s0 += w0[r] * xr;
            s1 += w1[r] * xr;
            s2 += w2[r] * xr;
            s3 += w3[r] * xr;
        }
        y[i] = rt_qadd(start(acc, i), rt_requant(s0, mult[i], shift[i]));
        y[i + 1u] = rt_qadd(start(acc, i + 1u), rt_requant(s1, mult[i + 1u], shift[i + 1u]));
        y[i + 2u] = rt_qadd(start(acc, i + 2u), rt_requant(s2, mult[i + 2u], shift[i + 2u]));
        y[i + 3u] = rt_qadd(start(acc, i + 3u), rt_requant(s3, mult[i + 3u], shift[i + 3u]));
    }
    for (; i < rows; i++) {
        int32_t s = rt_dot_s8_pair(&w[i * cols], xv, cols, 0);
        y[i] = rt_qadd(start(acc, i), rt_requant(s, mult[i], shift[i]));
    }
}

/* Float formats: one dot product per row; w8 applies the row's scale once to the sum. */
void rt_dense_f32(const struct rt_dense_params *p, const float *x, const float *acc, float *y)
{
    const uint32_t cols = p->w.cols;
    for (uint32_t i = 0; i < p->w.rows; i++) {
        const float *w = &p->w.f[i * cols];
        float s = 0.0f;
        for (uint32_t j = 0; j < cols; j++) {
            s += w[j] * x[j];
        }
        y[i] = (acc != NULL ? acc[i] : 0.0f) + s;
    }
}

void rt_dense_w8(const struct rt_dense_params *p, const float *x, const float *acc, float *y)
{
    const uint32_t cols = p->w.cols;
    for (uint32_t i = 0; i < p->w.rows; i++) {
        const int8_t *w = &p->w.q[i * cols];
        float s = 0.0f;
        for (uint32_t j = 0; j < cols; j++) {
            s += (float)w[j] * x[j];
        }
        y[i] = (acc != NULL ? acc[i] : 0.0f) + s * p->w.scale[i];
    }
}
