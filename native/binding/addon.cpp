// Node-API binding of the native core (node-addon-api, NAPI_VERSION 8, C++ exceptions).
//
// The JS objects of src/backends/types.ts (KernelProblem, KernelModel, KernelOptions) are checked and
// turned into the core's plain views on the main thread WITHOUT copying: the typed arrays' data
// pointers are taken and the arrays are kept alive by persistent references until the worker is done.
// Each kernel then runs in a Napi::AsyncWorker (plus options.threads - 1 threads of its own) and
// settles a Promise.
//
// Exports:
//   setErrorClass(cls | null)                  errors become `new cls(code, message)`; before (or after
//                                              null) a plain Error with a `code` property
//   alsSweep(problem, model, options)          -> Promise<'ok' | 'aborted'>
//   sgdEpoch(problem, model, options, epoch)   -> Promise<'ok' | 'aborted'>   (epoch: integer >= 0)
//   trainLoss(problem, model, options)         -> Promise<{ sse, wsum }>   (ignores options.cancel,
//                                                 like the TypeScript backend)
//   info() -> { blas, blasThreads, maxThreads, parallelSgd, version, blasConfig, simd }
//
// Argument problems throw synchronously (the promise is never created): E_INVALID_ARGUMENT (wrong
// type, non-integer, out-of-range option, k > 65536, threads outside [1, 256]), E_NON_FINITE (NaN or
// Infinity in mu, lambda, lambdaBias, learningRate, lrDecay), E_LENGTH_MISMATCH (a typed array of the
// wrong length, naming the field and the expected length). Every field of the three objects is
// checked for every kernel (weight / cscWeight may be null, together; cancel may be null or absent).
// Kernel failures reject the promise: E_INDEX_OUT_OF_RANGE (an index or offset outside its range,
// checked where it is used, so even arrays changed while the kernel runs cannot make it read or write
// out of bounds), E_INVALID_ARGUMENT (offsets that decrease, unsorted rows in parallel SGD, k > 4096
// for ALS), E_NUMERIC (ALS non-positive pivot, naming the row or column), E_NATIVE (out of memory).
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "als.hpp"
#include "errors.hpp"
#include "info.hpp"
#include "loss.hpp"
#include "sgd.hpp"
#include "types.hpp"

#ifndef COLLABPERF_VERSION
#define COLLABPERF_VERSION "0.0.0"
#endif

namespace {

using collabperf::ErrorCode;
using collabperf::errorCodeName;

constexpr int kMaxThreads = 256;

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

/** Keeps the typed arrays a job points into alive until the job is destroyed (on the main thread). */
struct Keeper {
  std::vector<Napi::Reference<Napi::Value>> refs;
};

template <class T>
const char* typedArrayName();
template <>
const char* typedArrayName<int32_t>() { return "Int32Array"; }
template <>
const char* typedArrayName<double>() { return "Float64Array"; }
template <class T>
napi_typedarray_type typedArrayType();
template <>
napi_typedarray_type typedArrayType<int32_t>() { return napi_int32_array; }
template <>
napi_typedarray_type typedArrayType<double>() { return napi_float64_array; }

/**
 * The data pointer of o[key], which must be a T typed array of `expected` elements (or null when
 * `nullable`, giving nullptr). No copy: a reference keeps the array alive.
 */
template <class T>
T* typedArray(const Napi::Object& o, const char* owner, const char* key, uint64_t expected, const char* expectedWhat,
              bool nullable, Keeper& keep) {
  Napi::Value v = o.Get(key);
  const std::string field = std::string(owner) + "." + key;
  if (nullable && (v.IsNull() || v.IsUndefined())) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != typedArrayType<T>())
    fail(ErrorCode::InvalidArgument,
         field + " must be " + (nullable ? "null or " : "") + "a" + (typedArrayName<T>()[0] == 'I' ? "n " : " ") +
             typedArrayName<T>());
  Napi::TypedArrayOf<T> arr = v.As<Napi::TypedArrayOf<T>>();
  const uint64_t len = arr.ElementLength();
  if (len != expected)
    fail(ErrorCode::LengthMismatch, field + " has length " + std::to_string(len) + ", expected " + expectedWhat +
                                        " = " + std::to_string(expected));
  if (len > 0 && arr.Data() == nullptr) fail(ErrorCode::InvalidArgument, field + " is detached");
  keep.refs.push_back(Napi::Persistent(v));
  return arr.Data();
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
  p.value = typedArray<double>(o, P, "value", nnz, "nnz", false, keep);
  p.weight = typedArray<double>(o, P, "weight", nnz, "nnz", true, keep);
  p.colPtr = typedArray<int32_t>(o, P, "colPtr", nC + 1, "nCols + 1", false, keep);
  p.cscRow = typedArray<int32_t>(o, P, "cscRow", nnz, "nnz", false, keep);
  p.cscValue = typedArray<double>(o, P, "cscValue", nnz, "nnz", false, keep);
  p.cscWeight = typedArray<double>(o, P, "cscWeight", nnz, "nnz", true, keep);
  if ((p.weight == nullptr) != (p.cscWeight == nullptr) && nnz > 0)
    fail(ErrorCode::InvalidArgument, "problem.weight and problem.cscWeight must both be null or both be Float64Arrays");
  return p;
}

collabperf::ModelView readModel(const Napi::Value& value, const collabperf::ProblemView& p, Keeper& keep) {
  Napi::Object o = requireObject(value, "model");
  const char* M = "model";
  collabperf::ModelView m;
  m.k = static_cast<int32_t>(requireInteger(o, M, "k", 1, 65536));
  m.mu = requireNumber(o, M, "mu");
  const uint64_t k = static_cast<uint64_t>(m.k);
  m.U = typedArray<double>(o, M, "U", static_cast<uint64_t>(p.nRows) * k, "nRows * k", false, keep);
  m.V = typedArray<double>(o, M, "V", static_cast<uint64_t>(p.nCols) * k, "nCols * k", false, keep);
  m.rowBias = typedArray<double>(o, M, "rowBias", static_cast<uint64_t>(p.nRows), "nRows", false, keep);
  m.colBias = typedArray<double>(o, M, "colBias", static_cast<uint64_t>(p.nCols), "nCols", false, keep);
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
    keep.refs.push_back(Napi::Persistent(cancel));
    opt.cancel = arr.Data();
  }
  return opt;
}

enum class Kind { Als, Sgd, Loss };

class KernelWorker : public Napi::AsyncWorker {
 public:
  KernelWorker(Napi::Env env, Kind kind, collabperf::ProblemView p, collabperf::ModelView m, collabperf::Options o,
               int64_t epoch, std::unique_ptr<Keeper> keep)
      : Napi::AsyncWorker(env, "collabperf.kernel"),
        deferred_(Napi::Promise::Deferred::New(env)),
        kind_(kind),
        problem_(p),
        model_(m),
        options_(o),
        epoch_(epoch),
        keep_(std::move(keep)) {}

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
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (failed_) {
      deferred_.Reject(makeError(env, code_, message_));
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
    const collabperf::ModelView m = readModel(info[1], p, *keep);
    const collabperf::Options o = readOptions(info[2], *keep);
    int64_t epoch = 0;
    if (kind == Kind::Sgd) epoch = integerValue(info[3], "epoch", 0, 2147483647.0);
    auto* worker = new KernelWorker(env, kind, p, m, o, epoch, std::move(keep));
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

Napi::Value Info(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("blas", Napi::String::New(env, collabperf::blasDescription()));
    out.Set("blasThreads", Napi::Number::New(env, collabperf::blasThreads()));
    out.Set("maxThreads", Napi::Number::New(env, collabperf::maxThreads()));
    out.Set("parallelSgd", Napi::Boolean::New(env, true));
    out.Set("version", Napi::String::New(env, COLLABPERF_VERSION));
    out.Set("blasConfig", Napi::String::New(env, collabperf::blasConfig()));
    out.Set("simd", Napi::String::New(env, collabperf::simdLevel()));
    return out;
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  collabperf::initBlas();
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  exports.Set("alsSweep", Napi::Function::New(env, AlsSweep, "alsSweep"));
  exports.Set("sgdEpoch", Napi::Function::New(env, SgdEpoch, "sgdEpoch"));
  exports.Set("trainLoss", Napi::Function::New(env, TrainLoss, "trainLoss"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  return exports;
}

}  // namespace

NODE_API_MODULE(collabperf, Init)
