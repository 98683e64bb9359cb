/* The AN385-family FPGA images (AN386 Cortex-M4F, AN500 Cortex-M7) share one
 * peripheral map: CMSDK UART0 at 0x40004000, QEMU serial 0. */
#ifndef MPS2_AN38X_H
#define MPS2_AN38X_H

#include "common/mps2.h"

#define MPS2_UART_BASE 0x40004000u
/* UART0's receive and transmit interrupts (QEMU 7.2: RX 0, TX 1) both go to
 * the receive handler. Only the receive interrupt is enabled in the UART, so
 * the image works whichever line of the pair a QEMU version wires it to. */
#define MPS2_UART_IRQ_A 0u
#define MPS2_UART_IRQ_B 1u

#define BOARD_IRQ_COUNT 48
#endif
