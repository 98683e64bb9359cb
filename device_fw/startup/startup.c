#include "startup.h"

#include <stddef.h>

#include "board.h"
#include "board_config.h"
#include "common/cortex_m.h"
#include "common/counter.h"
#include "fault.h"

/* Symbols of startup/sections.ld. */
extern uint32_t __stack_bottom[];
extern uint32_t __stack_top[];
extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern const uint32_t __data_load[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];

int main(void);

typedef void (*vector_t)(void);

#if defined(__ARM_ARCH_8M_MAIN__)
#define SECURE_FAULT_VECTOR fault_entry
#else
#define SECURE_FAULT_VECTOR 0
#endif

/* Core exceptions, then BOARD_IRQ_COUNT interrupts: all unexpected except the
 * ones the board wires up in BOARD_IRQ_VECTORS (designated initializers that
 * override the default). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
__attribute__((section(".isr_vector"), used))
const vector_t vector_table[16 + BOARD_IRQ_COUNT] = {
    [0] = (vector_t)(uintptr_t)__stack_top,
    [1] = Reset_Handler,
    [2] = fault_entry,            /* NMI */
    [3] = fault_entry,            /* HardFault */
    [4] = fault_entry,            /* MemManage */
    [5] = fault_entry,            /* BusFault */
    [6] = fault_entry,            /* UsageFault */
    [7] = SECURE_FAULT_VECTOR,
    [11] = unexpected_irq_entry,  /* SVCall */
    [12] = unexpected_irq_entry,  /* DebugMonitor */
    [14] = unexpected_irq_entry,  /* PendSV */
    [15] = SysTick_Handler,
    [16 ... 16 + BOARD_IRQ_COUNT - 1] = unexpected_irq_entry,
    BOARD_IRQ_VECTORS
};
#pragma GCC diagnostic pop

/* First code after reset, on the initial stack: enable the FPU (the compiler
 * may use it anywhere), set the stack limit where the core has one, let the
 * board do what cannot wait, paint the whole stack, then set up C. */
void __attribute__((naked, noreturn)) Reset_Handler(void)
{
    __asm volatile(
        "ldr r0, =0xE000ED88\n\t"        /* CPACR: full access to CP10 and CP11 */
        "ldr r1, [r0]\n\t"
        "orr r1, r1, #(0xF << 20)\n\t"
        "str r1, [r0]\n\t"
        "dsb\n\t"
        "isb\n\t"
#if defined(__ARM_ARCH_8M_MAIN__)
        "ldr r0, =__stack_bottom\n\t"    /* overflow raises a UsageFault */
        "msr msplim, r0\n\t"
#endif
        "bl board_early_init\n\t"
        "ldr r0, =__stack_bottom\n\t"
        "mov r1, sp\n\t"
        "ldr r2, =%c0\n\t"
        "1:\n\t"
        "cmp r0, r1\n\t"
        "bhs 2f\n\t"
        "str r2, [r0], #4\n\t"
        "b 1b\n\t"
        "2:\n\t"
        "b startup_c\n\t"
        ".ltorg\n\t"
        : : "i"(STACK_PAINT));
}

void __attribute__((noreturn)) startup_c(void)
{
    const uint32_t *src = __data_load;
    for (uint32_t *dst = __data_start; dst < __data_end; dst++) {
        *dst = *src++;
    }
    for (uint32_t *dst = __bss_start; dst < __bss_end; dst++) {
        *dst = 0;
    }
    SCB_VTOR = (uint32_t)(uintptr_t)vector_table;
    __asm volatile("dsb\n\tisb" ::: "memory");

    main();
    for (;;) {
        wait_for_interrupt();
    }
}

uint32_t stack_size_bytes(void)
{
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)__stack_bottom);
}

uint32_t stack_peak_bytes(void)
{
    const volatile uint32_t *p = __stack_bottom;
    while (p < __stack_top && *p == STACK_PAINT) {
        p++;
    }
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)p);
}
