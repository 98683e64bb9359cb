/* STM32 USART and LPUART with the ISR/ICR/RDR/TDR register layout (L4, L4+,
 * H7; not the F4's SR/DR one): 8N1, FIFO off, polled transmit, receive
 * interrupt into the common ring (uart_rx.c). */
#ifndef BOARDS_COMMON_STM32_USART_H
#define BOARDS_COMMON_STM32_USART_H

#include <stdint.h>

/* BRR for a USART at oversampling 16: kernel clock / baud, rounded. */
static inline uint32_t stm32_usart_brr(uint32_t kernel_hz, uint32_t baud)
{
    return (kernel_hz + baud / 2u) / baud;
}

/* BRR for an LPUART: 256 * kernel clock / baud, rounded (needs 3 x baud <=
 * kernel clock <= 4096 x baud). */
static inline uint32_t stm32_lpuart_brr(uint32_t kernel_hz, uint32_t baud)
{
    return (uint32_t)((((uint64_t)kernel_hz << 8) + baud / 2u) / baud);
}

/* Receiver and transmitter on with this BRR, no interrupt yet. The peripheral
 * clock and the pins must already be set up. */
void stm32_usart_open(uintptr_t base, uint32_t brr);

/* Receive interrupt on (the NVIC line is the board's). */
void stm32_usart_enable_rx_irq(uintptr_t base);

/* Blocking, bounded wait for room. */
void stm32_usart_putc(uintptr_t base, uint8_t c);

/* Body of the receive interrupt: every waiting byte to uart_rx_push; error
 * flags are cleared (a lost byte shows as a bad frame checksum upstream). */
void stm32_usart_rx_irq(uintptr_t base);

#endif
