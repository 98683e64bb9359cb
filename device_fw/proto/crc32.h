/* CRC-32 as in IEEE 802.3 and zlib: reflected polynomial 0xEDB88320, initial
 * value and final xor 0xFFFFFFFF. crc32_update(0, p, n) equals Python's
 * zlib.crc32(p), and crc32_update(crc32_update(0, a, n), b, m) the CRC of a
 * followed by b. */
#ifndef PROTO_CRC32_H
#define PROTO_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32_update(uint32_t crc, const uint8_t *data, size_t len);

#endif
