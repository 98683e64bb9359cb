#include "stm32_usart.h"

#include "cortex_m.h"
#include "uart_rx.h"

#define USART_CR1(base) REG32((base) + 0x00u)
#define USART_CR2(base) REG32((base) + 0x04u)
#define USART_CR3(base) REG32((base) + 0x08u)
#define USART_BRR(base) REG32((base) + 0x0Cu)
#define USART_ISR(base) REG32((base) + 0x1Cu)
#define USART_ICR(base) REG32((base) + 0x20u)
#define USART_RDR(base) REG32((base) + 0x24u)
#define USART_TDR(base) REG32((base) + 0x28u)

#define CR1_UE (1u << 0)
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define CR1_RXNEIE (1u << 5)
#define ISR_PE (1u << 0)
#define ISR_FE (1u << 1)
#define ISR_NE (1u << 2)
#define ISR_ORE (1u << 3)
#define ISR_RXNE (1u << 5)
#define ISR_TXE (1u << 7)
#define ISR_ERRORS (ISR_PE | ISR_FE | ISR_NE | ISR_ORE)   /* ICR clears the same bits */

void stm32_usart_open(uintptr_t base, uint32_t brr)
{
    USART_CR1(base) = 0;        /* BRR and the frame format only change while UE is 0 */
    USART_CR2(base) = 0;        /* 1 stop bit */
    USART_CR3(base) = 0;
    USART_BRR(base) = brr;
    USART_ICR(base) = ISR_ERRORS;
    USART_CR1(base) = CR1_UE | CR1_TE | CR1_RE;
}

void stm32_usart_enable_rx_irq(uintptr_t base)
{
    USART_CR1(base) |= CR1_RXNEIE;
}

void stm32_usart_putc(uintptr_t base, uint8_t c)
{
    for (uint32_t n = 0; (USART_ISR(base) & ISR_TXE) == 0u && n < 1000000u; n++) {
    }
    USART_TDR(base) = c;
}

void stm32_usart_rx_irq(uintptr_t base)
{
    for (;;) {
        uint32_t isr = USART_ISR(base);
        if ((isr & ISR_ERRORS) != 0u) {
            USART_ICR(base) = isr & ISR_ERRORS;   /* an overrun would otherwise raise the interrupt for ever */
        }
        if ((isr & ISR_RXNE) == 0u) {
            return;
        }
        uart_rx_push((uint8_t)USART_RDR(base));   /* reading RDR clears RXNE */
    }
}
