/* The free-running counter behind ECHO timings and STATUS uptime.
 *
 * The rule (also in device_fw/PROTOCOL.md, "Counter kinds"):
 *  - dwt-cycles: the DWT cycle counter, when the core has one that runs. Only
 *    probed where asked (the NUCLEO image). QEMU 7.2 reads DEMCR and the DWT
 *    as zero and ignores writes, so CYCCNT never moves there; every access is
 *    a guarded probe, so a part or emulator that bus-faults instead is
 *    survived as well.
 *  - icount-instructions: otherwise, and always on the MPS2 boards. SysTick
 *    runs from the core clock over its full 24-bit range; its interrupt counts
 *    wraps, so (wraps, current value) is a 64-bit tick count. At boot a loop of
 *    a known instruction count (2 instructions per iteration) is timed with it,
 *    giving instructions per tick; under qemu-system-arm -icount shift=0 every
 *    instruction is 1 ns of virtual time, so ticks times that ratio is the
 *    number of instructions executed. The ratio is snapped to the nearest
 *    integer when within 1/4096 of it (the QEMU boards: 40 at 25 MHz, 50 at
 *    20 MHz); counter_resolution is the ratio rounded up.
 *  - none: SysTick did not move during the calibration either; reads return 0.
 */
#ifndef BOARDS_COMMON_COUNTER_H
#define BOARDS_COMMON_COUNTER_H

#include <stdbool.h>
#include <stdint.h>

/* Pick and start the counter; probe_dwt asks for the DWT cycle counter first. */
void counter_init(bool probe_dwt);

void SysTick_Handler(void);

/* A timed window: the counter at its start and at its end (their difference
 * is the window's count). With the emulated counter the count depends only on
 * the instructions executed in between: the start restarts SysTick's period
 * (the tick phase is then the same on every run, and so is the place of any
 * wrap interrupt inside the window) and external interrupts, the receive
 * interrupt of a request already on the line among them, are held until the
 * end (BASEPRI; SysTick keeps the highest priority). The free-running count
 * loses the partial tick at each start. With the DWT cycle counter both are
 * plain reads: a real UART would drop held bytes, so a receive interrupt
 * that lands inside the window is counted in it. */
uint32_t counter_window_begin(void);
uint32_t counter_window_end(void);

/* Instructions per SysTick tick in 16.16 fixed point (0 when the DWT counts). */
uint32_t counter_calibration_q16(void);

#endif
