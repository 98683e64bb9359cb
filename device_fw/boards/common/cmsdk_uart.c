#include "cmsdk_uart.h"

#include "cortex_m.h"
#include "uart_rx.h"

#define UART_DATA(base) REG32((base) + 0x000u)
#define UART_STATE(base) REG32((base) + 0x004u)
#define UART_CTRL(base) REG32((base) + 0x008u)
#define UART_INTCLEAR(base) REG32((base) + 0x00Cu)   /* INTSTATUS when read */
#define UART_BAUDDIV(base) REG32((base) + 0x010u)

#define STATE_TX_FULL (1u << 0)
#define STATE_RX_FULL (1u << 1)
#define STATE_RX_OVERRUN (1u << 3)
#define CTRL_TX_EN (1u << 0)
#define CTRL_RX_EN (1u << 1)
#define CTRL_RX_INT_EN (1u << 3)
#define INT_RX (1u << 1)
#define INT_RX_OVERRUN (1u << 3)

void cmsdk_uart_init(uintptr_t base, uint32_t pclk_hz, uint32_t baud)
{
    uint32_t div = pclk_hz / baud;
    UART_CTRL(base) = 0;
    UART_BAUDDIV(base) = div < 16u ? 16u : div;   /* 16 is the smallest the UART accepts */
    UART_STATE(base) = STATE_RX_OVERRUN;             /* write-one-to-clear */
    UART_INTCLEAR(base) = 0xFu;
    UART_CTRL(base) = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INT_EN;
}

void cmsdk_uart_putc(uintptr_t base, uint8_t c)
{
    for (uint32_t n = 0; (UART_STATE(base) & STATE_TX_FULL) != 0u && n < 10000000u; n++) {
    }
    UART_DATA(base) = c;
}

void cmsdk_uart_rx_irq(uintptr_t base)
{
    /* Clear first, then drain: a byte landing after the last read raises the
     * interrupt again instead of waiting unseen. */
    UART_INTCLEAR(base) = INT_RX | INT_RX_OVERRUN;
    if ((UART_STATE(base) & STATE_RX_OVERRUN) != 0u) {
        UART_STATE(base) = STATE_RX_OVERRUN;
    }
    while ((UART_STATE(base) & STATE_RX_FULL) != 0u) {
        uart_rx_push((uint8_t)UART_DATA(base));
    }
}
