#include "server.h"

#include <string.h>

#include "crc32.h"
#include "frame.h"

#define HELLO_FIXED_SIZE 60u
#define MODEL_HASH_SIZE 32u

static uint8_t *reply_payload(struct proto_server *s)
{
    return &s->tx[PROTO_HEADER_SIZE];
}

static void sink_to_device(void *ctx, const uint8_t *data, size_t len)
{
    const struct proto_device *dev = ctx;
    dev->write(data, len);
}

static void send_frame(struct proto_server *s, uint8_t type, uint16_t seq, uint32_t session, size_t payload_len)
{
    /* Two delimiters: should the line damage the first, the second still ends
     * the frame at once (an empty frame, which receivers ignore). */
    static const uint8_t delimiters[2] = { 0, 0 };
    size_t n = frame_finish(s->tx, type, seq, session, (uint16_t)payload_len);
    cobs_encode_to(s->tx, n, sink_to_device, (void *)s->dev);
    s->dev->write(delimiters, sizeof delimiters);
}

static void send_error(struct proto_server *s, uint8_t code, uint8_t request_type, uint16_t seq,
                       uint32_t session, const char *detail)
{
    uint8_t *p = reply_payload(s);
    size_t n = 4;
    p[0] = code;
    p[1] = request_type;
    p[2] = 0;
    p[3] = 0;
    while (detail != NULL && *detail != '\0' && n < 64u) {
        p[n++] = (uint8_t)*detail++;
    }
    send_frame(s, PROTO_MSG_ERROR, seq, session, n);
}

/* A frame whose header cannot be trusted: the host attributes the error to its
 * oldest outstanding request. */
static void reject_damaged(struct proto_server *s, uint8_t code, const char *detail)
{
    s->frames_bad++;
    send_error(s, code, 0, PROTO_SEQ_UNATTRIBUTED, s->session, detail);
}

static uint32_t window_begin(const struct proto_device *dev)
{
    return dev->window_begin != NULL ? dev->window_begin() : dev->counter_read();
}

static uint32_t window_end(const struct proto_device *dev)
{
    return dev->window_end != NULL ? dev->window_end() : dev->counter_read();
}

static bool buffers_shared(const struct proto_device *dev)
{
    const uint8_t *in_end = dev->input + dev->input_capacity;
    const uint8_t *out_end = dev->output + dev->output_capacity;
    return dev->input < out_end && dev->output < in_end;
}

static size_t put_string(uint8_t *p, const char *text)
{
    size_t n = text != NULL ? strlen(text) : 0u;
    if (n > 255u) {
        n = 255u;
    }
    p[0] = (uint8_t)n;
    memcpy(&p[1], text, n);
    return n + 1u;
}

static void handle_hello(struct proto_server *s, const struct frame_view *f)
{
    const struct proto_device *dev = s->dev;
    if (f->length != 4u) {
        send_error(s, PROTO_ERR_BAD_LENGTH, f->type, f->seq, f->session, "hello: 4 bytes");
        return;
    }
    uint32_t nonce = get_le32(f->payload);
    if (nonce == 0u) {
        send_error(s, PROTO_ERR_BAD_ARG, f->type, f->seq, f->session, "nonce 0");
        return;
    }
    s->session = nonce;
    s->have_session = true;

    uint32_t caps = PROTO_CAP_TENSOR | PROTO_CAP_ECHO | PROTO_CAP_STATUS;
    if (dev->infer != NULL) {
        caps |= PROTO_CAP_INFER;
    }
    if (buffers_shared(dev)) {
        caps |= PROTO_CAP_SHARED_BUFFERS;
    }
    uint8_t *p = reply_payload(s);
    put_le32(&p[0], nonce);
    put_le16(&p[4], PROTO_VERSION);
    put_le16(&p[6], PROTO_MAX_PAYLOAD);
    put_le32(&p[8], caps);
    put_le32(&p[12], dev->clock_hz);
    p[16] = dev->counter_kind;
    p[17] = 0;
    put_le16(&p[18], 0);
    put_le32(&p[20], dev->input_capacity);
    put_le32(&p[24], dev->output_capacity);
    if (dev->model_hash != NULL) {
        memcpy(&p[28], dev->model_hash, MODEL_HASH_SIZE);
    } else {
        memset(&p[28], 0, MODEL_HASH_SIZE);
    }
    size_t n = HELLO_FIXED_SIZE;
    n += put_string(&p[n], dev->fw_version);
    n += put_string(&p[n], dev->board);
    n += put_string(&p[n], dev->core);
    send_frame(s, PROTO_MSG_HELLO | PROTO_REPLY_BIT, f->seq, nonce, n);
}

/* offset + len <= capacity, without overflow. */
static bool in_range(uint32_t offset, uint32_t len, uint32_t capacity)
{
    return offset <= capacity && len <= capacity - offset;
}

static void handle_write(struct proto_server *s, const struct frame_view *f)
{
    const struct proto_device *dev = s->dev;
    if (f->length < 4u) {
        send_error(s, PROTO_ERR_BAD_LENGTH, f->type, f->seq, f->session, "write: offset missing");
        return;
    }
    uint32_t offset = get_le32(f->payload);
    uint32_t len = f->length - 4u;
    if (!in_range(offset, len, dev->input_capacity)) {
        send_error(s, PROTO_ERR_BAD_ARG, f->type, f->seq, f->session, "write: beyond input buffer");
        return;
    }
    memcpy(&dev->input[offset], &f->payload[4], len);
    uint8_t *p = reply_payload(s);
    put_le32(&p[0], offset);
    put_le32(&p[4], len);
    send_frame(s, PROTO_MSG_WRITE | PROTO_REPLY_BIT, f->seq, s->session, 8);
}

static void handle_read(struct proto_server *s, const struct frame_view *f)
{
    const struct proto_device *dev = s->dev;
    if (f->length != 7u) {
        send_error(s, PROTO_ERR_BAD_LENGTH, f->type, f->seq, f->session, "read: 7 bytes");
        return;
    }
    uint8_t which = f->payload[0];
    uint32_t offset = get_le32(&f->payload[1]);
    uint32_t len = get_le16(&f->payload[5]);
    const uint8_t *buf;
    uint32_t capacity;
    if (which == PROTO_BUFFER_INPUT) {
        buf = dev->input;
        capacity = dev->input_capacity;
    } else if (which == PROTO_BUFFER_OUTPUT) {
        buf = dev->output;
        capacity = dev->output_capacity;
    } else {
        send_error(s, PROTO_ERR_BAD_ARG, f->type, f->seq, f->session, "read: no such buffer");
        return;
    }
    if (len > PROTO_MAX_PAYLOAD - 5u || !in_range(offset, len, capacity)) {
        send_error(s, PROTO_ERR_BAD_ARG, f->type, f->seq, f->session, "read: out of range");
        return;
    }
    uint8_t *p = reply_payload(s);
    p[0] = which;
    put_le32(&p[1], offset);
    memcpy(&p[5], &buf[offset], len);
    send_frame(s, PROTO_MSG_READ | PROTO_REPLY_BIT, f->seq, s->session, 5u + len);
}

static void handle_echo(struct proto_server *s, const struct frame_view *f)
{
    const struct proto_device *dev = s->dev;
    if (f->length != 4u) {
        send_error(s, PROTO_ERR_BAD_LENGTH, f->type, f->seq, f->session, "echo: 4 bytes");
        return;
    }
    uint32_t len = get_le32(f->payload);
    if (len > dev->input_capacity || len > dev->output_capacity) {
        send_error(s, PROTO_ERR_BAD_ARG, f->type, f->seq, f->session, "echo: longer than a buffer");
        return;
    }
    /* Only the copy is timed. With shared buffers source and destination are
     * the same memory; the firmware's memmove still moves every word then, so
     * the figure stays the cost of a copy of len bytes. */
    uint32_t t0 = window_begin(dev);
    memmove(dev->output, dev->input, len);
    uint32_t t1 = window_end(dev);
    uint8_t *p = reply_payload(s);
    put_le32(&p[0], len);
    put_le32(&p[4], crc32_update(0, dev->output, len));
    put_le32(&p[8], t1 - t0);
    send_frame(s, PROTO_MSG_ECHO | PROTO_REPLY_BIT, f->seq, s->session, 12);
}

static void handle_status(struct proto_server *s, const struct frame_view *f)
{
    const struct proto_device *dev = s->dev;
    if (f->length != 0u) {
        send_error(s, PROTO_ERR_BAD_LENGTH, f->type, f->seq, f->session, "status: no payload");
        return;
    }
    uint8_t *p = reply_payload(s);
    put_le32(&p[0], dev->stack_size);
    put_le32(&p[4], dev->stack_peak());
    put_le32(&p[8], s->frames_ok);
    put_le32(&p[12], s->frames_bad);
    put_le32(&p[16], dev->counter_resolution);
    put_le32(&p[20], dev->counter_read());
    put_le32(&p[24], s->replays);
    send_frame(s, PROTO_MSG_STATUS | PROTO_REPLY_BIT, f->seq, s->session, 28);
}

/* The request frame's CRC: its last four bytes, already checked. */
static uint32_t request_crc(const struct proto_server *s)
{
    return get_le32(&s->rx[s->rx_len - PROTO_CRC_SIZE]);
}

static const struct proto_replay *find_replay(const struct proto_server *s, const struct frame_view *f)
{
    uint32_t crc = request_crc(s);
    for (uint32_t i = 0; i < PROTO_REPLAY_DEPTH; i++) {
        const struct proto_replay *r = &s->replay[i];
        if (r->used && r->session == f->session && r->seq == f->seq && r->request_crc == crc) {
            return r;
        }
    }
    return NULL;
}

/* Keep the reply now in tx (payload_len bytes) for the request being served. */
static void remember_reply(struct proto_server *s, const struct frame_view *f, size_t payload_len)
{
    if (payload_len > PROTO_REPLAY_PAYLOAD_MAX) {
        return;   /* too large to keep: a request sent again runs again */
    }
    struct proto_replay *r = &s->replay[s->replay_next];
    s->replay_next = (s->replay_next + 1u) % PROTO_REPLAY_DEPTH;
    r->used = true;
    r->session = f->session;
    r->seq = f->seq;
    r->request_crc = request_crc(s);
    r->length = (uint16_t)payload_len;
    memcpy(r->payload, reply_payload(s), payload_len);
}

/* Inference on the input buffer, or on the input carried in the request
 * itself (one frame per sample: load and run). Only infer() is timed. */
static void handle_infer(struct proto_server *s, const struct frame_view *f)
{
    const struct proto_device *dev = s->dev;
    if (dev->infer == NULL) {
        send_error(s, PROTO_ERR_UNKNOWN_TYPE, f->type, f->seq, f->session, "no model");
        return;
    }
    if (f->length != 0u && f->length != dev->model_input_bytes) {
        send_error(s, PROTO_ERR_BAD_LENGTH, f->type, f->seq, f->session, "infer: 0 or the model's input bytes");
        return;
    }
    if (f->length != 0u) {
        memcpy(dev->input, f->payload, f->length);
    }
    uint32_t t0 = window_begin(dev);
    int cls = dev->infer(dev->input, dev->output);
    uint32_t t1 = window_end(dev);
    if (cls < 0) {
        send_error(s, PROTO_ERR_BAD_STATE, f->type, f->seq, f->session, "inference failed");
        return;
    }
    /* The output rides in the reply when it fits; else the host READs it. */
    uint32_t inline_bytes = dev->model_output_bytes <= PROTO_MAX_PAYLOAD - 8u ? dev->model_output_bytes : 0u;
    uint8_t *p = reply_payload(s);
    put_le16(&p[0], (uint16_t)cls);
    put_le16(&p[2], (uint16_t)inline_bytes);
    put_le32(&p[4], t1 - t0);
    memcpy(&p[8], dev->output, inline_bytes);
    remember_reply(s, f, 8u + inline_bytes);
    send_frame(s, PROTO_MSG_INFER | PROTO_REPLY_BIT, f->seq, s->session, 8u + inline_bytes);
}

static void handle_frame(struct proto_server *s)
{
    struct frame_view f;
    int err = frame_parse(s->rx, s->rx_len, &f);
    if (err == PROTO_ERR_BAD_CRC) {
        reject_damaged(s, PROTO_ERR_BAD_CRC, "crc");
        return;
    }
    if (err != PROTO_ERR_NONE) {
        reject_damaged(s, PROTO_ERR_BAD_FRAME, s->rx_len < PROTO_OVERHEAD ? "short" : "length field");
        return;
    }
    s->frames_ok++;

    if (f.type == PROTO_MSG_HELLO) {
        handle_hello(s, &f);
        return;
    }
    if (!s->have_session) {
        send_error(s, PROTO_ERR_BAD_STATE, f.type, f.seq, f.session, "no hello yet");
        return;
    }
    if (f.session != s->session) {
        send_error(s, PROTO_ERR_STALE_SESSION, f.type, f.seq, f.session, "stale session");
        return;
    }
    switch (f.type) {
    case PROTO_MSG_WRITE:
        handle_write(s, &f);
        break;
    case PROTO_MSG_READ:
        handle_read(s, &f);
        break;
    case PROTO_MSG_ECHO:
        handle_echo(s, &f);
        break;
    case PROTO_MSG_STATUS:
        handle_status(s, &f);
        break;
    case PROTO_MSG_INFER: {
        const struct proto_replay *r = find_replay(s, &f);
        if (r != NULL) {   /* sent again: its reply was lost or damaged on the way back */
            memcpy(reply_payload(s), r->payload, r->length);
            s->replays++;
            send_frame(s, PROTO_MSG_INFER | PROTO_REPLY_BIT, f.seq, s->session, r->length);
        } else {
            handle_infer(s, &f);
        }
        break;
    }
    default:
        send_error(s, PROTO_ERR_UNKNOWN_TYPE, f.type, f.seq, f.session, "unknown type");
        break;
    }
}

static void rx_reset(struct proto_server *s)
{
    cobs_decoder_reset(&s->dec);
    s->rx_len = 0;
    s->rx_started = false;
    s->rx_overflow = false;
}

void proto_server_init(struct proto_server *s, const struct proto_device *dev)
{
    s->dev = dev;
    s->have_session = false;
    s->session = 0;
    s->frames_ok = 0;
    s->frames_bad = 0;
    s->replays = 0;
    s->replay_next = 0;
    memset(s->replay, 0, sizeof s->replay);
    rx_reset(s);
}

static void end_of_frame(struct proto_server *s)
{
    if (s->rx_overflow) {
        reject_damaged(s, PROTO_ERR_TOO_LONG, "too long");
    } else if (!s->rx_started) {
        /* Empty frame: ignored without a reply. */
    } else if (!cobs_decoder_complete(&s->dec)) {
        reject_damaged(s, PROTO_ERR_BAD_FRAME, "cobs");
    } else {
        handle_frame(s);
    }
    rx_reset(s);
}

void proto_server_feed(struct proto_server *s, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t b = data[i];
        if (b == 0u) {
            end_of_frame(s);
            continue;
        }
        s->rx_started = true;
        if (s->rx_overflow) {
            continue;
        }
        int v = cobs_decoder_push(&s->dec, b);
        if (v < 0) {
            continue;
        }
        /* The limit is checked as the stream is decoded, so no frame ever
         * needs more than PROTO_FRAME_MAX bytes of buffer. */
        if (s->rx_len == PROTO_FRAME_MAX) {
            s->rx_overflow = true;
            continue;
        }
        s->rx[s->rx_len++] = (uint8_t)v;
    }
}
