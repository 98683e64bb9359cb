/* Cortex-M core registers used by the board support (Armv7-M and Armv8-M
 * mainline share these addresses; on the M33 they are the Secure instances). */
#ifndef BOARDS_COMMON_CORTEX_M_H
#define BOARDS_COMMON_CORTEX_M_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* System control block */
#define SCB_CPUID REG32(0xE000ED00u)
#define SCB_ICSR REG32(0xE000ED04u)
#define SCB_VTOR REG32(0xE000ED08u)
#define SCB_CCR REG32(0xE000ED14u)
#define SCB_CFSR REG32(0xE000ED28u)
#define SCB_HFSR REG32(0xE000ED2Cu)
#define SCB_BFAR REG32(0xE000ED38u)
#define SCB_CPACR REG32(0xE000ED88u)
#define ICSR_PENDSTSET (1u << 26)
#define ICSR_PENDSTCLR (1u << 25)
#define CPUID_PARTNO(cpuid) (((cpuid) >> 4) & 0xFFFu)
#define CPUID_PARTNO_CORTEX_M7 0xC27u

/* SysTick */
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_TICKINT (1u << 1)
#define SYST_CSR_CLKSOURCE_CPU (1u << 2)

/* NVIC */
#define NVIC_ISER(n) REG32(0xE000E100u + 4u * (n))
#define NVIC_ICER(n) REG32(0xE000E180u + 4u * (n))
#define NVIC_ICPR(n) REG32(0xE000E280u + 4u * (n))

/* Cortex-M7 L1 caches (Armv7-M cache maintenance; not present on the M4) */
#define SCB_CCR_DC (1u << 16)
#define SCB_CCR_IC (1u << 17)
#define SCB_CCSIDR REG32(0xE000ED80u)
#define SCB_CSSELR REG32(0xE000ED84u)
#define SCB_ICIALLU REG32(0xE000EF50u)
#define SCB_DCISW REG32(0xE000EF60u)

/* Debug: trace enable and the DWT cycle counter (not modelled by QEMU) */
#define DEMCR_ADDR 0xE000EDFCu
#define DEMCR_TRCENA (1u << 24)
#define DWT_CTRL_ADDR 0xE0001000u
#define DWT_CYCCNT_ADDR 0xE0001004u
#define DWT_LAR_ADDR 0xE0001FB0u
#define DWT_CTRL_CYCCNTENA (1u << 0)
#define DWT_CTRL_NOCYCCNT (1u << 25)
#define DWT_LAR_UNLOCK 0xC5ACCE55u

static inline void nvic_enable_irq(unsigned irq)
{
    NVIC_ISER(irq >> 5) = 1u << (irq & 31u);
}

/* Disabled at the NVIC, and the disable has taken effect when this returns. */
static inline void nvic_disable_irq(unsigned irq)
{
    NVIC_ICER(irq >> 5) = 1u << (irq & 31u);
    __asm volatile("dsb\n\tisb" ::: "memory");
}

static inline void nvic_clear_pending(unsigned irq)
{
    NVIC_ICPR(irq >> 5) = 1u << (irq & 31u);
}

static inline void irq_disable(void)
{
    __asm volatile("cpsid i" ::: "memory");
}

static inline void irq_enable(void)
{
    __asm volatile("cpsie i" ::: "memory");
}

static inline void wait_for_interrupt(void)
{
    __asm volatile("dsb\n\twfi" ::: "memory");
}

#endif
