/* Host build of the runtime with one exported model, for tests and
 * benchmarks through ctypes (harness/export/hostrt.py). */
#include "model.h"

#include <stddef.h>

static uint32_t arena[(MODEL_ARENA_BYTES + 3u) / 4u];

int rt_host_infer(const void *input, void *output)
{
    return rt_infer(&model_desc, input, output, arena, sizeof arena);
}

size_t rt_host_arena_bytes(void)
{
    return rt_arena_bytes(&model_desc);
}

const uint8_t *rt_host_model_hash(void)
{
    return model_hash;
}
