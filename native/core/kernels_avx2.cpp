// ALS row solver and parallel-SGD row update for CPUs with AVX2 + FMA (selected at run time, see cpu.cpp).
#include <immintrin.h>

#include <cstdint>

#include "als_kernel.hpp"
#include "blas.hpp"
#include "sgd_kernel.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")

#define CP_NS avx2
#define CP_W 4
#define VD __m256d
#define VLOAD(p) _mm256_loadu_pd(p)
#define VSTORE(p, v) _mm256_storeu_pd((p), (v))
#define VSET1(x) _mm256_set1_pd(x)
#define VZERO() _mm256_setzero_pd()
#define VADD(a, b) _mm256_add_pd((a), (b))
#define VSUB(a, b) _mm256_sub_pd((a), (b))
#define VMUL(a, b) _mm256_mul_pd((a), (b))
#define VFMA(a, b, c) _mm256_fmadd_pd((a), (b), (c))
#define VFNMA(a, b, c) _mm256_fnmadd_pd((a), (b), (c))
#define CP_TILES 1
#define CP_MR 4
#define CP_NV 3
#define VREDUCE(v) cp_avx2_hsum(v)
#define CP_FUNC solveRangeAvx2
#define CP_IALS_FUNC ialsExactAvx2
#define CP_IALS_CG_FUNC ialsCgAvx2
#define CP_SGD_FUNC sgdTasksAvx2
#define CP_SGD_NVMAX 4
static inline double cp_avx2_hsum(__m256d v) {
  const __m128d lo = _mm256_castpd256_pd128(v);
  const __m128d hi = _mm256_extractf128_pd(v, 1);
  const __m128d s = _mm_add_pd(lo, hi);
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
#include "als_kernel.inc"
#include "ials_kernel.inc"
#include "sgd_kernel.inc"

#pragma GCC pop_options
#else
namespace collabperf {
namespace als_detail {
Fault solveRangeAvx2(const SideJob& job, int64_t begin, int64_t end, double* ws, Profile* prof) {
  return solveRangeGeneric(job, begin, end, ws, prof);
}
Fault ialsExactAvx2(const IalsSide& job, int64_t begin, int64_t end, double* ws) { return ialsExactGeneric(job, begin, end, ws); }
Fault ialsCgAvx2(const IalsSide& job, int steps, int64_t begin, int64_t end, double* ws) {
  return ialsCgGeneric(job, steps, begin, end, ws);
}
}  // namespace als_detail
namespace sgd_detail {
int64_t sgdTasksAvx2(const RowCtx& cx, const RowTask* tasks, int64_t n) { return sgdTasksGeneric(cx, tasks, n); }
}  // namespace sgd_detail
}  // namespace collabperf
#endif
