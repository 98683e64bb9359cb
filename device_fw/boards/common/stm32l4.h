/* Registers of the STM32L4 and L4+ family that the boards use (RM0351 for the
 * L47x/L48x, RM0432 for the L4Rx/L4Sx). A part header (e.g. stm32l4r5.h)
 * defines the part's limits below, then includes this file, then adds its own
 * peripherals:
 *   STM32L4_MAX_HZ             highest SYSCLK
 *   STM32L4_PLLN_MAX           largest PLLN
 *   STM32L4_PLLM_MASK          PLLM field width (3 bits on the L4, 4 on the L4+)
 *   STM32L4_HZ_PER_WAIT_STATE  flash wait states: one per this much SYSCLK in range 1
 *   STM32L4_HAS_BOOST          range 1 boost mode (PWR_CR5.R1MODE): the L4+ above 80 MHz
 *   FLASH_ACR_LATENCY_MASK     LATENCY field width */
#ifndef COMMON_STM32L4_H
#define COMMON_STM32L4_H

#include <stdint.h>

#include "common/cortex_m.h"

#define RCC_BASE 0x40021000u
#define RCC_CR REG32(RCC_BASE + 0x00u)
#define RCC_CFGR REG32(RCC_BASE + 0x08u)
#define RCC_PLLCFGR REG32(RCC_BASE + 0x0Cu)
#define RCC_AHB2ENR REG32(RCC_BASE + 0x4Cu)
#define RCC_APB1ENR1 REG32(RCC_BASE + 0x58u)
#define RCC_APB1ENR2 REG32(RCC_BASE + 0x5Cu)
#define RCC_APB2ENR REG32(RCC_BASE + 0x60u)
#define RCC_CCIPR REG32(RCC_BASE + 0x88u)
#define RCC_CSR REG32(RCC_BASE + 0x94u)

#define RCC_CR_MSIRGSEL (1u << 3)
#define RCC_CR_MSIRANGE(cr) (((cr) >> 4) & 0xFu)
#define RCC_CR_HSION (1u << 8)
#define RCC_CR_HSIRDY (1u << 10)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CSR_MSISRANGE(csr) (((csr) >> 8) & 0xFu)
#define RCC_CFGR_SW_MASK 0x3u
#define RCC_CFGR_SW_MSI 0x0u
#define RCC_CFGR_SW_HSI 0x1u
#define RCC_CFGR_SW_PLL 0x3u
#define RCC_CFGR_SWS(cfgr) (((cfgr) >> 2) & 0x3u)
#define RCC_CFGR_HPRE_SHIFT 4
#define RCC_CFGR_HPRE_MASK (0xFu << RCC_CFGR_HPRE_SHIFT)
#define RCC_CFGR_HPRE_DIV2 (0x8u << RCC_CFGR_HPRE_SHIFT)
#define RCC_CFGR_PPRE1_SHIFT 8
#define RCC_PLLCFGR_PLLSRC_HSI16 0x2u
#define RCC_PLLCFGR_PLLM_SHIFT 4      /* M - 1 */
#define RCC_PLLCFGR_PLLN_SHIFT 8
#define RCC_PLLCFGR_PLLREN (1u << 24)
#define RCC_PLLCFGR_PLLR_SHIFT 25     /* R / 2 - 1 */
#define RCC_AHB2ENR_GPIOAEN (1u << 0)
#define RCC_AHB2ENR_GPIOBEN (1u << 1)
#define RCC_AHB2ENR_GPIOCEN (1u << 2)
#define RCC_AHB2ENR_GPIOGEN (1u << 6)
#define RCC_APB1ENR1_TIM2EN (1u << 0)
#define RCC_APB1ENR1_PWREN (1u << 28)
#define RCC_CCIPR_SEL_SYSCLK 0x1u
#define RCC_CCIPR_SEL_HSI16 0x2u

#define PWR_BASE 0x40007000u
#define PWR_CR1 REG32(PWR_BASE + 0x00u)
#define PWR_CR2 REG32(PWR_BASE + 0x04u)
#define PWR_SR2 REG32(PWR_BASE + 0x14u)
#define PWR_CR5 REG32(PWR_BASE + 0x80u)
#define PWR_CR1_VOS_SHIFT 9
#define PWR_CR1_VOS_MASK (0x3u << PWR_CR1_VOS_SHIFT)
#define PWR_CR1_VOS_RANGE1 (0x1u << PWR_CR1_VOS_SHIFT)
#define PWR_SR2_VOSF (1u << 10)
#define PWR_CR5_R1MODE (1u << 8)      /* L4+: 1 range 1 normal (80 MHz), 0 boost (120 MHz) */

#define FLASH_ACR REG32(0x40022000u)
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)

#define GPIOA_BASE 0x48000000u
#define GPIOB_BASE 0x48000400u
#define GPIOC_BASE 0x48000800u
#define GPIOG_BASE 0x48001800u
#define TIM2_BASE 0x40000000u
#define TIM2_IRQ 28u

#define HSI_HZ 16000000u
#define MSI_RESET_HZ 4000000u

/* Bring the core to FW_CLOCK_HZ from HSI16 through the PLL; on any timeout
 * stay on (or return to) HSI16. Returns HCLK, read back from RCC; *pclk1_hz
 * gets the APB1 clock (TIM2's bus). common/stm32l4_clock.c */
uint32_t clock_init(uint32_t *pclk1_hz);

/* In board_early_init: start HSI16 (bounded) and clock the console UART's
 * kernel from it, through the 2-bit CCIPR field at `ccipr_shift`; should
 * HSI16 never start, from SYSCLK (MSI, 4 MHz), which is then also what the
 * core keeps running on. Returns the kernel clock. common/stm32l4_board.c */
uint32_t stm32l4_console_clock(unsigned ccipr_shift);

/* In board_init, once the console's receive interrupt is on: the clock tree,
 * the cycle counter and the TIM2 heartbeat; board_clock_hz() reports it. */
void stm32l4_board_start(void);

#endif
