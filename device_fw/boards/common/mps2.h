/* Board support shared by the Arm MPS2 FPGA images that QEMU models (AN386,
 * AN500, AN505) and the MPS3 Corstone-300 image (AN547, and Arm's
 * Corstone-300 FVP). Each board's board_config.h says where UART0 is and
 * which interrupt lines it has. */
#ifndef BOARDS_COMMON_MPS2_H
#define BOARDS_COMMON_MPS2_H

void mps2_uart_rx_irq_handler(void);

/* Both lines of UART0's interrupt pair go to the receive handler (only the
 * receive interrupt is enabled in the UART), so the image works whichever
 * line a QEMU version raises. Each board_config.h defines the pair. */
#define BOARD_IRQ_VECTORS \
    [16 + MPS2_UART_IRQ_A] = mps2_uart_rx_irq_handler, [16 + MPS2_UART_IRQ_B] = mps2_uart_rx_irq_handler,

#ifndef BOARD_COUNTER_PROBE_DWT
#define BOARD_COUNTER_PROBE_DWT 0     /* QEMU has no DWT: always the calibrated SysTick */
#endif

/* The clock UART0's baud divisor is computed from: the core clock on the MPS2
 * images; a board whose peripherals run from another clock defines it. */
#ifndef MPS2_UART_PCLK_HZ
#define MPS2_UART_PCLK_HZ FW_CLOCK_HZ
#endif

#endif
