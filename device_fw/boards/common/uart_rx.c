#include "uart_rx.h"

#include "board.h"
#include "board_config.h"
#include "cortex_m.h"

#ifndef BOARD_IDLE_HOOKS
#define BOARD_IDLE_HOOKS 0
#endif

_Static_assert((UART_RX_RING_SIZE & (UART_RX_RING_SIZE - 1u)) == 0u, "ring size must be a power of two");

static volatile uint8_t ring[UART_RX_RING_SIZE];
static volatile uint32_t head;   /* written by the interrupt only */
static volatile uint32_t tail;   /* written by the main loop only */
volatile uint32_t uart_rx_dropped;

void uart_rx_push(uint8_t byte)
{
    uint32_t h = head;
    if (h - tail == UART_RX_RING_SIZE) {
        uart_rx_dropped++;
        return;
    }
    ring[h & (UART_RX_RING_SIZE - 1u)] = byte;
    head = h + 1u;
}

int board_uart_read(void)
{
    uint32_t t = tail;
    if (t == head) {
        return -1;
    }
    uint8_t byte = ring[t & (UART_RX_RING_SIZE - 1u)];
    tail = t + 1u;
    return byte;
}

void board_wait_for_input(void)
{
    /* With interrupts masked, a byte arriving after the check still ends the
     * WFI (it pends), so no wake-up is lost. */
    irq_disable();
    if (tail == head) {
#if BOARD_IDLE_HOOKS
        board_idle_enter();
#endif
        wait_for_interrupt();
#if BOARD_IDLE_HOOKS
        board_idle_exit();
#endif
    }
    irq_enable();
}
