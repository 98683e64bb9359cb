/* Board support shared by the Arm MPS2 FPGA images that QEMU models (AN386,
 * AN500, AN505). Each qemu board's board_config.h says where UART0 is and
 * which interrupt lines it has. */
#ifndef BOARDS_COMMON_MPS2_H
#define BOARDS_COMMON_MPS2_H

void mps2_uart_rx_irq_handler(void);

#endif
