/* nucleo-f446re: STM32F446RE, USART2 on PA2/PA3 to the ST-LINK virtual COM
 * port, heartbeat on LD2 (PA5) paced by TIM2. QEMU netduinoplus2 (STM32F405)
 * runs the same image: same flash base, USART2 and TIM2 at the same addresses
 * with the same interrupt numbers (38, 28); its GPIOA is not modelled (writes
 * are ignored), so there the heartbeat runs but lights nothing. */
#ifndef BOARD_CONFIG_H
#define BOARD_CONFIG_H

#include "common/stm32_heartbeat.h"
#include "stm32f446.h"

#define USART2_IRQ 38u
#define TIM2_IRQ 28u

void usart2_irq_handler(void);

#define BOARD_IDLE_HOOKS 1
#define HEARTBEAT_TIM_BASE TIM2_BASE
#define HEARTBEAT_TIM_IRQ TIM2_IRQ
#define HEARTBEAT_LED_PORT GPIOA_BASE
#define HEARTBEAT_LED_PIN 5u   /* LD2, green */

#define BOARD_IRQ_COUNT 97
#define BOARD_IRQ_VECTORS \
    [16 + USART2_IRQ] = usart2_irq_handler, [16 + TIM2_IRQ] = stm32_heartbeat_irq_handler,

#endif
