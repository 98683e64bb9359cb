/* corstone-300: Arm Corstone-300 (SSE-300 subsystem, Cortex-M55) as the MPS3
 * AN547 FPGA image lays it out. One image runs on QEMU mps3-an547 and on Arm's
 * FVP_Corstone_SSE-300_Ethos-U55/-U65; the core runs in Secure state as it
 * comes out of reset, so memory and UART0 are reached through their Secure
 * aliases (address bit 28 set):
 *
 *   ITCM   0x10000000  512 KiB  code, vectors (Non-secure alias 0x00000000, where the core boots)
 *   DTCM   0x30000000  512 KiB  stack, data, tensors (Non-secure alias 0x20000000)
 *   UART0  0x59303000           CMSDK APB UART (Non-secure alias 0x49303000), QEMU serial 0,
 *                               the FVP's mps3_board.uart0 / telnetterminal0
 *
 * The core clock is 32 MHz; the APB peripherals, UART0 included, run at
 * 25 MHz. */
#ifndef BOARD_CONFIG_H
#define BOARD_CONFIG_H

/* QEMU answers the DWT as read-as-zero, so the probe fails there and the
 * calibrated SysTick counts instructions; on the FVP (or an MPS3 running
 * AN547) a DWT cycle counter that runs is used. The host labels whatever an
 * FVP counts as FVP cycles (harness/targets/fvp.py). */
#define BOARD_COUNTER_PROBE_DWT 1
#define MPS2_UART_PCLK_HZ 25000000u

#include "common/mps2.h"

#define MPS2_UART_BASE 0x59303000u
/* UART0's interrupt pair: 33 and 34 (TX and RX in QEMU's sources; the AN547
 * documentation lists RX first). Only the receive interrupt is enabled in the
 * UART, and both lines go to the receive handler, so either order works. */
#define MPS2_UART_IRQ_A 33u
#define MPS2_UART_IRQ_B 34u

/* The SSE-300's 32 internal interrupts and the AN547's 96 expansion lines. */
#define BOARD_IRQ_COUNT 128
#endif
