/* nucleo-l4r5zi: STM32L4R5ZI, LPUART1 on PG7/PG8 to the ST-LINK virtual COM
 * port, heartbeat on LD1 (green, PC7) paced by TIM2, LD3 (red, PB14) on a
 * fault. No QEMU machine models this part. */
#ifndef BOARD_CONFIG_H
#define BOARD_CONFIG_H

#include "common/stm32_heartbeat.h"
#include "stm32l4r5.h"

#define LPUART1_IRQ 70u

void lpuart1_irq_handler(void);

#define BOARD_IDLE_HOOKS 1
#define HEARTBEAT_TIM_BASE TIM2_BASE
#define HEARTBEAT_TIM_IRQ TIM2_IRQ
#define HEARTBEAT_LED_PORT GPIOC_BASE
#define HEARTBEAT_LED_PIN 7u     /* LD1, green */
#define BOARD_UART_BASE LPUART1_BASE   /* the console, to the ST-LINK VCP */
#define FAULT_LED_PORT GPIOB_BASE
#define FAULT_LED_PIN 14u        /* LD3, red */

#define BOARD_IRQ_COUNT 95      /* last: DMAMUX1_OVR, 94 */
#define BOARD_IRQ_VECTORS \
    [16 + LPUART1_IRQ] = lpuart1_irq_handler, [16 + TIM2_IRQ] = stm32_heartbeat_irq_handler,

#endif
