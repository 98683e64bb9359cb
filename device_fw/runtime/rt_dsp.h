/* Internal to the runtime: the DSP instructions the integer kernels use, and
 * their exact C equivalents for cores without them and for the host build.
 *
 * Packed int16 vectors ("pair layout"): a vector of n values takes
 * ceil(n/2) words. Each full group of four values v0..v3 is stored as the
 * words (v0 | v2 << 16) and (v1 | v3 << 16), the order SXTB16 and
 * SXTB16 ROR #8 produce from four int8 values; the n % 4 values after the
 * last group follow in natural order, padded with one zero to a whole word.
 * A dot product of two vectors in this layout is a plain sum of SMLADs over
 * the words; an int8 row against one needs two SXTB16 per four values.
 *
 * Integer sums do not depend on their order, so every kernel built on these
 * gives the same values on every core, bit for bit. */
#ifndef RT_DSP_H
#define RT_DSP_H

#include <stdint.h>

#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
#include <arm_acle.h>
#define RT_DSP 1
#else
#define RT_DSP 0
#endif

static inline uint32_t rt_load32(const void *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);   /* unaligned word loads are allowed on M4/M7/M33 */
    return v;
}

static inline void rt_store32(void *p, uint32_t v)
{
    __builtin_memcpy(p, &v, 4);
}

static inline int32_t rt_sat32(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

#if RT_DSP
static inline uint32_t rt_sxtb16(uint32_t v)
{
    return (uint32_t)__sxtb16((int32_t)v);
}

/* Bytes 1 and 3, sign-extended to halfwords (one SXTB16 with its rotation). */
static inline uint32_t rt_sxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static inline int32_t rt_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlad((int32_t)a, (int32_t)b, acc);
}

static inline int32_t rt_smuad(uint32_t a, uint32_t b)
{
    return __smuad((int32_t)a, (int32_t)b);
}

static inline int32_t rt_qadd(int32_t a, int32_t b)
{
    return __qadd(a, b);
}

/* (a >> 16) · (int16)b + acc */
static inline int32_t rt_smlatb(uint32_t a, int32_t b, int32_t acc)
{
    return __smlatb((int32_t)a, b, acc);
}

/* (a·b + 2^31) >> 32: round(a·b / 2^32), halves up. */
static inline int32_t rt_smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline int32_t rt_ssat16(int32_t v)
{
    return __ssat(v, 16);
}

static inline int32_t rt_ssat8(int32_t v)
{
    return __ssat(v, 8);
}
#else
static inline uint32_t rt_sxtb16(uint32_t v)
{
    return (uint32_t)(uint16_t)(int16_t)(int8_t)(v & 0xFFu) | (uint32_t)(uint16_t)(int16_t)(int8_t)(v >> 16) << 16;
}

static inline uint32_t rt_sxtb16_ror8(uint32_t v)
{
    return rt_sxtb16(v >> 8 | v << 24);
}

static inline int32_t rt_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    int64_t s = (int64_t)acc + (int32_t)(int16_t)a * (int32_t)(int16_t)b
                + (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)(b >> 16);
    return (int32_t)(uint32_t)s;   /* SMLAD wraps (and sets Q); the kernels never overflow */
}

static inline int32_t rt_smuad(uint32_t a, uint32_t b)
{
    return rt_smlad(a, b, 0);
}

static inline int32_t rt_qadd(int32_t a, int32_t b)
{
    return rt_sat32((int64_t)a + b);
}

static inline int32_t rt_smlatb(uint32_t a, int32_t b, int32_t acc)
{
    return (int32_t)(uint32_t)((int64_t)acc + (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)b);
}

static inline int32_t rt_smmulr(int32_t a, int32_t b)
{
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
}

static inline int32_t rt_ssat16(int32_t v)
{
    return v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v;
}

static inline int32_t rt_ssat8(int32_t v)
{
    return v > INT8_MAX ? INT8_MAX : v < INT8_MIN ? INT8_MIN : v;
}
#endif

/* round(acc · mult / 2^shift), halves rounded up, saturated to int32; shift in [1, 62]. */
static inline int32_t rt_requant(int32_t acc, int32_t mult, uint32_t shift)
{
    if (shift == 32u) {
        return rt_smmulr(acc, mult);
    }
    int64_t p = (int64_t)acc * mult;
    if (shift > 32u) {
        /* Same value from the high word alone: the rounding constant touches
         * only the high word, and the low word cannot carry into the result
         * (|p| < 2^62, so the high word never overflows either). */
        int32_t hi = (int32_t)(p >> 32);
        uint32_t s = shift - 32u;
        return (hi + (int32_t)(1u << (s - 1u))) >> s;
    }
    return rt_sat32((p + ((int64_t)1 << (shift - 1u))) >> shift);
}

/* Words of a pair-layout vector of n values. */
static inline uint32_t rt_pair_words(uint32_t n)
{
    return (n + 1u) / 2u;
}

/* Halfword index of element i of a pair-layout vector of n values. */
static inline uint32_t rt_pair_index(uint32_t n, uint32_t i)
{
    if (i >= (n & ~3u)) {
        return i;
    }
    return (i & ~3u) | ((i & 1u) << 1) | ((i >> 1) & 1u);
}

/* Σ w[i]·v[i], i < n: w int8 (any alignment), v in pair layout. */
static inline int32_t rt_dot_s8_pair(const int8_t *w, const int16_t *v, uint32_t n, int32_t acc)
{
    for (uint32_t g = n >> 2; g != 0u; g--) {
        uint32_t a = rt_load32(w);
        acc = rt_smlad(rt_sxtb16(a), rt_load32(v), acc);
        acc = rt_smlad(rt_sxtb16_ror8(a), rt_load32(v + 2), acc);
        w += 4;
        v += 4;
    }
    for (uint32_t r = 0; r < (n & 3u); r++) {
        acc += (int32_t)w[r] * v[r];
    }
    return acc;
}

/* Σ a[i]·b[i] over two pair-layout vectors of `words` words. */
static inline int32_t rt_dot_pair(const int16_t *a, const int16_t *b, uint32_t words, int32_t acc)
{
    for (; words != 0u; words--) {
        acc = rt_smlad(rt_load32(a), rt_load32(b), acc);
        a += 2;
        b += 2;
    }
    return acc;
}

/* int8 x[i * stride] for i < n (zero where the index reaches `limit`) -> pair layout in v. */
static inline void rt_pack_s8(const int8_t *x, uint32_t stride, uint32_t limit, uint32_t n, int16_t *v)
{
    uint32_t full = n & ~3u;
    if ((n - 1u) * stride < limit) {
        /* No padding: straight copies, the middle two of each group swapped. */
        const int8_t *p = x;
        for (uint32_t i = 0; i < full; i += 4u) {
            v[i] = p[0];
            v[i + 1u] = p[2u * stride];
            v[i + 2u] = p[stride];
            v[i + 3u] = p[3u * stride];
            p += 4u * stride;
        }
        for (uint32_t i = full; i < n; i++) {
            v[i] = *p;
            p += stride;
        }
    } else {
        for (uint32_t i = 0; i < n; i++) {
            uint32_t at = i * stride;
            v[rt_pair_index(n, i)] = at < limit ? x[at] : 0;
        }
    }
    if (n & 1u) {
        v[n] = 0;
    }
}

/* Contiguous int8 x[0:n] -> pair layout in v (two SXTB16 per four values). */
static inline void rt_pack_s8_row(const int8_t *x, uint32_t n, int16_t *v)
{
    uint32_t g = n >> 2;
    for (uint32_t k = 0; k < g; k++) {
        uint32_t a = rt_load32(&x[4u * k]);
        rt_store32(&v[4u * k], rt_sxtb16(a));
        rt_store32(&v[4u * k + 2u], rt_sxtb16_ror8(a));
    }
    for (uint32_t i = 4u * g; i < n; i++) {
        v[i] = x[i];
    }
    if (n & 1u) {
        v[n] = 0;
    }
}

#endif
