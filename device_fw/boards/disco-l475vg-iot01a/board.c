/* DISCO-L475VG-IOT01A: USART1 (PB6 TX, PB7 RX, AF7) to the ST-LINK virtual
 * COM port, clocked by HSI16 so its baud rate is the same before and after
 * the PLL comes up; LD1 blinks while idle (common/stm32_heartbeat.h), LD2
 * lights on a fault; DWT cycle counter. */
#include "board.h"

#include "board_config.h"
#include "common/stm32_gpio.h"
#include "common/stm32_usart.h"
#include "fw_config.h"

#define USART_TX_PIN 6u
#define USART_RX_PIN 7u
#define USART_AF 7u

void board_early_init(void)
{
    /* Runs before .data and .bss exist: registers and locals only. */
    RCC_AHB2ENR |= RCC_AHB2ENR_GPIOAEN | RCC_AHB2ENR_GPIOBEN;
    RCC_APB2ENR |= RCC_APB2ENR_USART1EN;
    (void)RCC_APB2ENR;                       /* let the enables take effect */

    gpio_output(HEARTBEAT_LED_PORT, HEARTBEAT_LED_PIN);
    gpio_output(FAULT_LED_PORT, FAULT_LED_PIN);
    gpio_alternate(GPIOB_BASE, USART_TX_PIN, USART_AF, 0);
    gpio_alternate(GPIOB_BASE, USART_RX_PIN, USART_AF, 1);

    uint32_t kernel_hz = stm32l4_console_clock(RCC_CCIPR_USART1SEL_SHIFT);
    stm32_usart_open(USART1_BASE, stm32_usart_brr(kernel_hz, FW_BAUD));
}

void board_init(void)
{
    /* The receiver is already on (board_early_init); from now on the
     * interrupt empties it. */
    stm32_usart_enable_rx_irq(USART1_BASE);
    nvic_enable_irq(USART1_IRQ);
    stm32l4_board_start();
}

void usart1_irq_handler(void)
{
    stm32_usart_rx_irq(USART1_BASE);
}
