/* The STM32L475 (RM0351): its limits for common/stm32l4.h and the peripherals
 * this board adds. */
#ifndef DISCO_STM32L475_H
#define DISCO_STM32L475_H

#define STM32L4_MAX_HZ 80000000u
#define STM32L4_PLLN_MAX 86u
#define STM32L4_PLLM_MASK 0x7u            /* 3 bits */
#define STM32L4_HZ_PER_WAIT_STATE 16000000u   /* range 1 */
#define STM32L4_HAS_BOOST 0
#define FLASH_ACR_LATENCY_MASK 0x7u

#include "common/stm32l4.h"

#define RCC_APB2ENR_USART1EN (1u << 14)
#define RCC_CCIPR_USART1SEL_SHIFT 0
#define USART1_BASE 0x40013800u

#endif
