/* What the application needs from a board. Each boards/<name>/ implements it
 * at register level (no vendor HAL); the MPS2 boards share boards/common/. */
#ifndef BOARDS_BOARD_H
#define BOARDS_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* Called by the reset handler before .data and .bss exist (it may use the
 * stack but no variables): for whatever must happen within the first
 * instructions, such as opening a receiver that would otherwise drop bytes. */
void board_early_init(void);

/* Clocks, serial port with its receive interrupt, counter. Called once, first
 * thing in main. */
void board_init(void);

/* The core clock the firmware actually runs at, in Hz. */
uint32_t board_clock_hz(void);

/* Blocking serial output. */
void board_uart_write(const uint8_t *data, size_t len);

/* Next received byte, or -1 when none is waiting. Bytes are taken from the
 * receive interrupt into a ring buffer, so none are lost while the
 * application is busy. */
int board_uart_read(void);

/* Sleep until an interrupt when no received byte is waiting. */
void board_wait_for_input(void);

/* Free-running counter in counter units (see counter.h for the kinds). */
uint32_t board_counter_read(void);
uint8_t board_counter_kind(void);          /* enum proto_counter_kind values */
uint32_t board_counter_resolution(void);   /* counter units per timer tick */

/* Called from the fault handler before it hangs; may light an LED. */
void board_fault_indicate(void);

/* Serial output usable from a fault handler (polled, no interrupts). */
void board_uart_putc_polled(uint8_t c);

#endif
