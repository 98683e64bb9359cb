/* NUCLEO-F446RE: USART2 (PA2 TX, PA3 RX, AF7) to the ST-LINK virtual COM
 * port, LD2 on PA5 blinking while idle (common/stm32_heartbeat.h) and lit
 * steady on a fault, DWT cycle counter when the core runs it. QEMU
 * netduinoplus2 runs this image unmodified (USART2 = QEMU serial 1). */
#include "board.h"

#include "board_config.h"
#include "common/counter.h"
#include "common/stm32_heartbeat.h"
#include "common/stm32_tim.h"
#include "common/uart_rx.h"
#include "fw_config.h"
#include "stm32f446.h"

static uint32_t core_hz = HSI_HZ;
static uint32_t usart_hz;

static void gpio_init(void)
{
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIOAEN;
    (void)RCC_AHB1ENR;
    /* PA2, PA3: alternate function 7 (USART2); PA5: output (LD2). */
    GPIOA_AFRL = (GPIOA_AFRL & ~((0xFu << 8) | (0xFu << 12))) | (7u << 8) | (7u << 12);
    GPIOA_OSPEEDR |= (2u << 4) | (2u << 6);
    GPIOA_PUPDR = (GPIOA_PUPDR & ~(3u << 6)) | (1u << 6);           /* pull-up on RX */
    GPIOA_BSRR = 1u << (5 + 16);                                   /* LD2 off */
    GPIOA_MODER = (GPIOA_MODER & ~((3u << 4) | (3u << 6) | (3u << 10))) | (2u << 4) | (2u << 6) | (1u << 10);
}

static uint32_t brr_for(uint32_t pclk)
{
    /* Oversampling by 16: BRR holds pclk / baud in 12.4 fixed point. */
    return (pclk + FW_BAUD / 2u) / FW_BAUD;
}

/* Receiver and transmitter on at HSI speed, no interrupt yet. */
static void usart2_open(void)
{
    RCC_APB1ENR |= RCC_APB1ENR_USART2EN;
    (void)RCC_APB1ENR;
    USART2_CR1 = 0;
    USART2_BRR = brr_for(HSI_HZ);
    USART2_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;
}

void board_early_init(void)
{
    /* QEMU's USART drops what arrives while the receiver is off, and the host
     * starts sending the moment the emulator runs. Once on, the first byte
     * waits in DR and QEMU holds back the rest until it is read. */
    gpio_init();
    usart2_open();
}

static void usart2_set_clock(uint32_t pclk)
{
    if (pclk == usart_hz) {
        return;
    }
    for (uint32_t n = 0; (USART2_SR & USART_SR_TC) == 0u && n < 1000000u; n++) {
    }
    USART2_CR1 &= ~USART_CR1_UE;
    USART2_BRR = brr_for(pclk);
    USART2_CR1 |= USART_CR1_UE;
    usart_hz = pclk;
}

void board_init(void)
{
    /* The receiver is already on (board_early_init); from now on the interrupt
     * empties it. Its baud rate is set again once the clock is known. */
    usart_hz = HSI_HZ;
    USART2_CR1 |= USART_CR1_RXNEIE;
    nvic_enable_irq(USART2_IRQ);

    uint32_t apb1_hz;
    core_hz = clock_init(&apb1_hz);
    usart2_set_clock(apb1_hz);
    counter_init(true);

    RCC_APB1ENR |= RCC_APB1ENR_TIM2EN;
    (void)RCC_APB1ENR;
    stm32_heartbeat_start(stm32_tim_clock(core_hz, apb1_hz));
}

uint32_t board_clock_hz(void)
{
    return core_hz;
}

void board_uart_putc_polled(uint8_t c)
{
    for (uint32_t n = 0; (USART2_SR & USART_SR_TXE) == 0u && n < 1000000u; n++) {
    }
    USART2_DR = c;
}

void board_uart_write(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        board_uart_putc_polled(data[i]);
    }
}

void board_fault_indicate(void)
{
    GPIOA_BSRR = 1u << 5;   /* LD2 on */
}

void usart2_irq_handler(void)
{
    for (;;) {
        uint32_t sr = USART2_SR;
        if ((sr & (USART_SR_RXNE | USART_SR_ORE)) == 0u) {
            break;
        }
        uint8_t byte = (uint8_t)USART2_DR;   /* SR then DR clears RXNE and ORE */
        if ((sr & USART_SR_RXNE) != 0u) {
            uart_rx_push(byte);
        }
    }
}
