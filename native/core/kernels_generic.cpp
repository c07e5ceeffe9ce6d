// ALS row solver (Gram step by OpenBLAS cblas_dsyrk / cblas_dgemm) and parallel-SGD row update for any CPU.
#include <cstdint>

#include "als_kernel.hpp"
#include "blas.hpp"
#include "sgd_kernel.hpp"

#define CP_NS generic
#define CP_W 1
#define VD double
#define VLOAD(p) (*(p))
#define VSTORE(p, v) (*(p) = (v))
#define VSET1(x) (x)
#define VZERO() 0.0
#define VADD(a, b) ((a) + (b))
#define VSUB(a, b) ((a) - (b))
#define VMUL(a, b) ((a) * (b))
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VFNMA(a, b, c) ((c) - (a) * (b))
#define CP_TILES 0
#define CP_MR 1
#define CP_NV 1
#define VREDUCE(v) (v)
#define CP_FUNC solveRangeGeneric
#define CP_IALS_FUNC ialsExactGeneric
#define CP_IALS_CG_FUNC ialsCgGeneric
#define CP_SGD_FUNC sgdTasksGeneric
#define CP_SGD_NVMAX 0
#include "als_kernel.inc"
#include "ials_kernel.inc"
#include "sgd_kernel.inc"
