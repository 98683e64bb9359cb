/* Constants of the link protocol, version 1 (device_fw/PROTOCOL.md). */
#ifndef PROTO_PROTO_H
#define PROTO_PROTO_H

#define PROTO_VERSION 1u

/* Largest payload this firmware accepts and sends; declared in HELLO_ACK. */
#define PROTO_MAX_PAYLOAD 2048u

/* Decoded frame: type, flags, seq, session, length | payload | crc32. */
#define PROTO_HEADER_SIZE 10u
#define PROTO_CRC_SIZE 4u
#define PROTO_OVERHEAD (PROTO_HEADER_SIZE + PROTO_CRC_SIZE)
#define PROTO_FRAME_MAX (PROTO_MAX_PAYLOAD + PROTO_OVERHEAD)

/* Retransmission: the replies to the last PROTO_REPLAY_DEPTH INFER requests
 * (payloads up to PROTO_REPLAY_PAYLOAD_MAX bytes) are kept, and a request sent
 * again (same session, seq and bytes) gets its reply again without a second
 * inference. */
#define PROTO_REPLAY_DEPTH 4u
#define PROTO_REPLAY_PAYLOAD_MAX 160u

/* seq of the ERROR reply to a frame whose header cannot be trusted. */
#define PROTO_SEQ_UNATTRIBUTED 0xFFFFu

#define PROTO_REPLY_BIT 0x80u

enum proto_msg {
    PROTO_MSG_HELLO = 0x01,
    PROTO_MSG_WRITE = 0x02,
    PROTO_MSG_READ = 0x03,
    PROTO_MSG_ECHO = 0x04,
    PROTO_MSG_STATUS = 0x05,
    PROTO_MSG_INFER = 0x06,
    PROTO_MSG_ERROR = 0x7F,
};

enum proto_error {
    PROTO_ERR_NONE = 0,
    PROTO_ERR_BAD_CRC = 1,
    PROTO_ERR_BAD_FRAME = 2,
    PROTO_ERR_UNKNOWN_TYPE = 3,
    PROTO_ERR_TOO_LONG = 4,
    PROTO_ERR_BAD_STATE = 5,
    PROTO_ERR_BAD_ARG = 6,
    PROTO_ERR_BAD_LENGTH = 7,
    PROTO_ERR_STALE_SESSION = 8,
};

enum proto_capability {
    PROTO_CAP_TENSOR = 1u << 0,
    PROTO_CAP_ECHO = 1u << 1,
    PROTO_CAP_STATUS = 1u << 2,
    PROTO_CAP_INFER = 1u << 3,
    PROTO_CAP_SHARED_BUFFERS = 1u << 4,
};

enum proto_counter_kind {
    PROTO_COUNTER_NONE = 0,
    PROTO_COUNTER_DWT_CYCLES = 1,
    PROTO_COUNTER_ICOUNT_INSTRUCTIONS = 2,
};

#define PROTO_BUFFER_INPUT 0u
#define PROTO_BUFFER_OUTPUT 1u

#endif
