/* The STM32H743 registers this board uses (RM0433). */
#ifndef NUCLEO_STM32H743_H
#define NUCLEO_STM32H743_H

#include "common/cortex_m.h"

#define RCC_BASE 0x58024400u
#define RCC_CR REG32(RCC_BASE + 0x000u)
#define RCC_CFGR REG32(RCC_BASE + 0x010u)
#define RCC_D1CFGR REG32(RCC_BASE + 0x018u)
#define RCC_D2CFGR REG32(RCC_BASE + 0x01Cu)
#define RCC_D3CFGR REG32(RCC_BASE + 0x020u)
#define RCC_PLLCKSELR REG32(RCC_BASE + 0x028u)
#define RCC_PLLCFGR REG32(RCC_BASE + 0x02Cu)
#define RCC_PLL1DIVR REG32(RCC_BASE + 0x030u)
#define RCC_D2CCIP2R REG32(RCC_BASE + 0x054u)
#define RCC_AHB4ENR REG32(RCC_BASE + 0x0E0u)
#define RCC_APB1LENR REG32(RCC_BASE + 0x0E8u)
#define RCC_APB4ENR REG32(RCC_BASE + 0x0F4u)

#define RCC_CR_HSIKERON (1u << 1)
#define RCC_CR_HSIRDY (1u << 2)
#define RCC_CR_HSIDIV(cr) (((cr) >> 3) & 0x3u)      /* HSI = 64 MHz >> HSIDIV */
#define RCC_CR_PLL1ON (1u << 24)
#define RCC_CR_PLL1RDY (1u << 25)
#define RCC_CFGR_SW_MASK 0x7u
#define RCC_CFGR_SW_HSI 0x0u
#define RCC_CFGR_SW_CSI 0x1u
#define RCC_CFGR_SW_PLL1 0x3u
#define RCC_CFGR_SWS(cfgr) (((cfgr) >> 3) & 0x7u)
/* Prescaler encodings: 4-bit HPRE/D1CPRE (0xxx /1, 1000 /2 ...), 3-bit PPRE (0xx /1, 100 /2 ...) */
#define RCC_D1CFGR_HPRE_SHIFT 0
#define RCC_D1CFGR_D1PPRE_SHIFT 4
#define RCC_D1CFGR_D1CPRE_SHIFT 8
#define RCC_D2CFGR_D2PPRE1_SHIFT 4
#define RCC_D2CFGR_D2PPRE2_SHIFT 8
#define RCC_D3CFGR_D3PPRE_SHIFT 4
#define RCC_PRE4_DIV2 0x8u
#define RCC_PRE3_DIV2 0x4u
#define RCC_PLLCKSELR_PLLSRC_MASK 0x3u
#define RCC_PLLCKSELR_PLLSRC_HSI 0x0u
#define RCC_PLLCKSELR_PLLSRC_CSI 0x1u
#define RCC_PLLCKSELR_DIVM1_SHIFT 4
#define RCC_PLLCKSELR_DIVM1_MASK (0x3Fu << RCC_PLLCKSELR_DIVM1_SHIFT)
#define RCC_PLLCFGR_PLL1_MASK 0xFu                  /* FRACEN, VCOSEL, RGE */
#define RCC_PLLCFGR_PLL1RGE_8_16MHZ (0x3u << 2)     /* VCOSEL 0: wide VCO */
#define RCC_PLLCFGR_DIVP1EN (1u << 16)
#define RCC_PLLCFGR_DIV1EN_MASK (0x7u << 16)        /* DIVP1EN, DIVQ1EN, DIVR1EN */
#define RCC_PLL1DIVR_N(n) ((n) - 1u)                /* register fields hold value - 1 */
#define RCC_PLL1DIVR_P(p) (((p) - 1u) << 9)
#define RCC_PLL1DIVR_Q(q) (((q) - 1u) << 16)
#define RCC_PLL1DIVR_R(r) (((r) - 1u) << 24)
#define RCC_D2CCIP2R_USART234578SEL_MASK 0x7u
#define RCC_D2CCIP2R_USART_HSI_KER 0x3u
#define RCC_AHB4ENR_GPIOBEN (1u << 1)
#define RCC_AHB4ENR_GPIODEN (1u << 3)
#define RCC_APB1LENR_TIM2EN (1u << 0)
#define RCC_APB1LENR_USART3EN (1u << 18)
#define RCC_APB4ENR_SYSCFGEN (1u << 1)

#define PWR_BASE 0x58024800u
#define PWR_CSR1 REG32(PWR_BASE + 0x04u)
#define PWR_CR3 REG32(PWR_BASE + 0x0Cu)
#define PWR_D3CR REG32(PWR_BASE + 0x18u)
#define PWR_CSR1_ACTVOSRDY (1u << 13)
#define PWR_CR3_BYPASS (1u << 0)
#define PWR_CR3_LDOEN (1u << 1)
#define PWR_CR3_SCUEN (1u << 2)                      /* 1 until the supply is configured (once per power-up) */
#define PWR_D3CR_VOSRDY (1u << 13)
#define PWR_D3CR_VOS_SHIFT 14
#define PWR_D3CR_VOS_MASK (0x3u << PWR_D3CR_VOS_SHIFT)
#define PWR_D3CR_VOS_SCALE1 (0x3u << PWR_D3CR_VOS_SHIFT)   /* 01 scale 3 (reset), 10 scale 2, 11 scale 1 */

#define SYSCFG_PWRCR REG32(0x58000400u + 0x2Cu)
#define SYSCFG_PWRCR_ODEN (1u << 0)                 /* with VOS scale 1: VOS0 (rev V only) */

#define FLASH_ACR REG32(0x52002000u)
#define FLASH_ACR_LATENCY_MASK 0xFu
#define FLASH_ACR_WRHIGHFREQ_SHIFT 4

#define DBGMCU_IDCODE REG32(0x5C001000u)
#define DBGMCU_REV_ID(idcode) ((idcode) >> 16)
#define REV_ID_Y 0x1003u
#define REV_ID_V 0x2003u

#define GPIOB_BASE 0x58020400u
#define GPIOD_BASE 0x58020C00u
#define USART3_BASE 0x40004800u
#define TIM2_BASE 0x40000000u

#define HSI_HZ 64000000u          /* HSIDIV /1, the reset value */
#define CSI_HZ 4000000u

/* Clock rates clock_init leaves, read back from RCC. */
struct clocks {
    uint32_t cpu_hz;      /* sys_ck / D1CPRE: what the DWT counts */
    uint32_t hclk_hz;     /* AXI/AHB */
    uint32_t pclk1_hz;    /* APB1 (D2): TIM2's bus */
};

/* Supply, voltage scale, flash wait states, PLL1 from HSI; on any timeout
 * stay on (or return to) HSI at 64 MHz. */
void clock_init(struct clocks *out);

#endif
