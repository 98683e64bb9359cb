/* nucleo-f446re: STM32F446RE, USART2 on PA2/PA3 to the ST-LINK virtual COM
 * port. QEMU netduinoplus2 (STM32F405) runs the same image: same flash base,
 * USART2 at the same address with the same interrupt number (38). */
#ifndef BOARD_CONFIG_H
#define BOARD_CONFIG_H

#define USART2_IRQ 38u

void usart2_irq_handler(void);

#define BOARD_IRQ_COUNT 97
#define BOARD_IRQ_VECTORS [16 + USART2_IRQ] = usart2_irq_handler,

#endif
