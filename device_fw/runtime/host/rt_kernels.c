/* Host build: each kernel of the runtime called on its own, with its
 * parameters as plain arrays (tests/export/test_kernels_host.py). */
#include <stddef.h>
#include <stdint.h>

#include "rt.h"

void k_dense_s8(uint16_t rows, uint16_t cols, const int8_t *w, const int32_t *mult, const uint8_t *shift,
                const int8_t *x, const int32_t *acc, int32_t *y, void *scratch, uint32_t size);
size_t k_dense_s8_buffer(uint16_t rows, uint16_t cols);
void k_kron_s8(uint8_t order, uint16_t in, uint16_t out, uint16_t m1, uint16_t n1, uint16_t m2, uint16_t n2,
               const int8_t *a, const int8_t *b, const int32_t *mid_mult, const uint8_t *mid_shift,
               const int32_t *acc_mult, const uint8_t *acc_shift, const int8_t *x, const int32_t *acc, int32_t *y,
               void *scratch, uint32_t size);
size_t k_kron_s8_buffer(uint8_t order, uint16_t in, uint16_t out, uint16_t m1, uint16_t n1, uint16_t m2, uint16_t n2);
void k_csr_s8(uint16_t in, uint16_t out, const int8_t *v, const uint16_t *indptr, const uint16_t *indices,
              const int32_t *mult, const uint8_t *shift, const int8_t *x, const int32_t *acc, int32_t *y);
void k_lowrank_s8(uint16_t rank, uint16_t in, uint16_t out, const int8_t *v, const int8_t *u, const int32_t *mid_mult,
                  const uint8_t *mid_shift, const int32_t *acc_mult, const uint8_t *acc_shift, const int8_t *x,
                  const int32_t *acc, int32_t *y, void *scratch, uint32_t size);
size_t k_lowrank_s8_buffer(uint16_t rank, uint16_t in);
void k_kron_f32(uint8_t order, uint16_t in, uint16_t out, uint16_t m1, uint16_t n1, uint16_t m2, uint16_t n2,
                const float *a, const float *b, const float *x, const float *acc, float *y, void *scratch, uint32_t size);
size_t k_kron_f32_buffer(uint8_t order, uint16_t in, uint16_t out, uint16_t m1, uint16_t n1, uint16_t m2, uint16_t n2);
void k_dense_f32(uint16_t rows, uint16_t cols, const float *w, const float *x, const float *acc, float *y);

static struct rt_mat mat_q(uint16_t rows, uint16_t cols, const int8_t *q)
{
    struct rt_mat m = {rows, cols, NULL, q, NULL};
    return m;
}

void k_dense_s8(uint16_t rows, uint16_t cols, const int8_t *w, const int32_t *mult, const uint8_t *shift,
                const int8_t *x, const int32_t *acc, int32_t *y, void *scratch, uint32_t size)
{
    struct rt_dense_params p = {mat_q(rows, cols, w), {mult, shift}};
    struct rt_context ctx = {scratch, size};
    rt_dense_s8(&ctx, &p, x, acc, y);
}

size_t k_dense_s8_buffer(uint16_t rows, uint16_t cols)
{
    struct rt_dense_params p = {mat_q(rows, cols, NULL), {NULL, NULL}};
    return rt_dense_s8_get_buffer_size(&p);
}

static struct rt_kron_params kron(uint8_t order, uint16_t in, uint16_t out, uint16_t m1, uint16_t n1, uint16_t m2,
                                  uint16_t n2)
{
    struct rt_kron_params p = {in, out, order, mat_q(m1, n1, NULL), mat_q(m2, n2, NULL), {NULL, NULL}, {NULL, NULL}};
    return p;
}

void k_kron_s8(uint8_t order, uint16_t in, uint16_t out, uint16_t m1, uint16_t n1, uint16_t m2, uint16_t n2,
               const int8_t *a, const int8_t *b, const int32_t *mid_mult, const uint8_t *mid_shift,
               const int32_t *acc_mult, const uint8_t *acc_shift, const int8_t *x, const int32_t *acc, int32_t *y,
               void *scratch, uint32_t size)
{
    struct rt_kron_params p = kron(order, in, out, m1, n1, m2, n2);
    p.a.q = a;
    p.b.q = b;
    p.mid.mult = mid_mult;
    p.mid.shift = mid_shift;
    p.acc.mult = acc_mult;
    p.acc.shift = acc_shift;
    struct rt_context ctx = {scratch, size};
    rt_kron_s8(&ctx, &p, x, acc, y);
}

size_t k_kron_s8_buffer(uint8_t order, uint16_t in, uint16_t out, uint16_t m1, uint16_t n1, uint16_t m2, uint16_t n2)
{
    struct rt_kron_params p = kron(order, in, out, m1, n1, m2, n2);
    return rt_kron_s8_get_buffer_size(&p);
}

void k_csr_s8(uint16_t in, uint16_t out, const int8_t *v, const uint16_t *indptr, const uint16_t *indices,
              const int32_t *mult, const uint8_t *shift, const int8_t *x, const int32_t *acc, int32_t *y)
{
    struct rt_csr_params p = {in, out, mat_q(out, in, v), indptr, indices, {mult, shift}};
    rt_csr_s8(&p, x, acc, y);
}

void k_lowrank_s8(uint16_t rank, uint16_t in, uint16_t out, const int8_t *v, const int8_t *u, const int32_t *mid_mult,
                  const uint8_t *mid_shift, const int32_t *acc_mult, const uint8_t *acc_shift, const int8_t *x,
                  const int32_t *acc, int32_t *y, void *scratch, uint32_t size)
{
    struct rt_lowrank_params p = {mat_q(rank, in, v), mat_q(out, rank, u), {mid_mult, mid_shift}, {acc_mult, acc_shift}};
    struct rt_context ctx = {scratch, size};
    rt_lowrank_s8(&ctx, &p, x, acc, y);
}

size_t k_lowrank_s8_buffer(uint16_t rank, uint16_t in)
{
    struct rt_lowrank_params p = {mat_q(rank, in, NULL), mat_q(0, rank, NULL), {NULL, NULL}, {NULL, NULL}};
    return rt_lowrank_s8_get_buffer_size(&p);
}

void k_kron_f32(uint8_t order, uint16_t in, uint16_t out, uint16_t m1, uint16_t n1, uint16_t m2, uint16_t n2,
                const float *a, const float *b, const float *x, const float *acc, float *y, void *scratch, uint32_t size)
{
    struct rt_kron_params p = kron(order, in, out, m1, n1, m2, n2);
    p.a.f = a;
    p.b.f = b;
    struct rt_context ctx = {scratch, size};
    rt_kron_f32(&ctx, &p, x, acc, y);
}

size_t k_kron_f32_buffer(uint8_t order, uint16_t in, uint16_t out, uint16_t m1, uint16_t n1, uint16_t m2, uint16_t n2)
{
    struct rt_kron_params p = kron(order, in, out, m1, n1, m2, n2);
    return rt_kron_f32_get_buffer_size(&p);
}

void k_dense_f32(uint16_t rows, uint16_t cols, const float *w, const float *x, const float *acc, float *y)
{
    struct rt_dense_params p = {{rows, cols, w, NULL, NULL}, {NULL, NULL}};
    rt_dense_f32(&p, x, acc, y);
}
