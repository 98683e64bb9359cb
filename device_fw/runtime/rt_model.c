/* The recurrent classifier: cell over the sequence, then the head.
 *
 * Arena layout, in 4-byte words: h [hidden] | c [hidden] | xp [gates·hidden]
 * | hp [gates·hidden] | scratch [the largest kernel buffer, in words]. xp and
 * hp are the input and recurrent layer outputs of the current step. */
#include "rt.h"
#include "rt_dsp.h"

static uint32_t scratch_words(const struct rt_model *m)
{
    size_t most = rt_linear_get_buffer_size(&m->ih, m->dtype);
    size_t b = rt_linear_get_buffer_size(&m->hh, m->dtype);
    most = b > most ? b : most;
    b = rt_linear_get_buffer_size(&m->head, m->dtype);
    most = b > most ? b : most;
    return (uint32_t)((most + 3u) / 4u);
}

size_t rt_arena_bytes(const struct rt_model *m)
{
    uint32_t words = 2u * m->hidden + 2u * (uint32_t)m->gates * m->hidden + scratch_words(m);
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

static void step_f(const struct rt_model *m, float *h, float *c, const float *xp, const float *hp)
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
    float *h = arena, *c = h + n, *xp = c + n, *hp = xp + g;
    struct rt_context ctx = {hp + g, 4u * scratch_words(m)};
    void (*linear)(const struct rt_context *, const struct rt_linear *, const float *, float *) =
        m->dtype == RT_W8 ? rt_linear_w8 : rt_linear_f32;
    for (uint32_t j = 0; j < n; j++) {
        h[j] = 0.0f;
        c[j] = 0.0f;
    }
    for (uint32_t t = 0; t < m->seq_len; t++) {
        linear(&ctx, &m->ih, &x[t * m->input_size], xp);
        linear(&ctx, &m->hh, h, hp);
        step_f(m, h, c, xp, hp);
    }
    linear(&ctx, &m->head, h, out);
    return argmax_f(out, m->classes);
}

/* ---------------------------------------------------------- integer path -- */

/* The table interpolation of rt_act.c, inlined into the cell loops. */
static inline int32_t lut(const uint32_t *table, int32_t x)
{
    uint32_t u = (uint32_t)(rt_ssat16(x) + 32768);
    uint32_t e = table[u >> 7];
    return (int16_t)(e & 0xFFFFu) + (rt_smlatb(e, (int32_t)(u & 127u), 64) >> 7);
}

/* Q.30 product sum -> hidden int8 in RT_HIDDEN_FRAC, rounded, saturated. */
static inline int8_t to_hidden(int32_t q30)
{
    return (int8_t)rt_ssat8((q30 + (1 << 22)) >> 23);
}

static int8_t to_hidden64(int64_t q30)
{
    int64_t v = (q30 + ((int64_t)1 << 22)) >> 23;
    return (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
}

static void step_q(const struct rt_model *m, int8_t *h, int32_t *c, const int32_t *xp, const int32_t *hp)
{
    uint32_t n = m->hidden;
    const int32_t one = 1 << RT_GATE_FRAC;
    const uint32_t *sig = rt_sigmoid_table, *tnh = rt_tanh_table;
    if (m->cell == RT_LSTM) {
        for (uint32_t j = 0; j < n; j++) {
            /* Pre-activations are summed with saturation: the tables saturate to int16 anyway. */
            int32_t i = lut(sig, rt_qadd(xp[j], hp[j]));
            int32_t f = lut(sig, rt_qadd(xp[n + j], hp[n + j]));
            int32_t g = lut(tnh, rt_qadd(xp[2 * n + j], hp[2 * n + j]));
            int32_t o = lut(sig, rt_qadd(xp[3 * n + j], hp[3 * n + j]));
            /* f·c is Q.26 (15 + 11); i·g is Q.30, brought to Q.26. Both below 2^30. */
            int32_t acc = f * c[j] + ((i * g + 8) >> 4);
            int32_t cj = rt_ssat16((acc + (1 << 14)) >> 15);
            c[j] = cj;
            /* tanh takes RT_PRE_FRAC: the cell state is one bit coarser. */
            h[j] = to_hidden(o * lut(tnh, rt_ssat16(cj * 2)));
        }
    } else if (m->cell == RT_GRU) {
        for (uint32_t j = 0; j < n; j++) {
            int32_t r = lut(sig, rt_qadd(xp[j], hp[j]));
            int32_t z = lut(sig, rt_qadd(xp[n + j], hp[n + j]));
            int64_t rh = ((int64_t)r * hp[2 * n + j] + (1 << 14)) >> 15;
            int32_t g = lut(tnh, rt_sat32((int64_t)xp[2 * n + j] + rh));
            int32_t hq = (int32_t)h[j] * (1 << (RT_GATE_FRAC - RT_HIDDEN_FRAC));   /* Q.7 -> Q.15 */
            h[j] = to_hidden((one - z) * g + z * hq);
        }
    } else {
        for (uint32_t j = 0; j < n; j++) {
            int32_t pre = rt_qadd(xp[j], hp[j]);
            int32_t z = lut(sig, rt_qadd(pre, m->fg_bias_z_q[j]));
            int32_t g = lut(tnh, rt_qadd(pre, m->fg_bias_h_q[j]));
            int64_t coef = (((int64_t)m->fg_zeta_q * (one - z) + (1 << 14)) >> 15) + m->fg_nu_q;
            int64_t hq = (int64_t)h[j] * (1 << (RT_GATE_FRAC - RT_HIDDEN_FRAC));
            h[j] = to_hidden64(coef * g + (int64_t)z * hq);
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
    int32_t *c = arena + n, *xp = c + n, *hp = xp + g;
    struct rt_context ctx = {hp + g, 4u * scratch_words(m)};
    for (uint32_t j = 0; j < n; j++) {
        h[j] = 0;
        c[j] = 0;
    }
    for (uint32_t t = 0; t < m->seq_len; t++) {
        rt_linear_s8(&ctx, &m->ih, &x[t * m->input_size], xp);
        rt_linear_s8(&ctx, &m->hh, h, hp);
        step_q(m, h, c, xp, hp);
    }
    rt_linear_s8(&ctx, &m->head, h, out);
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
