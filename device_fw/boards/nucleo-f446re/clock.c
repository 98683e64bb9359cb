/* Clock tree of the STM32F446RE on the NUCLEO (RM0390, section 6):
 *   HSE 8 MHz bypass -> /M=4 -> 2 MHz -> xN -> VCO -> /P=2 -> SYSCLK = FW_CLOCK_HZ
 *   AHB /1, APB1 <= 45 MHz, APB2 <= 90 MHz; over-drive above 168 MHz;
 *   flash wait states for 2.7-3.6 V (one per 30 MHz).
 * Every wait on a ready bit is bounded. QEMU's netduinoplus2 models none of
 * RCC, PWR or FLASH (they read 0), so there the first wait times out and the
 * core stays on HSI at 16 MHz; the clock is always computed from what RCC
 * reports, never assumed. */
#include "common/bounded_wait.h"
#include "fw_config.h"
#include "stm32f446.h"

#define PLL_M 4u
#define PLL_P 2u
#define PLL_Q 4u   /* 48 MHz domain unused; any legal value */
#define PLL_R 2u
#define PLL_INPUT_HZ (HSE_HZ / PLL_M)
#define PLL_N (FW_CLOCK_HZ * PLL_P / PLL_INPUT_HZ)
#define VCO_HZ (PLL_INPUT_HZ * PLL_N)

_Static_assert(FW_CLOCK_HZ <= 180000000u, "STM32F446 runs at most at 180 MHz");
_Static_assert((FW_CLOCK_HZ * PLL_P) % PLL_INPUT_HZ == 0u, "CLOCK_HZ must be a multiple of 1 MHz");
_Static_assert(PLL_N >= 50u && PLL_N <= 432u, "PLLN out of range for this CLOCK_HZ");
_Static_assert(VCO_HZ >= 100000000u && VCO_HZ <= 432000000u, "VCO out of range for this CLOCK_HZ");

#define FLASH_WAIT_STATES ((FW_CLOCK_HZ - 1u) / 30000000u)
#define NEEDS_OVERDRIVE (FW_CLOCK_HZ > 168000000u)

/* Smallest APB divider (1, 2, 4, 8, 16) keeping the bus within its limit, and
 * its PPRE encoding (0 for /1, 4 + log2(div) - 1 otherwise). */
#define APB_DIV(limit) \
    (FW_CLOCK_HZ <= (limit) ? 1u : FW_CLOCK_HZ <= 2u * (limit) ? 2u : FW_CLOCK_HZ <= 4u * (limit) ? 4u \
                                                              : FW_CLOCK_HZ <= 8u * (limit) ? 8u : 16u)
#define PPRE_BITS(div) ((div) == 1u ? 0u : (div) == 2u ? 4u : (div) == 4u ? 5u : (div) == 8u ? 6u : 7u)
#define APB1_DIV APB_DIV(45000000u)
#define APB2_DIV APB_DIV(90000000u)

/* About 100 ms at 16 MHz; real parts are ready within microseconds. */
#define READY_TIMEOUT 200000u

static int wait_set(volatile uint32_t *reg, uint32_t mask, uint32_t want)
{
    return wait_bits(reg, mask, want, READY_TIMEOUT);
}

static void fall_back_to_hsi(void)
{
    RCC_CR |= RCC_CR_HSION;
    (void)wait_set(&RCC_CR, RCC_CR_HSIRDY, RCC_CR_HSIRDY);
    RCC_CFGR = RCC_CFGR_SW_HSI;                                     /* prescalers /1 */
    (void)wait_set(&RCC_CFGR, 0x3u << 2, RCC_CFGR_SW_HSI << 2);
    RCC_CR &= ~(RCC_CR_PLLON | RCC_CR_HSEON | RCC_CR_HSEBYP);
    PWR_CR &= ~(PWR_CR_ODEN | PWR_CR_ODSWEN);
    FLASH_ACR = FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;     /* 0 wait states */
}

static int bring_up_pll(void)
{
    RCC_APB1ENR |= RCC_APB1ENR_PWREN;
    (void)RCC_APB1ENR;                        /* let the enable take effect */
    PWR_CR = (PWR_CR & ~(3u << 14)) | PWR_CR_VOS_SCALE1;

    RCC_CR |= RCC_CR_HSEBYP;
    RCC_CR |= RCC_CR_HSEON;
    if (!wait_set(&RCC_CR, RCC_CR_HSERDY, RCC_CR_HSERDY)) {
        return 0;
    }

    RCC_PLLCFGR = PLL_M | (PLL_N << 6) | (((PLL_P / 2u) - 1u) << 16) | RCC_PLLCFGR_PLLSRC_HSE |
                  (PLL_Q << 24) | (PLL_R << 28);
    RCC_CR |= RCC_CR_PLLON;
    if (!wait_set(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY)) {
        return 0;
    }

    if (NEEDS_OVERDRIVE) {
        PWR_CR |= PWR_CR_ODEN;
        if (!wait_set(&PWR_CSR, PWR_CSR_ODRDY, PWR_CSR_ODRDY)) {
            return 0;
        }
        PWR_CR |= PWR_CR_ODSWEN;
        if (!wait_set(&PWR_CSR, PWR_CSR_ODSWRDY, PWR_CSR_ODSWRDY)) {
            return 0;
        }
    }

    FLASH_ACR = FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN | FLASH_WAIT_STATES;
    if ((FLASH_ACR & FLASH_ACR_LATENCY_MASK) != FLASH_WAIT_STATES) {
        return 0;   /* never run faster than the flash allows */
    }

    RCC_CFGR = (PPRE_BITS(APB1_DIV) << RCC_CFGR_PPRE1_SHIFT) | (PPRE_BITS(APB2_DIV) << RCC_CFGR_PPRE2_SHIFT);
    RCC_CFGR |= RCC_CFGR_SW_PLLP;
    return wait_set(&RCC_CFGR, 0x3u << 2, RCC_CFGR_SW_PLLP << 2);
}

/* SYSCLK from the source RCC says is selected. */
static uint32_t sysclk_from_rcc(void)
{
    uint32_t cfgr = RCC_CFGR;
    uint32_t pll = RCC_PLLCFGR;
    uint32_t source = (pll & RCC_PLLCFGR_PLLSRC_HSE) != 0u ? HSE_HZ : HSI_HZ;
    uint32_t m = pll & 0x3Fu;
    uint32_t n = (pll >> 6) & 0x1FFu;

    switch (RCC_CFGR_SWS(cfgr)) {
    case RCC_CFGR_SW_HSE:
        return HSE_HZ;
    case RCC_CFGR_SW_PLLP:
        if (m >= 2u) {
            uint32_t p = ((((pll >> 16) & 3u)) + 1u) * 2u;
            return (uint32_t)((uint64_t)source / m * n / p);
        }
        return HSI_HZ;
    case RCC_CFGR_SW_PLLR:
        if (m >= 2u && ((pll >> 28) & 7u) >= 2u) {
            return (uint32_t)((uint64_t)source / m * n / ((pll >> 28) & 7u));
        }
        return HSI_HZ;
    default:
        return HSI_HZ;
    }
}

/* Divide by the prescaler a PPRE field (3 bits) encodes. */
static uint32_t apb_clock(uint32_t hclk, uint32_t ppre)
{
    return (ppre & 4u) != 0u ? hclk >> ((ppre & 3u) + 1u) : hclk;
}

uint32_t clock_init(uint32_t *apb1_hz)
{
    if (!bring_up_pll()) {
        fall_back_to_hsi();
    }
    static const uint8_t hpre_shift[8] = { 1, 2, 3, 4, 6, 7, 8, 9 };
    uint32_t cfgr = RCC_CFGR;
    uint32_t hpre = RCC_CFGR_HPRE(cfgr);
    uint32_t hclk = sysclk_from_rcc();
    if ((hpre & 8u) != 0u) {
        hclk >>= hpre_shift[hpre & 7u];
    }
    *apb1_hz = apb_clock(hclk, (cfgr >> RCC_CFGR_PPRE1_SHIFT) & 7u);
    return hclk;
}
