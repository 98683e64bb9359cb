/* MPS2 boards exist here only as QEMU machines: SYSCLK is fixed by the FPGA
 * image (QEMU: 25 MHz on AN386/AN500, 20 MHz on AN505) and is the
 * catalog's clock_hz; UART0 runs from the same clock, or from the clock the
 * board names in MPS2_UART_PCLK_HZ (corstone-300: 25 MHz beside a 32 MHz
 * core). There is nothing to bring up but the UART and the counter. */
/* board_config.h first: it may set what mps2.h otherwise defaults
 * (BOARD_COUNTER_PROBE_DWT, MPS2_UART_PCLK_HZ). */
#include "board_config.h"
#include "mps2.h"

#include "board.h"
#include "cmsdk_uart.h"
#include "cortex_m.h"
#include "counter.h"
#include "fw_config.h"

void board_early_init(void)
{
    /* The CMSDK UART holds incoming bytes back while its receiver is off. */
}

void board_init(void)
{
    counter_init(BOARD_COUNTER_PROBE_DWT);
    cmsdk_uart_init(MPS2_UART_BASE, MPS2_UART_PCLK_HZ, FW_BAUD);
    nvic_enable_irq(MPS2_UART_IRQ_A);
    nvic_enable_irq(MPS2_UART_IRQ_B);
}

uint32_t board_clock_hz(void)
{
    return FW_CLOCK_HZ;
}

void board_uart_write(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        cmsdk_uart_putc(MPS2_UART_BASE, data[i]);
    }
}

void board_uart_putc_polled(uint8_t c)
{
    cmsdk_uart_putc(MPS2_UART_BASE, c);
}

void board_fault_indicate(void)
{
}

void mps2_uart_rx_irq_handler(void)
{
    cmsdk_uart_rx_irq(MPS2_UART_BASE);
}
