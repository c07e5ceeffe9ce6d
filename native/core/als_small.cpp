// The ALS row solver for ranks 1..kMaxSmallAlsK on float64 models (docs/kernels.md, "Small ranks"):
// the normal equations summed entry by entry in scalar locals and solved by a Cholesky written out
// for the order d <= 4. At these ranks a row's system is a few numbers, and the general solver's
// gather into padded vectors, Gram tiles and blocked Cholesky cost more than the arithmetic they
// organise (a 6.8k x 6 rank-2 fit: 46 ms of sweeps, most of it outside the sums).
//
// One scalar source for every CPU, and the same operations in the same order as the TypeScript
// backend's small path (src/backends/ts/als.ts), so both give the same bits.
#include <cmath>
#include <cstdint>

#include "als_kernel.hpp"

namespace collabperf {
namespace als_detail {

namespace {

/**
 * Sums, for the entries [p0, p1) of one row, the lower triangle of sum w a a^T with a = [x_0..x_{K-1}, 1]
 * and the right-hand side sum w t a: G[f][q] += (w x_f) x_q, the bias row G[K][q] += w x_q,
 * G[K][K] += w, r_f += (w x_f) t, r_K += w t, entries in order. One named local per sum (written
 * out per rank): as arrays, the compiler kept some of them on the stack, and a sum that goes
 * through memory on every entry waits for its own store. Fault on an index out of range.
 */
struct Entry {
  double w, t;
  const double* x;
};

template <class Body>
inline bool forEntries(const SideJob& job, int64_t p0, int64_t p1, Fault& fault, Body body) {
  const double mu = job.mu;
  const uint32_t nOther = static_cast<uint32_t>(job.nOther);
  const int64_t stride = job.otherStride;
  for (int64_t e = p0; e < p1; ++e) {
    const int32_t c = job.idx[e];
    if (static_cast<uint32_t>(c) >= nOther) {
      fault.kind = kFaultIndex;
      fault.where = e;
      fault.value = c;
      return false;
    }
    const double w = job.wgt != nullptr ? job.wgt[e] : 1.0;
    body(Entry{w, (job.val[e] - mu) - job.otherB[c], job.otherF + static_cast<int64_t>(c) * stride});
  }
  return true;
}

template <int K>
bool accumulate(const SideJob& job, int64_t p0, int64_t p1, double (&G)[K + 1][K + 1], double (&r)[K + 1], Fault& fault);

template <>
bool accumulate<1>(const SideJob& job, int64_t p0, int64_t p1, double (&G)[2][2], double (&r)[2], Fault& fault) {
  double g00 = 0, gb0 = 0, gbb = 0, r0 = 0, rb = 0;
  const bool ok = forEntries(job, p0, p1, fault, [&](const Entry& a) {
    const double wx0 = a.w * a.x[0];
    g00 += wx0 * a.x[0];
    r0 += wx0 * a.t;
    gb0 += wx0;
    gbb += a.w;
    rb += a.w * a.t;
  });
  G[0][0] = g00;
  G[1][0] = gb0;
  G[1][1] = gbb;
  r[0] = r0;
  r[1] = rb;
  return ok;
}

template <>
bool accumulate<2>(const SideJob& job, int64_t p0, int64_t p1, double (&G)[3][3], double (&r)[3], Fault& fault) {
  double g00 = 0, g10 = 0, g11 = 0, gb0 = 0, gb1 = 0, gbb = 0, r0 = 0, r1 = 0, rb = 0;
  const bool ok = forEntries(job, p0, p1, fault, [&](const Entry& a) {
    const double x0 = a.x[0], x1 = a.x[1];
    const double wx0 = a.w * x0, wx1 = a.w * x1;
    g00 += wx0 * x0;
    r0 += wx0 * a.t;
    g10 += wx1 * x0;
    g11 += wx1 * x1;
    r1 += wx1 * a.t;
    gb0 += wx0;
    gb1 += wx1;
    gbb += a.w;
    rb += a.w * a.t;
  });
  G[0][0] = g00;
  G[1][0] = g10;
  G[1][1] = g11;
  G[2][0] = gb0;
  G[2][1] = gb1;
  G[2][2] = gbb;
  r[0] = r0;
  r[1] = r1;
  r[2] = rb;
  return ok;
}

template <>
bool accumulate<3>(const SideJob& job, int64_t p0, int64_t p1, double (&G)[4][4], double (&r)[4], Fault& fault) {
  double g00 = 0, g10 = 0, g11 = 0, g20 = 0, g21 = 0, g22 = 0, gb0 = 0, gb1 = 0, gb2 = 0, gbb = 0;
  double r0 = 0, r1 = 0, r2 = 0, rb = 0;
  const bool ok = forEntries(job, p0, p1, fault, [&](const Entry& a) {
    const double x0 = a.x[0], x1 = a.x[1], x2 = a.x[2];
    const double wx0 = a.w * x0, wx1 = a.w * x1, wx2 = a.w * x2;
    g00 += wx0 * x0;
    r0 += wx0 * a.t;
    g10 += wx1 * x0;
    g11 += wx1 * x1;
    r1 += wx1 * a.t;
    g20 += wx2 * x0;
    g21 += wx2 * x1;
    g22 += wx2 * x2;
    r2 += wx2 * a.t;
    gb0 += wx0;
    gb1 += wx1;
    gb2 += wx2;
    gbb += a.w;
    rb += a.w * a.t;
  });
  G[0][0] = g00;
  G[1][0] = g10;
  G[1][1] = g11;
  G[2][0] = g20;
  G[2][1] = g21;
  G[2][2] = g22;
  G[3][0] = gb0;
  G[3][1] = gb1;
  G[3][2] = gb2;
  G[3][3] = gbb;
  r[0] = r0;
  r[1] = r1;
  r[2] = r2;
  r[3] = rb;
  return ok;
}

/**
 * Solves G x = r in place (x in r) by Cholesky, G's lower triangle of order D read and overwritten
 * by L, with the pivots' reciprocals u_j = 1 / L[j][j] (one division per pivot; the divisions in a
 * row's dependency chain were most of a rank-1 sweep): L[j][j] = sqrt(G[j][j] - sum_p L[j][p]^2),
 * L[i][j] = (G[i][j] - sum_p L[i][p] L[j][p]) u_j, then y_i = (r_i - sum_{p<i} L[i][p] y_p) u_i and
 * x_i = (y_i - sum_{p>i} L[p][i] x_p) u_i, every sum subtracted term by term, p ascending. Returns
 * the failing pivot or -1.
 */
template <int D, int N>
inline int solve(double (&G)[N][N], double (&r)[N]) {
  double u[D];
  for (int j = 0; j < D; ++j) {
    double s = G[j][j];
    for (int p = 0; p < j; ++p) s -= G[j][p] * G[j][p];
    if (!(s > 0.0)) return j;
    u[j] = 1.0 / std::sqrt(s);
    for (int i = j + 1; i < D; ++i) {
      double v = G[i][j];
      for (int p = 0; p < j; ++p) v -= G[i][p] * G[j][p];
      G[i][j] = v * u[j];
    }
  }
  for (int i = 0; i < D; ++i) {
    double v = r[i];
    for (int p = 0; p < i; ++p) v -= G[i][p] * r[p];
    r[i] = v * u[i];
  }
  for (int i = D - 1; i >= 0; --i) {
    double v = r[i];
    for (int p = i + 1; p < D; ++p) v -= G[p][i] * r[p];
    r[i] = v * u[i];
  }
  return -1;
}

template <int K>
Fault solveRangeK(const SideJob& job, int64_t begin, int64_t end) {
  Fault fault;
  const int64_t nnz = job.nnz;
  for (int64_t row = begin; row < end; ++row) {
    const int64_t p0 = job.ptr[row];
    const int64_t p1 = job.ptr[row + 1];
    if (p0 < 0 || p1 < p0 || p1 > nnz) {
      fault.kind = kFaultPtr;
      fault.where = row;
      return fault;
    }
    double* out = job.selfF + row * K;
    if (p1 == p0) {
      for (int f = 0; f < K; ++f) out[f] = 0.0;
      job.selfB[row] = 0.0;
      continue;
    }
    double G[K + 1][K + 1];
    double r[K + 1];
    if (!accumulate<K>(job, p0, p1, G, r, fault)) return fault;
    const double scale = job.weightedLambda ? static_cast<double>(p1 - p0) : 1.0;
    const double lr = job.lambda * scale;
    for (int f = 0; f < K; ++f) G[f][f] += lr;
    int bad;
    if (job.useBias) {
      G[K][K] += job.lambdaBias * scale;
      bad = solve<K + 1>(G, r);
    } else {
      bad = solve<K>(G, r);
    }
    if (bad >= 0) {
      fault.kind = kFaultNumeric;
      fault.where = row;
      fault.value = bad;
      return fault;
    }
    for (int f = 0; f < K; ++f) out[f] = r[f];
    if (job.useBias) job.selfB[row] = r[K];
  }
  return fault;
}

}  // namespace

Fault solveRangeSmall(const SideJob& job, int64_t begin, int64_t end, double* /*ws*/, Profile* prof) {
  const double t0 = prof ? nowSeconds() : 0.0;
  Fault f;
  switch (job.k) {
    case 1: f = solveRangeK<1>(job, begin, end); break;
    case 2: f = solveRangeK<2>(job, begin, end); break;
    case 3: f = solveRangeK<3>(job, begin, end); break;
    default: f.kind = kFaultNumeric; break;  // unreachable: alsSweep routes only k <= kMaxSmallAlsK here
  }
  if (prof) prof->solveSeconds += nowSeconds() - t0;
  return f;
}

}  // namespace als_detail
}  // namespace collabperf
