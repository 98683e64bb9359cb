#include "stm32_heartbeat.h"

#include <stdbool.h>

#include "board_config.h"
#include "stm32_gpio.h"
#include "stm32_tim.h"
#include "uart_rx.h"

#if !BOARD_IDLE_HOOKS
#error "stm32_heartbeat.c needs BOARD_IDLE_HOOKS 1 in board_config.h"
#endif

static bool led_on;
static bool started;

static void take_period(void)
{
    if (stm32_tim_take_update(HEARTBEAT_TIM_BASE)) {
        led_on = !led_on;
        gpio_write(HEARTBEAT_LED_PORT, HEARTBEAT_LED_PIN, led_on);
    }
}

void stm32_heartbeat_start(uint32_t tim_hz)
{
    stm32_tim_start(HEARTBEAT_TIM_BASE, tim_hz, HEARTBEAT_PERIOD_MS);
    started = true;
}

void board_idle_enter(void)
{
    if (!started) {
        return;
    }
    take_period();
    /* A mark set while the line was off is consumed above; forget its stale
     * pending state, so only a new mark ends the sleep. */
    nvic_clear_pending(HEARTBEAT_TIM_IRQ);
    nvic_enable_irq(HEARTBEAT_TIM_IRQ);
}

void board_idle_exit(void)
{
    /* Interrupts are still masked here: the handler never runs. */
    nvic_disable_irq(HEARTBEAT_TIM_IRQ);
}

void stm32_heartbeat_irq_handler(void)
{
    take_period();
}
