/* Clock tree of the STM32H743 on the NUCLEO-H743ZI2 (RM0433, sections 6 and 8):
 *   HSI 64 MHz -> /M=4 -> 16 MHz -> xN -> VCO (wide) -> /P=2 -> sys_ck
 *   CPU = sys_ck (D1CPRE /1), AXI/AHB = /2 (HPRE), APB1..4 = AXI /2.
 * 480 MHz needs VOS0 (VOS scale 1 plus SYSCFG_PWRCR.ODEN), which only revision
 * V silicon has; revision Y parts (DBGMCU REV_ID 0x1003) top out at 400 MHz at
 * VOS1, so there the target is capped at 400 MHz. Before any voltage scaling
 * the supply must be configured once per power-up: LDO, as the board is wired
 * (PWR_CR3: LDOEN, and SCUEN cleared to lock it). Flash: 4 wait states with
 * WRHIGHFREQ 2 cover an AXI clock up to 240 MHz at VOS0 and VOS1 (RM0433,
 * "FLASH read latency" table); set before the clock goes up.
 * HSI is the reference: it needs nothing from the board (its HSE source
 * depends on solder bridges), and USART3 runs from HSI's kernel clock, so its
 * baud rate never depends on the PLL.
 * Every wait on a ready bit is bounded; on any timeout the core returns to (or
 * stays on) HSI at 64 MHz, and the clock is computed from what RCC reports. */
#include "common/bounded_wait.h"
#include "fw_config.h"
#include "stm32h743.h"

#define PLL_M 4u
#define PLL_P 2u
#define PLL_INPUT_HZ (HSI_HZ / PLL_M)
#define REV_Y_MAX_HZ 400000000u
#define VOS1_MAX_HZ 400000000u

_Static_assert(FW_CLOCK_HZ <= 480000000u, "STM32H743 runs at most at 480 MHz");
_Static_assert(FW_CLOCK_HZ % (PLL_INPUT_HZ / PLL_P) == 0u, "CLOCK_HZ must be a multiple of 8 MHz");
_Static_assert(FW_CLOCK_HZ * PLL_P >= 192000000u, "VCO (wide range) below 192 MHz for this CLOCK_HZ");
_Static_assert(FW_CLOCK_HZ / 2u <= 240000000u, "AXI clock above 240 MHz");

#define FLASH_WAIT_STATES 4u
#define FLASH_WRHIGHFREQ 2u

/* About 50 ms at 64 MHz; real parts are ready within microseconds. */
#define READY_TIMEOUT 1000000u

static int wait_set(volatile uint32_t *reg, uint32_t mask, uint32_t want)
{
    return wait_bits(reg, mask, want, READY_TIMEOUT);
}

static void fall_back_to_hsi(void)
{
    RCC_CFGR &= ~RCC_CFGR_SW_MASK;                /* HSI */
    (void)wait_set(&RCC_CFGR, 0x7u << 3, RCC_CFGR_SW_HSI << 3);
    RCC_CR &= ~RCC_CR_PLL1ON;
    /* The voltage scale and flash wait states set so far suit 64 MHz as well. */
}

/* The rate this silicon may run at. */
static uint32_t target_hz(void)
{
    uint32_t rev = DBGMCU_REV_ID(DBGMCU_IDCODE);
    return rev < REV_ID_V && FW_CLOCK_HZ > REV_Y_MAX_HZ ? REV_Y_MAX_HZ : FW_CLOCK_HZ;
}

static int bring_up_pll(void)
{
    uint32_t target = target_hz();
    uint32_t n = target * PLL_P / PLL_INPUT_HZ;

    /* Supply: LDO, locked (writable once after power-up; a debugger or an
     * earlier image may have done it already, which is fine if it is LDO). */
    PWR_CR3 = (PWR_CR3 & ~(PWR_CR3_SCUEN | PWR_CR3_LDOEN | PWR_CR3_BYPASS)) | PWR_CR3_LDOEN;
    if ((PWR_CR3 & (PWR_CR3_LDOEN | PWR_CR3_BYPASS)) != PWR_CR3_LDOEN ||
        !wait_set(&PWR_CSR1, PWR_CSR1_ACTVOSRDY, PWR_CSR1_ACTVOSRDY)) {
        return 0;
    }

    /* VOS1, then VOS0 on top when the target needs it. */
    PWR_D3CR = (PWR_D3CR & ~PWR_D3CR_VOS_MASK) | PWR_D3CR_VOS_SCALE1;
    if (!wait_set(&PWR_D3CR, PWR_D3CR_VOSRDY, PWR_D3CR_VOSRDY)) {
        return 0;
    }
    if (target > VOS1_MAX_HZ) {
        RCC_APB4ENR |= RCC_APB4ENR_SYSCFGEN;
        (void)RCC_APB4ENR;                        /* let the enable take effect */
        SYSCFG_PWRCR |= SYSCFG_PWRCR_ODEN;
        if (!wait_set(&PWR_D3CR, PWR_D3CR_VOSRDY, PWR_D3CR_VOSRDY)) {
            return 0;
        }
    }

    FLASH_ACR = FLASH_WAIT_STATES | (FLASH_WRHIGHFREQ << FLASH_ACR_WRHIGHFREQ_SHIFT);
    if ((FLASH_ACR & FLASH_ACR_LATENCY_MASK) != FLASH_WAIT_STATES) {
        return 0;   /* never run faster than the flash allows */
    }

    /* Bus prescalers first: they hold at 64 MHz too. */
    RCC_D1CFGR = (RCC_PRE4_DIV2 << RCC_D1CFGR_HPRE_SHIFT) | (RCC_PRE3_DIV2 << RCC_D1CFGR_D1PPRE_SHIFT);
    RCC_D2CFGR = (RCC_PRE3_DIV2 << RCC_D2CFGR_D2PPRE1_SHIFT) | (RCC_PRE3_DIV2 << RCC_D2CFGR_D2PPRE2_SHIFT);
    RCC_D3CFGR = RCC_PRE3_DIV2 << RCC_D3CFGR_D3PPRE_SHIFT;

    RCC_CR &= ~RCC_CR_PLL1ON;                     /* PLL1 settings only change with it off */
    if (!wait_set(&RCC_CR, RCC_CR_PLL1RDY, 0u)) {
        return 0;
    }
    RCC_PLLCKSELR = (RCC_PLLCKSELR & ~(RCC_PLLCKSELR_PLLSRC_MASK | RCC_PLLCKSELR_DIVM1_MASK)) |
                    RCC_PLLCKSELR_PLLSRC_HSI | (PLL_M << RCC_PLLCKSELR_DIVM1_SHIFT);
    RCC_PLLCFGR = (RCC_PLLCFGR & ~(RCC_PLLCFGR_PLL1_MASK | RCC_PLLCFGR_DIV1EN_MASK)) |
                  RCC_PLLCFGR_PLL1RGE_8_16MHZ | RCC_PLLCFGR_DIVP1EN;
    RCC_PLL1DIVR = RCC_PLL1DIVR_N(n) | RCC_PLL1DIVR_P(PLL_P) | RCC_PLL1DIVR_Q(2u) | RCC_PLL1DIVR_R(2u);
    RCC_CR |= RCC_CR_PLL1ON;
    if (!wait_set(&RCC_CR, RCC_CR_PLL1RDY, RCC_CR_PLL1RDY)) {
        return 0;
    }

    RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL1;
    return wait_set(&RCC_CFGR, 0x7u << 3, RCC_CFGR_SW_PLL1 << 3);
}

static uint32_t hsi_hz(void)
{
    return HSI_HZ >> RCC_CR_HSIDIV(RCC_CR);
}

/* sys_ck from the source RCC says is selected (HSE is never used here). */
static uint32_t sysclk_from_rcc(void)
{
    uint32_t sel = RCC_PLLCKSELR;
    uint32_t divr = RCC_PLL1DIVR;
    uint32_t m = (sel & RCC_PLLCKSELR_DIVM1_MASK) >> RCC_PLLCKSELR_DIVM1_SHIFT;
    uint32_t n = (divr & 0x1FFu) + 1u;
    uint32_t p = ((divr >> 9) & 0x7Fu) + 1u;
    uint32_t source = (sel & RCC_PLLCKSELR_PLLSRC_MASK) == RCC_PLLCKSELR_PLLSRC_CSI ? CSI_HZ : hsi_hz();

    switch (RCC_CFGR_SWS(RCC_CFGR)) {
    case RCC_CFGR_SW_PLL1:
        return m != 0u ? (uint32_t)((uint64_t)source / m * n / p) : hsi_hz();
    case RCC_CFGR_SW_CSI:
        return CSI_HZ;
    default:
        return hsi_hz();
    }
}

/* Divide by a 4-bit (HPRE, D1CPRE) or a 3-bit (PPRE) prescaler field. */
static uint32_t div4(uint32_t hz, uint32_t pre)
{
    static const uint8_t shift[8] = { 1, 2, 3, 4, 6, 7, 8, 9 };
    return (pre & 8u) != 0u ? hz >> shift[pre & 7u] : hz;
}

static uint32_t div3(uint32_t hz, uint32_t pre)
{
    return (pre & 4u) != 0u ? hz >> ((pre & 3u) + 1u) : hz;
}

void clock_init(struct clocks *out)
{
    if (!bring_up_pll()) {
        fall_back_to_hsi();
    }
    uint32_t d1 = RCC_D1CFGR;
    out->cpu_hz = div4(sysclk_from_rcc(), (d1 >> RCC_D1CFGR_D1CPRE_SHIFT) & 0xFu);
    out->hclk_hz = div4(out->cpu_hz, (d1 >> RCC_D1CFGR_HPRE_SHIFT) & 0xFu);
    out->pclk1_hz = div3(out->hclk_hz, (RCC_D2CFGR >> RCC_D2CFGR_D2PPRE1_SHIFT) & 0x7u);
}
