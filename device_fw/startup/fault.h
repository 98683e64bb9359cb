/* Fault handling: every fault and unexpected interrupt ends in a visible hang,
 * except accesses made through the probe functions, which report whether the
 * access faulted instead. */
#ifndef STARTUP_FAULT_H
#define STARTUP_FAULT_H

#include <stdbool.h>
#include <stdint.h>

/* Read or write a word that may not exist. False when the access faulted (the
 * faulting instruction is skipped); the fault is otherwise harmless. */
bool probe_read32(uintptr_t addr, uint32_t *value);
bool probe_write32(uintptr_t addr, uint32_t value);

/* What the last fault left behind, for a debugger (symbol fault_record). */
struct fault_record {
    uint32_t magic;       /* FAULT_RECORD_MAGIC once filled */
    uint32_t ipsr;        /* exception number: 3 HardFault, 4 MemManage, 5 BusFault, 6 UsageFault, 7 SecureFault, 16+ IRQ */
    uint32_t pc;
    uint32_t lr;
    uint32_t xpsr;
    uint32_t cfsr;
    uint32_t hfsr;
    uint32_t bfar;
};
#define FAULT_RECORD_MAGIC 0xFA017EC0u

extern volatile struct fault_record fault_record;

/* Exception entries placed in the vector table. */
void fault_entry(void);
void unexpected_irq_entry(void);

#endif
