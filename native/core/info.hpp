// What the native core runs on: the BLAS in use, its thread count, the SIMD level of the kernels.
#pragma once

#include <string>

namespace collabperf {

/** Makes OpenBLAS single-threaded inside each call (the kernels split rows across their own threads). Idempotent. */
void initBlas();

/** The raw openblas_get_config() string, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64". */
std::string blasConfig();

/** A short description, e.g. "OpenBLAS 0.3.21 (Haswell)". */
std::string blasDescription();

/** Threads OpenBLAS uses inside one call (1 after initBlas()). */
int blasThreads();

/** Threads the kernels may usefully use (hardware concurrency, at least 1). */
int maxThreads();

/** SIMD level of the hand-written kernels actually selected: "avx512", "avx2" or "generic". */
const char* simdLevel();

}  // namespace collabperf
