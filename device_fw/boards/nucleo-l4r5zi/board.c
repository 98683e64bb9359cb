/* NUCLEO-L4R5ZI: LPUART1 (PG7 TX, PG8 RX, AF8) to the ST-LINK virtual COM
 * port, clocked by HSI16 so its baud rate is the same before and after the
 * PLL comes up; LD1 blinks while idle (common/stm32_heartbeat.h), LD3 lights
 * on a fault; DWT cycle counter. Port G is powered from VDDIO2, which the PWR
 * block keeps isolated until PWR_CR2.IOSV says it is valid. */
#include "board.h"

#include "board_config.h"
#include "common/stm32_gpio.h"
#include "common/stm32_usart.h"
#include "fw_config.h"

#define LPUART_TX_PIN 7u
#define LPUART_RX_PIN 8u
#define LPUART_AF 8u

void board_early_init(void)
{
    /* Runs before .data and .bss exist: registers and locals only. */
    RCC_APB1ENR1 |= RCC_APB1ENR1_PWREN;
    RCC_AHB2ENR |= RCC_AHB2ENR_GPIOBEN | RCC_AHB2ENR_GPIOCEN | RCC_AHB2ENR_GPIOGEN;
    RCC_APB1ENR2 |= RCC_APB1ENR2_LPUART1EN;
    (void)RCC_APB1ENR2;                      /* let the enables take effect */
    PWR_CR2 |= PWR_CR2_IOSV;

    gpio_output(HEARTBEAT_LED_PORT, HEARTBEAT_LED_PIN);
    gpio_output(FAULT_LED_PORT, FAULT_LED_PIN);
    gpio_alternate(GPIOG_BASE, LPUART_TX_PIN, LPUART_AF, 0);
    gpio_alternate(GPIOG_BASE, LPUART_RX_PIN, LPUART_AF, 1);

    uint32_t kernel_hz = stm32l4_console_clock(RCC_CCIPR_LPUART1SEL_SHIFT);
    stm32_usart_open(LPUART1_BASE, stm32_lpuart_brr(kernel_hz, FW_BAUD));
}

void board_init(void)
{
    /* The receiver is already on (board_early_init); from now on the
     * interrupt empties it. */
    stm32_usart_enable_rx_irq(LPUART1_BASE);
    nvic_enable_irq(LPUART1_IRQ);
    stm32l4_board_start();
}

void lpuart1_irq_handler(void)
{
    stm32_usart_rx_irq(LPUART1_BASE);
}
