/* Reset, vector table and the stack figures taken from stack painting. */
#ifndef STARTUP_STARTUP_H
#define STARTUP_STARTUP_H

#include <stdint.h>

/* Pattern written over the whole stack at reset. */
#define STACK_PAINT 0x5AC3A55Cu

/* Bytes reserved for the main stack (STACK_SIZE of the build). */
uint32_t stack_size_bytes(void);

/* Bytes of it ever used: from the top down to the deepest word that no longer
 * holds the paint. */
uint32_t stack_peak_bytes(void);

void Reset_Handler(void);
void startup_c(void);

#endif
