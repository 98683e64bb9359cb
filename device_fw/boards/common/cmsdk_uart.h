/* Arm CMSDK APB UART (the MPS2 FPGA images' UARTs): one-byte buffers, no FIFO. */
#ifndef BOARDS_COMMON_CMSDK_UART_H
#define BOARDS_COMMON_CMSDK_UART_H

#include <stdint.h>

/* Enable transmit, receive and the receive interrupt; BAUDDIV = pclk / baud. */
void cmsdk_uart_init(uintptr_t base, uint32_t pclk_hz, uint32_t baud);

void cmsdk_uart_putc(uintptr_t base, uint8_t c);

/* Body of the receive interrupt: hands every waiting byte to uart_rx_push. */
void cmsdk_uart_rx_irq(uintptr_t base);

#endif
