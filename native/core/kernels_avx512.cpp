// ALS row solver and parallel-SGD row update (double and float) for CPUs with AVX-512 (selected at run time, see cpu.cpp).
#include <immintrin.h>

#include <cstdint>

#include "als_kernel.hpp"
#include "blas.hpp"
#include "sgd_kernel.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
// GCC 12 warns about _mm256_undefined_pd() inside _mm512_extractf64x4_pd (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,prefer-vector-width=512")

#define CP_NS avx512
#define CP_W 8
#define VD __m512d
#define VLOAD(p) _mm512_loadu_pd(p)
#define VLOADF(p) _mm512_cvtps_pd(_mm256_loadu_ps(p))
#define VSTORE(p, v) _mm512_storeu_pd((p), (v))
#define VSET1(x) _mm512_set1_pd(x)
#define VZERO() _mm512_setzero_pd()
#define VADD(a, b) _mm512_add_pd((a), (b))
#define VSUB(a, b) _mm512_sub_pd((a), (b))
#define VMUL(a, b) _mm512_mul_pd((a), (b))
#define VFMA(a, b, c) _mm512_fmadd_pd((a), (b), (c))
#define VFNMA(a, b, c) _mm512_fnmadd_pd((a), (b), (c))
#define CP_WF 16
#define VF __m512
#define VFLOAD(p) _mm512_loadu_ps(p)
#define VFSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VFSET1(x) _mm512_set1_ps(x)
#define VFZERO() _mm512_setzero_ps()
#define VFADD(a, b) _mm512_add_ps((a), (b))
#define VFSUB(a, b) _mm512_sub_ps((a), (b))
#define VFMUL(a, b) _mm512_mul_ps((a), (b))
#define VFFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VFDOT(y, z, k) cp_avx512_fdot((y), (z), (k))
static inline float cp_avx512_fdot(const float* y, const float* z, int k) {
  __m512 acc = _mm512_setzero_ps();
  int f = 0;
  for (; f + 16 <= k; f += 16) acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_loadu_ps(y + f), _mm512_loadu_ps(z + f)));
  if (f < k) {
    const __mmask16 m = static_cast<__mmask16>((1u << (k - f)) - 1u);
    acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, y + f), _mm512_maskz_loadu_ps(m, z + f)));
  }
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(acc), _mm512_extractf32x8_ps(acc, 1));
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
}
#define CP_TILES 1
#define CP_MR 6
#define CP_NV 4
#define VREDUCE(v) cp_avx512_hsum(v)
static inline double cp_avx512_hsum(__m512d v) {
  const __m256d h = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
  const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
#define VFREDUCE(v) cp_avx512_hsumf(v)
static inline float cp_avx512_hsumf(__m512 v) {
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
}
#define CP_FUNC solveRangeAvx512
#define CP_IALS_FUNC ialsExactAvx512
#define CP_IALS_CG_FUNC ialsCgAvx512
#define CP_IALS_CG32_FUNC ialsCg32Avx512
#define CP_SGD_FUNC sgdTasksAvx512
#define CP_SGD32_FUNC sgdTasks32Avx512
#define CP_SGD_NVMAX 4
#include "lanes.inc"
#include "als_kernel.inc"
#include "ials_kernel.inc"
#include "sgd_kernel.inc"

#pragma GCC pop_options
#else
namespace collabperf {
namespace als_detail {
Fault solveRangeAvx512(const SideJob& job, int64_t begin, int64_t end, double* ws, Profile* prof) {
  return solveRangeGeneric(job, begin, end, ws, prof);
}
Fault ialsExactAvx512(const IalsSide& job, int64_t begin, int64_t end, double* ws) { return ialsExactGeneric(job, begin, end, ws); }
Fault ialsCgAvx512(const IalsSide& job, int steps, int64_t begin, int64_t end, double* ws) {
  return ialsCgGeneric(job, steps, begin, end, ws);
}
Fault ialsCg32Avx512(const IalsSide32& job, int steps, int64_t begin, int64_t end, double* ws) {
  return ialsCg32Generic(job, steps, begin, end, ws);
}
}  // namespace als_detail
namespace sgd_detail {
int64_t sgdTasksAvx512(const RowCtx& cx, const RowTask* tasks, int64_t n) { return sgdTasksGeneric(cx, tasks, n); }
int64_t sgdTasks32Avx512(const RowCtx32& cx, const RowTask* tasks, int64_t n) { return sgdTasks32Generic(cx, tasks, n); }
}  // namespace sgd_detail
}  // namespace collabperf
#endif
