#include "fault.h"

#include <stddef.h>

#include "board.h"
#include "common/cortex_m.h"

volatile struct fault_record fault_record;

static volatile bool probe_armed;
static volatile bool probe_faulted;

#define CFSR_IMPRECISERR (1u << 10)

bool probe_read32(uintptr_t addr, uint32_t *value)
{
    uint32_t v = 0;
    probe_faulted = false;
    probe_armed = true;
    __asm volatile("dsb\n\tldr %0, [%1]\n\tdsb" : "+r"(v) : "r"(addr) : "memory");
    probe_armed = false;
    if (probe_faulted) {
        return false;
    }
    *value = v;
    return true;
}

bool probe_write32(uintptr_t addr, uint32_t value)
{
    probe_faulted = false;
    probe_armed = true;
    __asm volatile("dsb\n\tstr %0, [%1]\n\tdsb\n\tisb" : : "r"(value), "r"(addr) : "memory");
    probe_armed = false;
    return !probe_faulted;
}

static void put_text(const char *s)
{
    while (*s != '\0') {
        board_uart_putc_polled((uint8_t)*s++);
    }
}

static void put_hex(const char *label, uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    put_text(label);
    for (int shift = 28; shift >= 0; shift -= 4) {
        board_uart_putc_polled((uint8_t)digits[(v >> shift) & 0xFu]);
    }
}

static void __attribute__((noreturn)) hang(const uint32_t *frame)
{
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    irq_disable();
    fault_record.ipsr = ipsr & 0x1FFu;
    fault_record.pc = frame != NULL ? frame[6] : 0u;
    fault_record.lr = frame != NULL ? frame[5] : 0u;
    fault_record.xpsr = frame != NULL ? frame[7] : 0u;
    fault_record.cfsr = SCB_CFSR;
    fault_record.hfsr = SCB_HFSR;
    fault_record.bfar = SCB_BFAR;
    fault_record.magic = FAULT_RECORD_MAGIC;
    board_fault_indicate();
    /* Between delimiters, so the host drops it as one damaged frame; a raw
     * capture of the line shows it as text. */
    board_uart_putc_polled(0);
    put_hex("FAULT exception=", fault_record.ipsr);
    put_hex(" pc=", fault_record.pc);
    put_hex(" lr=", fault_record.lr);
    put_hex(" xpsr=", fault_record.xpsr);
    put_hex(" cfsr=", fault_record.cfsr);
    put_hex(" hfsr=", fault_record.hfsr);
    put_hex(" bfar=", fault_record.bfar);
    put_text("\r\n");
    board_uart_putc_polled(0);
    for (;;) {
        wait_for_interrupt();
    }
}

/* Thumb: a first halfword 0b11101, 0b11110 or 0b11111 starts a 32-bit instruction. */
static uint32_t instruction_size(uint32_t pc)
{
    uint16_t first = *(const volatile uint16_t *)(uintptr_t)pc;
    return (first & 0xF800u) >= 0xE800u ? 4u : 2u;
}

/* frame: the exception frame the core stacked (r0-r3, r12, lr, pc, xpsr). */
void fault_handle(uint32_t *frame);
void fault_handle(uint32_t *frame)
{
    if (probe_armed) {
        uint32_t cfsr = SCB_CFSR;
        probe_faulted = true;
        /* A precise fault stacks the faulting access; skip it. An imprecise
         * one (a buffered write) has already moved on. */
        if ((cfsr & CFSR_IMPRECISERR) == 0u) {
            frame[6] += instruction_size(frame[6]);
        }
        SCB_CFSR = cfsr;                 /* write-one-to-clear */
        SCB_HFSR = SCB_HFSR;
        return;
    }
    hang(frame);
}

void __attribute__((naked)) fault_entry(void)
{
    __asm volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "b fault_handle\n\t");
}

void unexpected_irq_entry(void)
{
    hang(NULL);
}
