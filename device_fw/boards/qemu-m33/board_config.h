/* qemu-m33: QEMU mps2-an505 (Cortex-M33F on the SSE-200), running in Secure
 * state as it comes out of reset. UART0 = QEMU serial 0, reached through its
 * Secure alias: the 0x4xxxxxxx address is Non-secure, and its peripheral
 * protection controller admits only Secure accesses after reset. */
#ifndef BOARD_CONFIG_H
#define BOARD_CONFIG_H

#include "common/mps2.h"

#define MPS2_UART_BASE 0x50200000u
/* UART0's receive and transmit interrupts both go to the receive handler.
 * Only the receive interrupt is enabled in the UART; QEMU 7.2 raises it on
 * 32, while later QEMU sources list the pair as TX 32, RX 33. */
#define MPS2_UART_IRQ_A 32u
#define MPS2_UART_IRQ_B 33u

#define BOARD_IRQ_COUNT 96
#endif
