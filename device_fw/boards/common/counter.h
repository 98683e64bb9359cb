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

/* Instructions per SysTick tick in 16.16 fixed point (0 when the DWT counts). */
uint32_t counter_calibration_q16(void);

#endif
