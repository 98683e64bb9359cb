/* The STM32F446 registers this board uses (RM0390). On QEMU netduinoplus2
 * RCC, PWR, FLASH and GPIO are not modelled: they read as zero and ignore
 * writes, which the clock code must survive. */
#ifndef NUCLEO_STM32F446_H
#define NUCLEO_STM32F446_H

#include "common/cortex_m.h"

#define RCC_BASE 0x40023800u
#define RCC_CR REG32(RCC_BASE + 0x00u)
#define RCC_PLLCFGR REG32(RCC_BASE + 0x04u)
#define RCC_CFGR REG32(RCC_BASE + 0x08u)
#define RCC_AHB1ENR REG32(RCC_BASE + 0x30u)
#define RCC_APB1ENR REG32(RCC_BASE + 0x40u)

#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_HSEBYP (1u << 18)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_PLLCFGR_PLLSRC_HSE (1u << 22)
#define RCC_CFGR_SW_MASK 0x3u
#define RCC_CFGR_SW_HSI 0x0u
#define RCC_CFGR_SW_HSE 0x1u
#define RCC_CFGR_SW_PLLP 0x2u
#define RCC_CFGR_SW_PLLR 0x3u
#define RCC_CFGR_SWS(cfgr) (((cfgr) >> 2) & 0x3u)
#define RCC_CFGR_HPRE(cfgr) (((cfgr) >> 4) & 0xFu)
#define RCC_CFGR_PPRE1_SHIFT 10
#define RCC_CFGR_PPRE2_SHIFT 13
#define RCC_AHB1ENR_GPIOAEN (1u << 0)
#define RCC_APB1ENR_TIM2EN (1u << 0)
#define RCC_APB1ENR_USART2EN (1u << 17)
#define RCC_APB1ENR_PWREN (1u << 28)

#define PWR_BASE 0x40007000u
#define PWR_CR REG32(PWR_BASE + 0x00u)
#define PWR_CSR REG32(PWR_BASE + 0x04u)
#define PWR_CR_VOS_SCALE1 (3u << 14)
#define PWR_CR_ODEN (1u << 16)
#define PWR_CR_ODSWEN (1u << 17)
#define PWR_CSR_ODRDY (1u << 16)
#define PWR_CSR_ODSWRDY (1u << 17)

#define FLASH_ACR REG32(0x40023C00u)
#define FLASH_ACR_LATENCY_MASK 0xFu
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)

#define GPIOA_BASE 0x40020000u
#define GPIOA_MODER REG32(GPIOA_BASE + 0x00u)
#define GPIOA_OSPEEDR REG32(GPIOA_BASE + 0x08u)
#define GPIOA_PUPDR REG32(GPIOA_BASE + 0x0Cu)
#define GPIOA_BSRR REG32(GPIOA_BASE + 0x18u)
#define GPIOA_AFRL REG32(GPIOA_BASE + 0x20u)

#define TIM2_BASE 0x40000000u   /* heartbeat pacing (common/stm32_tim.h) */

#define USART2_BASE 0x40004400u
#define USART2_SR REG32(USART2_BASE + 0x00u)
#define USART2_DR REG32(USART2_BASE + 0x04u)
#define USART2_BRR REG32(USART2_BASE + 0x08u)
#define USART2_CR1 REG32(USART2_BASE + 0x0Cu)
#define USART_SR_ORE (1u << 3)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TC (1u << 6)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_RXNEIE (1u << 5)
#define USART_CR1_UE (1u << 13)

#define HSI_HZ 16000000u
#define HSE_HZ 8000000u   /* NUCLEO: 8 MHz from the ST-LINK's MCO, HSE in bypass mode */

/* Bring the core to FW_CLOCK_HZ from HSE through the PLL; on any timeout stay
 * on (or return to) HSI. Returns the core clock actually running, read back
 * from RCC; *apb1_hz gets the USART2 kernel clock. */
uint32_t clock_init(uint32_t *apb1_hz);

#endif
