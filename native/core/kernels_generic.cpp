// ALS row solver (Gram step by OpenBLAS cblas_dsyrk / cblas_dgemm) and parallel-SGD row update (double and float) for any CPU.
#include <cstdint>

#include "als_kernel.hpp"
#include "blas.hpp"
#include "sgd_kernel.hpp"

#define CP_NS generic
#define CP_W 1
#define VD double
#define VLOAD(p) (*(p))
#define VLOADF(p) static_cast<double>(*(p))
#define VSTORE(p, v) (*(p) = (v))
#define VSET1(x) (x)
#define VZERO() 0.0
#define VADD(a, b) ((a) + (b))
#define VSUB(a, b) ((a) - (b))
#define VMUL(a, b) ((a) * (b))
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VFNMA(a, b, c) ((c) - (a) * (b))
#define CP_WF 1
#define VF float
#define VFLOAD(p) (*(p))
#define VFSTORE(p, v) (*(p) = (v))
#define VFSET1(x) (x)
#define VFZERO() 0.0f
#define VFADD(a, b) ((a) + (b))
#define VFSUB(a, b) ((a) - (b))
#define VFMUL(a, b) ((a) * (b))
#define VFFMA(a, b, c) ((a) * (b) + (c))
#define VFDOT(y, z, k) cp_generic_fdot((y), (z), (k))
static inline float cp_generic_fdot(const float* y, const float* z, int k) {
  float s[16] = {0};
  for (int f0 = 0; f0 < k; f0 += 16)
    for (int l = 0; l < 16; ++l) s[l] += f0 + l < k ? y[f0 + l] * z[f0 + l] : 0.0f;
  for (int l = 0; l < 8; ++l) s[l] += s[l + 8];
  for (int l = 0; l < 4; ++l) s[l] += s[l + 4];
  return (s[0] + s[2]) + (s[1] + s[3]);
}
#define CP_TILES 0
#define CP_MR 1
#define CP_NV 1
#define VREDUCE(v) (v)
#define VFREDUCE(v) (v)
#define CP_FUNC solveRangeGeneric
#define CP_IALS_FUNC ialsExactGeneric
#define CP_IALS_CG_FUNC ialsCgGeneric
#define CP_IALS_CG32_FUNC ialsCg32Generic
#define CP_SGD_FUNC sgdTasksGeneric
#define CP_SGD32_FUNC sgdTasks32Generic
#define CP_SGD_NVMAX 0
#include "lanes.inc"
#include "als_kernel.inc"
#include "ials_kernel.inc"
#include "sgd_kernel.inc"
