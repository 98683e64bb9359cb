/* What the STM32L4 boards share around their console UART: the HSI16 kernel
 * clock chosen before the PLL, and the clock tree, cycle counter and heartbeat
 * once the receiver's interrupt is on. */
#include "board.h"

#include "board_config.h"
#include "common/counter.h"
#include "common/stm32_tim.h"

static uint32_t core_hz = MSI_RESET_HZ;

uint32_t stm32l4_console_clock(unsigned ccipr_shift)
{
    /* Runs before .data and .bss exist: registers and locals only. */
    RCC_CR |= RCC_CR_HSION;
    uint32_t kernel_hz = HSI_HZ;
    uint32_t sel = RCC_CCIPR_SEL_HSI16;
    uint32_t n = 0;
    while ((RCC_CR & RCC_CR_HSIRDY) == 0u && n < 200000u) {
        n++;
    }
    if ((RCC_CR & RCC_CR_HSIRDY) == 0u) {
        kernel_hz = MSI_RESET_HZ;
        sel = RCC_CCIPR_SEL_SYSCLK;
    }
    RCC_CCIPR = (RCC_CCIPR & ~(3u << ccipr_shift)) | (sel << ccipr_shift);
    return kernel_hz;
}

void stm32l4_board_start(void)
{
    uint32_t pclk1_hz;
    core_hz = clock_init(&pclk1_hz);
    counter_init(true);

    RCC_APB1ENR1 |= RCC_APB1ENR1_TIM2EN;
    (void)RCC_APB1ENR1;
    stm32_heartbeat_start(stm32_tim_clock(core_hz, pclk1_hz));
}

uint32_t board_clock_hz(void)
{
    return core_hz;
}
