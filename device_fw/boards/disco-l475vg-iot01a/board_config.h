/* disco-l475vg-iot01a: STM32L475VG, USART1 on PB6/PB7 to the ST-LINK virtual
 * COM port, heartbeat on LD1 (green, PA5) paced by TIM2, LD2 (green, PB14)
 * steady on a fault. No QEMU machine models this part. */
#ifndef BOARD_CONFIG_H
#define BOARD_CONFIG_H

#include "common/stm32_heartbeat.h"
#include "stm32l475.h"

#define USART1_IRQ 37u

void usart1_irq_handler(void);

#define BOARD_IDLE_HOOKS 1
#define HEARTBEAT_TIM_BASE TIM2_BASE
#define HEARTBEAT_TIM_IRQ TIM2_IRQ
#define HEARTBEAT_LED_PORT GPIOA_BASE
#define HEARTBEAT_LED_PIN 5u     /* LD1 */
#define BOARD_UART_BASE USART1_BASE   /* the console, to the ST-LINK VCP */
#define FAULT_LED_PORT GPIOB_BASE
#define FAULT_LED_PIN 14u        /* LD2 */

#define BOARD_IRQ_COUNT 82      /* last: FPU, 81 */
#define BOARD_IRQ_VECTORS \
    [16 + USART1_IRQ] = usart1_irq_handler, [16 + TIM2_IRQ] = stm32_heartbeat_irq_handler,

#endif
