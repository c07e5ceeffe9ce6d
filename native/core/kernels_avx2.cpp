// ALS row solver and parallel-SGD row update (double and float) for CPUs with AVX2 + FMA (selected at run time, see cpu.cpp).
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
#define VLOADF(p) _mm256_cvtps_pd(_mm_loadu_ps(p))
#define VSTORE(p, v) _mm256_storeu_pd((p), (v))
#define VSET1(x) _mm256_set1_pd(x)
#define VZERO() _mm256_setzero_pd()
#define VADD(a, b) _mm256_add_pd((a), (b))
#define VSUB(a, b) _mm256_sub_pd((a), (b))
#define VMUL(a, b) _mm256_mul_pd((a), (b))
#define VFMA(a, b, c) _mm256_fmadd_pd((a), (b), (c))
#define VFNMA(a, b, c) _mm256_fnmadd_pd((a), (b), (c))
#define CP_WF 8
#define VF __m256
#define VFLOAD(p) _mm256_loadu_ps(p)
#define VFSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VFSET1(x) _mm256_set1_ps(x)
#define VFZERO() _mm256_setzero_ps()
#define VFADD(a, b) _mm256_add_ps((a), (b))
#define VFSUB(a, b) _mm256_sub_ps((a), (b))
#define VFMUL(a, b) _mm256_mul_ps((a), (b))
#define VFFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VFDOT(y, z, k) cp_avx2_fdot((y), (z), (k))
static inline __m256i cp_avx2_tailmask(int n) {  // lanes i < n set
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline float cp_avx2_fdot(const float* y, const float* z, int k) {
  __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();  // lanes 0-7 and 8-15
  int f = 0;
  for (; f + 16 <= k; f += 16) {
    lo = _mm256_add_ps(lo, _mm256_mul_ps(_mm256_loadu_ps(y + f), _mm256_loadu_ps(z + f)));
    hi = _mm256_add_ps(hi, _mm256_mul_ps(_mm256_loadu_ps(y + f + 8), _mm256_loadu_ps(z + f + 8)));
  }
  if (f < k) {
    const __m256i ml = cp_avx2_tailmask(k - f), mh = cp_avx2_tailmask(k - f - 8);
    lo = _mm256_add_ps(lo, _mm256_mul_ps(_mm256_maskload_ps(y + f, ml), _mm256_maskload_ps(z + f, ml)));
    hi = _mm256_add_ps(hi, _mm256_mul_ps(_mm256_maskload_ps(y + f + 8, mh), _mm256_maskload_ps(z + f + 8, mh)));
  }
  const __m256 h = _mm256_add_ps(lo, hi);
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
}
#define CP_TILES 1
#define CP_MR 4
#define CP_NV 3
#define VREDUCE(v) cp_avx2_hsum(v)
#define CP_FUNC solveRangeAvx2
#define CP_IALS_FUNC ialsExactAvx2
#define CP_IALS_CG_FUNC ialsCgAvx2
#define CP_IALS_CG32_FUNC ialsCg32Avx2
#define CP_SGD_FUNC sgdTasksAvx2
#define CP_SGD32_FUNC sgdTasks32Avx2
#define CP_SGD_NVMAX 4
static inline double cp_avx2_hsum(__m256d v) {
  const __m128d lo = _mm256_castpd256_pd128(v);
  const __m128d hi = _mm256_extractf128_pd(v, 1);
  const __m128d s = _mm_add_pd(lo, hi);
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
#define VFREDUCE(v) cp_avx2_hsumf(v)
static inline float cp_avx2_hsumf(__m256 v) {
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
}
#include "lanes.inc"
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
Fault ialsCg32Avx2(const IalsSide32& job, int steps, int64_t begin, int64_t end, double* ws) {
  return ialsCg32Generic(job, steps, begin, end, ws);
}
}  // namespace als_detail
namespace sgd_detail {
int64_t sgdTasksAvx2(const RowCtx& cx, const RowTask* tasks, int64_t n) { return sgdTasksGeneric(cx, tasks, n); }
int64_t sgdTasks32Avx2(const RowCtx32& cx, const RowTask* tasks, int64_t n) { return sgdTasks32Generic(cx, tasks, n); }
}  // namespace sgd_detail
}  // namespace collabperf
#endif
