/* Serial output and the fault LED of an STM32 board whose console is one
 * U(S)ART (common/stm32_usart.h): the board's board_config.h names it with
 * BOARD_UART_BASE and the LED with FAULT_LED_PORT / FAULT_LED_PIN. */
#include "board.h"

#include "board_config.h"
#include "common/stm32_gpio.h"
#include "common/stm32_usart.h"

void board_uart_putc_polled(uint8_t c)
{
    stm32_usart_putc(BOARD_UART_BASE, c);
}

void board_uart_write(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        stm32_usart_putc(BOARD_UART_BASE, data[i]);
    }
}

void board_fault_indicate(void)
{
    gpio_write(FAULT_LED_PORT, FAULT_LED_PIN, 1);
}
