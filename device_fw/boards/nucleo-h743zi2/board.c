/* NUCLEO-H743ZI2: USART3 (PD8 TX, PD9 RX, AF7) to the ST-LINK virtual COM
 * port, clocked by HSI's kernel output so its baud rate is the same before and
 * after the PLL comes up; instruction and data caches on; LD1 blinks while
 * idle (common/stm32_heartbeat.h), LD3 lights on a fault; DWT cycle counter. */
#include "board.h"

#include "board_config.h"
#include "common/cm7_cache.h"
#include "common/counter.h"
#include "common/stm32_gpio.h"
#include "common/stm32_tim.h"
#include "common/stm32_usart.h"
#include "fw_config.h"

#define USART_TX_PIN 8u
#define USART_RX_PIN 9u
#define USART_AF 7u

static uint32_t core_hz = HSI_HZ;

void board_early_init(void)
{
    /* Runs before .data and .bss exist: registers and locals only. The core
     * runs from HSI (64 MHz) out of reset; its kernel clock feeds USART3. */
    RCC_AHB4ENR |= RCC_AHB4ENR_GPIOBEN | RCC_AHB4ENR_GPIODEN;
    RCC_APB1LENR |= RCC_APB1LENR_USART3EN;
    (void)RCC_APB1LENR;                      /* let the enables take effect */
    RCC_CR |= RCC_CR_HSIKERON;
    RCC_D2CCIP2R = (RCC_D2CCIP2R & ~RCC_D2CCIP2R_USART234578SEL_MASK) | RCC_D2CCIP2R_USART_HSI_KER;

    gpio_output(HEARTBEAT_LED_PORT, HEARTBEAT_LED_PIN);
    gpio_output(FAULT_LED_PORT, FAULT_LED_PIN);
    gpio_alternate(GPIOD_BASE, USART_TX_PIN, USART_AF, 0);
    gpio_alternate(GPIOD_BASE, USART_RX_PIN, USART_AF, 1);
    stm32_usart_open(USART3_BASE, stm32_usart_brr(HSI_HZ >> RCC_CR_HSIDIV(RCC_CR), FW_BAUD));
}

void board_init(void)
{
    cm7_icache_enable();
    cm7_dcache_enable();

    /* The receiver is already on (board_early_init); from now on the
     * interrupt empties it. */
    stm32_usart_enable_rx_irq(USART3_BASE);
    nvic_enable_irq(USART3_IRQ);

    struct clocks clocks;
    clock_init(&clocks);
    core_hz = clocks.cpu_hz;
    counter_init(true);

    RCC_APB1LENR |= RCC_APB1LENR_TIM2EN;
    (void)RCC_APB1LENR;
    stm32_heartbeat_start(stm32_tim_clock(clocks.hclk_hz, clocks.pclk1_hz));
}

uint32_t board_clock_hz(void)
{
    return core_hz;
}

void usart3_irq_handler(void)
{
    stm32_usart_rx_irq(USART3_BASE);
}
