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

/* Optional idle hooks. A board whose board_config.h defines
 * BOARD_IDLE_HOOKS to 1 provides both; board_wait_for_input calls them with
 * interrupts masked, right before and right after its sleep, and only when the
 * ring is empty. The real boards use them for a heartbeat LED: enter toggles
 * the LED when a timer says a half period has passed and lets that timer wake
 * the sleep; exit takes the timer's wake-up back, so the timer never
 * interrupts a request that is being served (or timed). */
void board_idle_enter(void);
void board_idle_exit(void);

#endif
