/* The one way board code waits for hardware: a bounded poll, so a part that
 * never gets ready (a missing crystal, an emulator without the peripheral)
 * leads to a fallback instead of a hang. */
#ifndef BOARDS_COMMON_BOUNDED_WAIT_H
#define BOARDS_COMMON_BOUNDED_WAIT_H

#include <stdint.h>

/* 1 when (*reg & mask) == want within `polls` reads, else 0. */
static inline int wait_bits(volatile uint32_t *reg, uint32_t mask, uint32_t want, uint32_t polls)
{
    for (uint32_t n = 0; n < polls; n++) {
        if ((*reg & mask) == want) {
            return 1;
        }
    }
    return 0;
}

#endif
