// Node-API binding of the native core (node-addon-api, NAPI_VERSION 8, C++ exceptions).
//
// The JS objects of src/backends/types.ts (KernelProblem, KernelModel, KernelOptions, FitJob) are
// checked on the main thread when the function is called. Arrays on ordinary (detachable)
// ArrayBuffers are COPIED into native memory there; the work runs on the copies in one
// Napi::AsyncWorker (plus the core's persistent pool), and the model's final arrays are copied back
// into the JS typed arrays on the main thread when it completes, so transferring or detaching such a
// buffer mid-fit is safe: an output buffer found detached or shrunk at completion rejects with
// E_INVALID_ARGUMENT ("buffer was detached during the fit"). Input arrays on a SharedArrayBuffer
// (which cannot be detached or transferred) are read in place, held by a reference: the problems
// buildProblem makes, and options.cancel, read live while the work runs (an ordinary Int32Array's
// value is read once at the call; src/backends/native.ts mirrors it into a shared one).
//
// Exports:
//   setErrorClass(cls | null)                  errors become `new cls(code, message)`; before (or after
//                                              null) a plain Error with a `code` property
//   alsSweep(problem, model, options)          -> Promise<'ok' | 'aborted'>
//   sgdEpoch(problem, model, options, epoch)   -> Promise<'ok' | 'aborted'>   (epoch: integer >= 0)
//   trainLoss(problem, model, options)         -> Promise<{ sse, wsum }>   (ignores options.cancel,
//                                                 like the TypeScript backend)
//   fitMany(jobs, onProgress?)                -> Promise<FitJobResult[]>  (one worker for the batch;
//                                                 onProgress(BatchProgress) at most every ~100 ms;
//                                                 algo 'als', 'sgd' or 'ials' with options.implicit)
//   recommendMany(model, rows, n, options)    -> { idx, score, count }  (synchronous; see "recommendMany" below)
//   nearestRows(table, queries, L, options)   -> { idx, dist, count, finite }  (synchronous; see "nearestRows" below)
//   neighbourWeights(table, queries, options) -> { idx, w, found }  (synchronous; see "neighbourWeights" below)
//   info() -> { blas, blasThreads, maxThreads, parallelSgd, implicitAls, float32Als, float32Sgd, version, blasConfig, simd }
//
// A model's four arrays are Float64Arrays, or all Float32Arrays (float32 storage, for every kernel:
// alsSweep, trainLoss, sgdEpoch in both modes, 'als', 'ials' and 'sgd' jobs).
//
// Argument problems throw synchronously (the promise is never created): E_INVALID_ARGUMENT (wrong
// type, non-integer, out-of-range option, k > 65536, threads outside [1, 1024]; more threads than
// the pool has are clamped to it; a typed array whose buffer is detached), E_NON_FINITE (NaN or
// Infinity in mu, lambda, lambdaBias, learningRate, lrDecay), E_LENGTH_MISMATCH (a typed array of the
// wrong length, naming the field and the expected length). Every field of the three objects is
// checked for every kernel (weight / cscWeight may be null, together; cancel may be null or absent).
// Kernel failures reject the promise: E_INDEX_OUT_OF_RANGE (an index or offset outside its range,
// checked where it is used, so even arrays changed while the kernel runs cannot make it read or write
// out of bounds), E_INVALID_ARGUMENT (offsets that decrease, unsorted rows in parallel SGD, k > 4096
// for ALS), E_NUMERIC (ALS non-positive pivot, naming the row or column), E_NATIVE (out of memory).
#include <napi.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "als.hpp"
#include "errors.hpp"
#include "fit_job.hpp"
#include "info.hpp"
#include "loss.hpp"
#include "neighbours.hpp"
#include "recommend.hpp"
#include "sgd.hpp"
#include "threads.hpp"
#include "types.hpp"

#ifndef COLLABPERF_VERSION
#define COLLABPERF_VERSION "0.0.0"
#endif

namespace {

using collabperf::ErrorCode;
using collabperf::errorCodeName;

constexpr int kMaxThreads = 1024;  // as src/factorization/options.ts; teams clamp to the pool size

struct AddonData {
  Napi::FunctionReference errorClass;
};

/** The error value to throw or reject with: new ErrorClass(code, message), else Error + code. */
Napi::Value makeError(Napi::Env env, const std::string& code, const std::string& message) {
  AddonData* data = env.GetInstanceData<AddonData>();
  if (data != nullptr && !data->errorClass.IsEmpty()) {
    try {
      Napi::Object err = data->errorClass.New({Napi::String::New(env, code), Napi::String::New(env, message)});
      return err;
    } catch (const Napi::Error&) {
      // The class threw: fall back to a plain Error below.
    }
  }
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err.Value();
}

/** Thrown from argument checks; turned into a JS exception by the exported functions. */
struct ArgError {
  ErrorCode code;
  std::string message;
};

[[noreturn]] void fail(ErrorCode code, std::string message) { throw ArgError{code, std::move(message)}; }

std::string num(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9.007199254740992e15)
    return std::to_string(static_cast<long long>(x));
  return std::to_string(x);
}

Napi::Object requireObject(const Napi::Value& v, const char* name) {
  if (!v.IsObject() || v.IsArray() || v.IsFunction())
    fail(ErrorCode::InvalidArgument, std::string(name) + " must be an object");
  return v.As<Napi::Object>();
}

double requireNumber(const Napi::Object& o, const char* owner, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) fail(ErrorCode::InvalidArgument, std::string(owner) + "." + key + " must be a number");
  const double x = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(x)) fail(ErrorCode::NonFinite, std::string(owner) + "." + key + " must be finite, got " + num(x));
  return x;
}

double requireNonNegative(const Napi::Object& o, const char* owner, const char* key) {
  const double x = requireNumber(o, owner, key);
  if (x < 0) fail(ErrorCode::InvalidArgument, std::string(owner) + "." + key + " must be >= 0, got " + num(x));
  return x;
}

int64_t integerValue(const Napi::Value& v, const std::string& field, double lo, double hi) {
  if (!v.IsNumber()) fail(ErrorCode::InvalidArgument, field + " must be an integer");
  const double x = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(x)) fail(ErrorCode::NonFinite, field + " must be finite, got " + num(x));
  if (x != std::floor(x) || x < lo || x > hi)
    fail(ErrorCode::InvalidArgument, field + " must be an integer in [" + num(lo) + ", " + num(hi) + "], got " + num(x));
  return static_cast<int64_t>(x);
}

int64_t requireInteger(const Napi::Object& o, const char* owner, const char* key, double lo, double hi) {
  return integerValue(o.Get(key), std::string(owner) + "." + key, lo, hi);
}

bool requireBool(const Napi::Object& o, const char* owner, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) fail(ErrorCode::InvalidArgument, std::string(owner) + "." + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

/**
 * Native copies of the typed arrays a call reads (their data pointers stay valid when the store
 * grows: inner vectors move, their buffers do not), plus references to the JS arrays that get the
 * results back and to a SharedArrayBuffer-backed cancel flag.
 */
struct Keeper {
  std::vector<Napi::Reference<Napi::Value>> refs;
  std::vector<std::vector<int32_t>> ints;
  std::vector<std::vector<double>> doubles;
  std::vector<std::vector<float>> floats;
  template <class T>
  T* store(const T* src, size_t n);
};
template <>
int32_t* Keeper::store<int32_t>(const int32_t* src, size_t n) {
  ints.emplace_back(src, src + n);
  return ints.back().data();
}
template <>
double* Keeper::store<double>(const double* src, size_t n) {
  doubles.emplace_back(src, src + n);
  return doubles.back().data();
}
template <>
float* Keeper::store<float>(const float* src, size_t n) {
  floats.emplace_back(src, src + n);
  return floats.back().data();
}

/** A JS typed array that receives a native array when the work completes. */
struct Output {
  Napi::Reference<Napi::Value> ref;
  const void* src = nullptr;
  size_t n = 0;
  size_t elementBytes = sizeof(double);  // 4 for a float32 model's arrays
};

template <class T>
const char* typedArrayName();
template <>
const char* typedArrayName<int32_t>() { return "Int32Array"; }
template <>
const char* typedArrayName<double>() { return "Float64Array"; }
template <>
const char* typedArrayName<float>() { return "Float32Array"; }
template <class T>
napi_typedarray_type typedArrayType();
template <>
napi_typedarray_type typedArrayType<int32_t>() { return napi_int32_array; }
template <>
napi_typedarray_type typedArrayType<double>() { return napi_float64_array; }
template <>
napi_typedarray_type typedArrayType<float>() { return napi_float32_array; }

/** Whether a typed array's memory is an ordinary (detachable) ArrayBuffer rather than a SharedArrayBuffer. */
bool onPlainArrayBuffer(napi_env env, const Napi::TypedArray& arr) {
  bool plain = true;
  if (napi_is_arraybuffer(env, arr.ArrayBuffer(), &plain) != napi_ok) plain = true;
  return plain;
}

/**
 * A native copy of o[key], which must be a T typed array of `expected` elements (or null when
 * `nullable`, giving nullptr). When `out` is set, the JS array is also remembered to receive the
 * copy's final contents.
 */
template <class T>
T* typedArray(const Napi::Object& o, const char* owner, const char* key, uint64_t expected, const char* expectedWhat,
              bool nullable, Keeper& keep, std::vector<Output>* out = nullptr) {
  Napi::Value v = o.Get(key);
  const std::string field = std::string(owner) + "." + key;
  if (nullable && (v.IsNull() || v.IsUndefined())) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != typedArrayType<T>())
    fail(ErrorCode::InvalidArgument,
         field + " must be " + (nullable ? "null or " : "") + "a" + (typedArrayName<T>()[0] == 'I' ? "n " : " ") +
             typedArrayName<T>());
  Napi::TypedArrayOf<T> arr = v.As<Napi::TypedArrayOf<T>>();
  // Before the length check: a detached array reads as length 0, which is not a length mismatch.
  bool detached = false;
  if (napi_is_detached_arraybuffer(o.Env(), arr.ArrayBuffer(), &detached) == napi_ok && detached)
    fail(ErrorCode::InvalidArgument, field + " is detached");
  const uint64_t len = arr.ElementLength();
  if (len != expected)
    fail(ErrorCode::LengthMismatch, field + " has length " + std::to_string(len) + ", expected " + expectedWhat +
                                        " = " + std::to_string(expected));
  if (len > 0 && arr.Data() == nullptr) fail(ErrorCode::InvalidArgument, field + " is detached");
  if (out == nullptr && !onPlainArrayBuffer(o.Env(), arr)) {
    // An input on a SharedArrayBuffer (buildProblem makes every problem so) is read in place: shared
    // memory cannot be detached or transferred, the reference keeps it alive until the work is done,
    // and the core checks indices where it uses them, so a write from another thread can change the
    // results but never what memory is touched. Copying a 20M-rating problem at every call cost more
    // than the ALS sweep and doubled the peak memory.
    keep.refs.push_back(Napi::Persistent(v));
    return arr.Data();
  }
  T* copy = keep.store<T>(arr.Data(), static_cast<size_t>(len));
  if (out != nullptr) out->push_back(Output{Napi::Persistent(v), copy, static_cast<size_t>(len), sizeof(T)});
  return copy;
}

/**
 * problem.value / cscValue: a Float64Array, or a Float32Array (ratings given as one) widened into
 * the native copy the addon makes of every input anyway, so the kernels read doubles either way.
 */
const double* valueArray(const Napi::Object& o, const char* owner, const char* key, uint64_t n, Keeper& keep) {
  Napi::Value v = o.Get(key);
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
    const float* f = typedArray<float>(o, owner, key, n, "nnz", false, keep);
    keep.doubles.emplace_back(f, f + n);
    keep.floats.pop_back();
    return keep.doubles.back().data();
  }
  return typedArray<double>(o, owner, key, n, "nnz", false, keep);
}

collabperf::ProblemView readProblem(const Napi::Value& value, Keeper& keep) {
  Napi::Object o = requireObject(value, "problem");
  const char* P = "problem";
  collabperf::ProblemView p;
  p.nRows = static_cast<int32_t>(requireInteger(o, P, "nRows", 0, 2147483646.0));
  p.nCols = static_cast<int32_t>(requireInteger(o, P, "nCols", 0, 2147483646.0));
  p.nnz = requireInteger(o, P, "nnz", 0, 2147483647.0);
  const uint64_t nR = static_cast<uint64_t>(p.nRows), nC = static_cast<uint64_t>(p.nCols);
  const uint64_t nnz = static_cast<uint64_t>(p.nnz);
  p.rowPtr = typedArray<int32_t>(o, P, "rowPtr", nR + 1, "nRows + 1", false, keep);
  p.rowIdx = typedArray<int32_t>(o, P, "rowIdx", nnz, "nnz", false, keep);
  p.colIdx = typedArray<int32_t>(o, P, "colIdx", nnz, "nnz", false, keep);
  p.value = valueArray(o, P, "value", nnz, keep);
  p.weight = typedArray<double>(o, P, "weight", nnz, "nnz", true, keep);
  p.colPtr = typedArray<int32_t>(o, P, "colPtr", nC + 1, "nCols + 1", false, keep);
  p.cscRow = typedArray<int32_t>(o, P, "cscRow", nnz, "nnz", false, keep);
  p.cscValue = valueArray(o, P, "cscValue", nnz, keep);
  p.cscWeight = typedArray<double>(o, P, "cscWeight", nnz, "nnz", true, keep);
  if ((p.weight == nullptr) != (p.cscWeight == nullptr) && nnz > 0)
    fail(ErrorCode::InvalidArgument, "problem.weight and problem.cscWeight must both be null or both be Float64Arrays");
  return p;
}

collabperf::ModelView readModel(const Napi::Value& value, const collabperf::ProblemView& p, Keeper& keep,
                                std::vector<Output>* out) {
  Napi::Object o = requireObject(value, "model");
  const char* M = "model";
  collabperf::ModelView m;
  m.k = static_cast<int32_t>(requireInteger(o, M, "k", 1, 65536));
  m.mu = requireNumber(o, M, "mu");
  const uint64_t k = static_cast<uint64_t>(m.k);
  // float32 storage when U is a Float32Array; the other three must then be too (typedArray says which).
  Napi::Value u = o.Get("U");
  if (u.IsTypedArray() && u.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
    m.U32 = typedArray<float>(o, M, "U", static_cast<uint64_t>(p.nRows) * k, "nRows * k", false, keep, out);
    m.V32 = typedArray<float>(o, M, "V", static_cast<uint64_t>(p.nCols) * k, "nCols * k", false, keep, out);
    m.rowBias32 = typedArray<float>(o, M, "rowBias", static_cast<uint64_t>(p.nRows), "nRows", false, keep, out);
    m.colBias32 = typedArray<float>(o, M, "colBias", static_cast<uint64_t>(p.nCols), "nCols", false, keep, out);
    return m;
  }
  m.U = typedArray<double>(o, M, "U", static_cast<uint64_t>(p.nRows) * k, "nRows * k", false, keep, out);
  m.V = typedArray<double>(o, M, "V", static_cast<uint64_t>(p.nCols) * k, "nCols * k", false, keep, out);
  m.rowBias = typedArray<double>(o, M, "rowBias", static_cast<uint64_t>(p.nRows), "nRows", false, keep, out);
  m.colBias = typedArray<double>(o, M, "colBias", static_cast<uint64_t>(p.nCols), "nCols", false, keep, out);
  return m;
}

collabperf::Options readOptions(const Napi::Value& value, Keeper& keep) {
  Napi::Object o = requireObject(value, "options");
  const char* O = "options";
  collabperf::Options opt;
  opt.useBias = requireBool(o, O, "useBias");
  opt.lambda = requireNonNegative(o, O, "lambda");
  opt.lambdaBias = requireNonNegative(o, O, "lambdaBias");
  opt.weightedLambda = requireBool(o, O, "weightedLambda");
  opt.threads = static_cast<int>(requireInteger(o, O, "threads", 1, kMaxThreads));
  opt.learningRate = requireNonNegative(o, O, "learningRate");
  opt.lrDecay = requireNonNegative(o, O, "lrDecay");
  opt.seed = static_cast<uint32_t>(requireInteger(o, O, "seed", 0, 4294967295.0));
  Napi::Value mode = o.Get("sgdMode");
  const std::string modeStr = mode.IsString() ? mode.As<Napi::String>().Utf8Value() : std::string();
  if (modeStr == "deterministic") opt.sgdMode = collabperf::SgdMode::Deterministic;
  else if (modeStr == "parallel") opt.sgdMode = collabperf::SgdMode::Parallel;
  else fail(ErrorCode::InvalidArgument, "options.sgdMode must be 'deterministic' or 'parallel'");
  Napi::Value cancel = o.Get("cancel");
  if (!cancel.IsNull() && !cancel.IsUndefined()) {
    if (!cancel.IsTypedArray() || cancel.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      fail(ErrorCode::InvalidArgument, "options.cancel must be null or an Int32Array");
    Napi::Int32Array arr = cancel.As<Napi::Int32Array>();
    if (arr.ElementLength() < 1 || arr.Data() == nullptr)
      fail(ErrorCode::LengthMismatch, "options.cancel must have length 1");
    if (onPlainArrayBuffer(o.Env(), arr)) {
      opt.cancel = keep.store<int32_t>(arr.Data(), 1);  // a snapshot: cannot change later
    } else {
      keep.refs.push_back(Napi::Persistent(cancel));  // shared memory stays valid while referenced
      opt.cancel = arr.Data();
    }
  }
  return opt;
}

/** options.implicit of an 'ials' job (src/backends/types.ts ImplicitOptions). */
collabperf::ImplicitOptions readImplicit(const Napi::Value& options) {
  Napi::Value v = options.As<Napi::Object>().Get("implicit");
  const char* I = "options.implicit";
  if (v.IsUndefined() || v.IsNull()) fail(ErrorCode::InvalidArgument, "an 'ials' job needs options.implicit");
  Napi::Object o = requireObject(v, I);
  collabperf::ImplicitOptions imp;
  imp.alpha = requireNonNegative(o, I, "alpha");
  Napi::Value conf = o.Get("confidence");
  const std::string c = conf.IsString() ? conf.As<Napi::String>().Utf8Value() : std::string();
  if (c == "linear") imp.logConfidence = false;
  else if (c == "log") imp.logConfidence = true;
  else fail(ErrorCode::InvalidArgument, "options.implicit.confidence must be 'linear' or 'log'");
  imp.epsilon = requireNumber(o, I, "epsilon");
  if (!(imp.epsilon > 0)) fail(ErrorCode::InvalidArgument, "options.implicit.epsilon must be > 0, got " + num(imp.epsilon));
  Napi::Value solver = o.Get("solver");
  const std::string sv = solver.IsString() ? solver.As<Napi::String>().Utf8Value() : std::string();
  if (sv == "cholesky") imp.cg = false;
  else if (sv == "cg") imp.cg = true;
  else fail(ErrorCode::InvalidArgument, "options.implicit.solver must be 'cholesky' or 'cg'");
  imp.cgSteps = static_cast<int>(requireInteger(o, I, "cgSteps", 1, 1000));
  return imp;
}

/**
 * Copies the native results into their JS arrays, after checking every one is still attached and
 * as long as at the call; returns false (copying nothing) otherwise.
 */
bool copyBack(std::vector<Output>& outputs) {
  for (Output& o : outputs) {
    Napi::Value v = o.ref.Value();
    if (!v.IsTypedArray()) return false;
    Napi::TypedArray a = v.As<Napi::TypedArray>();
    if (a.ElementSize() != o.elementBytes || a.ElementLength() != o.n) return false;
    if (o.n > 0 && (a.ArrayBuffer().Data() == nullptr)) return false;
  }
  for (Output& o : outputs) {
    Napi::TypedArray a = o.ref.Value().As<Napi::TypedArray>();
    if (o.n > 0) std::memcpy(static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset(), o.src, o.n * o.elementBytes);
  }
  return true;
}

constexpr const char* kDetached = "buffer was detached during the fit";

enum class Kind { Als, Sgd, Loss };

class KernelWorker : public Napi::AsyncWorker {
 public:
  KernelWorker(Napi::Env env, Kind kind, collabperf::ProblemView p, collabperf::ModelView m, collabperf::Options o,
               int64_t epoch, std::unique_ptr<Keeper> keep, std::vector<Output> outputs)
      : Napi::AsyncWorker(env, "collabperf.kernel"),
        deferred_(Napi::Promise::Deferred::New(env)),
        kind_(kind),
        problem_(p),
        model_(m),
        options_(o),
        epoch_(epoch),
        keep_(std::move(keep)),
        outputs_(std::move(outputs)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      switch (kind_) {
        case Kind::Als: status_ = collabperf::alsSweep(problem_, model_, options_); break;
        case Kind::Sgd: status_ = collabperf::sgdEpoch(problem_, model_, options_, epoch_); break;
        case Kind::Loss: status_ = collabperf::trainLoss(problem_, model_, options_, loss_); break;
      }
    } catch (const collabperf::Error& e) {
      setFailure(e.codeName(), e.what());
    } catch (const std::bad_alloc&) {
      setFailure("E_NATIVE", "out of memory in the native kernel");
    } catch (const std::exception& e) {
      setFailure("E_NATIVE", std::string("native kernel failed: ") + e.what());
    } catch (...) {
      setFailure("E_NATIVE", "native kernel failed");
    }
    // This libuv thread may not run the next call: keep only its small scratch.
    collabperf::trimThreadScratch(collabperf::kScratchKeepBytes);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (failed_) {
      deferred_.Reject(makeError(env, code_, message_));
      return;
    }
    // The kernel worked on copies: hand the model back (even after an abort, as before).
    if (kind_ != Kind::Loss && !copyBack(outputs_)) {
      deferred_.Reject(makeError(env, "E_INVALID_ARGUMENT", kDetached));
      return;
    }
    if (kind_ == Kind::Loss) {
      Napi::Object out = Napi::Object::New(env);
      out.Set("sse", Napi::Number::New(env, loss_.sse));
      out.Set("wsum", Napi::Number::New(env, loss_.wsum));
      deferred_.Resolve(out);
    } else {
      deferred_.Resolve(Napi::String::New(env, collabperf::statusName(status_)));
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  void setFailure(const char* code, const std::string& message) {
    failed_ = true;
    code_ = code;
    message_ = message;
  }

  Napi::Promise::Deferred deferred_;
  Kind kind_;
  collabperf::ProblemView problem_;
  collabperf::ModelView model_;
  collabperf::Options options_;
  int64_t epoch_;
  std::unique_ptr<Keeper> keep_;  // released with the worker, on the main thread
  std::vector<Output> outputs_;
  collabperf::Status status_ = collabperf::Status::Ok;
  collabperf::LossSums loss_;
  bool failed_ = false;
  std::string code_;
  std::string message_;
};

/** Runs `body`, turning argument errors and stray C++ exceptions into coded JS exceptions. */
template <class F>
Napi::Value guarded(const Napi::CallbackInfo& info, F body) {
  Napi::Env env = info.Env();
  try {
    return body();
  } catch (const ArgError& e) {
    throw Napi::Error(env, makeError(env, errorCodeName(e.code), e.message));
  } catch (const Napi::Error&) {
    throw;
  } catch (const collabperf::Error& e) {
    throw Napi::Error(env, makeError(env, e.codeName(), e.what()));
  } catch (const std::bad_alloc&) {
    throw Napi::Error(env, makeError(env, "E_NATIVE", "out of memory in the native addon"));
  } catch (const std::exception& e) {
    throw Napi::Error(env, makeError(env, "E_NATIVE", std::string("native addon failed: ") + e.what()));
  }
}

Napi::Value startKernel(const Napi::CallbackInfo& info, Kind kind) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const size_t want = kind == Kind::Sgd ? 4 : 3;
    if (info.Length() < want)
      fail(ErrorCode::InvalidArgument, std::string("expected ") + std::to_string(want) + " arguments, got " +
                                           std::to_string(info.Length()));
    auto keep = std::make_unique<Keeper>();
    const collabperf::ProblemView p = readProblem(info[0], *keep);
    std::vector<Output> outputs;
    const collabperf::ModelView m = readModel(info[1], p, *keep, kind == Kind::Loss ? nullptr : &outputs);
    const collabperf::Options o = readOptions(info[2], *keep);
    int64_t epoch = 0;
    if (kind == Kind::Sgd) epoch = integerValue(info[3], "epoch", 0, 2147483647.0);
    auto* worker = new KernelWorker(env, kind, p, m, o, epoch, std::move(keep), std::move(outputs));
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  });
}

Napi::Value AlsSweep(const Napi::CallbackInfo& info) { return startKernel(info, Kind::Als); }
Napi::Value SgdEpoch(const Napi::CallbackInfo& info) { return startKernel(info, Kind::Sgd); }
Napi::Value TrainLoss(const Napi::CallbackInfo& info) { return startKernel(info, Kind::Loss); }

Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    AddonData* data = env.GetInstanceData<AddonData>();
    if (info.Length() >= 1 && (info[0].IsNull() || info[0].IsUndefined())) {
      data->errorClass.Reset();
      return env.Undefined();
    }
    if (info.Length() < 1 || !info[0].IsFunction())
      fail(ErrorCode::InvalidArgument, "setErrorClass expects a class (constructor(code, message))");
    data->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
    return env.Undefined();
  });
}

/** One batch of whole fits: every job's inputs copied at the call, results copied back in OnOK. */
class FitManyWorker : public Napi::AsyncProgressWorker<char> {
 public:
  FitManyWorker(Napi::Env env, Napi::Function noop)
      : Napi::AsyncProgressWorker<char>(noop, "collabperf.fitMany"), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }
  std::vector<collabperf::FitJob> jobs;
  std::unique_ptr<Keeper> keep = std::make_unique<Keeper>();
  std::vector<Output> outputs;
  Napi::FunctionReference onProgress;

  void Execute(const ExecutionProgress& progress) override {
    iters_.reset(new std::atomic<int>[jobs.size()]);
    for (size_t i = 0; i < jobs.size(); ++i) iters_[i].store(0);
    const bool report = !onProgress.IsEmpty();
    const double start = now();
    collabperf::IterationHook hook = [&](size_t job, int done, bool finished) {
      iters_[job].store(done, std::memory_order_relaxed);
      if (finished) jobsDone_.fetch_add(1, std::memory_order_relaxed);
      if (!report) return;
      // At most one message every ~100 ms (the first after 100 ms, so tiny batches send none).
      const int64_t slot = static_cast<int64_t>((now() - start) * 10.0);
      int64_t last = lastSlot_.load(std::memory_order_relaxed);
      if (slot > last && lastSlot_.compare_exchange_strong(last, slot)) progress.Send(&dummy_, 1);
    };
    try {
      results_ = collabperf::fitMany(jobs, &hook);
    } catch (const collabperf::Error& e) {
      setFailure(e.codeName(), e.what());
    } catch (const std::bad_alloc&) {
      setFailure("E_NATIVE", "out of memory in the native kernel");
    } catch (const std::exception& e) {
      setFailure("E_NATIVE", std::string("native kernel failed: ") + e.what());
    } catch (...) {
      setFailure("E_NATIVE", "native kernel failed");
    }
    // This libuv thread may not run the next call: keep only its small scratch.
    collabperf::trimThreadScratch(collabperf::kScratchKeepBytes);
  }

  void OnProgress(const char*, size_t) override {
    if (onProgress.IsEmpty() || !iters_) return;
    Napi::Env env = Env();
    Napi::Object p = Napi::Object::New(env);
    p.Set("jobsDone", Napi::Number::New(env, jobsDone_.load()));
    p.Set("jobs", Napi::Number::New(env, static_cast<double>(jobs.size())));
    Napi::Int32Array it = Napi::Int32Array::New(env, jobs.size());
    for (size_t i = 0; i < jobs.size(); ++i) it[i] = iters_[i].load(std::memory_order_relaxed);
    p.Set("itersDone", it);
    try {
      onProgress.Call({p});
    } catch (const Napi::Error&) {
      // A throwing progress callback does not stop the fit.
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (failed_) {
      deferred_.Reject(makeError(env, code_, message_));
      return;
    }
    if (!copyBack(outputs)) {
      deferred_.Reject(makeError(env, "E_INVALID_ARGUMENT", kDetached));
      return;
    }
    Napi::Array out = Napi::Array::New(env, results_.size());
    for (size_t i = 0; i < results_.size(); ++i) {
      const collabperf::FitResult& r = results_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("status", Napi::String::New(env, collabperf::fitStatusName(r.status)));
      Napi::Array h = Napi::Array::New(env, r.history.size());
      for (size_t t = 0; t < r.history.size(); ++t) {
        Napi::Object x = Napi::Object::New(env);
        x.Set("trainRmse", Napi::Number::New(env, r.history[t].trainRmse));
        x.Set("validRmse", Napi::Number::New(env, r.history[t].validRmse));
        x.Set("seconds", Napi::Number::New(env, r.history[t].seconds));
        // Like the TypeScript loop: implicit iterations carry the objective, a diverged one does not.
        if (jobs[i].algo == collabperf::Algo::Ials && std::isfinite(r.history[t].trainRmse))
          x.Set("objective", Napi::Number::New(env, r.history[t].objective));
        h.Set(static_cast<uint32_t>(t), x);
      }
      o.Set("history", h);
      o.Set("bestIter", Napi::Number::New(env, r.bestIter));
      o.Set("stoppedEarly", Napi::Boolean::New(env, r.stoppedEarly));
      out.Set(static_cast<uint32_t>(i), o);
    }
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  static double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  void setFailure(const char* code, const std::string& message) {
    failed_ = true;
    code_ = code;
    message_ = message;
  }
  Napi::Promise::Deferred deferred_;
  std::unique_ptr<std::atomic<int>[]> iters_;
  std::atomic<int> jobsDone_{0};
  std::atomic<int64_t> lastSlot_{0};
  char dummy_ = 0;
  std::vector<collabperf::FitResult> results_;
  bool failed_ = false;
  std::string code_;
  std::string message_;
};

/** A problem already copied for this call (jobs usually share one problem object). */
struct SeenProblem {
  napi_value object;
  collabperf::ProblemView view;
};

Napi::Value FitMany(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) fail(ErrorCode::InvalidArgument, "fitMany expects an array of jobs");
    Napi::Array arr = info[0].As<Napi::Array>();
    // Everything is read and checked before the worker exists: an AsyncProgressWorker owns a
    // thread-safe function from its constructor on, whose finalizer (run later by the event loop)
    // uses the worker, so one deleted on an argument error would be used after free.
    struct Parsed {
      std::vector<collabperf::FitJob> jobs;
      std::unique_ptr<Keeper> keep = std::make_unique<Keeper>();
      std::vector<Output> outputs;
      Napi::FunctionReference onProgress;
    } parsed;
    if (info.Length() >= 2 && !info[1].IsUndefined() && !info[1].IsNull()) {
      if (!info[1].IsFunction()) fail(ErrorCode::InvalidArgument, "onProgress must be a function");
      parsed.onProgress = Napi::Persistent(info[1].As<Napi::Function>());
    }
    std::vector<SeenProblem> seen;
    const uint32_t n = arr.Length();
    parsed.jobs.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      const std::string J = "jobs[" + std::to_string(i) + "]";
      Napi::Object jo = requireObject(arr.Get(i), J.c_str());
      collabperf::FitJob job;
      Napi::Value pv = jo.Get("problem");
      bool found = false;
      // Only the last few distinct problems are compared (by identity), so a batch stays linear.
      for (size_t s = seen.size(); s-- > 0 && s + 8 >= seen.size();) {
        bool eq = false;
        if (napi_strict_equals(env, seen[s].object, pv, &eq) == napi_ok && eq) {
          job.problem = seen[s].view;
          found = true;
          break;
        }
      }
      if (!found) {
        job.problem = readProblem(pv, *parsed.keep);
        seen.push_back(SeenProblem{pv, job.problem});
      }
      job.model = readModel(jo.Get("model"), job.problem, *parsed.keep, &parsed.outputs);
      job.options = readOptions(jo.Get("options"), *parsed.keep);
      Napi::Value algo = jo.Get("algo");
      const std::string a = algo.IsString() ? algo.As<Napi::String>().Utf8Value() : std::string();
      if (a == "als") job.algo = collabperf::Algo::Als;
      else if (a == "sgd") job.algo = collabperf::Algo::Sgd;
      else if (a == "ials") job.algo = collabperf::Algo::Ials;
      else fail(ErrorCode::InvalidArgument, J + ".algo must be 'als', 'sgd' or 'ials'");
      if (job.algo == collabperf::Algo::Ials) job.options.implicit = readImplicit(jo.Get("options"));
      if (job.algo != collabperf::Algo::Sgd && job.model.k > collabperf::kMaxAlsK)
        fail(ErrorCode::InvalidArgument, J + ".model.k is too large for ALS (at most 4096)");
      job.iters = static_cast<int>(requireInteger(jo, J.c_str(), "iters", 1, 2147483647.0));
      job.earlyStopping = requireBool(jo, J.c_str(), "earlyStopping");
      job.patience = static_cast<int>(requireInteger(jo, J.c_str(), "patience", 1, 2147483647.0));
      job.minDelta = requireNumber(jo, J.c_str(), "minDelta");
      // Optional (absent: true), so a caller written before it keeps the per-iteration loss.
      if (!jo.Get("trackLoss").IsUndefined()) job.trackLoss = requireBool(jo, J.c_str(), "trackLoss");
      Napi::Value vv = jo.Get("validation");
      if (!vv.IsNull() && !vv.IsUndefined()) {
        const std::string V = J + ".validation";
        Napi::Object vo = requireObject(vv, V.c_str());
        Napi::Value rows = vo.Get("rows");
        if (!rows.IsTypedArray()) fail(ErrorCode::InvalidArgument, V + ".rows must be an Int32Array");
        const uint64_t m = rows.As<Napi::TypedArray>().ElementLength();
        job.hasValidation = true;
        job.validation.n = static_cast<int64_t>(m);
        job.validation.rows = typedArray<int32_t>(vo, V.c_str(), "rows", m, "rows.length", false, *parsed.keep);
        job.validation.cols = typedArray<int32_t>(vo, V.c_str(), "cols", m, "rows.length", false, *parsed.keep);
        job.validation.values = typedArray<double>(vo, V.c_str(), "values", m, "rows.length", false, *parsed.keep);
        job.validation.weights = typedArray<double>(vo, V.c_str(), "weights", m, "rows.length", true, *parsed.keep);
      }
      parsed.jobs.push_back(job);
    }
    Napi::Function noop = Napi::Function::New(env, [](const Napi::CallbackInfo&) {});
    auto* w = new FitManyWorker(env, noop);
    w->jobs = std::move(parsed.jobs);
    w->keep = std::move(parsed.keep);
    w->outputs = std::move(parsed.outputs);
    w->onProgress = std::move(parsed.onProgress);
    Napi::Promise promise = w->promise();
    w->Queue();
    return promise;
  });
}

// ---- recommendMany (issue 10) ----
//   recommendMany(model, rows, n, options) -> { idx: Int32Array, score: Float64Array, count: Int32Array }
// model: { nRows, nCols, k, mu, U, V, rowBias, colBias } (all Float64Array or all Float32Array);
// rows: Int32Array of dense rows; options: { threads, excludePtr?, excludeIdx?, exclude? } (Int32Arrays:
// per-model-row CSR exclusions and one list for every row). Synchronous, as FactorModel.recommendMany
// is: the JS thread waits while the pool works, so the arrays are read in place (nothing can detach
// them meanwhile; a SharedArrayBuffer written by a worker can change scores, and the core checks
// every index it follows). Row q's best columns are idx[q*n .. q*n + count[q]).

/** o[key] as a T typed array of `expected` elements, read in place (or nullptr when absent and `optional`). */
template <class T>
const T* inPlaceArray(const Napi::Object& o, const char* owner, const char* key, int64_t expected, bool optional,
                      int64_t* length = nullptr) {
  Napi::Value v = o.Get(key);
  const std::string field = std::string(owner) + "." + key;
  if (optional && (v.IsNull() || v.IsUndefined())) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != typedArrayType<T>())
    fail(ErrorCode::InvalidArgument, field + " must be " + (optional ? "absent or " : "") + "a" +
                                         (typedArrayName<T>()[0] == 'I' ? "n " : " ") + typedArrayName<T>());
  Napi::TypedArrayOf<T> arr = v.As<Napi::TypedArrayOf<T>>();
  bool detached = false;
  if (napi_is_detached_arraybuffer(o.Env(), arr.ArrayBuffer(), &detached) == napi_ok && detached)
    fail(ErrorCode::InvalidArgument, field + " is detached");
  const int64_t len = static_cast<int64_t>(arr.ElementLength());
  if (expected >= 0 && len != expected)
    fail(ErrorCode::LengthMismatch, field + " has length " + std::to_string(len) + ", expected " + std::to_string(expected));
  if (length != nullptr) *length = len;
  return arr.Data();
}

Napi::Value RecommendMany(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (info.Length() < 4) fail(ErrorCode::InvalidArgument, "expected 4 arguments, got " + std::to_string(info.Length()));
    const char* M = "model";
    Napi::Object mo = requireObject(info[0], M);
    collabperf::RecommendJob job;
    job.nRows = static_cast<int32_t>(requireInteger(mo, M, "nRows", 0, 2147483646.0));
    job.nCols = static_cast<int32_t>(requireInteger(mo, M, "nCols", 0, 2147483646.0));
    collabperf::ModelView m;
    m.k = static_cast<int32_t>(requireInteger(mo, M, "k", 1, 65536));
    m.mu = requireNumber(mo, M, "mu");
    const int64_t nRk = static_cast<int64_t>(job.nRows) * m.k, nCk = static_cast<int64_t>(job.nCols) * m.k;
    Napi::Value u = mo.Get("U");
    // The core only reads the model; the const_casts fit ModelView, which kernels also write through.
    if (u.IsTypedArray() && u.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
      m.U32 = const_cast<float*>(inPlaceArray<float>(mo, M, "U", nRk, false));
      m.V32 = const_cast<float*>(inPlaceArray<float>(mo, M, "V", nCk, false));
      m.rowBias32 = const_cast<float*>(inPlaceArray<float>(mo, M, "rowBias", job.nRows, false));
      m.colBias32 = const_cast<float*>(inPlaceArray<float>(mo, M, "colBias", job.nCols, false));
    } else {
      m.U = const_cast<double*>(inPlaceArray<double>(mo, M, "U", nRk, false));
      m.V = const_cast<double*>(inPlaceArray<double>(mo, M, "V", nCk, false));
      m.rowBias = const_cast<double*>(inPlaceArray<double>(mo, M, "rowBias", job.nRows, false));
      m.colBias = const_cast<double*>(inPlaceArray<double>(mo, M, "colBias", job.nCols, false));
    }
    Napi::Object wrap = Napi::Object::New(env);
    wrap.Set("rows", info[1]);
    job.rows = inPlaceArray<int32_t>(wrap, "recommendMany", "rows", -1, false, &job.nQuery);
    job.n = static_cast<int32_t>(integerValue(info[2], "n", 1, 2147483647.0));
    const char* O = "options";
    Napi::Object oo = requireObject(info[3], O);
    job.threads = static_cast<int>(requireInteger(oo, O, "threads", 1, kMaxThreads));
    job.excludePtr = inPlaceArray<int32_t>(oo, O, "excludePtr", static_cast<int64_t>(job.nRows) + 1, true);
    job.excludeIdx = inPlaceArray<int32_t>(oo, O, "excludeIdx", -1, job.excludePtr == nullptr, &job.nExcludeIdx);
    if (job.excludePtr == nullptr) {
      job.excludeIdx = nullptr;
      job.nExcludeIdx = 0;
    }
    job.sharedExclude = inPlaceArray<int32_t>(oo, O, "exclude", -1, true, &job.nShared);
    if (job.sharedExclude == nullptr) job.nShared = 0;
    // The result slots: n per row, at most nCols of them used.
    const int64_t slots = std::min<int64_t>(job.n, job.nCols);
    const double total = static_cast<double>(slots) * static_cast<double>(job.nQuery);
    if (total > 2147483647.0) fail(ErrorCode::InvalidArgument, "recommendMany: rows * min(n, nCols) is too large");
    const int32_t width = static_cast<int32_t>(slots);
    Napi::Int32Array idx = Napi::Int32Array::New(env, static_cast<size_t>(total));
    Napi::Float64Array score = Napi::Float64Array::New(env, static_cast<size_t>(total));
    Napi::Int32Array count = Napi::Int32Array::New(env, static_cast<size_t>(job.nQuery));
    job.outIdx = idx.Data();
    job.outScore = score.Data();
    job.outCount = count.Data();
    job.n = width;
    if (width > 0) collabperf::recommendMany(m, job);
    Napi::Object out = Napi::Object::New(env);
    out.Set("idx", idx);
    out.Set("score", score);
    out.Set("count", count);
    out.Set("width", Napi::Number::New(env, width));
    return out;
  });
}
// ---- end recommendMany ----

/** The candidates of a neighbour search: { nCand, nCols } and two Float64Arrays of nCand * nCols. */
struct CandidateTable {
  int32_t nCand = 0;
  int32_t nCols = 0;
  const double* values = nullptr;
  const double* mask = nullptr;
};

CandidateTable readCandidateTable(const Napi::Value& v, const char* valuesKey, const char* maskKey) {
  const char* T = "table";
  Napi::Object to = requireObject(v, T);
  CandidateTable t;
  t.nCand = static_cast<int32_t>(requireInteger(to, T, "nCand", 0, 2147483646.0));
  t.nCols = static_cast<int32_t>(requireInteger(to, T, "nCols", 0, 65536));
  // nCand * nCols < 2^31 * 2^16: exact in a double and in int64.
  const int64_t cells = static_cast<int64_t>(t.nCand) * t.nCols;
  t.values = inPlaceArray<double>(to, T, valuesKey, cells, false);
  t.mask = inPlaceArray<double>(to, T, maskKey, cells, false);
  return t;
}

// ---- nearestRows ----
//   nearestRows(table, queries, L, options) -> { idx: Int32Array, dist: Float64Array, count: Int32Array, finite: Int32Array }
// table: { nCand, nCols, zt, wt } (Float64Arrays of nCols * nCand, task-major); queries: { query
// (Float64Array nQuery * nCols, NaN = missing), need, self (Int32Arrays of nQuery) }; options:
// { threads }. Synchronous, arrays read in place, as recommendMany. See native/core/neighbours.hpp.
Napi::Value NearestRows(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (info.Length() < 4) fail(ErrorCode::InvalidArgument, "expected 4 arguments, got " + std::to_string(info.Length()));
    collabperf::NeighbourJob job;
    const CandidateTable table = readCandidateTable(info[0], "zt", "wt");
    job.nCand = table.nCand;
    job.nCols = table.nCols;
    job.zt = table.values;
    job.wt = table.mask;
    const char* Q = "queries";
    Napi::Object qo = requireObject(info[1], Q);
    int64_t nNeed = 0;
    job.need = inPlaceArray<int32_t>(qo, Q, "need", -1, false, &nNeed);
    job.nQuery = nNeed;
    job.self = inPlaceArray<int32_t>(qo, Q, "self", job.nQuery, false);
    job.query = inPlaceArray<double>(qo, Q, "query", job.nQuery * job.nCols, false);
    job.L = static_cast<int32_t>(integerValue(info[2], "L", 1, 2147483647.0));
    const char* O = "options";
    Napi::Object oo = requireObject(info[3], O);
    job.threads = static_cast<int>(requireInteger(oo, O, "threads", 1, kMaxThreads));
    const double slots = static_cast<double>(job.L) * static_cast<double>(job.nQuery);
    if (slots > 2147483647.0) fail(ErrorCode::InvalidArgument, "nearestRows: queries * L is too large");
    Napi::Int32Array idx = Napi::Int32Array::New(env, static_cast<size_t>(slots));
    Napi::Float64Array dist = Napi::Float64Array::New(env, static_cast<size_t>(slots));
    Napi::Int32Array count = Napi::Int32Array::New(env, static_cast<size_t>(job.nQuery));
    Napi::Int32Array finite = Napi::Int32Array::New(env, static_cast<size_t>(job.nQuery));
    job.outIdx = idx.Data();
    job.outDist = dist.Data();
    job.outCount = count.Data();
    job.outFinite = finite.Data();
    collabperf::nearestRows(job);
    Napi::Object out = Napi::Object::New(env);
    out.Set("idx", idx);
    out.Set("dist", dist);
    out.Set("count", count);
    out.Set("finite", finite);
    return out;
  });
}
// ---- end nearestRows ----

// ---- neighbourWeights ----
//   neighbourWeights(table, queries, options) -> { idx: Int32Array, w: Float64Array, found: Int32Array }
// table: { nCand, nCols, resid, mask } (Float64Arrays of nCand * nCols, candidate-major); queries:
// { rows (Float64Array nQuery * nCols), self (Int32Array nQuery), cellPtr (Int32Array nQuery + 1),
// cellTask (Int32Array), betas (Float64Array), minOverlap, kMax }; options: { threads }.
// Synchronous, arrays read in place. See native/core/neighbours.hpp.
Napi::Value NeighbourWeights(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (info.Length() < 3) fail(ErrorCode::InvalidArgument, "expected 3 arguments, got " + std::to_string(info.Length()));
    collabperf::SimilarityJob job;
    const CandidateTable table = readCandidateTable(info[0], "resid", "mask");
    job.nCand = table.nCand;
    job.nCols = table.nCols;
    job.resid = table.values;
    job.mask = table.mask;
    const char* Q = "queries";
    Napi::Object qo = requireObject(info[1], Q);
    job.self = inPlaceArray<int32_t>(qo, Q, "self", -1, false, &job.nQuery);
    job.rows = inPlaceArray<double>(qo, Q, "rows", job.nQuery * job.nCols, false);
    job.cellPtr = inPlaceArray<int32_t>(qo, Q, "cellPtr", job.nQuery + 1, false);
    job.cellTask = inPlaceArray<int32_t>(qo, Q, "cellTask", -1, false, &job.nCells);
    int64_t nBetas = 0;
    job.betas = inPlaceArray<double>(qo, Q, "betas", -1, false, &nBetas);
    if (nBetas > 1024) fail(ErrorCode::InvalidArgument, "neighbourWeights: at most 1024 betas");
    job.nBetas = static_cast<int32_t>(nBetas);
    job.minOverlap = requireNumber(qo, Q, "minOverlap");
    job.kMax = static_cast<int32_t>(requireInteger(qo, Q, "kMax", 1, 1048576.0));
    const char* O = "options";
    Napi::Object oo = requireObject(info[2], O);
    job.threads = static_cast<int>(requireInteger(oo, O, "threads", 1, kMaxThreads));
    const double slots = static_cast<double>(job.nCells) * static_cast<double>(job.nBetas);
    if (slots * job.kMax > 2147483647.0) fail(ErrorCode::InvalidArgument, "neighbourWeights: cells * betas * kMax is too large");
    Napi::Int32Array idx = Napi::Int32Array::New(env, static_cast<size_t>(slots * job.kMax));
    Napi::Float64Array w = Napi::Float64Array::New(env, static_cast<size_t>(slots * job.kMax));
    Napi::Int32Array found = Napi::Int32Array::New(env, static_cast<size_t>(slots));
    job.outIdx = idx.Data();
    job.outW = w.Data();
    job.outFound = found.Data();
    collabperf::neighbourWeights(job);
    Napi::Object out = Napi::Object::New(env);
    out.Set("idx", idx);
    out.Set("w", w);
    out.Set("found", found);
    return out;
  });
}
// ---- end neighbourWeights ----

Napi::Value Info(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("blas", Napi::String::New(env, collabperf::blasDescription()));
    out.Set("blasThreads", Napi::Number::New(env, collabperf::blasThreads()));
    out.Set("maxThreads", Napi::Number::New(env, collabperf::maxThreads()));
    out.Set("parallelSgd", Napi::Boolean::New(env, true));
    out.Set("implicitAls", Napi::Boolean::New(env, true));
    out.Set("float32Als", Napi::Boolean::New(env, true));
    out.Set("float32Sgd", Napi::Boolean::New(env, true));
    out.Set("version", Napi::String::New(env, COLLABPERF_VERSION));
    out.Set("blasConfig", Napi::String::New(env, collabperf::blasConfig()));
    out.Set("simd", Napi::String::New(env, collabperf::simdLevel()));
    return out;
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  exports.Set("alsSweep", Napi::Function::New(env, AlsSweep, "alsSweep"));
  exports.Set("sgdEpoch", Napi::Function::New(env, SgdEpoch, "sgdEpoch"));
  exports.Set("trainLoss", Napi::Function::New(env, TrainLoss, "trainLoss"));
  exports.Set("fitMany", Napi::Function::New(env, FitMany, "fitMany"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("recommendMany", Napi::Function::New(env, RecommendMany, "recommendMany"));
  exports.Set("nearestRows", Napi::Function::New(env, NearestRows, "nearestRows"));
  exports.Set("neighbourWeights", Napi::Function::New(env, NeighbourWeights, "neighbourWeights"));
  return exports;
}

}  // namespace

NODE_API_MODULE(collabperf, Init)
