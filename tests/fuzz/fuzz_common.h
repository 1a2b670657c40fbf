/*
 * fuzz_common.h - what the libFuzzer targets share: an engine in a scratch
 * folder, opened once per process.
 */
#ifndef TL_FUZZ_COMMON_H
#define TL_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/* The process's engine (created on first use) with one task, "fuzz". */
struct tl_engine *fuzz_engine(void);

/* Deletes and re-creates task "fuzz", so memory stays bounded. */
void fuzz_reset_task(void);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
