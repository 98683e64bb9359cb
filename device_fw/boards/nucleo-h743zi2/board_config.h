/* nucleo-h743zi2: STM32H743ZI (Cortex-M7), USART3 on PD8/PD9 to the ST-LINK
 * virtual COM port, heartbeat on LD1 (green, PB0) paced by TIM2, LD3 (red,
 * PB14) on a fault. No QEMU machine models this part. */
#ifndef BOARD_CONFIG_H
#define BOARD_CONFIG_H

#include "common/stm32_heartbeat.h"
#include "stm32h743.h"

#define USART3_IRQ 39u
#define TIM2_IRQ 28u

void usart3_irq_handler(void);

#define BOARD_IDLE_HOOKS 1
#define HEARTBEAT_TIM_BASE TIM2_BASE
#define HEARTBEAT_TIM_IRQ TIM2_IRQ
#define HEARTBEAT_LED_PORT GPIOB_BASE
#define HEARTBEAT_LED_PIN 0u     /* LD1, green */
#define BOARD_UART_BASE USART3_BASE   /* the console, to the ST-LINK VCP */
#define FAULT_LED_PORT GPIOB_BASE
#define FAULT_LED_PIN 14u        /* LD3, red */

#define BOARD_IRQ_COUNT 150     /* last: WAKEUP_PIN, 149 */
#define BOARD_IRQ_VECTORS \
    [16 + USART3_IRQ] = usart3_irq_handler, [16 + TIM2_IRQ] = stm32_heartbeat_irq_handler,

#endif
