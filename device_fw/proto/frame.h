/* Frames of the link after COBS decoding (device_fw/PROTOCOL.md):
 *   type u8 | flags u8 | seq u16 | session u32 | length u16 | payload | crc32 u32
 * all little-endian, the CRC over everything before it. */
#ifndef PROTO_FRAME_H
#define PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct frame_view {
    uint8_t type;
    uint8_t flags;
    uint16_t seq;
    uint32_t session;
    uint16_t length;
    const uint8_t *payload;   /* points into the parsed buffer */
};

static inline uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Check and split a decoded frame. Returns PROTO_ERR_NONE, PROTO_ERR_BAD_FRAME
 * (shorter than the overhead, or a length field that does not match the size)
 * or PROTO_ERR_BAD_CRC. */
int frame_parse(const uint8_t *raw, size_t len, struct frame_view *out);

/* Complete a frame whose payload_len payload bytes are already at
 * buf + PROTO_HEADER_SIZE: write the header and the CRC. Returns the frame
 * size, PROTO_OVERHEAD + payload_len; buf must hold that many bytes. */
size_t frame_finish(uint8_t *buf, uint8_t type, uint16_t seq, uint32_t session, uint16_t payload_len);

#endif
