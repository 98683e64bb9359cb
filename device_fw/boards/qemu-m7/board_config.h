/* qemu-m7: QEMU mps2-an500 (Cortex-M7, double-precision FPU), UART0 = QEMU serial 0. */
#ifndef BOARD_CONFIG_H
#define BOARD_CONFIG_H

#include "common/mps2_an38x.h"

#endif
