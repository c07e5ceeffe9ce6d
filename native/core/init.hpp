// Model initialisation exactly as the TypeScript driver does it (docs/kernels.md "Initialisation"),
// for the C++ tests and benchmarks.
#pragma once

#include <cmath>
#include <cstdint>

#include "rng.hpp"
#include "types.hpp"

namespace collabperf {

inline void initModel(const ModelView& m, int64_t nRows, int64_t nCols, uint32_t seed, double initScale) {
  Rng rng(seed, 0);
  const double scale = 2 * initScale / std::sqrt(static_cast<double>(m.k));
  for (int64_t i = 0; i < nRows * m.k; ++i) m.U[i] = (rng.nextDouble() - 0.5) * scale;
  for (int64_t i = 0; i < nCols * m.k; ++i) m.V[i] = (rng.nextDouble() - 0.5) * scale;
  for (int64_t i = 0; i < nRows; ++i) m.rowBias[i] = 0.0;
  for (int64_t i = 0; i < nCols; ++i) m.colBias[i] = 0.0;
}

}  // namespace collabperf
