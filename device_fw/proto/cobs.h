/* Consistent Overhead Byte Stuffing (Cheshire & Baker), blocks of at most 254
 * data bytes. Encoded data never contains 0x00, which therefore delimits
 * frames on the wire. A message that ends with a full 254-byte block gets no
 * trailing empty block (the host's encoder does the same); the decoder
 * accepts either form. */
#ifndef PROTO_COBS_H
#define PROTO_COBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COBS_ERROR ((size_t)-1)

/* Largest encoding of n bytes. */
#define COBS_ENCODED_MAX(n) ((n) + (n) / 254u + 1u)

/* Receives the encoding piece by piece, in order. */
typedef void (*cobs_sink)(void *ctx, const uint8_t *data, size_t len);

/* Encode src to sink without a buffer; returns the encoded length. */
size_t cobs_encode_to(const uint8_t *src, size_t len, cobs_sink sink, void *ctx);

/* Encode into dst; COBS_ERROR when it needs more than cap bytes. */
size_t cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap);

/* Decode one frame (without its delimiter) into dst; COBS_ERROR when src is not
 * a valid encoding (a zero byte, a block running past the end) or the result
 * needs more than cap bytes. */
size_t cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap);

/* Incremental decoder: one encoded byte in, at most one decoded byte out. */
struct cobs_decoder {
    uint8_t remaining;   /* data bytes still to come in the current block */
    bool zero_due;       /* the block just finished implies a 0x00 if another follows */
};

void cobs_decoder_reset(struct cobs_decoder *dec);

/* Feed one non-zero encoded byte; returns the decoded byte (0..255) or -1 when
 * this byte produced none. */
int cobs_decoder_push(struct cobs_decoder *dec, uint8_t in);

/* True when the bytes fed so far end on a block boundary (a valid frame end). */
bool cobs_decoder_complete(const struct cobs_decoder *dec);

#endif
