/* Low-rank term: y = acc + U (V x), V (rank x in) first, U (out x rank).
 *
 * s8: x packed once into the pair layout; V x requantized per V row to
 * int16, written in the pair layout that the rows of U are then multiplied
 * with (two SXTB16 and two SMLAD per four values, a multiply per value for
 * the last rank % 4). */
#include "rt.h"
#include "rt_dsp.h"

size_t rt_lowrank_s8_get_buffer_size(const struct rt_lowrank_params *p)
{
    return 4u * (rt_pair_words(p->v.cols) + rt_pair_words(p->v.rows));
}

void rt_lowrank_s8(const struct rt_context *ctx, const struct rt_lowrank_params *p, const int8_t *x,
                   const int32_t *acc, int32_t *y)
{
    const uint32_t rank = p->v.rows, in = p->v.cols;
    int16_t *xv = ctx->buf;
    int16_t *mid = xv + 2u * rt_pair_words(in);
    rt_pack_s8_row(x, in, xv);
    for (uint32_t r = 0; r < rank; r++) {
        int32_t s = rt_dot_s8_pair(&p->v.q[r * in], xv, in, 0);
        mid[rt_pair_index(rank, r)] = (int16_t)rt_ssat16(rt_requant(s, p->mid.mult[r], p->mid.shift[r]));
    }
    if (rank & 1u) {
        mid[rank] = 0;
    }
    for (uint32_t i = 0; i < p->u.rows; i++) {
        int32_t s = rt_requant(rt_dot_s8_pair(&p->u.q[i * rank], mid, rank, 0), p->acc.mult[i], p->acc.shift[i]);
        y[i] = acc != NULL ? rt_qadd(acc[i], s) : s;
    }
}

static size_t lowrank_float_bytes(const struct rt_lowrank_params *p)
{
    return 4u * p->v.rows;
}

size_t rt_lowrank_f32_get_buffer_size(const struct rt_lowrank_params *p)
{
    return lowrank_float_bytes(p);
}

size_t rt_lowrank_w8_get_buffer_size(const struct rt_lowrank_params *p)
{
    return lowrank_float_bytes(p);
}

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

static void lowrank_float(const struct rt_context *ctx, const struct rt_lowrank_params *p, const float *x,
                          const float *acc, float *y)
{
    float *mid = ctx->buf;
    for (uint32_t r = 0; r < p->v.rows; r++) {
        mid[r] = row_dot(&p->v, r, x);
    }
    for (uint32_t i = 0; i < p->u.rows; i++) {
        y[i] = (acc != NULL ? acc[i] : 0.0f) + row_dot(&p->u, i, mid);
    }
}

void rt_lowrank_f32(const struct rt_context *ctx, const struct rt_lowrank_params *p, const float *x,
                    const float *acc, float *y)
{
    lowrank_float(ctx, p, x, acc, y);
}

void rt_lowrank_w8(const struct rt_context *ctx, const struct rt_lowrank_params *p, const float *x,
                   const float *acc, float *y)
{
    lowrank_float(ctx, p, x, acc, y);
}
