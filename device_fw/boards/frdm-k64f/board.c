/* FRDM-K64F: UART0 (PTB16 RX, PTB17 TX, ALT3) to the OpenSDA virtual COM
 * port; RGB LED (active low): green blinks while idle, red lights on a fault;
 * DWT cycle counter. The watchdog runs out of reset and is switched off first
 * thing; the flash configuration field below keeps the part unsecured. */
#include "board.h"

#include <stdbool.h>

#include "board_config.h"
#include "common/counter.h"
#include "common/uart_rx.h"
#include "fw_config.h"

#define UART_RX_PIN 16u                 /* PTB16 */
#define UART_TX_PIN 17u                 /* PTB17 */
#define UART_MUX 3u
#define LED_RED_PIN 22u                 /* PTB22 */
#define LED_GREEN_PIN 26u               /* PTE26 */
#define SW3_PIN 4u                      /* PTA4, NMI_b out of reset */
#define HEARTBEAT_PERIOD_MS 500u

/* Flash configuration field, which the flash controller loads from
 * 0x400-0x40F at every reset (K64 RM, "Flash configuration field
 * description"): backdoor key unused (erased value), FPROT3..0 all ones (no
 * region protected), FSEC 0xFE (SEC = 10: unsecured; FSLACC = 11 factory
 * access granted; MEEN = 11 mass erase allowed; KEYEN = 11 backdoor off), FOPT
 * 0xFF (normal boot, the reset defaults), FEPROT and FDPROT 0xFF (FlexNVM
 * unprotected). An erased FSEC (0xFF) would leave the part secured. */
__attribute__((section(".flash_config"), used))
const uint8_t board_flash_config[16] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,   /* backdoor comparison key */
    0xFF, 0xFF, 0xFF, 0xFF,                           /* FPROT3, FPROT2, FPROT1, FPROT0 */
    0xFE,                                             /* FSEC */
    0xFF,                                             /* FOPT */
    0xFF,                                             /* FEPROT */
    0xFF,                                             /* FDPROT */
};

static uint32_t core_hz;
static bool led_on;
static bool started;

void board_early_init(void)
{
    /* Runs before .data and .bss exist: registers and locals only. The
     * watchdog would reset the part about a second after reset; its unlock
     * sequence is two writes within 20 bus clocks, then the new setting
     * within 256: straight-line stores, nothing in between. */
    WDOG_UNLOCK = WDOG_UNLOCK_KEY1;
    WDOG_UNLOCK = WDOG_UNLOCK_KEY2;
    WDOG_STCTRLH = WDOG_STCTRLH_DISABLED;

    SIM_SCGC5 |= SIM_SCGC5_PORTA | SIM_SCGC5_PORTB | SIM_SCGC5_PORTE;
    /* SW3 sits on the NMI pin; as a plain input, pressing it is harmless. */
    PORT_PCR(PORTA_BASE, SW3_PIN) = PORT_PCR_MUX(1u) | PORT_PCR_PE | PORT_PCR_PS;

    /* LEDs off (high) before they become outputs. */
    GPIO_PSOR(PTB_BASE) = 1u << LED_RED_PIN;
    GPIO_PSOR(PTE_BASE) = 1u << LED_GREEN_PIN;
    PORT_PCR(PORTB_BASE, LED_RED_PIN) = PORT_PCR_MUX(1u);
    PORT_PCR(PORTE_BASE, LED_GREEN_PIN) = PORT_PCR_MUX(1u);
    GPIO_PDDR(PTB_BASE) |= 1u << LED_RED_PIN;
    GPIO_PDDR(PTE_BASE) |= 1u << LED_GREEN_PIN;

    PORT_PCR(PORTB_BASE, UART_RX_PIN) = PORT_PCR_MUX(UART_MUX) | PORT_PCR_PE | PORT_PCR_PS;
    PORT_PCR(PORTB_BASE, UART_TX_PIN) = PORT_PCR_MUX(UART_MUX);
}

/* 8N1 at FW_BAUD: baud = clock / (16 x (SBR + BRFA / 32)). */
static void uart0_open(uint32_t clock_hz)
{
    uint32_t div32 = (2u * clock_hz + FW_BAUD / 2u) / FW_BAUD;   /* 32 x clock / (16 x baud) */
    uint32_t sbr = div32 >> 5;
    UART0_C2 = 0;                       /* the rate only changes with TE and RE off */
    UART0_BDH = (uint8_t)((sbr >> 8) & 0x1Fu);
    UART0_BDL = (uint8_t)(sbr & 0xFFu);   /* takes effect on this write */
    UART0_C4 = (uint8_t)((UART0_C4 & ~UART_C4_BRFA_MASK) | (div32 & UART_C4_BRFA_MASK));
    UART0_C1 = 0;
    UART0_C2 = UART_C2_TE | UART_C2_RE | UART_C2_RIE;
}

static void heartbeat_start(uint32_t bus_hz)
{
    SIM_SCGC6 |= SIM_SCGC6_PIT;
    PIT_MCR = 0;                        /* module on (it must be before any other PIT write) */
    PIT_TCTRL0 = 0;
    PIT_LDVAL0 = bus_hz / 1000u * HEARTBEAT_PERIOD_MS - 1u;
    PIT_TFLG0 = PIT_TFLG_TIF;
    PIT_TCTRL0 = PIT_TCTRL_TIE | PIT_TCTRL_TEN;
    started = true;
}

void board_init(void)
{
    struct clocks clocks;
    clock_init(&clocks);
    core_hz = clocks.core_hz;

    SIM_SCGC4 |= SIM_SCGC4_UART0;
    (void)SIM_SCGC4;
    uart0_open(core_hz);                /* UART0 runs from the core clock */
    nvic_enable_irq(UART0_IRQ);
    counter_init(true);
    heartbeat_start(clocks.bus_hz);
}

uint32_t board_clock_hz(void)
{
    return core_hz;
}

void board_uart_putc_polled(uint8_t c)
{
    for (uint32_t n = 0; (UART0_S1 & UART_S1_TDRE) == 0u && n < 1000000u; n++) {
    }
    UART0_D = c;
}

void board_uart_write(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        board_uart_putc_polled(data[i]);
    }
}

void board_fault_indicate(void)
{
    GPIO_PCOR(PTB_BASE) = 1u << LED_RED_PIN;   /* red on */
}

void uart0_irq_handler(void)
{
    for (;;) {
        uint8_t s1 = UART0_S1;
        if ((s1 & (UART_S1_RDRF | UART_S1_OR)) == 0u) {
            break;
        }
        uint8_t byte = UART0_D;         /* S1 then D clears RDRF and OR */
        if ((s1 & UART_S1_RDRF) != 0u) {
            uart_rx_push(byte);
        }
    }
}

/* Heartbeat: see common/stm32_heartbeat.h for the scheme; here PIT channel 0
 * marks the half periods. */
static void take_period(void)
{
    if ((PIT_TFLG0 & PIT_TFLG_TIF) != 0u) {
        PIT_TFLG0 = PIT_TFLG_TIF;       /* write one to clear */
        led_on = !led_on;
        if (led_on) {
            GPIO_PCOR(PTE_BASE) = 1u << LED_GREEN_PIN;
        } else {
            GPIO_PSOR(PTE_BASE) = 1u << LED_GREEN_PIN;
        }
    }
}

void board_idle_enter(void)
{
    if (!started) {
        return;
    }
    take_period();
    nvic_clear_pending(PIT0_IRQ);
    nvic_enable_irq(PIT0_IRQ);
}

void board_idle_exit(void)
{
    nvic_disable_irq(PIT0_IRQ);         /* interrupts are still masked: the handler never runs */
}

void pit0_irq_handler(void)
{
    take_period();
}
