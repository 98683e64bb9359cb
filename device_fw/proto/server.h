/* The device end of the link: turns the received byte stream into requests and
 * answers each with exactly one reply (device_fw/PROTOCOL.md). Board
 * independent: whatever touches hardware comes in through struct proto_device,
 * so the same code runs in the firmware and in host tests. */
#ifndef PROTO_SERVER_H
#define PROTO_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cobs.h"
#include "proto.h"

struct proto_device {
    /* Reported in HELLO_ACK. */
    const char *fw_version;
    const char *board;
    const char *core;
    uint32_t clock_hz;
    uint8_t counter_kind;          /* enum proto_counter_kind */
    uint32_t counter_resolution;   /* counter units per tick of the underlying timer */
    const uint8_t *model_hash;     /* 32 bytes, or NULL when no model is compiled in */

    /* Tensor buffers; output may be the very same memory as input. */
    uint8_t *input;
    uint32_t input_capacity;
    uint8_t *output;
    uint32_t output_capacity;

    uint32_t stack_size;
    uint32_t (*stack_peak)(void);
    uint32_t (*counter_read)(void);                  /* free-running, in counter units */
    /* Optional: the start and end of a timed window (the counter's value at
     * each); NULL means plain counter_read. The firmware uses them to keep
     * the timed window free of other work (boards/common/counter.h). */
    uint32_t (*window_begin)(void);
    uint32_t (*window_end)(void);
    void (*write)(const uint8_t *data, size_t len);  /* blocking serial output */

    /* The compiled-in model, or infer == NULL when there is none. infer reads
     * model_input_bytes from input, writes model_output_bytes to output and
     * returns the predicted class (negative on failure). Only it is timed. */
    int (*infer)(const uint8_t *input, uint8_t *output);
    uint32_t model_input_bytes;
    uint32_t model_output_bytes;
};

/* A served INFER request and its reply, for a host that sends it again. */
struct proto_replay {
    bool used;
    uint32_t session;
    uint16_t seq;
    uint32_t request_crc;   /* the request frame's own CRC: the same bytes, not only the same seq */
    uint16_t length;
    uint8_t payload[PROTO_REPLAY_PAYLOAD_MAX];
};

struct proto_server {
    const struct proto_device *dev;
    struct cobs_decoder dec;
    size_t rx_len;          /* decoded bytes of the frame being received */
    bool rx_started;        /* encoded bytes seen since the last delimiter */
    bool rx_overflow;       /* frame too long: dropping up to the next delimiter */
    bool have_session;
    uint32_t session;
    uint32_t frames_ok;
    uint32_t frames_bad;
    uint32_t replays;       /* requests answered again from `replay` */
    uint32_t replay_next;
    struct proto_replay replay[PROTO_REPLAY_DEPTH];
    uint8_t rx[PROTO_FRAME_MAX];
    uint8_t tx[PROTO_FRAME_MAX];
};

void proto_server_init(struct proto_server *s, const struct proto_device *dev);

/* Feed received bytes; replies go out through dev->write before this returns. */
void proto_server_feed(struct proto_server *s, const uint8_t *data, size_t len);

#endif
