/* The STM32L4R5 (L4+, RM0432): its limits for common/stm32l4.h and the
 * peripherals this board adds. */
#ifndef NUCLEO_STM32L4R5_H
#define NUCLEO_STM32L4R5_H

#define STM32L4_MAX_HZ 120000000u
#define STM32L4_PLLN_MAX 127u
#define STM32L4_PLLM_MASK 0xFu            /* 4 bits on the L4+ */
#define STM32L4_HZ_PER_WAIT_STATE 20000000u   /* range 1, boost and normal alike */
#define STM32L4_HAS_BOOST 1
#define FLASH_ACR_LATENCY_MASK 0xFu

#include "common/stm32l4.h"

#define RCC_APB1ENR2_LPUART1EN (1u << 0)
#define RCC_CCIPR_LPUART1SEL_SHIFT 10
#define PWR_CR2_IOSV (1u << 9)        /* VDDIO2 valid: port G pins 2..15 */
#define LPUART1_BASE 0x40008000u

#endif
