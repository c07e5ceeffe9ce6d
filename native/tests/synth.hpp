// Synthetic rating problems for the core tests and bench_core: a planted low-rank matrix plus row and
// column biases plus noise, skewed column popularity and log-normal row lengths, in CSR + CSC form.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "init.hpp"
#include "rng.hpp"
#include "types.hpp"

namespace collabperf {
namespace testing {

struct SynthSpec {
  int32_t nRows = 300;
  int32_t nCols = 200;
  int64_t targetNnz = 12000;
  int trueRank = 4;
  double noise = 0.1;
  double mu = 3.5;
  double biasScale = 0.3;
  bool weighted = false;
  uint32_t seed = 1;
  int minPerRow = 3;
};

struct Problem {
  int32_t nRows = 0, nCols = 0;
  std::vector<int32_t> rowPtr, rowIdx, colIdx, colPtr, cscRow;
  std::vector<double> value, weight, cscValue, cscWeight;
  double mean = 0.0;

  int64_t nnz() const { return static_cast<int64_t>(value.size()); }

  ProblemView view() const {
    ProblemView p;
    p.nRows = nRows;
    p.nCols = nCols;
    p.nnz = nnz();
    p.rowPtr = rowPtr.data();
    p.rowIdx = rowIdx.data();
    p.colIdx = colIdx.data();
    p.value = value.data();
    p.weight = weight.empty() ? nullptr : weight.data();
    p.colPtr = colPtr.data();
    p.cscRow = cscRow.data();
    p.cscValue = cscValue.data();
    p.cscWeight = cscWeight.empty() ? nullptr : cscWeight.data();
    return p;
  }

  /** Rebuilds the CSC arrays from the CSR ones (rows ascending inside a column). */
  void buildCsc() {
    const int64_t n = nnz();
    colPtr.assign(static_cast<size_t>(nCols) + 1, 0);
    for (int64_t e = 0; e < n; ++e) colPtr[static_cast<size_t>(colIdx[e]) + 1]++;
    for (int32_t c = 0; c < nCols; ++c) colPtr[c + 1] += colPtr[c];
    std::vector<int32_t> pos(colPtr.begin(), colPtr.end() - 1);
    cscRow.assign(static_cast<size_t>(n), 0);
    cscValue.assign(static_cast<size_t>(n), 0.0);
    cscWeight.assign(weight.empty() ? 0 : static_cast<size_t>(n), 0.0);
    for (int64_t e = 0; e < n; ++e) {
      const int32_t q = pos[static_cast<size_t>(colIdx[e])]++;
      cscRow[q] = rowIdx[e];
      cscValue[q] = value[e];
      if (!weight.empty()) cscWeight[q] = weight[e];
    }
  }
};

inline double normal(Rng& rng) {
  double u1 = rng.nextDouble();
  if (u1 < 1e-300) u1 = 1e-300;
  const double u2 = rng.nextDouble();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

inline Problem makeProblem(const SynthSpec& s) {
  Rng rng(s.seed, 99);
  Problem P;
  P.nRows = s.nRows;
  P.nCols = s.nCols;
  const int R = s.trueRank;
  std::vector<double> tu(static_cast<size_t>(s.nRows) * R), tv(static_cast<size_t>(s.nCols) * R);
  std::vector<double> tbr(static_cast<size_t>(s.nRows)), tbc(static_cast<size_t>(s.nCols));
  const double fs = 1.0 / std::sqrt(static_cast<double>(R));
  for (auto& x : tu) x = normal(rng) * fs;
  for (auto& x : tv) x = normal(rng) * fs;
  for (auto& x : tbr) x = normal(rng) * s.biasScale;
  for (auto& x : tbc) x = normal(rng) * s.biasScale;

  // Column popularity ~ 1 / (rank + 50), ranks assigned to column ids at random.
  std::vector<int32_t> byRank(static_cast<size_t>(s.nCols));
  std::iota(byRank.begin(), byRank.end(), 0);
  rng.shuffle(byRank.data(), byRank.size());
  std::vector<double> cdf(static_cast<size_t>(s.nCols));
  double acc = 0.0;
  for (int32_t i = 0; i < s.nCols; ++i) cdf[static_cast<size_t>(i)] = acc += 1.0 / (i + 50.0);
  for (auto& x : cdf) x /= acc;

  // Row lengths: minPerRow + log-normal, scaled to the target count.
  std::vector<double> len(static_cast<size_t>(s.nRows));
  double total = 0.0;
  for (auto& x : len) total += x = std::exp(1.2 * normal(rng));
  const double extra = std::max(0.0, static_cast<double>(s.targetNnz) - static_cast<double>(s.nRows) * s.minPerRow);
  const int32_t cap = std::max<int32_t>(1, s.nCols / 2);
  P.rowPtr.assign(static_cast<size_t>(s.nRows) + 1, 0);
  std::vector<int32_t> stamp(static_cast<size_t>(s.nCols), -1);
  std::vector<int32_t> cols;
  double wsum = 0.0, ysum = 0.0;
  for (int32_t r = 0; r < s.nRows; ++r) {
    int32_t n = s.minPerRow + static_cast<int32_t>(extra * len[static_cast<size_t>(r)] / total + rng.nextDouble());
    n = std::min(n, cap);
    cols.clear();
    while (static_cast<int32_t>(cols.size()) < n) {
      const double u = rng.nextDouble();
      const int32_t rank = static_cast<int32_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
      const int32_t c = byRank[static_cast<size_t>(std::min(rank, s.nCols - 1))];
      if (stamp[static_cast<size_t>(c)] == r) continue;
      stamp[static_cast<size_t>(c)] = r;
      cols.push_back(c);
    }
    std::sort(cols.begin(), cols.end());
    for (int32_t c : cols) {
      double dot = 0.0;
      for (int f = 0; f < R; ++f) dot += tu[static_cast<size_t>(r) * R + f] * tv[static_cast<size_t>(c) * R + f];
      const double y = s.mu + tbr[static_cast<size_t>(r)] + tbc[static_cast<size_t>(c)] + dot + s.noise * normal(rng);
      const double w = s.weighted ? 0.5 + rng.nextDouble() : 1.0;
      P.rowIdx.push_back(r);
      P.colIdx.push_back(c);
      P.value.push_back(y);
      if (s.weighted) P.weight.push_back(w);
      wsum += w;
      ysum += w * y;
    }
    P.rowPtr[static_cast<size_t>(r) + 1] = static_cast<int32_t>(P.value.size());
  }
  P.mean = ysum / wsum;
  P.buildCsc();
  return P;
}

/** Model storage plus its view. */
struct Model {
  int k = 1;
  std::vector<double> U, V, rowBias, colBias;
  double mu = 0.0;

  Model(int32_t nRows, int32_t nCols, int k_) : k(k_) {
    U.assign(static_cast<size_t>(nRows) * k, 0.0);
    V.assign(static_cast<size_t>(nCols) * k, 0.0);
    rowBias.assign(static_cast<size_t>(nRows), 0.0);
    colBias.assign(static_cast<size_t>(nCols), 0.0);
  }

  ModelView view() {
    ModelView m;
    m.k = k;
    m.mu = mu;
    m.U = U.data();
    m.V = V.data();
    m.rowBias = rowBias.data();
    m.colBias = colBias.data();
    return m;
  }

  void init(uint32_t seed, double initScale) {
    initModel(view(), static_cast<int64_t>(rowBias.size()), static_cast<int64_t>(colBias.size()), seed, initScale);
  }
};

/** float32 model storage (each value of a Model rounded to float) plus its view. */
struct Model32 {
  int k = 1;
  double mu = 0.0;
  std::vector<float> U, V, rowBias, colBias;

  explicit Model32(const Model& m)
      : k(m.k), mu(m.mu), U(m.U.begin(), m.U.end()), V(m.V.begin(), m.V.end()), rowBias(m.rowBias.begin(), m.rowBias.end()),
        colBias(m.colBias.begin(), m.colBias.end()) {}

  ModelView view() {
    ModelView m;
    m.k = k;
    m.mu = mu;
    m.U32 = U.data();
    m.V32 = V.data();
    m.rowBias32 = rowBias.data();
    m.colBias32 = colBias.data();
    return m;
  }

  /** U, V, rowBias, colBias one after the other (for comparing whole models). */
  std::vector<float> all() const {
    std::vector<float> a(U);
    a.insert(a.end(), V.begin(), V.end());
    a.insert(a.end(), rowBias.begin(), rowBias.end());
    a.insert(a.end(), colBias.begin(), colBias.end());
    return a;
  }
};

}  // namespace testing
}  // namespace collabperf
