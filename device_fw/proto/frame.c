#include "frame.h"

#include "crc32.h"

int frame_parse(const uint8_t *raw, size_t len, struct frame_view *out)
{
    if (len < PROTO_OVERHEAD) {
        return PROTO_ERR_BAD_FRAME;
    }
    uint16_t length = get_le16(&raw[8]);
    if ((size_t)length != len - PROTO_OVERHEAD) {
        return PROTO_ERR_BAD_FRAME;
    }
    size_t body = PROTO_HEADER_SIZE + length;
    if (crc32_update(0, raw, body) != get_le32(&raw[body])) {
        return PROTO_ERR_BAD_CRC;
    }
    out->type = raw[0];
    out->flags = raw[1];
    out->seq = get_le16(&raw[2]);
    out->session = get_le32(&raw[4]);
    out->length = length;
    out->payload = &raw[PROTO_HEADER_SIZE];
    return PROTO_ERR_NONE;
}

size_t frame_finish(uint8_t *buf, uint8_t type, uint16_t seq, uint32_t session, uint16_t payload_len)
{
    buf[0] = type;
    buf[1] = 0;
    put_le16(&buf[2], seq);
    put_le32(&buf[4], session);
    put_le16(&buf[8], payload_len);
    size_t body = PROTO_HEADER_SIZE + payload_len;
    put_le32(&buf[body], crc32_update(0, buf, body));
    return body + PROTO_CRC_SIZE;
}
