// Errors of the native core: one exception type carrying one of the stable codes of src/errors.ts.
#pragma once

#include <stdexcept>
#include <string>

namespace collabperf {

enum class ErrorCode {
  InvalidArgument,  // E_INVALID_ARGUMENT
  LengthMismatch,   // E_LENGTH_MISMATCH
  IndexOutOfRange,  // E_INDEX_OUT_OF_RANGE
  NonFinite,        // E_NON_FINITE
  Numeric,          // E_NUMERIC
  Native,           // E_NATIVE
};

inline const char* errorCodeName(ErrorCode c) {
  switch (c) {
    case ErrorCode::InvalidArgument: return "E_INVALID_ARGUMENT";
    case ErrorCode::LengthMismatch: return "E_LENGTH_MISMATCH";
    case ErrorCode::IndexOutOfRange: return "E_INDEX_OUT_OF_RANGE";
    case ErrorCode::NonFinite: return "E_NON_FINITE";
    case ErrorCode::Numeric: return "E_NUMERIC";
    case ErrorCode::Native: return "E_NATIVE";
  }
  return "E_NATIVE";
}

/** The exception every core function throws for a reportable problem. */
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }
  const char* codeName() const noexcept { return errorCodeName(code_); }

 private:
  ErrorCode code_;
};

}  // namespace collabperf
