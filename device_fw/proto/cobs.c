#include "cobs.h"

size_t cobs_encode_to(const uint8_t *src, size_t len, cobs_sink sink, void *ctx)
{
    size_t out = 0;
    size_t pos = 0;

    for (;;) {
        size_t run = 0;
        while (run < 254u && pos + run < len && src[pos + run] != 0u) {
            run++;
        }
        uint8_t code = (uint8_t)(run + 1u);
        sink(ctx, &code, 1);
        if (run != 0u) {
            sink(ctx, &src[pos], run);
        }
        out += 1u + run;
        if (run == 254u) {
            /* A full block stands for no zero; if the data ends here, so does the encoding. */
            pos += run;
            if (pos == len) {
                break;
            }
        } else if (pos + run == len) {
            break;   /* the last block, ended by the end of the data */
        } else {
            pos += run + 1u;   /* skip the zero this block stands for */
        }
    }
    return out;
}

struct buffer_sink {
    uint8_t *dst;
    size_t cap;
    size_t used;
    bool overflow;
};

static void buffer_put(void *ctx, const uint8_t *data, size_t len)
{
    struct buffer_sink *b = ctx;
    if (b->overflow || len > b->cap - b->used) {
        b->overflow = true;
        return;
    }
    for (size_t i = 0; i < len; i++) {
        b->dst[b->used + i] = data[i];
    }
    b->used += len;
}

size_t cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap)
{
    struct buffer_sink b = { dst, cap, 0, false };
    cobs_encode_to(src, len, buffer_put, &b);
    return b.overflow ? COBS_ERROR : b.used;
}

void cobs_decoder_reset(struct cobs_decoder *dec)
{
    dec->remaining = 0;
    dec->zero_due = false;
}

int cobs_decoder_push(struct cobs_decoder *dec, uint8_t in)
{
    if (dec->remaining != 0u) {
        dec->remaining--;
        return in;
    }
    /* A code byte: the previous block's implied zero is real now that more follows. */
    int out = dec->zero_due ? 0 : -1;
    dec->remaining = (uint8_t)(in - 1u);
    dec->zero_due = in != 0xFFu;
    return out;
}

bool cobs_decoder_complete(const struct cobs_decoder *dec)
{
    return dec->remaining == 0u;
}

size_t cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap)
{
    struct cobs_decoder dec;
    size_t used = 0;

    cobs_decoder_reset(&dec);
    for (size_t i = 0; i < len; i++) {
        if (src[i] == 0u) {
            return COBS_ERROR;
        }
        int v = cobs_decoder_push(&dec, src[i]);
        if (v >= 0) {
            if (used == cap) {
                return COBS_ERROR;
            }
            dst[used++] = (uint8_t)v;
        }
    }
    return cobs_decoder_complete(&dec) ? used : COBS_ERROR;
}
