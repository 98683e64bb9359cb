/* Receive ring between a UART interrupt (producer) and the main loop
 * (consumer). It also implements board_uart_read and board_wait_for_input for
 * every board. */
#ifndef BOARDS_COMMON_UART_RX_H
#define BOARDS_COMMON_UART_RX_H

#include <stdint.h>

/* Bytes the ring holds: two maximum frames, so a host that sends a request
 * while the previous reply is still going out never overruns it. */
#define UART_RX_RING_SIZE 4096u

/* From the receive interrupt only. */
void uart_rx_push(uint8_t byte);

/* Bytes dropped because the ring was full (for a debugger). */
extern volatile uint32_t uart_rx_dropped;

#endif
