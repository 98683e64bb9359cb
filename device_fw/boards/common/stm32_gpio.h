/* STM32 GPIO ports (the same register layout on F4, L4, L4+ and H7): pin
 * set-up for the boards' UART pins and LEDs. Each port's clock must be on. */
#ifndef BOARDS_COMMON_STM32_GPIO_H
#define BOARDS_COMMON_STM32_GPIO_H

#include "cortex_m.h"

#define GPIO_MODER(port) REG32((port) + 0x00u)
#define GPIO_OTYPER(port) REG32((port) + 0x04u)
#define GPIO_OSPEEDR(port) REG32((port) + 0x08u)
#define GPIO_PUPDR(port) REG32((port) + 0x0Cu)
#define GPIO_BSRR(port) REG32((port) + 0x18u)
#define GPIO_AFR(port, pin) REG32((port) + 0x20u + 4u * ((pin) >> 3))

#define GPIO_MODE_OUTPUT 1u
#define GPIO_MODE_AF 2u
#define GPIO_SPEED_HIGH 2u
#define GPIO_PULL_UP 1u

/* Two-bit field of `pin` in MODER, OSPEEDR or PUPDR. */
static inline void gpio_field2(volatile uint32_t *reg, unsigned pin, uint32_t value)
{
    *reg = (*reg & ~(3u << (2u * pin))) | (value << (2u * pin));
}

/* Push-pull output, driven low first (no glitch when the mode changes). */
static inline void gpio_output(uintptr_t port, unsigned pin)
{
    GPIO_BSRR(port) = 1u << (pin + 16u);
    GPIO_OTYPER(port) &= ~(1u << pin);
    gpio_field2(&GPIO_MODER(port), pin, GPIO_MODE_OUTPUT);
}

/* Alternate function `af`, high speed; with a pull-up for a receive line, so
 * an unplugged line reads idle rather than a stream of breaks. */
static inline void gpio_alternate(uintptr_t port, unsigned pin, uint32_t af, int pull_up)
{
    unsigned shift = 4u * (pin & 7u);
    GPIO_AFR(port, pin) = (GPIO_AFR(port, pin) & ~(0xFu << shift)) | (af << shift);
    gpio_field2(&GPIO_OSPEEDR(port), pin, GPIO_SPEED_HIGH);
    gpio_field2(&GPIO_PUPDR(port), pin, pull_up ? GPIO_PULL_UP : 0u);
    gpio_field2(&GPIO_MODER(port), pin, GPIO_MODE_AF);
}

static inline void gpio_write(uintptr_t port, unsigned pin, int high)
{
    GPIO_BSRR(port) = high ? 1u << pin : 1u << (pin + 16u);
}

#endif
