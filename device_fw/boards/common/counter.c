#include "counter.h"

#include "board.h"
#include "cortex_m.h"
#include "proto/proto.h"
#include "startup/fault.h"

#define SYSTICK_RELOAD 0x00FFFFFFu
#define SYSTICK_PERIOD ((uint64_t)SYSTICK_RELOAD + 1u)

/* Calibration: the loop timed for N and for 3N iterations; the difference is
 * 2N iterations of 2 instructions, whatever the fixed costs around the loop. */
#define CAL_ITERATIONS (1u << 18)
#define CAL_INSTRUCTIONS (4u * CAL_ITERATIONS)

/* Emulated counter only: external interrupts get this priority, below
 * SysTick's 0, so that BASEPRI can hold them off during a timed window. */
#define HELD_PRIORITY 0x80u
#define SCB_SHPR3 REG32(0xE000ED20u)
#define ICTR REG32(0xE000E004u)
#define NVIC_IPR_BYTE(n) (*(volatile uint8_t *)(uintptr_t)(0xE000E400u + (n)))

static uint8_t counter_kind;
static uint32_t counter_resolution;
static uint32_t ratio_q16;               /* instructions per SysTick tick, 16.16 */
static volatile uint32_t systick_wraps;  /* since tick_base was taken */
static uint64_t tick_base;               /* ticks before the current SysTick period chain started */
static uint64_t unit_base;               /* tick_base in counter units */

void SysTick_Handler(void)
{
    systick_wraps++;
}

/* Exactly two instructions per iteration; n must not be 0. */
static void __attribute__((noinline)) spin(uint32_t n)
{
    __asm volatile("1:\n\tsubs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
}

/* SysTick ticks since it was started, 64 bits. The current value counts
 * down from the reload value to 0, where the wrap interrupt is raised; 0 is
 * also what it reads right after a write (until the next tick reloads it),
 * so 0 counts as the end of the elapsed periods in both cases. */
static uint64_t systick_ticks(void)
{
    for (;;) {
        uint32_t wraps = systick_wraps;
        uint32_t value = SYST_CVR;
        uint32_t pending = SCB_ICSR & ICSR_PENDSTSET;
        uint32_t again = SYST_CVR;
        if (wraps != systick_wraps) {
            continue;                 /* the interrupt ran in between */
        }
        if (pending) {
            wraps++;                  /* wrapped, interrupt not taken yet (masked) */
            value = again;            /* read after the wrap was seen */
        } else if (again > value && value != 0u) {
            continue;                 /* wrapped between the two reads */
        }
        return tick_base + (uint64_t)wraps * SYSTICK_PERIOD + (value != 0u ? SYSTICK_PERIOD - value : 0u);
    }
}

static uint32_t ticks_for(uint32_t iterations)
{
    uint64_t t0 = systick_ticks();
    spin(iterations);
    uint64_t t1 = systick_ticks();
    return (uint32_t)(t1 - t0);
}

static bool systick_calibrate(void)
{
    SYST_CSR = 0;
    SYST_RVR = SYSTICK_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_CLKSOURCE_CPU | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
    /* The current value stays 0 until the first tick loads the reload value;
     * start counting from there. */
    for (uint32_t n = 0; SYST_CVR == 0u && n < 1000000u; n++) {
    }
    SCB_ICSR = ICSR_PENDSTCLR;
    systick_wraps = 0;

    /* Interrupts masked: only the loop runs while it is timed (a wrap is seen
     * through the pending bit, and the calibration is far shorter than one). */
    uint32_t primask;
    __asm volatile("mrs %0, primask" : "=r"(primask));
    irq_disable();
    uint32_t once = ticks_for(CAL_ITERATIONS);
    uint32_t thrice = ticks_for(3u * CAL_ITERATIONS);
    if ((primask & 1u) == 0u) {
        irq_enable();
    }
    if (thrice <= once) {
        return false;
    }
    uint32_t ticks = thrice - once;
    uint64_t q16 = (((uint64_t)CAL_INSTRUCTIONS << 16) + ticks / 2u) / ticks;
    uint64_t whole = (q16 + 0x8000u) >> 16;
    uint64_t snapped = whole << 16;
    uint64_t diff = q16 > snapped ? q16 - snapped : snapped - q16;
    if (whole != 0u && diff <= snapped / 4096u) {
        q16 = snapped;
    }
    if (q16 == 0u || q16 > 0xFFFFFFFFu) {
        return false;
    }
    ratio_q16 = (uint32_t)q16;
    counter_resolution = (uint32_t)((q16 + 0xFFFFu) >> 16);
    return true;
}

/* Whether the DWT cycle counter exists and runs. QEMU 7.2 answers DEMCR and
 * the DWT as read-as-zero, writes ignored: CYCCNT stays 0 and the check below
 * fails. Every access goes through probe_read32/probe_write32, so where the
 * registers bus-fault instead the access is skipped and the probe fails too. */
static bool dwt_start(void)
{
    uint32_t demcr;
    uint32_t ctrl;
    uint32_t a;
    uint32_t b;

    if (!probe_read32(DEMCR_ADDR, &demcr) || !probe_write32(DEMCR_ADDR, demcr | DEMCR_TRCENA)) {
        return false;
    }
    if (CPUID_PARTNO(SCB_CPUID) == CPUID_PARTNO_CORTEX_M7) {
        (void)probe_write32(DWT_LAR_ADDR, DWT_LAR_UNLOCK);   /* the M7 DWT has a software lock */
    }
    if (!probe_read32(DWT_CTRL_ADDR, &ctrl) || (ctrl & DWT_CTRL_NOCYCCNT) != 0u) {
        return false;
    }
    if (!probe_write32(DWT_CYCCNT_ADDR, 0) || !probe_write32(DWT_CTRL_ADDR, ctrl | DWT_CTRL_CYCCNTENA)) {
        return false;
    }
    if (!probe_read32(DWT_CYCCNT_ADDR, &a)) {
        return false;
    }
    spin(64);
    if (!probe_read32(DWT_CYCCNT_ADDR, &b)) {
        return false;
    }
    return b - a >= 128u;   /* 128 instructions take at least as many cycles */
}

/* SysTick above every external interrupt, so BASEPRI can hold those alone. */
static void priorities_for_windows(void)
{
    SCB_SHPR3 &= 0x00FFFFFFu;
    uint32_t lines = 32u * ((ICTR & 0xFu) + 1u);
    for (uint32_t n = 0; n < lines; n++) {
        NVIC_IPR_BYTE(n) = (uint8_t)HELD_PRIORITY;
    }
}

void counter_init(bool probe_dwt)
{
    if (probe_dwt && dwt_start()) {
        counter_kind = PROTO_COUNTER_DWT_CYCLES;
        counter_resolution = 1;
    } else if (systick_calibrate()) {
        counter_kind = PROTO_COUNTER_ICOUNT_INSTRUCTIONS;
        priorities_for_windows();
    } else {
        SYST_CSR = 0;
        counter_kind = PROTO_COUNTER_NONE;
        counter_resolution = 0;
    }
}

uint32_t board_counter_read(void)
{
    switch (counter_kind) {
    case PROTO_COUNTER_DWT_CYCLES:
        return REG32(DWT_CYCCNT_ADDR);
    case PROTO_COUNTER_ICOUNT_INSTRUCTIONS:
        /* Units since the last window start are converted on their own, so a
         * window's count does not depend on where the ratio's rounding falls
         * for the ticks before it (the twin at 168 MHz: 5.952 per tick). */
        return (uint32_t)(unit_base + (((systick_ticks() - tick_base) * ratio_q16) >> 16));
    default:
        return 0;
    }
}

/* The emulated counter's window (counter.h): SysTick restarts its period, so
 * the window always starts at the same phase of the tick, and the receive
 * interrupt is held (BASEPRI) until the window ends. QEMU's UART models stop
 * taking bytes from the host while their receive register is full, so a
 * held byte waits on the host side; nothing is lost. */
static uint32_t anchor(void)
{
    irq_disable();
    uint64_t now = systick_ticks();
    __asm volatile("msr basepri, %0" : : "r"(HELD_PRIORITY) : "memory");
    SYST_CVR = 0;                 /* the period chain restarts here, at this instruction */
    SCB_ICSR = ICSR_PENDSTCLR;
    systick_wraps = 0;
    unit_base += ((now - tick_base) * ratio_q16) >> 16;
    tick_base = now;              /* the partial tick before the restart is dropped */
    irq_enable();
    return (uint32_t)unit_base;
}

uint32_t counter_window_begin(void)
{
    if (counter_kind == PROTO_COUNTER_ICOUNT_INSTRUCTIONS) {
        return anchor();
    }
    return board_counter_read();
}

uint32_t counter_window_end(void)
{
    uint32_t t = board_counter_read();
    if (counter_kind == PROTO_COUNTER_ICOUNT_INSTRUCTIONS) {
        __asm volatile("msr basepri, %0" : : "r"(0u) : "memory");
    }
    return t;
}

uint8_t board_counter_kind(void)
{
    return counter_kind;
}

uint32_t board_counter_resolution(void)
{
    return counter_resolution;
}

uint32_t counter_calibration_q16(void)
{
    return ratio_q16;
}
