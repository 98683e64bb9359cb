/* Clock tree of the STM32L4 family boards (RM0351 and RM0432, sections 5 and 6):
 *   HSI16 -> /M=2 -> 8 MHz -> xN -> VCO -> /R=2 -> SYSCLK = FW_CLOCK_HZ
 *   AHB, APB1 and APB2 /1.
 * Voltage range 1 (the reset value) with one flash wait state per
 * STM32L4_HZ_PER_WAIT_STATE; above 80 MHz the L4+ needs range 1 in boost mode
 * (PWR_CR5.R1MODE = 0), and the switch to the PLL goes through AHB /2 for at
 * least 1 us (RM0432, "Dynamic voltage scaling management").
 * HSI16 is the reference rather than MSI: it needs no LSE to be accurate
 * (factory trimmed to 1 %), and the console UART runs from it too, so its
 * baud rate never depends on the PLL; the boards' HSE depends on their
 * assembly and is unused. Every wait on a ready bit is bounded; on any
 * timeout the core returns to HSI16 (or stays on MSI, 4 MHz, if HSI16 never
 * started) and the clock is always computed from what RCC reports. */
#include "board_config.h"
#include "common/bounded_wait.h"
#include "fw_config.h"

#define PLL_M 2u
#define PLL_R 2u
#define PLL_INPUT_HZ (HSI_HZ / PLL_M)
#define PLL_N (FW_CLOCK_HZ * PLL_R / PLL_INPUT_HZ)
#define VCO_HZ (PLL_INPUT_HZ * PLL_N)

_Static_assert(FW_CLOCK_HZ <= STM32L4_MAX_HZ, "CLOCK_HZ above what this STM32L4 part runs at");
_Static_assert((FW_CLOCK_HZ * PLL_R) % PLL_INPUT_HZ == 0u, "CLOCK_HZ must be a multiple of 4 MHz");
_Static_assert(PLL_N >= 8u && PLL_N <= STM32L4_PLLN_MAX, "PLLN out of range for this CLOCK_HZ");
_Static_assert(VCO_HZ >= 64000000u && VCO_HZ <= 344000000u, "VCO out of range for this CLOCK_HZ");

#define NEEDS_BOOST (STM32L4_HAS_BOOST && FW_CLOCK_HZ > 80000000u)
#define FLASH_WAIT_STATES ((FW_CLOCK_HZ - 1u) / STM32L4_HZ_PER_WAIT_STATE)

/* About 50 ms at 16 MHz; real parts are ready within microseconds. */
#define READY_TIMEOUT 200000u

static int wait_set(volatile uint32_t *reg, uint32_t mask, uint32_t want)
{
    return wait_bits(reg, mask, want, READY_TIMEOUT);
}

static void fall_back_to_hsi(void)
{
    if (!wait_set(&RCC_CR, RCC_CR_HSIRDY, RCC_CR_HSIRDY)) {
        return;                                   /* no HSI16 either: stay on MSI */
    }
    RCC_CFGR = RCC_CFGR_SW_HSI;                   /* prescalers /1 */
    (void)wait_set(&RCC_CFGR, 0x3u << 2, RCC_CFGR_SW_HSI << 2);
    RCC_CR &= ~RCC_CR_PLLON;
    if (STM32L4_HAS_BOOST) {
        PWR_CR5 |= PWR_CR5_R1MODE;                /* 16 MHz needs no boost */
    }
    FLASH_ACR = FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;   /* 0 wait states */
}

static int bring_up_pll(void)
{
    RCC_APB1ENR1 |= RCC_APB1ENR1_PWREN;
    (void)RCC_APB1ENR1;                           /* let the enable take effect */
    if (!wait_set(&RCC_CR, RCC_CR_HSIRDY, RCC_CR_HSIRDY)) {
        return 0;                                 /* started in board_early_init */
    }
    if ((PWR_CR1 & PWR_CR1_VOS_MASK) != PWR_CR1_VOS_RANGE1) {   /* range 1 is the reset value */
        PWR_CR1 = (PWR_CR1 & ~PWR_CR1_VOS_MASK) | PWR_CR1_VOS_RANGE1;
        if (!wait_set(&PWR_SR2, PWR_SR2_VOSF, 0u)) {
            return 0;
        }
    }
    if (NEEDS_BOOST) {
        PWR_CR5 &= ~PWR_CR5_R1MODE;
    }

    FLASH_ACR = FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN | FLASH_WAIT_STATES;
    if ((FLASH_ACR & FLASH_ACR_LATENCY_MASK) != FLASH_WAIT_STATES) {
        return 0;   /* never run faster than the flash allows */
    }

    RCC_CR &= ~RCC_CR_PLLON;                      /* PLLCFGR only changes with the PLL off */
    if (!wait_set(&RCC_CR, RCC_CR_PLLRDY, 0u)) {
        return 0;
    }
    RCC_PLLCFGR = RCC_PLLCFGR_PLLSRC_HSI16 | ((PLL_M - 1u) << RCC_PLLCFGR_PLLM_SHIFT) |
                  (PLL_N << RCC_PLLCFGR_PLLN_SHIFT) | (((PLL_R / 2u) - 1u) << RCC_PLLCFGR_PLLR_SHIFT) |
                  RCC_PLLCFGR_PLLREN;
    RCC_CR |= RCC_CR_PLLON;
    if (!wait_set(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY)) {
        return 0;
    }

    /* Boost: step up through HCLK = SYSCLK / 2 (set before the switch), then
     * /1 after at least 1 us. */
    if (NEEDS_BOOST) {
        RCC_CFGR = (RCC_CFGR & RCC_CFGR_SW_MASK) | RCC_CFGR_HPRE_DIV2;
    }
    RCC_CFGR = (NEEDS_BOOST ? RCC_CFGR_HPRE_DIV2 : 0u) | RCC_CFGR_SW_PLL;
    if (!wait_set(&RCC_CFGR, 0x3u << 2, RCC_CFGR_SW_PLL << 2)) {
        return 0;
    }
    if (NEEDS_BOOST) {
        for (uint32_t n = 0; n < 256u; n++) {
            (void)RCC_CFGR;                       /* each read is a few HCLK cycles: > 4 us */
        }
        RCC_CFGR = RCC_CFGR_SW_PLL;
    }
    return 1;
}

static uint32_t msi_hz(void)
{
    static const uint32_t range_hz[12] = { 100000u, 200000u, 400000u, 800000u, 1000000u, 2000000u,
                                           4000000u, 8000000u, 16000000u, 24000000u, 32000000u, 48000000u };
    uint32_t cr = RCC_CR;
    uint32_t range = (cr & RCC_CR_MSIRGSEL) != 0u ? RCC_CR_MSIRANGE(cr) : RCC_CSR_MSISRANGE(RCC_CSR);
    return range < 12u ? range_hz[range] : MSI_RESET_HZ;
}

/* SYSCLK from the source RCC says is selected (HSE is never used here). */
static uint32_t sysclk_from_rcc(void)
{
    uint32_t pll = RCC_PLLCFGR;
    uint32_t m = ((pll >> RCC_PLLCFGR_PLLM_SHIFT) & STM32L4_PLLM_MASK) + 1u;
    uint32_t n = (pll >> RCC_PLLCFGR_PLLN_SHIFT) & 0x7Fu;
    uint32_t r = (((pll >> RCC_PLLCFGR_PLLR_SHIFT) & 3u) + 1u) * 2u;
    uint32_t source = (pll & 3u) == RCC_PLLCFGR_PLLSRC_HSI16 ? HSI_HZ : msi_hz();

    switch (RCC_CFGR_SWS(RCC_CFGR)) {
    case RCC_CFGR_SW_HSI:
        return HSI_HZ;
    case RCC_CFGR_SW_PLL:
        return (uint32_t)((uint64_t)source / m * n / r);
    default:
        return msi_hz();
    }
}

/* Divide by the prescaler a PPRE field (3 bits) encodes. */
static uint32_t apb_clock(uint32_t hclk, uint32_t ppre)
{
    return (ppre & 4u) != 0u ? hclk >> ((ppre & 3u) + 1u) : hclk;
}

uint32_t clock_init(uint32_t *pclk1_hz)
{
    if (!bring_up_pll()) {
        fall_back_to_hsi();
    }
    static const uint8_t hpre_shift[8] = { 1, 2, 3, 4, 6, 7, 8, 9 };
    uint32_t cfgr = RCC_CFGR;
    uint32_t hpre = (cfgr >> RCC_CFGR_HPRE_SHIFT) & 0xFu;
    uint32_t hclk = sysclk_from_rcc();
    if ((hpre & 8u) != 0u) {
        hclk >>= hpre_shift[hpre & 7u];
    }
    *pclk1_hz = apb_clock(hclk, (cfgr >> RCC_CFGR_PPRE1_SHIFT) & 7u);
    return hclk;
}
