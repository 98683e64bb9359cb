/* The STM32L4R5 registers this board uses (RM0432). */
#ifndef NUCLEO_STM32L4R5_H
#define NUCLEO_STM32L4R5_H

#include "common/cortex_m.h"

#define RCC_BASE 0x40021000u
#define RCC_CR REG32(RCC_BASE + 0x00u)
#define RCC_CFGR REG32(RCC_BASE + 0x08u)
#define RCC_PLLCFGR REG32(RCC_BASE + 0x0Cu)
#define RCC_AHB2ENR REG32(RCC_BASE + 0x4Cu)
#define RCC_APB1ENR1 REG32(RCC_BASE + 0x58u)
#define RCC_APB1ENR2 REG32(RCC_BASE + 0x5Cu)
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
#define RCC_PLLCFGR_PLLM_SHIFT 4      /* M - 1, 4 bits on the L4+ */
#define RCC_PLLCFGR_PLLN_SHIFT 8
#define RCC_PLLCFGR_PLLREN (1u << 24)
#define RCC_PLLCFGR_PLLR_SHIFT 25     /* R / 2 - 1 */
#define RCC_AHB2ENR_GPIOBEN (1u << 1)
#define RCC_AHB2ENR_GPIOCEN (1u << 2)
#define RCC_AHB2ENR_GPIOGEN (1u << 6)
#define RCC_APB1ENR1_TIM2EN (1u << 0)
#define RCC_APB1ENR1_PWREN (1u << 28)
#define RCC_APB1ENR2_LPUART1EN (1u << 0)
#define RCC_CCIPR_LPUART1SEL_SHIFT 10
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
#define PWR_CR2_IOSV (1u << 9)        /* VDDIO2 valid: port G pins 2..15 */
#define PWR_SR2_VOSF (1u << 10)
#define PWR_CR5_R1MODE (1u << 8)      /* 1: range 1 normal (80 MHz), 0: boost (120 MHz) */

#define FLASH_ACR REG32(0x40022000u)
#define FLASH_ACR_LATENCY_MASK 0xFu
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)

#define GPIOB_BASE 0x48000400u
#define GPIOC_BASE 0x48000800u
#define GPIOG_BASE 0x48001800u
#define LPUART1_BASE 0x40008000u
#define TIM2_BASE 0x40000000u

#define HSI_HZ 16000000u
#define MSI_RESET_HZ 4000000u

/* Bring the core to FW_CLOCK_HZ from HSI16 through the PLL; on any timeout
 * stay on (or return to) HSI16. Returns HCLK, read back from RCC; *pclk1_hz
 * gets the APB1 clock (TIM2's bus). */
uint32_t clock_init(uint32_t *pclk1_hz);

#endif
