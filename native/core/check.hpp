// Cheap argument checks shared by the kernels (the addon checks types and lengths before; these keep
// the core safe when called directly, e.g. from the C++ tests and benchmarks).
#pragma once

#include <cmath>
#include <string>

#include "errors.hpp"
#include "types.hpp"

namespace collabperf {
namespace detail {

inline void require(bool ok, ErrorCode code, const std::string& message) {
  if (!ok) throw Error(code, message);
}

inline void checkNonNegative(double x, const char* field) {
  require(std::isfinite(x), ErrorCode::NonFinite, std::string(field) + " must be finite");
  require(x >= 0.0, ErrorCode::InvalidArgument, std::string(field) + " must be >= 0");
}

inline void checkShape(const ProblemView& p, const ModelView& m, const Options& o) {
  require(p.nRows >= 0 && p.nCols >= 0 && p.nnz >= 0, ErrorCode::InvalidArgument,
          "problem.nRows, nCols and nnz must be >= 0");
  require(m.k >= 1, ErrorCode::InvalidArgument, "model.k must be an integer >= 1");
  require(o.threads >= 1, ErrorCode::InvalidArgument, "options.threads must be an integer >= 1");
  require(std::isfinite(m.mu), ErrorCode::NonFinite, "model.mu must be finite");
  const bool f32 = m.float32();
  require(f32 ? ((m.V32 != nullptr || p.nCols == 0) && (m.rowBias32 != nullptr || p.nRows == 0) &&
                 (m.colBias32 != nullptr || p.nCols == 0) && m.U == nullptr && m.V == nullptr &&
                 m.rowBias == nullptr && m.colBias == nullptr)
              : ((m.U != nullptr || p.nRows == 0) && (m.V != nullptr || p.nCols == 0) &&
                 (m.rowBias != nullptr || p.nRows == 0) && (m.colBias != nullptr || p.nCols == 0) &&
                 m.V32 == nullptr && m.rowBias32 == nullptr && m.colBias32 == nullptr),
          ErrorCode::InvalidArgument, "model arrays missing (or float32 and float64 mixed)");
}

inline std::string str(long long v) { return std::to_string(v); }

}  // namespace detail
}  // namespace collabperf
