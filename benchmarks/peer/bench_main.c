/* Main of the side-by-side benchmark image: bring the board up, run every
 * check and every case, print one line each on the serial port, then idle.
 *
 *   check <name> <mismatches>
 *   case <name> <repeats> <counter units over all repeats>
 *   end <counter kind>
 *
 * The counter is the firmware's own (boards/common/counter.h): executed
 * instructions on the QEMU twins. */
#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "board.h"
#include "common/counter.h"

static void put(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    board_uart_write((const uint8_t *)s, n);
}

static void put_u32(uint32_t v)
{
    char buf[11];
    int i = 10;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    put(&buf[i]);
}

int main(void)
{
    board_init();
    static const uint8_t ready = 0;
    board_uart_write(&ready, 1);   /* the boot byte the QEMU target waits for */
    bench_setup();
    for (uint32_t i = 0; i < bench_check_count; i++) {
        put("check ");
        put(bench_checks[i].name);
        put(" ");
        put_u32(bench_checks[i].run());
        put("\n");
    }
    for (uint32_t i = 0; i < bench_case_count; i++) {
        const struct bench_case *c = &bench_cases[i];
        c->run();   /* warm-up */
        uint32_t t0 = counter_window_begin();
        for (uint32_t r = 0; r < c->repeats; r++) {
            c->run();
        }
        uint32_t t1 = counter_window_end();
        put("case ");
        put(c->name);
        put(" ");
        put_u32(c->repeats);
        put(" ");
        put_u32(t1 - t0);
        put("\n");
    }
    put("end ");
    put_u32(board_counter_kind());
    put("\n");
    for (;;) {
        board_wait_for_input();
        (void)board_uart_read();
    }
}
