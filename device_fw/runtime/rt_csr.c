/* Sparse (CSR) term: y = acc + S x over the stored entries of each row.
 *
 * s8: per stored value one load of the value, one of its column, one of
 * x[column] and a multiply-accumulate, four entries per loop pass; each
 * row's sum is requantized to RT_PRE_FRAC and added with saturation. */
#include "rt.h"
#include "rt_dsp.h"

void rt_csr_s8(const struct rt_csr_params *p, const int8_t *x, const int32_t *acc, int32_t *y)
{
    const int8_t *v = p->values.q;
    const uint16_t *col = p->indices;
    const uint16_t *indptr = p->indptr;
    const int32_t *mult = p->acc.mult;
    const uint8_t *shift = p->acc.shift;
    uint32_t at = indptr[0];
    for (uint32_t i = 0; i < p->out; i++) {
        uint32_t end = indptr[i + 1u];
        if (at == end) {
            /* No entries: the row adds 0. */
            if (acc != y) {
                y[i] = acc != NULL ? acc[i] : 0;
            }
            continue;
        }
        int32_t s0 = 0, s1 = 0;
        for (; at + 4u <= end; at += 4u) {
            s0 += v[at] * x[col[at]];
            s1 += v[at + 1u] * x[col[at + 1u]];
            s0 += v[at + 2u] * x[col[at + 2u]];
            s1 += v[at + 3u] * x[col[at + 3u]];
        }
        for (; at < end; at++) {
            s0 += v[at] * x[col[at]];
        }
        int32_t r = rt_requant(s0 + s1, mult[i], shift[i]);
        y[i] = acc != NULL ? rt_qadd(acc[i], r) : r;
    }
}

static void csr_float(const struct rt_csr_params *p, const float *x, const float *acc, float *y)
{
    const struct rt_mat *v = &p->values;
    for (uint32_t i = 0; i < p->out; i++) {
        float s = 0.0f;
        for (uint32_t k = p->indptr[i]; k < p->indptr[i + 1u]; k++) {
            float w = v->f != NULL ? v->f[k] : (float)v->q[k];
            s += w * x[p->indices[k]];
        }
        y[i] = (acc != NULL ? acc[i] : 0.0f) + (v->f != NULL ? s : s * v->scale[i]);
    }
}

void rt_csr_f32(const struct rt_csr_params *p, const float *x, const float *acc, float *y)
{
    csr_float(p, x, acc, y);
}

void rt_csr_w8(const struct rt_csr_params *p, const float *x, const float *acc, float *y)
{
    csr_float(p, x, acc, y);
}
