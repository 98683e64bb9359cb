/* Heartbeat LED of the STM32 boards: blinks (HEARTBEAT_PERIOD_MS on, as long
 * off) while the firmware waits for the host, holds still while a request is
 * served, and is set steady by board_fault_indicate after a fault.
 *
 * A general-purpose timer marks every half period in its update flag; the
 * idle hooks (uart_rx.h) consume the mark and toggle the LED, and let the
 * timer's interrupt end the sleep, but only while the core sleeps: the line is
 * off at the NVIC otherwise, so no timer interrupt ever lands inside a request
 * or a timed inference. (The DWT cycle counter stops while the core sleeps, so
 * it cannot pace the blink.)
 *
 * The board's board_config.h defines HEARTBEAT_TIM_BASE, HEARTBEAT_TIM_IRQ,
 * HEARTBEAT_LED_PORT, HEARTBEAT_LED_PIN, BOARD_IDLE_HOOKS 1, and puts
 * stm32_heartbeat_irq_handler at HEARTBEAT_TIM_IRQ in BOARD_IRQ_VECTORS; its
 * board_init turns the timer's and the LED port's clocks on, makes the pin an
 * output and calls stm32_heartbeat_start. */
#ifndef BOARDS_COMMON_STM32_HEARTBEAT_H
#define BOARDS_COMMON_STM32_HEARTBEAT_H

#include <stdint.h>

#define HEARTBEAT_PERIOD_MS 500u

/* tim_hz: the timer's kernel clock (stm32_tim_clock). */
void stm32_heartbeat_start(uint32_t tim_hz);

/* Only runs if the line is ever left enabled: consumes the mark like the hooks. */
void stm32_heartbeat_irq_handler(void);

#endif
