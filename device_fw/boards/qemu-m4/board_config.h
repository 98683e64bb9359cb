/* qemu-m4: QEMU mps2-an386 (Cortex-M4F), UART0 = QEMU serial 0. */
#ifndef BOARD_CONFIG_H
#define BOARD_CONFIG_H

#include "common/mps2_an38x.h"

#endif
