/* libFuzzer target: the firmware's frame parser and request dispatcher (device_fw/proto/), built for the
 * host with clang -fsanitize=fuzzer,address,undefined by tests/test_fuzz_proto.py.
 *
 * The input is a byte stream as the serial line would deliver it, fed in pieces whose sizes come from the
 * input itself. The device answers through a fake board with a 16-byte "model" (so INFER and its replay
 * memory run too). Every reply must be well formed: COBS that decodes, a CRC that matches, a length that
 * agrees; and there are never more replies than delimiters in the input. Anything else aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cobs.h"
#include "crc32.h"
#include "frame.h"
#include "server.h"

static uint8_t input[4096], output[4096];
static uint8_t sink[1 << 18];
static size_t sink_len;
static uint32_t counter;
static const uint8_t hash[32] = { 7 };
static struct proto_device device;
static struct proto_server server;

static void capture(const uint8_t *data, size_t len)
{
    if (len > sizeof sink - sink_len) {
        len = sizeof sink - sink_len;
    }
    memcpy(sink + sink_len, data, len);
    sink_len += len;
}

static uint32_t peak(void) { return 100; }
static uint32_t count(void) { return counter += 3; }

static int infer(const uint8_t *in, uint8_t *out)
{
    uint32_t acc = 0;
    for (int i = 0; i < 16; i++) {
        acc = acc * 31u + in[i];
    }
    memcpy(out, &acc, 4);
    memset(out + 4, 0, 12);
    return (int)(acc % 3u);
}

static void reset(void)
{
    memset(&device, 0, sizeof device);
    device.fw_version = "fuzz";
    device.board = "fuzz";
    device.core = "cortex-m4";
    device.clock_hz = 1000000;
    device.counter_kind = PROTO_COUNTER_ICOUNT_INSTRUCTIONS;
    device.counter_resolution = 1;
    device.model_hash = hash;
    device.input = input;
    device.input_capacity = sizeof input;
    device.output = output;
    device.output_capacity = sizeof output;
    device.stack_size = 4096;
    device.stack_peak = peak;
    device.counter_read = count;
    device.write = capture;
    device.infer = infer;
    device.model_input_bytes = 16;
    device.model_output_bytes = 16;
    proto_server_init(&server, &device);
}

static void check_replies(size_t delimiters_in)
{
    static uint8_t frame[PROTO_FRAME_MAX + 16];
    size_t replies = 0, start = 0;
    for (size_t i = 0; i < sink_len; i++) {
        if (sink[i] != 0) {
            continue;
        }
        size_t n = i - start;
        if (n > 0) {
            size_t got = cobs_decode(&sink[start], n, frame, sizeof frame);
            if (got == (size_t)-1 || got < PROTO_OVERHEAD) {
                abort();   /* the device sent malformed COBS or a short frame */
            }
            struct frame_view v;
            if (frame_parse(frame, got, &v) != PROTO_ERR_NONE) {
                abort();   /* bad CRC or length on what the device sent */
            }
            replies++;
        }
        start = i + 1;
    }
    if (start != sink_len) {
        abort();   /* a reply not ended by its delimiter */
    }
    if (replies > delimiters_in + 1) {
        abort();   /* more replies than frames that could have been requests */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reset();
    sink_len = 0;
    size_t delimiters = 0;
    for (size_t i = 0; i < size; i++) {
        delimiters += data[i] == 0;
    }
    /* Feed in pieces: the first byte picks the piece size, so cuts fall anywhere. */
    size_t piece = size > 0 ? (size_t)(data[0] % 61u) + 1u : 1u;
    for (size_t pos = 0; pos < size; pos += piece) {
        size_t n = size - pos < piece ? size - pos : piece;
        proto_server_feed(&server, data + pos, n);
    }
    check_replies(delimiters);
    return 0;
}
