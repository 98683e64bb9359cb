/* The recurrent classifier: cell over the sequence, then the head.
 *
 * Arena layout, in 4-byte words: h [hidden] | c [hidden] | xp [gates·hidden]
 * | hp [gates·hidden] | scratch [largest term need]. xp and hp are the input
 * and recurrent layer outputs of the current step. */
#include "rt.h"

#include <stdbool.h>

static uint32_t term_scratch(const struct rt_term *t)
{
    if (t->kind == RT_TERM_KRON) {
        uint32_t n = (uint32_t)t->a.cols * t->b.cols;
        uint32_t pad = n != t->in ? n : 0u;
        uint32_t mid = t->order == 1 ? (uint32_t)t->a.cols * t->b.rows : (uint32_t)t->a.rows * t->b.cols;
        uint32_t transposed = t->order == 2 ? n : 0u;   /* X transposed, for contiguous rows */
        return pad + transposed + mid;
    }
    if (t->kind == RT_TERM_LOWRANK) {
        return t->a.rows;
    }
    return 0;
}

static uint32_t layer_scratch(const struct rt_linear *l)
{
    uint32_t most = 0;
    for (uint32_t n = 0; n < l->n_terms; n++) {
        uint32_t s = term_scratch(&l->terms[n]);
        most = s > most ? s : most;
    }
    return most;
}

size_t rt_arena_bytes(const struct rt_model *m)
{
    uint32_t scratch = layer_scratch(&m->ih);
    uint32_t s = layer_scratch(&m->hh);
    scratch = s > scratch ? s : scratch;
    s = layer_scratch(&m->head);
    scratch = s > scratch ? s : scratch;
    uint32_t words = 2u * m->hidden + 2u * (uint32_t)m->gates * m->hidden + scratch;
    return (size_t)words * 4u;
}

size_t rt_input_bytes(const struct rt_model *m)
{
    size_t n = (size_t)m->seq_len * m->input_size;
    return m->dtype == RT_INT8 ? n : n * sizeof(float);
}

size_t rt_output_bytes(const struct rt_model *m)
{
    return (size_t)m->classes * 4u;   /* int32 or float */
}

/* ------------------------------------------------------------ float path -- */

static void step_f(const struct rt_model *m, float *h, float *c, const float *xp, float *hp)
{
    uint32_t n = m->hidden;
    if (m->cell == RT_LSTM) {
        for (uint32_t j = 0; j < n; j++) {
            float i = rt_sigmoidf(xp[j] + hp[j]);
            float f = rt_sigmoidf(xp[n + j] + hp[n + j]);
            float g = rt_tanhf(xp[2 * n + j] + hp[2 * n + j]);
            float o = rt_sigmoidf(xp[3 * n + j] + hp[3 * n + j]);
            c[j] = f * c[j] + i * g;
            h[j] = o * rt_tanhf(c[j]);
        }
    } else if (m->cell == RT_GRU) {
        for (uint32_t j = 0; j < n; j++) {
            float r = rt_sigmoidf(xp[j] + hp[j]);
            float z = rt_sigmoidf(xp[n + j] + hp[n + j]);
            float g = rt_tanhf(xp[2 * n + j] + r * hp[2 * n + j]);
            h[j] = (1.0f - z) * g + z * h[j];
        }
    } else {
        for (uint32_t j = 0; j < n; j++) {
            float pre = xp[j] + hp[j];
            float z = rt_sigmoidf(pre + m->fg_bias_z_f[j]);
            float g = rt_tanhf(pre + m->fg_bias_h_f[j]);
            h[j] = (m->fg_zeta_f * (1.0f - z) + m->fg_nu_f) * g + z * h[j];
        }
    }
}

static int argmax_f(const float *y, uint32_t n)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++) {
        if (y[i] > y[best]) {
            best = i;
        }
    }
    return (int)best;
}

static int infer_f(const struct rt_model *m, const float *x, float *out, float *arena)
{
    uint32_t n = m->hidden, g = (uint32_t)m->gates * n;
    float *h = arena, *c = h + n, *xp = c + n, *hp = xp + g, *scratch = hp + g;
    for (uint32_t j = 0; j < n; j++) {
        h[j] = 0.0f;
        c[j] = 0.0f;
    }
    for (uint32_t t = 0; t < m->seq_len; t++) {
        rt_linear_f(m, &m->ih, &x[t * m->input_size], xp, scratch);
        rt_linear_f(m, &m->hh, h, hp, scratch);
        step_f(m, h, c, xp, hp);
    }
    rt_linear_f(m, &m->head, h, out, scratch);
    return argmax_f(out, m->classes);
}

/* ---------------------------------------------------------- integer path -- */

static int32_t sat16(int32_t v)
{
    return v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v;
}

/* Q.30 product sum -> hidden int8 in RT_HIDDEN_FRAC, rounded, saturated. */
static int8_t to_hidden(int64_t q30)
{
    int64_t v = (q30 + ((int64_t)1 << 22)) >> 23;
    return (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
}

static void step_q(const struct rt_model *m, int8_t *h, int32_t *c, const int32_t *xp, const int32_t *hp)
{
    uint32_t n = m->hidden;
    const int32_t one = 1 << RT_GATE_FRAC;
    if (m->cell == RT_LSTM) {
        for (uint32_t j = 0; j < n; j++) {
            int32_t i = rt_sigmoid_q(xp[j] + hp[j]);
            int32_t f = rt_sigmoid_q(xp[n + j] + hp[n + j]);
            int32_t g = rt_tanh_q(xp[2 * n + j] + hp[2 * n + j]);
            int32_t o = rt_sigmoid_q(xp[3 * n + j] + hp[3 * n + j]);
            /* f·c is Q.26 (15 + 11); i·g is Q.30, brought to Q.26. */
            int32_t acc = f * c[j] + ((i * g + 8) >> 4);
            c[j] = sat16((acc + (1 << 14)) >> 15);
            /* tanh takes RT_PRE_FRAC: the cell state is one bit coarser. */
            int32_t tc = rt_tanh_q(sat16(c[j] * 2));
            h[j] = to_hidden((int64_t)o * tc);
        }
    } else if (m->cell == RT_GRU) {
        for (uint32_t j = 0; j < n; j++) {
            int32_t r = rt_sigmoid_q(xp[j] + hp[j]);
            int32_t z = rt_sigmoid_q(xp[n + j] + hp[n + j]);
            int64_t rh = ((int64_t)r * hp[2 * n + j] + (1 << 14)) >> 15;
            int64_t pre = (int64_t)xp[2 * n + j] + rh;
            int32_t g = rt_tanh_q(pre > INT32_MAX ? INT32_MAX : pre < INT32_MIN ? INT32_MIN : (int32_t)pre);
            int64_t hq = (int64_t)h[j] * (1 << (RT_GATE_FRAC - RT_HIDDEN_FRAC));   /* Q.7 -> Q.15 */
            h[j] = to_hidden((int64_t)(one - z) * g + (int64_t)z * hq);
        }
    } else {
        for (uint32_t j = 0; j < n; j++) {
            int32_t pre = xp[j] + hp[j];
            int32_t z = rt_sigmoid_q(pre + m->fg_bias_z_q[j]);
            int32_t g = rt_tanh_q(pre + m->fg_bias_h_q[j]);
            int64_t coef = (((int64_t)m->fg_zeta_q * (one - z) + (1 << 14)) >> 15) + m->fg_nu_q;
            int64_t hq = (int64_t)h[j] * (1 << (RT_GATE_FRAC - RT_HIDDEN_FRAC));   /* Q.7 -> Q.15 */
            h[j] = to_hidden(coef * g + (int64_t)z * hq);
        }
    }
}

static int argmax_q(const int32_t *y, uint32_t n)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++) {
        if (y[i] > y[best]) {
            best = i;
        }
    }
    return (int)best;
}

static int infer_q(const struct rt_model *m, const int8_t *x, int32_t *out, int32_t *arena)
{
    uint32_t n = m->hidden, g = (uint32_t)m->gates * n;
    int8_t *h = (int8_t *)arena;
    int32_t *c = arena + n, *xp = c + n, *hp = xp + g, *scratch = hp + g;
    for (uint32_t j = 0; j < n; j++) {
        h[j] = 0;
        c[j] = 0;
    }
    for (uint32_t t = 0; t < m->seq_len; t++) {
        rt_linear_q(&m->ih, &x[t * m->input_size], xp, scratch);
        rt_linear_q(&m->hh, h, hp, scratch);
        step_q(m, h, c, xp, hp);
    }
    rt_linear_q(&m->head, h, out, scratch);
    return argmax_q(out, m->classes);
}

int rt_infer(const struct rt_model *m, const void *input, void *output, void *arena, size_t arena_size)
{
    if (arena_size < rt_arena_bytes(m) || ((uintptr_t)arena & 3u) != 0) {
        return RT_ERR_ARENA;
    }
    if (m->cell > RT_FASTGRNN || m->dtype > RT_INT8) {
        return RT_ERR_MODEL;
    }
    if (m->dtype == RT_INT8) {
        return infer_q(m, input, output, arena);
    }
    return infer_f(m, input, output, arena);
}
