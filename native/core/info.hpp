// What the native core runs on: the BLAS in use, its thread count, the SIMD level of the kernels.
#pragma once

#include <string>

namespace collabperf {

/**
 * Makes OpenBLAS single-threaded (the kernels split rows across their own threads). Process-wide,
 * so called lazily by the kernel paths that use BLAS, never at load (see info.cpp). Idempotent.
 */
void initBlas();

/** The raw openblas_get_config() string, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64". */
std::string blasConfig();

/** A short description, e.g. "OpenBLAS 0.3.21 (Haswell)". */
std::string blasDescription();

/** Threads OpenBLAS uses inside one kernel's BLAS call: 1 (initBlas() runs before any). */
int blasThreads();

/** Threads the kernels may usefully use (hardware concurrency, at least 1). */
int maxThreads();

/** SIMD level of the hand-written kernels actually selected: "avx512", "avx2" or "generic". */
const char* simdLevel();

}  // namespace collabperf
