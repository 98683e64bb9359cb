/* An STM32 general-purpose timer (TIM2 on every STM32 board here) as a
 * free-running period marker for the heartbeat LED: it sets its update flag
 * once per period, whatever the core does, and its interrupt only ever wakes
 * the core from board_wait_for_input (see uart_rx.h, idle hooks). */
#ifndef BOARDS_COMMON_STM32_TIM_H
#define BOARDS_COMMON_STM32_TIM_H

#include <stdbool.h>

#include "cortex_m.h"

#define TIM_CR1(base) REG32((base) + 0x00u)
#define TIM_DIER(base) REG32((base) + 0x0Cu)
#define TIM_SR(base) REG32((base) + 0x10u)
#define TIM_EGR(base) REG32((base) + 0x14u)
#define TIM_PSC(base) REG32((base) + 0x28u)
#define TIM_ARR(base) REG32((base) + 0x2Cu)
#define TIM_CR1_CEN (1u << 0)
#define TIM_DIER_UIE (1u << 0)
#define TIM_SR_UIF (1u << 0)
#define TIM_EGR_UG (1u << 0)

#define STM32_TIM_TICK_HZ 10000u

/* Count at 10 kHz from the timer's kernel clock (the APB clock, doubled when
 * the APB prescaler divides) and flag an update every period_ms. */
static inline void stm32_tim_start(uintptr_t base, uint32_t tim_hz, uint32_t period_ms)
{
    uint32_t psc = tim_hz / STM32_TIM_TICK_HZ;
    TIM_CR1(base) = 0;
    TIM_PSC(base) = (psc == 0u ? 1u : psc > 0x10000u ? 0x10000u : psc) - 1u;
    TIM_ARR(base) = period_ms * (STM32_TIM_TICK_HZ / 1000u) - 1u;
    TIM_EGR(base) = TIM_EGR_UG;   /* load the prescaler now, not after the first period */
    TIM_SR(base) = 0;             /* ... which also set the update flag */
    TIM_DIER(base) = TIM_DIER_UIE;
    TIM_CR1(base) = TIM_CR1_CEN;
}

/* True once per elapsed period (the flag is cleared on the way). */
static inline bool stm32_tim_take_update(uintptr_t base)
{
    if ((TIM_SR(base) & TIM_SR_UIF) == 0u) {
        return false;
    }
    TIM_SR(base) = ~TIM_SR_UIF;   /* rc_w0: writing 1 leaves the other flags alone */
    return true;
}

/* Timer kernel clock from its APB clock: x2 whenever the APB prescaler is not 1. */
static inline uint32_t stm32_tim_clock(uint32_t hclk, uint32_t pclk)
{
    return pclk < hclk ? 2u * pclk : pclk;
}

#endif
