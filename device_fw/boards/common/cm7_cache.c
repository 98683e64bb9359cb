#include "cm7_cache.h"

#include <stdint.h>

#include "cortex_m.h"

/* CCSIDR fields of the selected cache */
#define CCSIDR_LINE_SIZE(x) ((x) & 0x7u)                  /* log2(words per line) - 2 */
#define CCSIDR_WAYS(x) ((((x) >> 3) & 0x3FFu) + 1u)
#define CCSIDR_SETS(x) ((((x) >> 13) & 0x7FFFu) + 1u)

static inline void barrier(void)
{
    __asm volatile("dsb\n\tisb" ::: "memory");
}

void cm7_icache_enable(void)
{
    if ((SCB_CCR & SCB_CCR_IC) != 0u) {
        return;
    }
    barrier();
    SCB_ICIALLU = 0u;                 /* invalidate the whole instruction cache */
    barrier();
    SCB_CCR |= SCB_CCR_IC;
    barrier();
}

void cm7_dcache_enable(void)
{
    if ((SCB_CCR & SCB_CCR_DC) != 0u) {
        return;
    }
    SCB_CSSELR = 0u;                  /* level 1, data cache */
    __asm volatile("dsb" ::: "memory");
    uint32_t ccsidr = SCB_CCSIDR;
    uint32_t sets = CCSIDR_SETS(ccsidr);
    uint32_t ways = CCSIDR_WAYS(ccsidr);
    uint32_t set_shift = CCSIDR_LINE_SIZE(ccsidr) + 4u;   /* log2(line bytes) */
    /* The way index sits in the top bits of DCISW: 32 - log2(ways). */
    uint32_t way_shift = ways > 1u ? (uint32_t)__builtin_clz(ways - 1u) : 0u;
    for (uint32_t set = 0; set < sets; set++) {
        for (uint32_t way = 0; way < ways; way++) {
            SCB_DCISW = (way << way_shift) | (set << set_shift);
        }
    }
    __asm volatile("dsb" ::: "memory");
    SCB_CCR |= SCB_CCR_DC;
    barrier();
}
