/* The few C library functions the firmware uses (it links no C library).
 * GCC may emit calls to memcpy, memmove, memset and memcmp on its own, so
 * these four must exist; this file is built with
 * -fno-tree-loop-distribute-patterns so the loops stay loops. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static void copy_forward(uint8_t *d, const uint8_t *s, size_t n)
{
    if ((((uintptr_t)d | (uintptr_t)s) & 3u) == 0u) {
        uint32_t *dw = (uint32_t *)(void *)d;
        const uint32_t *sw = (const uint32_t *)(const void *)s;
        while (n >= 16u) {
            uint32_t a = sw[0];
            uint32_t b = sw[1];
            uint32_t c = sw[2];
            uint32_t e = sw[3];
            dw[0] = a;
            dw[1] = b;
            dw[2] = c;
            dw[3] = e;
            dw += 4;
            sw += 4;
            n -= 16u;
        }
        while (n >= 4u) {
            *dw++ = *sw++;
            n -= 4u;
        }
        d = (uint8_t *)dw;
        s = (const uint8_t *)sw;
    }
    while (n-- != 0u) {
        *d++ = *s++;
    }
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    copy_forward(dst, src, n);
    return dst;
}

/* dst == src copies every byte onto itself rather than returning early: ECHO
 * on a board whose tensor buffers are shared times a real copy that way. */
void *memmove(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d <= s || d >= s + n) {
        copy_forward(d, s, n);
    } else {
        while (n-- != 0u) {
            d[n] = s[n];
        }
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    uint8_t *d = dst;
    while (n-- != 0u) {
        *d++ = (uint8_t)c;
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a;
    const uint8_t *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    return n;
}
