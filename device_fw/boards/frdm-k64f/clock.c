/* Clock tree of the MK64FN1M0VLL12 on the FRDM-K64F (K64 reference manual,
 * chapters 5 "Clock distribution", 25 "MCG"):
 *   EXTAL0 <- 50 MHz, the oscillator the board shares with its Ethernet PHY
 *   50 MHz / PRDIV 20 -> 2.5 MHz (PLL reference, 2-4 MHz) x VDIV -> FW_CLOCK_HZ
 *   core/system /1 = 120 MHz, bus /2 = 60 MHz, FlexBus /3 = 40 MHz, flash /5 = 24 MHz
 * The MCG only moves between neighbouring modes: FEI (reset: FLL on the slow
 * internal reference, about 20.97 MHz) -> FBE -> PBE -> PEE. Selecting an
 * external clock that is not there would stop the core, so the PLL is first
 * locked to EXTAL0 while the core still runs from the FLL (PLLCLKEN0 runs the
 * PLL in any mode): a lock within the bounded wait proves the 50 MHz is there.
 * If it does not lock, or a later step times out, the MCG goes back to FEI and
 * the firmware reports the FLL's nominal 20.97 MHz (32.768 kHz x 640, from the
 * factory trim; a few percent off on a given part, and UART0, clocked from the
 * core clock, is off by as much). */
#include "fw_config.h"
#include "mk64f.h"

#define PRDIV 20u
#define PLL_REF_HZ (EXTAL0_HZ / PRDIV)
#define VDIV (FW_CLOCK_HZ / PLL_REF_HZ)
#define FRDIV_1536 7u                    /* FBE: FLL reference 50 MHz / 1536 = 32.6 kHz, in range */

_Static_assert(FW_CLOCK_HZ <= 120000000u, "MK64FN1M0VLL12 runs at most at 120 MHz");
_Static_assert(FW_CLOCK_HZ % PLL_REF_HZ == 0u, "CLOCK_HZ must be a multiple of 2.5 MHz");
_Static_assert(VDIV >= 24u && VDIV <= 55u, "VDIV out of range for this CLOCK_HZ");
_Static_assert(FW_CLOCK_HZ / 2u <= 60000000u && FW_CLOCK_HZ / 3u <= 50000000u && FW_CLOCK_HZ / 5u <= 25000000u,
               "bus, FlexBus or flash clock above its limit");

/* About 100 ms at 20.97 MHz; the PLL locks within a millisecond. */
#define READY_TIMEOUT 400000u

static int wait8(volatile uint8_t *reg, uint8_t mask, uint8_t want)
{
    for (uint32_t n = 0; n < READY_TIMEOUT; n++) {
        if ((*reg & mask) == want) {
            return 1;
        }
    }
    return 0;
}

static int clkst_is(uint8_t source)
{
    return wait8(&MCG_S, 0x3u << 2, (uint8_t)(source << 2));
}

/* From wherever the bring-up stopped, back through FBE to FEI. */
static void back_to_fei(void)
{
    MCG_C6 &= (uint8_t)~MCG_C6_PLLS;
    (void)wait8(&MCG_S, MCG_S_PLLST, 0u);
    MCG_C1 = MCG_C1_CLKS_FLLPLL | MCG_C1_IREFS;
    (void)wait8(&MCG_S, MCG_S_IREFST, MCG_S_IREFST);
    (void)clkst_is(0u);
    MCG_C5 = PRDIV - 1u;                 /* PLL off again */
}

static int bring_up_pll(void)
{
    SIM_CLKDIV1 = SIM_CLKDIV1_VALUE(1u, 2u, 3u, 5u);   /* fine at 20.97 MHz too */
    MCG_C2 = MCG_C2_RANGE_VERY_HIGH;
    MCG_C7 &= (uint8_t)~MCG_C7_OSCSEL_MASK;
    MCG_C5 = PRDIV - 1u;
    MCG_C6 = VDIV - 24u;                 /* PLLS 0: the FLL still drives the core */
    MCG_C5 = (PRDIV - 1u) | MCG_C5_PLLCLKEN0;
    if (!wait8(&MCG_S, MCG_S_LOCK0, MCG_S_LOCK0)) {
        return 0;                        /* no 50 MHz on EXTAL0 */
    }

    /* FBE: core on the external clock, FLL referenced to it */
    MCG_C1 = MCG_C1_CLKS_EXTERNAL | MCG_C1_FRDIV(FRDIV_1536);
    if (!wait8(&MCG_S, MCG_S_IREFST, 0u) || !clkst_is(2u)) {
        return 0;
    }
    /* PBE: PLL selected, still bypassed */
    MCG_C6 |= MCG_C6_PLLS;
    if (!wait8(&MCG_S, MCG_S_PLLST, MCG_S_PLLST) || !wait8(&MCG_S, MCG_S_LOCK0, MCG_S_LOCK0)) {
        return 0;
    }
    /* PEE: core on the PLL */
    MCG_C1 = (uint8_t)((MCG_C1 & ~MCG_C1_CLKS_MASK) | MCG_C1_CLKS_FLLPLL);
    return clkst_is(3u);
}

/* MCGOUTCLK from the source the MCG says drives it. */
static uint32_t mcgout_hz(void)
{
    static const uint16_t fll_factor[2][4] = { { 640, 1280, 1920, 2560 }, { 732, 1464, 2197, 2929 } };
    uint8_t s = MCG_S;
    switch (MCG_S_CLKST(s)) {
    case 3u:
        return (uint32_t)((uint64_t)EXTAL0_HZ / (MCG_C5_PRDIV0(MCG_C5) + 1u) * (MCG_C6_VDIV0(MCG_C6) + 24u));
    case 2u:
        return EXTAL0_HZ;
    case 1u:
        return SLOW_IRC_HZ;              /* never selected here */
    default: {
        uint8_t c4 = MCG_C4;
        uint32_t reference = (s & MCG_S_IREFST) != 0u ? SLOW_IRC_HZ : EXTAL0_HZ / 1536u;
        return reference * fll_factor[(c4 & MCG_C4_DMX32) != 0u][MCG_C4_DRST_DRS(c4)];
    }
    }
}

void clock_init(struct clocks *out)
{
    if (!bring_up_pll()) {
        back_to_fei();
    }
    uint32_t mcgout = mcgout_hz();
    uint32_t div = SIM_CLKDIV1;
    out->core_hz = mcgout / (SIM_CLKDIV1_OUTDIV1(div) + 1u);
    out->bus_hz = mcgout / (SIM_CLKDIV1_OUTDIV2(div) + 1u);
}
