/* Cortex-M7 level-1 caches: invalidate, then enable (Armv7-M cache
 * maintenance operations by set/way, as the Cortex-M7 TRM lays them out).
 * Their contents after reset are unknown, so enabling without the
 * invalidation could serve stale lines. Nothing here does DMA, so the data
 * cache never needs cleaning afterwards. */
#ifndef BOARDS_COMMON_CM7_CACHE_H
#define BOARDS_COMMON_CM7_CACHE_H

void cm7_icache_enable(void);
void cm7_dcache_enable(void);

#endif
