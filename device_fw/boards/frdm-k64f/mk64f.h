/* The MK64FN1M0VLL12 registers this board uses (K64 Sub-Family Reference
 * Manual, K64P144M120SF5RM). Many are 8 or 16 bits wide and must be accessed
 * at that width. */
#ifndef FRDM_MK64F_H
#define FRDM_MK64F_H

#include "common/cortex_m.h"

#define REG8(addr) (*(volatile uint8_t *)(uintptr_t)(addr))
#define REG16(addr) (*(volatile uint16_t *)(uintptr_t)(addr))

/* Watchdog: on out of reset; its unlock sequence must not be interrupted. */
#define WDOG_BASE 0x40052000u
#define WDOG_STCTRLH REG16(WDOG_BASE + 0x00u)
#define WDOG_UNLOCK REG16(WDOG_BASE + 0x0Eu)
#define WDOG_UNLOCK_KEY1 0xC520u
#define WDOG_UNLOCK_KEY2 0xD928u
/* STCTRLH reset value 0x01D3 without WDOGEN (bit 0): ALLOWUPDATE, clock
 * source, wait/stop behaviour as they were. */
#define WDOG_STCTRLH_DISABLED 0x01D2u

/* System integration: clock gates and dividers */
#define SIM_SCGC4 REG32(0x40048034u)
#define SIM_SCGC5 REG32(0x40048038u)
#define SIM_SCGC6 REG32(0x4004803Cu)
#define SIM_CLKDIV1 REG32(0x40048044u)
#define SIM_SCGC4_UART0 (1u << 10)
#define SIM_SCGC5_PORTA (1u << 9)
#define SIM_SCGC5_PORTB (1u << 10)
#define SIM_SCGC5_PORTE (1u << 13)
#define SIM_SCGC6_PIT (1u << 23)
#define SIM_CLKDIV1_OUTDIV1(cfg) (((cfg) >> 28) & 0xFu)   /* core/system: divide by value + 1 */
#define SIM_CLKDIV1_OUTDIV2(cfg) (((cfg) >> 24) & 0xFu)   /* bus */
#define SIM_CLKDIV1_VALUE(core, bus, flexbus, flash) \
    ((((core) - 1u) << 28) | (((bus) - 1u) << 24) | (((flexbus) - 1u) << 20) | (((flash) - 1u) << 16))

/* Multipurpose clock generator (8-bit registers) */
#define MCG_BASE 0x40064000u
#define MCG_C1 REG8(MCG_BASE + 0x00u)
#define MCG_C2 REG8(MCG_BASE + 0x01u)
#define MCG_C4 REG8(MCG_BASE + 0x03u)
#define MCG_C5 REG8(MCG_BASE + 0x04u)
#define MCG_C6 REG8(MCG_BASE + 0x05u)
#define MCG_S REG8(MCG_BASE + 0x06u)
#define MCG_C7 REG8(MCG_BASE + 0x0Cu)
#define MCG_C1_CLKS_MASK (0x3u << 6)
#define MCG_C1_CLKS_FLLPLL (0x0u << 6)
#define MCG_C1_CLKS_EXTERNAL (0x2u << 6)
#define MCG_C1_FRDIV(n) ((n) << 3)
#define MCG_C1_IREFS (1u << 2)
#define MCG_C2_RANGE_VERY_HIGH (0x2u << 4)      /* reference above 8 MHz; EREFS0 0: a clock, not a crystal */
#define MCG_C4_DMX32 (1u << 7)
#define MCG_C4_DRST_DRS(c4) (((c4) >> 5) & 0x3u)
#define MCG_C5_PLLCLKEN0 (1u << 6)              /* PLL on whatever the mode */
#define MCG_C5_PRDIV0(c5) ((c5) & 0x1Fu)        /* divide by value + 1 */
#define MCG_C6_PLLS (1u << 6)
#define MCG_C6_VDIV0(c6) ((c6) & 0x1Fu)         /* multiply by value + 24 */
#define MCG_S_CLKST(s) (((s) >> 2) & 0x3u)      /* 0 FLL, 1 internal ref, 2 external ref, 3 PLL */
#define MCG_S_IREFST (1u << 4)
#define MCG_S_PLLST (1u << 5)
#define MCG_S_LOCK0 (1u << 6)
#define MCG_C7_OSCSEL_MASK 0x3u                 /* 0: OSC0 (EXTAL0) */

/* Pin multiplexing: PORTx_PCRn */
#define PORTA_BASE 0x40049000u
#define PORTB_BASE 0x4004A000u
#define PORTE_BASE 0x4004D000u
#define PORT_PCR(port, pin) REG32((port) + 4u * (pin))
#define PORT_PCR_MUX(n) ((n) << 8)
#define PORT_PCR_PE (1u << 1)
#define PORT_PCR_PS (1u << 0)                   /* with PE: pull-up */

/* GPIO: set, clear and direction registers */
#define PTB_BASE 0x400FF040u
#define PTE_BASE 0x400FF100u
#define GPIO_PSOR(port) REG32((port) + 0x04u)
#define GPIO_PCOR(port) REG32((port) + 0x08u)
#define GPIO_PDDR(port) REG32((port) + 0x14u)

/* UART0, clocked by the core/system clock (8-bit registers) */
#define UART0_BASE 0x4006A000u
#define UART0_BDH REG8(UART0_BASE + 0x00u)
#define UART0_BDL REG8(UART0_BASE + 0x01u)
#define UART0_C1 REG8(UART0_BASE + 0x02u)
#define UART0_C2 REG8(UART0_BASE + 0x03u)
#define UART0_S1 REG8(UART0_BASE + 0x04u)
#define UART0_D REG8(UART0_BASE + 0x07u)
#define UART0_C4 REG8(UART0_BASE + 0x0Au)
#define UART_C2_RE (1u << 2)
#define UART_C2_TE (1u << 3)
#define UART_C2_RIE (1u << 5)
#define UART_S1_OR (1u << 3)
#define UART_S1_RDRF (1u << 5)
#define UART_S1_TC (1u << 6)
#define UART_S1_TDRE (1u << 7)
#define UART_C4_BRFA_MASK 0x1Fu

/* Periodic interrupt timer, channel 0, clocked by the bus clock */
#define PIT_BASE 0x40037000u
#define PIT_MCR REG32(PIT_BASE + 0x000u)
#define PIT_LDVAL0 REG32(PIT_BASE + 0x100u)
#define PIT_TCTRL0 REG32(PIT_BASE + 0x108u)
#define PIT_TFLG0 REG32(PIT_BASE + 0x10Cu)
#define PIT_TCTRL_TEN (1u << 0)
#define PIT_TCTRL_TIE (1u << 1)
#define PIT_TFLG_TIF (1u << 0)

#define EXTAL0_HZ 50000000u        /* FRDM-K64F: the Ethernet PHY's 50 MHz oscillator, also on EXTAL0 */
#define SLOW_IRC_HZ 32768u         /* FEI reference; factory trimmed */

/* The 16 bytes at flash 0x400 (defined in board.c, placed by startup/sections.ld). */
extern const uint8_t board_flash_config[16];

/* Clock rates clock_init leaves, read back from the MCG and SIM. */
struct clocks {
    uint32_t core_hz;     /* core/system clock: the DWT and UART0 */
    uint32_t bus_hz;      /* bus clock: the PIT */
};

/* PEE at FW_CLOCK_HZ from the 50 MHz external clock; stays in FEI
 * (~20.97 MHz) when the PLL does not lock to it. */
void clock_init(struct clocks *out);

#endif
