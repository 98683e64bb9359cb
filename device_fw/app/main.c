/* The firmware's main loop: bring the board up, then serve the link protocol
 * (device_fw/PROTOCOL.md) on the board's serial port for ever. */
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "common/counter.h"
#include "fw_config.h"
#include "proto/server.h"
#include "startup/startup.h"

#if FW_HAS_MODEL
#include "model.h"

/* The runtime's working memory, sized by the exporter (rt_arena_bytes). */
static uint32_t arena[(MODEL_ARENA_BYTES + 3u) / 4u];

static int run_model(const uint8_t *input, uint8_t *output)
{
    return rt_infer(&model_desc, input, output, arena, sizeof arena);
}
#endif

/* Tensor buffers. FW_TENSOR_BYTES is set in CMakeLists.txt; on a board whose
 * RAM cannot hold two of them the output buffer is the input buffer. */
static uint8_t input_tensor[FW_TENSOR_BYTES] __attribute__((aligned(8)));
#if FW_SHARED_TENSORS
#define output_tensor input_tensor
#else
static uint8_t output_tensor[FW_TENSOR_BYTES] __attribute__((aligned(8)));
#endif

static struct proto_device device;
static struct proto_server server;

int main(void)
{
    board_init();

    device.fw_version = FW_VERSION;
    device.board = FW_BOARD_NAME;
    device.core = FW_CORE_NAME;
    device.clock_hz = board_clock_hz();
    device.counter_kind = board_counter_kind();
    device.counter_resolution = board_counter_resolution();
#if FW_HAS_MODEL
    device.model_hash = model_hash;
    device.infer = run_model;
    device.model_input_bytes = MODEL_INPUT_BYTES;
    device.model_output_bytes = MODEL_OUTPUT_BYTES;
#else
    device.model_hash = NULL;   /* a firmware without a model: link tests only */
#endif
    device.input = input_tensor;
    device.input_capacity = FW_TENSOR_BYTES;
    device.output = output_tensor;
    device.output_capacity = FW_TENSOR_BYTES;
    device.stack_size = stack_size_bytes();
    device.stack_peak = stack_peak_bytes;
    device.counter_read = board_counter_read;
    device.window_begin = counter_window_begin;
    device.window_end = counter_window_end;
    device.write = board_uart_write;
    proto_server_init(&server, &device);

    /* An empty frame: tells a host that started the device (an emulator) that
     * the receiver is on; ignored by any receiver (PROTOCOL.md, Byte stream). */
    static const uint8_t ready = 0;
    board_uart_write(&ready, 1);

    for (;;) {
        int c = board_uart_read();
        if (c < 0) {
            board_wait_for_input();
            continue;
        }
        uint8_t byte = (uint8_t)c;
        proto_server_feed(&server, &byte, 1);
    }
}
