/* frdm-k64f: MK64FN1M0VLL12, UART0 on PTB16/PTB17 to the OpenSDA virtual COM
 * port, heartbeat on the RGB LED's green (PTE26) paced by PIT channel 0, its
 * red (PTB22) on a fault. No QEMU machine models this part. */
#ifndef BOARD_CONFIG_H
#define BOARD_CONFIG_H

#include "mk64f.h"

#define UART0_IRQ 31u            /* receive/transmit status; errors are on 32 */
#define PIT0_IRQ 48u

void uart0_irq_handler(void);
void pit0_irq_handler(void);

#define BOARD_IDLE_HOOKS 1

#define BOARD_IRQ_COUNT 86      /* last: ENET error, 85 */
#define BOARD_IRQ_VECTORS [16 + UART0_IRQ] = uart0_irq_handler, [16 + PIT0_IRQ] = pit0_irq_handler,

#endif
