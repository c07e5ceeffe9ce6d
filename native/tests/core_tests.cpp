// C++ tests of the native core, run by ctest (`core_tests <name>`, or all without an argument).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "als.hpp"
#include "als_kernel.hpp"
#include "cpu.hpp"
#include "errors.hpp"
#include "fit_job.hpp"
#include "ials.hpp"
#include "info.hpp"
#include "init.hpp"
#include "loss.hpp"
#include "neighbours.hpp"
#include "recommend.hpp"
#include "rng.hpp"
#include "sgd.hpp"
#include "synth.hpp"

using namespace collabperf;
using namespace collabperf::testing;

static int g_failures = 0;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "  CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      ++g_failures;                                                        \
    }                                                                      \
  } while (0)

#define CHECK_MSG(cond, ...)                                               \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "  CHECK failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                   \
      std::fprintf(stderr, "\n");                                          \
      ++g_failures;                                                        \
    }                                                                      \
  } while (0)

static Options baseOptions() {
  Options o;
  o.useBias = true;
  o.lambda = 0.05;
  o.lambdaBias = 0.05;
  o.weightedLambda = false;
  o.threads = 2;
  o.learningRate = 0.02;
  o.lrDecay = 0.05;
  o.seed = 17;
  return o;
}

/** Training RMSE of a Model or a Model32. */
template <class M>
static double rmse(const Problem& P, M& model) {
  Options o = baseOptions();
  LossSums s;
  trainLoss(P.view(), model.view(), o, s);
  return std::sqrt(s.sse / s.wsum);
}

static SynthSpec smallSpec() {
  SynthSpec s;
  s.nRows = 400;
  s.nCols = 300;
  s.targetNnz = 24000;
  s.trueRank = 4;
  s.noise = 0.1;
  return s;
}

/** Expects fn() to throw collabperf::Error with `code` and a message containing `needle`. */
static void expectError(const char* what, ErrorCode code, const std::string& needle, const std::function<void()>& fn) {
  try {
    fn();
    std::fprintf(stderr, "  %s: no error thrown\n", what);
    ++g_failures;
  } catch (const Error& e) {
    if (e.code() != code || std::string(e.what()).find(needle) == std::string::npos) {
      std::fprintf(stderr, "  %s: got %s \"%s\", wanted %s containing \"%s\"\n", what, e.codeName(), e.what(),
                   errorCodeName(code), needle.c_str());
      ++g_failures;
    }
  }
}

// ---------------------------------------------------------------------------------------------

static void test_rng() {
  Rng a(42, 0);
  const uint32_t want[4] = {2837322924u, 544945897u, 479756282u, 3500138142u};
  for (uint32_t w : want) {
    const uint32_t got = a.nextU32();
    CHECK_MSG(got == w, "got %u want %u", got, w);
  }
  Rng b(42, 3);
  const double d1 = b.nextDouble(), d2 = b.nextDouble();
  CHECK_MSG(d1 == 0.58061850036789686, "%.17g", d1);
  CHECK_MSG(d2 == 0.75595472359357996, "%.17g", d2);
  Rng c(7, 1);
  int32_t perm[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  c.shuffle(perm, 10);
  const int32_t wantPerm[10] = {4, 1, 2, 9, 7, 5, 6, 0, 3, 8};
  CHECK(std::memcmp(perm, wantPerm, sizeof perm) == 0);
}

static void test_als_converges() {
  Problem P = makeProblem(smallSpec());
  Model M(P.nRows, P.nCols, 8);
  M.mu = P.mean;
  M.init(3, 0.1);
  Options o = baseOptions();
  double prev = rmse(P, M);
  const double first = prev;
  for (int it = 0; it < 8; ++it) {
    CHECK(alsSweep(P.view(), M.view(), o) == Status::Ok);
    const double cur = rmse(P, M);
    std::printf("  sweep %d: rmse %.6f\n", it, cur);
    CHECK_MSG(cur < prev * 1.001, "sweep %d: rmse %.6f after %.6f", it, cur, prev);
    prev = cur;
  }
  CHECK_MSG(prev < 0.12 && prev < first / 3, "final rmse %.6f (start %.6f)", prev, first);
}

/** max |A x - b| / max |b| of the doc's normal equations for one row (or column) of a solved side. */
static double normalResidual(const Problem& P, bool rows, int64_t r, const std::vector<double>& other,
                             const std::vector<double>& otherBias, const Model& M, const Options& o) {
  const int k = M.k;
  const int d = o.useBias ? k + 1 : k;
  const int32_t* ptr = rows ? P.rowPtr.data() : P.colPtr.data();
  const int32_t* idx = rows ? P.colIdx.data() : P.cscRow.data();
  const double* val = rows ? P.value.data() : P.cscValue.data();
  const std::vector<double>& wv = rows ? P.weight : P.cscWeight;
  std::vector<long double> A(static_cast<size_t>(d) * d, 0.0L), b(static_cast<size_t>(d), 0.0L);
  const int64_t n = ptr[r + 1] - ptr[r];
  for (int64_t e = ptr[r]; e < ptr[r + 1]; ++e) {
    const int32_t c = idx[e];
    std::vector<long double> a(static_cast<size_t>(d));
    for (int f = 0; f < k; ++f) a[f] = other[static_cast<size_t>(c) * k + f];
    if (o.useBias) a[k] = 1.0L;
    const long double w = wv.empty() ? 1.0L : wv[e];
    const long double t = (static_cast<long double>(val[e]) - M.mu) - otherBias[c];
    for (int i = 0; i < d; ++i) {
      b[i] += w * t * a[i];
      for (int j = 0; j < d; ++j) A[static_cast<size_t>(i) * d + j] += w * a[i] * a[j];
    }
  }
  const double scale = o.weightedLambda ? static_cast<double>(n) : 1.0;
  for (int f = 0; f < k; ++f) A[static_cast<size_t>(f) * d + f] += o.lambda * scale;
  if (o.useBias) A[static_cast<size_t>(k) * d + k] += o.lambdaBias * scale;
  const std::vector<double>& self = rows ? M.U : M.V;
  const std::vector<double>& selfBias = rows ? M.rowBias : M.colBias;
  std::vector<long double> x(static_cast<size_t>(d));
  for (int f = 0; f < k; ++f) x[f] = self[static_cast<size_t>(r) * k + f];
  if (o.useBias) x[k] = selfBias[r];
  long double worst = 0.0L, bmax = 1e-300L;
  for (int i = 0; i < d; ++i) {
    long double s = -b[i];
    for (int j = 0; j < d; ++j) s += A[static_cast<size_t>(i) * d + j] * x[j];
    worst = std::max(worst, std::fabs(s));
    bmax = std::max(bmax, std::fabs(b[i]));
  }
  return static_cast<double>(worst / bmax);
}

static void checkNormalEquations(const SynthSpec& spec, int k, Options o, const char* label) {
  Problem P = makeProblem(spec);
  Model M(P.nRows, P.nCols, k);
  M.mu = o.useBias ? P.mean : 0.0;
  M.init(5, 0.1);
  // Two sweeps: the checks use the state before the second one.
  CHECK(alsSweep(P.view(), M.view(), o) == Status::Ok);
  const std::vector<double> V0 = M.V, cb0 = M.colBias;
  CHECK(alsSweep(P.view(), M.view(), o) == Status::Ok);
  double worst = 0.0;
  for (int64_t r : {int64_t{0}, int64_t{7}, static_cast<int64_t>(P.nRows - 1)})
    worst = std::max(worst, normalResidual(P, true, r, V0, cb0, M, o));
  for (int64_t c : {int64_t{0}, int64_t{3}, static_cast<int64_t>(P.nCols - 1)})
    if (P.colPtr[c + 1] > P.colPtr[c]) worst = std::max(worst, normalResidual(P, false, c, M.U, M.rowBias, M, o));
  std::printf("  %s: k=%d max relative residual %.3g\n", label, k, worst);
  CHECK_MSG(worst < 1e-10, "%s: residual %.3g", label, worst);
  // Rows without entries get zeros: add an empty row and check.
}

static void test_als_normal_equations() {
  Options o = baseOptions();
  checkNormalEquations(smallSpec(), 8, o, "bias");
}

static void test_als_variants() {
  SynthSpec s = smallSpec();
  Options o = baseOptions();
  // k <= 3 is the scalar small-rank solver (als_small.cpp), the rest the general one.
  for (int k : {1, 2, 3, 5, 16, 33}) checkNormalEquations(s, k, o, "bias");
  o.useBias = false;
  checkNormalEquations(s, 7, o, "no bias");
  checkNormalEquations(s, 2, o, "no bias, small rank");
  o.useBias = true;
  o.weightedLambda = true;
  checkNormalEquations(s, 12, o, "weightedLambda");
  s.weighted = true;
  checkNormalEquations(s, 9, o, "weighted + weightedLambda");
  checkNormalEquations(s, 3, o, "weighted + weightedLambda, small rank");
  o.threads = 3;
  o.weightedLambda = false;
  checkNormalEquations(s, 32, o, "weighted, 3 threads");

  // Empty rows and columns get zero factors and biases.
  Problem P = makeProblem(smallSpec());
  P.nRows += 1;
  P.rowPtr.push_back(P.rowPtr.back());
  P.nCols += 1;
  P.colPtr.push_back(P.colPtr.back());
  Model M(P.nRows, P.nCols, 4);
  M.mu = P.mean;
  M.init(1, 0.1);
  M.rowBias.back() = 1.0;
  M.colBias.back() = 1.0;
  CHECK(alsSweep(P.view(), M.view(), baseOptions()) == Status::Ok);
  bool zeros = M.rowBias.back() == 0.0 && M.colBias.back() == 0.0;
  for (int f = 0; f < 4; ++f) zeros = zeros && M.U[(P.nRows - 1) * 4 + f] == 0.0 && M.V[(P.nCols - 1) * 4 + f] == 0.0;
  CHECK(zeros);
}

static void test_als_isa_agree() {
  SynthSpec s = smallSpec();
  s.weighted = true;
  Problem P = makeProblem(s);
  for (int k : {3, 8, 32, 40}) {
    std::vector<std::vector<double>> preds;
    std::vector<std::string> names;
    for (int variant = 0; variant < 5; ++variant) {
      AlsTuning tuning;
      Isa isa = Isa::Avx512;
      if (variant == 1) isa = Isa::Avx2;
      if (variant == 2) isa = Isa::Generic;
      if (variant == 3) tuning.useLapack = true;
      if (variant == 4) tuning.useBlasGram = true;
      setIsaLimit(isa);
      Model M(P.nRows, P.nCols, k);
      M.mu = P.mean;
      M.init(9, 0.1);
      Options o = baseOptions();
      o.weightedLambda = true;
      CHECK(alsSweep(P.view(), M.view(), o, &tuning) == Status::Ok);
      CHECK(alsSweep(P.view(), M.view(), o, &tuning) == Status::Ok);
      std::vector<double> pr;
      ModelView mv = M.view();
      for (int64_t e = 0; e < P.nnz(); ++e) pr.push_back(predict(mv, P.rowIdx[e], P.colIdx[e]));
      preds.push_back(pr);
      names.push_back(std::string(isaName(activeIsa())) + (tuning.useLapack ? "+lapack" : "") +
                      (tuning.useBlasGram ? "+blasgram" : ""));
    }
    setIsaLimit(Isa::Avx512);
    for (size_t v = 1; v < preds.size(); ++v) {
      double worst = 0.0;
      for (size_t i = 0; i < preds[0].size(); ++i) worst = std::max(worst, std::fabs(preds[v][i] - preds[0][i]));
      std::printf("  k=%d %s vs %s: max |prediction difference| %.3g\n", k, names[v].c_str(), names[0].c_str(), worst);
      CHECK_MSG(worst <= 1e-9, "k=%d %s: %.3g", k, names[v].c_str(), worst);
    }
  }
}

/**
 * float32 explicit ALS (float aligned copy; the float Gram where there are tiles): on every ISA,
 * weighted or not, k with and without vector tails, two sweeps stay within float rounding of the
 * float64 sweeps from the same (rounded) start, and 1 and 3 threads give the same bits.
 */
static void test_als_float32() {
  for (bool weighted : {false, true}) {
    SynthSpec sp = smallSpec();
    sp.weighted = weighted;
    const Problem P = makeProblem(sp);
    for (int k : {5, 24, 40}) {
      Model D(P.nRows, P.nCols, k);
      D.mu = P.mean;
      D.init(9, 0.1);
      for (auto* a : {&D.U, &D.V, &D.rowBias, &D.colBias})
        for (double& x : *a) x = static_cast<float>(x);
      Options o = baseOptions();
      o.weightedLambda = weighted;
      o.threads = 1;
      const Model D0 = D;
      CHECK(alsSweep(P.view(), D.view(), o) == Status::Ok);
      CHECK(alsSweep(P.view(), D.view(), o) == Status::Ok);
      for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512}) {
        setIsaLimit(isa);
        std::vector<std::vector<float>> runs;
        for (int threads : {1, 3}) {
          Model32 m(D0);
          o.threads = threads;
          CHECK(alsSweep(P.view(), m.view(), o) == Status::Ok);
          CHECK(alsSweep(P.view(), m.view(), o) == Status::Ok);
          runs.push_back(m.all());
        }
        o.threads = 1;
        CHECK_MSG(runs[0] == runs[1], "k = %d %s: 1 and 3 threads differ", k, isaName(activeIsa()));
        double diff = 0.0, scale = 0.0;
        size_t i = 0;
        for (const auto* a : {&D.U, &D.V, &D.rowBias, &D.colBias})
          for (double want : *a) {
            scale = std::max(scale, std::fabs(want));
            diff = std::max(diff, std::fabs(want - static_cast<double>(runs[0][i++])));
          }
        std::printf("  %s k = %d %s: max |float32 - float64| %.3g (scale %.3g)\n", weighted ? "weighted" : "plain", k,
                    isaName(activeIsa()), diff, scale);
        CHECK_MSG(diff <= 1e-4 * scale, "k = %d %s: %.3g", k, isaName(activeIsa()), diff);
        // An index outside the other side reaches the float gather as a coded error naming it.
        Problem B = P;
        B.colIdx[5] = B.nCols + 2;
        Model32 bad(D0);
        expectError("float32 als colIdx", ErrorCode::IndexOutOfRange, "problem.colIdx[5]", [&] { alsSweep(B.view(), bad.view(), o); });
      }
      setIsaLimit(Isa::Avx512);
    }
  }
}

/** The doc's SGD epoch written as plainly as possible (the reference for bit parity). */
static void referenceSgd(const Problem& P, Model& M, const Options& o, int epoch) {
  const int64_t nnz = P.nnz();
  std::vector<int32_t> perm(static_cast<size_t>(nnz));
  for (int64_t i = 0; i < nnz; ++i) perm[i] = static_cast<int32_t>(i);
  Rng rng(o.seed, 1 + epoch);
  rng.shuffle(perm.data(), perm.size());
  const double lr = o.learningRate / (1 + o.lrDecay * epoch);
  const int k = M.k;
  for (int64_t i = 0; i < nnz; ++i) {
    const int32_t e = perm[i];
    const int32_t r = P.rowIdx[e], c = P.colIdx[e];
    const double y = P.value[e];
    const double w = P.weight.empty() ? 1 : P.weight[e];
    double dot = 0.0;
    for (int f = 0; f < k; ++f) dot += M.U[r * k + f] * M.V[c * k + f];
    const double pred = ((M.mu + M.rowBias[r]) + M.colBias[c]) + dot;
    const double err = y - pred;
    const double g = w * err;
    if (o.useBias) {
      const double br = M.rowBias[r];
      const double bc = M.colBias[c];
      M.rowBias[r] = br + lr * (g - o.lambdaBias * br);
      M.colBias[c] = bc + lr * (g - o.lambdaBias * bc);
    }
    for (int f = 0; f < k; ++f) {
      const double uf = M.U[r * k + f];
      const double vf = M.V[c * k + f];
      M.U[r * k + f] = uf + lr * (g * vf - o.lambda * uf);
      M.V[c * k + f] = vf + lr * (g * uf - o.lambda * vf);
    }
  }
}

static bool sameBits(const Model& a, const Model& b) {
  auto eq = [](const std::vector<double>& x, const std::vector<double>& y) {
    return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0;
  };
  return eq(a.U, b.U) && eq(a.V, b.V) && eq(a.rowBias, b.rowBias) && eq(a.colBias, b.colBias);
}

static void test_sgd_deterministic() {
  for (int variant = 0; variant < 3; ++variant) {
    SynthSpec s = smallSpec();
    s.weighted = variant == 1;
    Problem P = makeProblem(s);
    Options o = baseOptions();
    o.sgdMode = SgdMode::Deterministic;
    o.useBias = variant != 2;
    o.threads = variant == 0 ? 1 : 2;  // the thread count does not matter in deterministic mode
    const int k = variant == 2 ? 7 : 16;
    Model A(P.nRows, P.nCols, k), B(P.nRows, P.nCols, k), R(P.nRows, P.nCols, k);
    A.mu = B.mu = R.mu = o.useBias ? P.mean : 0.0;
    A.init(11, 0.1);
    B.init(11, 0.1);
    R.init(11, 0.1);
    const double first = rmse(P, A);
    for (int epoch = 0; epoch < 12; ++epoch) {
      CHECK(sgdEpoch(P.view(), A.view(), o, epoch) == Status::Ok);
      CHECK(sgdEpoch(P.view(), B.view(), o, epoch) == Status::Ok);
      referenceSgd(P, R, o, epoch);
    }
    CHECK_MSG(sameBits(A, B), "variant %d: two runs differ", variant);
    CHECK_MSG(sameBits(A, R), "variant %d: differs from the reference implementation", variant);
    const double last = rmse(P, A);
    std::printf("  variant %d: rmse %.5f -> %.5f\n", variant, first, last);
    CHECK(last < first * 0.8);
  }
}

static void test_sgd_parallel() {
  SynthSpec s = smallSpec();
  s.nRows = 1500;
  s.nCols = 800;
  s.targetNnz = 120000;
  Problem P = makeProblem(s);
  // k = 16 and 32 use the register-resident two-row loop (AVX-512 / AVX2), k = 7 the generic one.
  for (int k : {16, 7, 32}) {
    Options o = baseOptions();
    Model D(P.nRows, P.nCols, k);
    D.mu = P.mean;
    D.init(4, 0.1);
    for (int epoch = 0; epoch < 15; ++epoch) {
      o.sgdMode = SgdMode::Deterministic;
      sgdEpoch(P.view(), D.view(), o, epoch);
    }
    const double det = rmse(P, D);
    for (int threads : {2, 3, 4}) {
      if (k != 16 && threads != 2) continue;
      Model M(P.nRows, P.nCols, k);
      M.mu = P.mean;
      M.init(4, 0.1);
      const double first = rmse(P, M);
      o.sgdMode = SgdMode::Parallel;
      o.threads = threads;
      double prev = first;
      for (int epoch = 0; epoch < 15; ++epoch) {
        CHECK(sgdEpoch(P.view(), M.view(), o, epoch) == Status::Ok);
        const double cur = rmse(P, M);
        CHECK_MSG(cur < prev * 1.01, "k %d threads %d epoch %d: rmse %.5f after %.5f", k, threads, epoch, cur, prev);
        prev = cur;
      }
      std::printf("  k=%d parallel, %d threads: rmse %.5f -> %.5f (deterministic: %.5f)\n", k, threads, first, prev, det);
      CHECK_MSG(prev < det * 1.05, "k %d threads %d: %.5f vs deterministic %.5f", k, threads, prev, det);
    }
  }
  // Every ISA gives a model of the same quality (and the same order of updates).
  Model ref(P.nRows, P.nCols, 16);
  for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512}) {
    setIsaLimit(isa);
    Model M(P.nRows, P.nCols, 16);
    M.mu = P.mean;
    M.init(4, 0.1);
    Options o = baseOptions();
    o.sgdMode = SgdMode::Parallel;
    o.threads = 2;
    for (int epoch = 0; epoch < 5; ++epoch) sgdEpoch(P.view(), M.view(), o, epoch);
    std::printf("  %s: rmse after 5 parallel epochs %.5f\n", isaName(activeIsa()), rmse(P, M));
  }
  setIsaLimit(Isa::Avx512);
}

/**
 * Parallel SGD on float32 models (the float kernels sgdTasks32*): on generic, AVX2 and AVX-512, for
 * k in the register-resident loop and in the any-k loop of both lane widths (float AVX-512: 16, 32,
 * 48, 64 in registers; AVX2: 8 to 32; the rest, and generic, any-k with and without vector tails):
 *  - 2 threads, 5 epochs from the same (rounded) start: the training RMSE falls like float64's and
 *    ends within 1e-3 of it;
 *  - 1 thread (tuning.blocksOnOneThread: the blocks one after the other in the seeded order): where
 *    the float and double kernels use the same loop (so visit the entries in the same order), the
 *    float32 factors and biases stay within float rounding of the float64 ones: bound 2e-6 of the
 *    largest value after one epoch, 3e-5 after five (measured at most 4.8e-7 and 6.7e-6); the
 *    training RMSE within 1e-4 in every case; and the float32 values are never just the float64 ones
 *    rounded (the arithmetic is float);
 *  - entries outside their block's column range are reported (unsorted row, column out of range).
 */
static void test_sgd_parallel_float32() {
  SynthSpec s = smallSpec();
  s.nRows = 1500;
  s.nCols = 800;
  s.targetNnz = 120000;
  for (bool weighted : {false, true}) {
    s.weighted = weighted;
    const Problem P = makeProblem(s);
    for (int k : {7, 16, 24, 32, 48, 64}) {
      if (weighted && k != 24 && k != 32) continue;
      Model D0(P.nRows, P.nCols, k);
      D0.mu = P.mean;
      D0.init(4, 0.1);
      for (auto* a : {&D0.U, &D0.V, &D0.rowBias, &D0.colBias})
        for (double& x : *a) x = static_cast<float>(x);
      for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512}) {
        setIsaLimit(isa);
        Options o = baseOptions();
        o.sgdMode = SgdMode::Parallel;
        o.useBias = !(weighted && k == 32);
        // 2 threads, 5 epochs.
        o.threads = 2;
        Model D = D0;
        Model32 F(D0);
        const double first = rmse(P, D);
        for (int epoch = 0; epoch < 5; ++epoch) {
          CHECK(sgdEpoch(P.view(), D.view(), o, epoch) == Status::Ok);
          CHECK(sgdEpoch(P.view(), F.view(), o, epoch) == Status::Ok);
        }
        const double r64 = rmse(P, D), r32 = rmse(P, F);
        // 1 thread: the same blocks in the same order for both.
        SgdTuning one;
        one.blocksOnOneThread = true;
        o.threads = 1;
        Model D1 = D0;
        Model32 F1(D0);
        double diff1 = 0.0, diff5 = 0.0, scale = 0.0;
        bool allRounded = true;
        for (int epoch = 0; epoch < 5; ++epoch) {
          CHECK(sgdEpoch(P.view(), D1.view(), o, epoch, &one) == Status::Ok);
          CHECK(sgdEpoch(P.view(), F1.view(), o, epoch, &one) == Status::Ok);
          if (epoch != 0 && epoch != 4) continue;
          double diff = 0.0;
          scale = 0.0;
          size_t i = 0;
          const std::vector<float> all = F1.all();
          for (const auto* a : {&D1.U, &D1.V, &D1.rowBias, &D1.colBias})
            for (double want : *a) {
              const double got = all[i++];
              scale = std::max(scale, std::fabs(want));
              diff = std::max(diff, std::fabs(want - got));
              if (static_cast<double>(static_cast<float>(want)) != got) allRounded = false;
            }
          (epoch == 0 ? diff1 : diff5) = diff;
        }
        // The register loop interleaves two rows' entries, the any-k loop takes rows one by one: the
        // float and double kernels visit the entries in the same order when both use the same loop.
        const int wd = isa == Isa::Avx512 ? 8 : isa == Isa::Avx2 ? 4 : 0;
        const bool regD = wd > 0 && k % wd == 0 && k / wd <= 4, regF = wd > 0 && k % (2 * wd) == 0 && k / (2 * wd) <= 4;
        const bool sameOrder = regD == regF;
        std::printf("  %sk = %d %s: rmse %.5f -> float64 %.5f, float32 %.5f (|diff| %.2g; 1 thread: %.5f, %.5f); "
                    "1 thread max |float32 - float64| %.3g after 1 epoch, %.3g after 5 (scale %.3g)%s\n",
                    weighted ? "weighted " : "", k, isaName(activeIsa()), first, r64, r32, std::fabs(r32 - r64),
                    rmse(P, D1), rmse(P, F1), diff1, diff5, scale,
                    sameOrder ? "" : regF ? " [float: register loop, double: any-k loop]" : " [float: any-k loop, double: register loop]");
        CHECK_MSG(r64 < first * (o.useBias ? 0.8 : 0.99), "k = %d %s: float64 rmse %.5f from %.5f", k, isaName(activeIsa()),
                  r64, first);
        CHECK_MSG(std::fabs(r32 - r64) <= 1e-3, "k = %d %s: float32 rmse %.6f, float64 %.6f", k, isaName(activeIsa()), r32,
                  r64);
        CHECK_MSG(std::fabs(rmse(P, D1) - rmse(P, F1)) <= 1e-4, "k = %d %s: 1 thread rmse %.6f, %.6f", k,
                  isaName(activeIsa()), rmse(P, D1), rmse(P, F1));
        if (sameOrder) {
          CHECK_MSG(diff1 <= 2e-6 * scale, "k = %d %s: 1 epoch %.3g", k, isaName(activeIsa()), diff1);
          CHECK_MSG(diff5 <= 3e-5 * scale, "k = %d %s: 5 epochs %.3g", k, isaName(activeIsa()), diff5);
        }
        CHECK_MSG(diff1 > 0.0 && !allRounded, "k = %d %s: float32 equals the float64 run rounded", k, isaName(activeIsa()));
      }
      setIsaLimit(Isa::Avx512);
    }
  }
  // Entries outside their block's column range: reported, whatever the kernel (any-k or registers).
  for (int k : {5, 16, 32}) {
    for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512}) {
      setIsaLimit(isa);
      Options o = baseOptions();
      o.sgdMode = SgdMode::Parallel;
      o.threads = 2;
      Problem P = makeProblem(smallSpec());
      Model D(P.nRows, P.nCols, k);
      D.init(1, 0.1);
      {
        Problem Q = P;
        int64_t r = 0;
        while (Q.rowPtr[r + 1] - Q.rowPtr[r] < 4) ++r;
        std::swap(Q.colIdx[Q.rowPtr[r]], Q.colIdx[Q.rowPtr[r + 1] - 1]);
        Model32 F(D);
        expectError("float32 parallel sgd unsorted", ErrorCode::InvalidArgument, "not sorted",
                    [&] { sgdEpoch(Q.view(), F.view(), o, 0); });
      }
      {
        Problem Q = P;
        Q.colIdx[5] = Q.nCols;
        Model32 F(D);
        expectError("float32 parallel sgd colIdx", ErrorCode::IndexOutOfRange, "problem.colIdx[5]",
                    [&] { sgdEpoch(Q.view(), F.view(), o, 0); });
      }
    }
    setIsaLimit(Isa::Avx512);
  }
}

static void test_loss() {
  SynthSpec s = smallSpec();
  s.weighted = true;
  Problem P = makeProblem(s);
  Model M(P.nRows, P.nCols, 6);
  M.mu = P.mean;
  M.init(2, 0.3);
  M.rowBias[3] = 0.25;
  M.colBias[5] = -0.5;
  long double sse = 0.0L, wsum = 0.0L;
  ModelView mv = M.view();
  for (int64_t e = 0; e < P.nnz(); ++e) {
    const double err = P.value[e] - predict(mv, P.rowIdx[e], P.colIdx[e]);
    sse += static_cast<long double>(P.weight[e]) * (err * err);
    wsum += P.weight[e];
  }
  LossSums ref{};
  for (int threads : {1, 2, 3}) {
    Options o = baseOptions();
    o.threads = threads;
    LossSums got;
    CHECK(trainLoss(P.view(), mv, o, got) == Status::Ok);
    CHECK(std::fabs(got.sse - static_cast<double>(sse)) <= 1e-12 * static_cast<double>(sse));
    CHECK(std::fabs(got.wsum - static_cast<double>(wsum)) <= 1e-12 * static_cast<double>(wsum));
    if (threads == 1) ref = got;
    CHECK_MSG(got.sse == ref.sse && got.wsum == ref.wsum, "threads %d changes the sums", threads);
  }
}

static void test_cancel() {
  SynthSpec s = smallSpec();
  Problem P = makeProblem(s);
  Model M(P.nRows, P.nCols, 8);
  M.mu = P.mean;
  M.init(1, 0.1);
  int32_t flag = 1;
  Options o = baseOptions();
  o.cancel = &flag;
  CHECK(alsSweep(P.view(), M.view(), o) == Status::Aborted);
  o.sgdMode = SgdMode::Deterministic;
  CHECK(sgdEpoch(P.view(), M.view(), o, 0) == Status::Aborted);
  o.sgdMode = SgdMode::Parallel;
  CHECK(sgdEpoch(P.view(), M.view(), o, 0) == Status::Aborted);
  LossSums ls;  // the loss cannot be aborted: it ignores the flag
  CHECK(trainLoss(P.view(), M.view(), o, ls) == Status::Ok && ls.wsum == static_cast<double>(P.nnz()));

  // Cancel while running: a problem big enough that a sweep takes tens of milliseconds.
  SynthSpec big;
  big.nRows = 20000;
  big.nCols = 4000;
  big.targetNnz = 1000000;
  Problem Q = makeProblem(big);
  for (int kernel = 0; kernel < 3; ++kernel) {
    Model B(Q.nRows, Q.nCols, kernel == 2 ? 72 : 32);  // (the parallel SGD is fast: give it more work)
    B.mu = Q.mean;
    B.init(1, 0.1);
    Options ob = baseOptions();
    ob.sgdMode = kernel == 2 ? SgdMode::Parallel : SgdMode::Deterministic;
    auto run = [&]() {
      return kernel == 0 ? alsSweep(Q.view(), B.view(), ob) : sgdEpoch(Q.view(), B.view(), ob, 0);
    };
    auto t0 = std::chrono::steady_clock::now();
    run();
    const double full = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // On a busy machine the setter thread may wake up late: a few attempts, one must cancel mid-run.
    bool cancelled = false;
    for (int attempt = 0; attempt < 5 && !cancelled; ++attempt) {
      std::atomic<int32_t> live{0};
      ob.cancel = reinterpret_cast<int32_t*>(&live);
      std::thread setter([&]() {
        std::this_thread::sleep_for(std::chrono::duration<double>(full / 10));
        live.store(1);
      });
      t0 = std::chrono::steady_clock::now();
      const Status st = run();
      const double cut = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      setter.join();
      std::printf("  kernel %d: full %.1f ms, %s after %.1f ms\n", kernel, full * 1e3,
                  st == Status::Aborted ? "cancelled" : "not cancelled", cut * 1e3);
      cancelled = st == Status::Aborted;
    }
    CHECK_MSG(cancelled, "kernel %d was never cancelled mid-run", kernel);
    ob.cancel = nullptr;
  }
}

static void test_numeric_error() {
  Problem P = makeProblem(smallSpec());
  Model M(P.nRows, P.nCols, 4);  // V = 0 and lambda = 0: the row systems are singular
  Options o = baseOptions();
  o.lambda = 0.0;
  o.lambdaBias = 0.0;
  o.useBias = false;
  expectError("singular rows", ErrorCode::Numeric, "row 0", [&] { alsSweep(P.view(), M.view(), o); });
  o.lambda = 0.1;
  CHECK(alsSweep(P.view(), M.view(), o) == Status::Ok);
}

static void test_bad_index() {
  Options o = baseOptions();
  {
    Problem P = makeProblem(smallSpec());
    Model M(P.nRows, P.nCols, 4);
    M.init(1, 0.1);
    P.colIdx[5] = P.nCols;
    expectError("als colIdx", ErrorCode::IndexOutOfRange, "problem.colIdx[5]", [&] { alsSweep(P.view(), M.view(), o); });
    o.sgdMode = SgdMode::Deterministic;
    expectError("sgd colIdx", ErrorCode::IndexOutOfRange, "problem.colIdx[5]", [&] { sgdEpoch(P.view(), M.view(), o, 0); });
    o.sgdMode = SgdMode::Parallel;
    expectError("parallel sgd colIdx", ErrorCode::IndexOutOfRange, "problem.colIdx[5]", [&] { sgdEpoch(P.view(), M.view(), o, 0); });
    LossSums ls;
    expectError("loss colIdx", ErrorCode::IndexOutOfRange, "problem.colIdx[5]", [&] { trainLoss(P.view(), M.view(), o, ls); });
    P.colIdx[5] = -1;
    expectError("als colIdx -1", ErrorCode::IndexOutOfRange, "problem.colIdx[5]", [&] { alsSweep(P.view(), M.view(), o); });
  }
  {
    Problem P = makeProblem(smallSpec());
    Model M(P.nRows, P.nCols, 4);
    P.rowIdx[9] = -7;
    o.sgdMode = SgdMode::Deterministic;
    expectError("sgd rowIdx", ErrorCode::IndexOutOfRange, "problem.rowIdx[9]", [&] { sgdEpoch(P.view(), M.view(), o, 0); });
    P.cscRow[11] = P.nRows + 3;
    expectError("als cscRow", ErrorCode::IndexOutOfRange, "problem.cscRow[11]", [&] { alsSweep(P.view(), M.view(), o); });
    P.cscRow[11] = 0;
    P.rowPtr[3] = static_cast<int32_t>(P.nnz() + 5);
    expectError("als rowPtr", ErrorCode::IndexOutOfRange, "problem.rowPtr[", [&] { alsSweep(P.view(), M.view(), o); });
    o.sgdMode = SgdMode::Parallel;
    expectError("parallel sgd rowPtr", ErrorCode::IndexOutOfRange, "problem.rowPtr[3]", [&] { sgdEpoch(P.view(), M.view(), o, 0); });
  }
  {
    // Unsorted columns inside a row: parallel SGD refuses them instead of racing.
    Problem P = makeProblem(smallSpec());
    Model M(P.nRows, P.nCols, 4);
    int64_t r = 0;
    while (P.rowPtr[r + 1] - P.rowPtr[r] < 4) ++r;
    std::swap(P.colIdx[P.rowPtr[r]], P.colIdx[P.rowPtr[r + 1] - 1]);
    o.sgdMode = SgdMode::Parallel;
    o.threads = 2;
    expectError("parallel sgd unsorted", ErrorCode::InvalidArgument, "not sorted", [&] { sgdEpoch(P.view(), M.view(), o, 0); });
  }
  Problem P = makeProblem(smallSpec());
  Model M(P.nRows, P.nCols, 4);
  Options bad = baseOptions();
  bad.threads = 0;
  expectError("threads 0", ErrorCode::InvalidArgument, "threads", [&] { alsSweep(P.view(), M.view(), bad); });
  bad = baseOptions();
  bad.lambda = -1;
  expectError("lambda < 0", ErrorCode::InvalidArgument, "lambda", [&] { alsSweep(P.view(), M.view(), bad); });
}


// ---- whole fits (runFit) and batches (fitMany) ------------------------------------------------

/** Held-out entries of a planted problem, owned. */
struct Holdout {
  std::vector<int32_t> rows, cols;
  std::vector<double> values;
  ValidationView view() const {
    ValidationView v;
    v.n = static_cast<int64_t>(values.size());
    v.rows = rows.data();
    v.cols = cols.data();
    v.values = values.data();
    return v;
  }
};

/** Moves every `every`-th entry of `all` (CSR order) into `out`; the rest is the returned training problem. */
static Problem holdOut(const Problem& all, int every, Holdout& out) {
  Problem P;
  P.nRows = all.nRows;
  P.nCols = all.nCols;
  P.rowPtr.assign(static_cast<size_t>(all.nRows) + 1, 0);
  double wsum = 0.0, ysum = 0.0;
  for (int32_t r = 0; r < all.nRows; ++r) {
    for (int32_t e = all.rowPtr[r]; e < all.rowPtr[r + 1]; ++e) {
      if (e % every == 0) {
        out.rows.push_back(r);
        out.cols.push_back(all.colIdx[e]);
        out.values.push_back(all.value[e]);
        continue;
      }
      const double w = all.weight.empty() ? 1.0 : all.weight[e];
      P.rowIdx.push_back(r);
      P.colIdx.push_back(all.colIdx[e]);
      P.value.push_back(all.value[e]);
      if (!all.weight.empty()) P.weight.push_back(w);
      wsum += w;
      ysum += w * all.value[e];
    }
    P.rowPtr[static_cast<size_t>(r) + 1] = static_cast<int32_t>(P.value.size());
  }
  P.mean = ysum / wsum;
  P.buildCsc();
  return P;
}

/** A job on P writing into M (initialised with `seed`), no validation. */
static FitJob makeJob(const Problem& P, Model& M, Algo algo, int iters, uint32_t seed) {
  M.mu = P.mean;
  M.init(seed, 0.1);
  FitJob j;
  j.problem = P.view();
  j.model = M.view();
  j.options = baseOptions();
  j.options.seed = seed;
  j.algo = algo;
  j.iters = iters;
  return j;
}

static bool sameHistory(const FitResult& a, const FitResult& b) {
  if (a.status != b.status || a.bestIter != b.bestIter || a.stoppedEarly != b.stoppedEarly ||
      a.history.size() != b.history.size())
    return false;
  for (size_t i = 0; i < a.history.size(); ++i) {
    const FitIteration &x = a.history[i], &y = b.history[i];
    if (std::memcmp(&x.trainRmse, &y.trainRmse, sizeof(double)) != 0 ||
        std::memcmp(&x.validRmse, &y.validRmse, sizeof(double)) != 0)
      return false;
  }
  return true;
}

static void test_runfit_converges() {
  Holdout H;
  const Problem P = holdOut(makeProblem(smallSpec()), 10, H);
  for (Algo algo : {Algo::Als, Algo::Sgd}) {
    const char* name = algo == Algo::Als ? "ALS" : "SGD";
    Model M(P.nRows, P.nCols, 8);
    FitJob j = makeJob(P, M, algo, algo == Algo::Als ? 10 : 60, 3);
    if (algo == Algo::Sgd) {
      j.options.learningRate = 0.05;
      j.options.lrDecay = 0.01;
    }
    j.hasValidation = true;
    j.validation = H.view();
    const double start = rmse(P, M);
    const FitResult r = runFit(j);
    CHECK_MSG(r.status == FitStatus::Ok, "%s: status %s", name, fitStatusName(r.status));
    CHECK_MSG(static_cast<int>(r.history.size()) == j.iters, "%s: %zu iterations of %d", name, r.history.size(), j.iters);
    CHECK(r.bestIter == j.iters && !r.stoppedEarly);
    if (r.history.empty()) continue;
    const FitIteration& last = r.history.back();
    std::printf("  %s: train rmse %.4f -> %.4f, validation %.4f -> %.4f\n", name, start, last.trainRmse,
                r.history.front().validRmse, last.validRmse);
    // The planted noise is 0.1: a converged fit sits near it on both the training and held-out entries.
    CHECK_MSG(last.trainRmse < 0.15 && last.trainRmse < start / 2, "%s: train rmse %.4f (start %.4f)", name,
              last.trainRmse, start);
    CHECK_MSG(last.validRmse < 0.2, "%s: validation rmse %.4f", name, last.validRmse);
    // The history reports the model it leaves behind.
    CHECK_MSG(std::fabs(rmse(P, M) - last.trainRmse) <= 1e-12, "%s: model rmse %.17g vs history %.17g", name,
              rmse(P, M), last.trainRmse);
    for (const FitIteration& it : r.history) CHECK(std::isfinite(it.validRmse) && it.seconds >= 0.0);
  }
}

static void test_runfit_early_stopping() {
  Holdout H;
  const Problem P = holdOut(makeProblem(smallSpec()), 8, H);
  struct Case {
    const char* name;
    Algo algo;
    int k;
    double lambda;
    double minDelta;
    int patience;
  };
  // Overfitting (rank 40, almost no L2) turns the held-out RMSE up after a few sweeps; a huge
  // minDelta makes no later iteration count as an improvement, so the first one is kept.
  const Case cases[] = {{"ALS overfitting", Algo::Als, 40, 1e-4, 0.0, 2},
                        {"ALS minDelta", Algo::Als, 8, 0.05, 1e9, 3},
                        {"SGD minDelta", Algo::Sgd, 8, 0.05, 1e9, 2}};
  for (const Case& c : cases) {
    Model M(P.nRows, P.nCols, c.k);
    FitJob j = makeJob(P, M, c.algo, 30, 5);
    j.options.lambda = c.lambda;
    j.hasValidation = true;
    j.validation = H.view();
    j.earlyStopping = true;
    j.patience = c.patience;
    j.minDelta = c.minDelta;
    const FitResult r = runFit(j);
    const int n = static_cast<int>(r.history.size());
    std::printf("  %s: ran %d of %d, kept %d\n", c.name, n, j.iters, r.bestIter);
    CHECK_MSG(r.status == FitStatus::Ok, "%s: status %s", c.name, fitStatusName(r.status));
    CHECK_MSG(r.stoppedEarly && n < j.iters, "%s: did not stop early (%d iterations)", c.name, n);
    CHECK_MSG(r.bestIter >= 1 && r.bestIter < n, "%s: bestIter %d of %d", c.name, r.bestIter, n);
    CHECK_MSG(n - r.bestIter == c.patience, "%s: stopped %d after the best, patience %d", c.name, n - r.bestIter,
              c.patience);
    if (c.minDelta > 1.0) CHECK_MSG(r.bestIter == 1, "%s: bestIter %d", c.name, r.bestIter);
    if (r.bestIter < 1 || r.bestIter > n) continue;
    for (int i = 0; i < n; ++i)
      if (c.minDelta == 0.0)
        CHECK_MSG(r.history[i].validRmse >= r.history[r.bestIter - 1].validRmse, "%s: iteration %d beats the kept one",
                  c.name, i + 1);
    // The returned factors are the kept iteration's: a plain fit of bestIter iterations, bit for bit.
    Model R(P.nRows, P.nCols, c.k);
    FitJob plain = makeJob(P, R, c.algo, r.bestIter, 5);
    plain.options.lambda = c.lambda;
    const FitResult pr = runFit(plain);
    CHECK(pr.status == FitStatus::Ok && static_cast<int>(pr.history.size()) == r.bestIter);
    CHECK_MSG(sameBits(M, R), "%s: the model is not iteration %d's", c.name, r.bestIter);
  }
}

/**
 * A mixed batch: small ALS and SGD jobs (several per pool thread), a large ALS job (its own team)
 * and a large deterministic SGD job, two of them sharing a model shape but not a seed.
 */
struct Batch {
  Problem small, large;
  Holdout smallHold;
  std::vector<Model> models;
  std::vector<FitJob> jobs;

  Batch() {
    SynthSpec ss = smallSpec();
    ss.nRows = 150;
    ss.nCols = 100;
    ss.targetNnz = 4000;
    small = holdOut(makeProblem(ss), 9, smallHold);
    SynthSpec ls = smallSpec();
    ls.targetNnz = 30000;
    ls.weighted = true;
    large = makeProblem(ls);
    models.reserve(16);
    for (int i = 0; i < 10; ++i) {
      const bool als = i % 2 == 0;
      models.emplace_back(small.nRows, small.nCols, 3 + i);
      FitJob j = makeJob(small, models.back(), als ? Algo::Als : Algo::Sgd, 6 + i, 100 + i);
      j.hasValidation = i % 3 != 0;
      j.validation = smallHold.view();
      j.earlyStopping = i % 4 == 1;
      j.patience = 2;
      j.options.weightedLambda = i % 5 == 2;
      jobs.push_back(j);
    }
    models.emplace_back(large.nRows, large.nCols, 16);
    jobs.push_back(makeJob(large, models.back(), Algo::Als, 4, 7));
    models.emplace_back(large.nRows, large.nCols, 12);
    jobs.push_back(makeJob(large, models.back(), Algo::Sgd, 5, 8));
  }
  void setThreads(int t) {
    for (FitJob& j : jobs) j.options.threads = t;
  }
};

static void test_fitmany_threads() {
  Batch ref;
  ref.setThreads(1);
  CHECK(static_cast<double>(ref.jobs[10].problem.nnz) * ref.jobs[10].model.k >= kSmallJobWork);
  CHECK(static_cast<double>(ref.jobs[0].problem.nnz) * ref.jobs[0].model.k < kSmallJobWork);
  const std::vector<FitResult> want = fitMany(ref.jobs, nullptr, 1);
  CHECK(want.size() == ref.jobs.size());
  for (const FitResult& r : want) CHECK(r.status == FitStatus::Ok && !r.history.empty());
  for (int threads : {2, 4}) {
    Batch b;
    b.setThreads(threads);
    std::atomic<int> finished{0};
    IterationHook hook = [&](size_t, int, bool done) {
      if (done) finished.fetch_add(1);
    };
    const std::vector<FitResult> got = fitMany(b.jobs, &hook, threads);
    CHECK_MSG(finished.load() == static_cast<int>(b.jobs.size()), "%d threads: %d jobs reported finished", threads,
              finished.load());
    for (size_t i = 0; i < b.jobs.size() && i < got.size(); ++i) {
      CHECK_MSG(sameHistory(got[i], want[i]), "%d threads: job %zu history differs", threads, i);
      CHECK_MSG(sameBits(b.models[i], ref.models[i]), "%d threads: job %zu model differs", threads, i);
    }
  }
  // Each job alone through runFit gives the same as inside the batch.
  Batch alone;
  alone.setThreads(2);
  for (size_t i = 0; i < alone.jobs.size(); ++i) {
    const FitResult r = runFit(alone.jobs[i]);
    CHECK_MSG(sameHistory(r, want[i]), "job %zu: runFit history differs from fitMany", i);
    CHECK_MSG(sameBits(alone.models[i], ref.models[i]), "job %zu: runFit model differs from fitMany", i);
  }
}

static void test_fitmany_cancel() {
  // Raised before the call: no job runs an iteration.
  {
    Batch b;
    int32_t flag = 1;
    for (FitJob& j : b.jobs) j.options.cancel = &flag;
    const std::vector<FitResult> got = fitMany(b.jobs);
    for (size_t i = 0; i < got.size(); ++i)
      CHECK_MSG(got[i].status == FitStatus::Aborted && got[i].history.empty(), "job %zu: %s after %zu iterations", i,
                fitStatusName(got[i].status), got[i].history.size());
  }
  // Raised by the progress hook after job 0's second iteration: large jobs run one after the other,
  // so job 0 stops there and every later one never starts.
  {
    Batch b;
    std::vector<FitJob> jobs(b.jobs.begin() + 10, b.jobs.end());
    std::atomic<int32_t> live{0};
    for (FitJob& j : jobs) {
      j.iters = 50;
      j.options.cancel = reinterpret_cast<int32_t*>(&live);
    }
    IterationHook hook = [&](size_t job, int done, bool finished) {
      if (job == 0 && done == 2 && !finished) live.store(1);
    };
    const std::vector<FitResult> got = fitMany(jobs, &hook);
    CHECK(got.size() == 2);
    if (got.size() == 2) {
      CHECK_MSG(got[0].status == FitStatus::Aborted && got[0].history.size() == 2, "job 0: %s after %zu",
                fitStatusName(got[0].status), got[0].history.size());
      CHECK_MSG(got[1].status == FitStatus::Aborted && got[1].history.empty(), "job 1: %s after %zu",
                fitStatusName(got[1].status), got[1].history.size());
    }
  }
  // Small jobs side by side: the flag stops the ones still running; none starts a new iteration
  // after its next check, so no job runs to its end once job 0 raised it at its first iteration.
  {
    Batch b;
    std::vector<FitJob> jobs(b.jobs.begin(), b.jobs.begin() + 10);
    std::atomic<int32_t> live{0};
    for (FitJob& j : jobs) {
      j.iters = 100000;
      j.earlyStopping = false;
      j.options.cancel = reinterpret_cast<int32_t*>(&live);
    }
    IterationHook hook = [&](size_t job, int done, bool finished) {
      if (job == 0 && done == 1 && !finished) live.store(1);
    };
    const std::vector<FitResult> got = fitMany(jobs, &hook, 2);
    for (size_t i = 0; i < got.size(); ++i)
      CHECK_MSG(got[i].status == FitStatus::Aborted && got[i].history.size() < 100000u, "job %zu: %s after %zu", i,
                fitStatusName(got[i].status), got[i].history.size());
    if (!got.empty()) CHECK(got[0].history.size() == 1);
  }
}

/** Model arrays with guard cells either side, to see a write that lands outside an array. */
struct GuardedModel {
  static constexpr size_t kGuard = 64;
  static constexpr double kCanary = -7.291e301;  // no update of a rating model produces this value
  int k;
  double mu = 0.0;
  std::vector<double> U, V, rowBias, colBias;
  GuardedModel(int32_t nRows, int32_t nCols, int k_) : k(k_) {
    for (auto* a : {&U, &V, &rowBias, &colBias}) {
      const size_t n = a == &U ? static_cast<size_t>(nRows) * k : a == &V ? static_cast<size_t>(nCols) * k
                     : a == &rowBias ? static_cast<size_t>(nRows) : static_cast<size_t>(nCols);
      a->assign(n + 2 * kGuard, kCanary);
      std::fill(a->begin() + kGuard, a->end() - kGuard, 0.0);
    }
  }
  ModelView view() {
    ModelView m;
    m.k = k;
    m.mu = mu;
    m.U = U.data() + kGuard;
    m.V = V.data() + kGuard;
    m.rowBias = rowBias.data() + kGuard;
    m.colBias = colBias.data() + kGuard;
    return m;
  }
  /** True when every guard cell still holds the canary. */
  bool guardsIntact() const {
    for (const auto* a : {&U, &V, &rowBias, &colBias})
      for (size_t i = 0; i < kGuard; ++i)
        if ((*a)[i] != kCanary || (*a)[a->size() - 1 - i] != kCanary) return false;
    return true;
  }
};

/**
 * Index arrays overwritten with garbage by another thread while the kernels and whole fits run (as
 * JS could do to the typed arrays of a kernel that read them in place): every run must end with Ok
 * or an index / argument error (never another failure, never a crash), and no write may land
 * outside the model's arrays (guard cells; the ASan build of these tests also checks every read).
 */
static void test_concurrent_mutation() {
  SynthSpec s = smallSpec();
  s.nRows = 3000;
  s.nCols = 800;
  s.targetNnz = 150000;
  const Problem clean = makeProblem(s);
  int outcomes[3] = {0, 0, 0};  // ok, index error, invalid argument (offsets decreasing, unsorted rows)
  int64_t writesDuring = 0;
  const int rounds = 60;
  for (int round = 0; round < rounds; ++round) {
    Problem P = clean;
    const int k = round % 3 == 0 ? 7 : 16;
    GuardedModel M(P.nRows, P.nCols, k);
    M.mu = P.mean;
    initModel(M.view(), P.nRows, P.nCols, 1, 0.1);
    Options o = baseOptions();
    o.sgdMode = round % 2 ? SgdMode::Parallel : SgdMode::Deterministic;
    std::atomic<bool> stop{false};
    std::atomic<int64_t> writes{0};
    std::thread mutator([&]() {
      Rng rng(static_cast<uint32_t>(round), 5);
      std::vector<int32_t>* arrays[] = {&P.rowPtr, &P.rowIdx, &P.colIdx, &P.colPtr, &P.cscRow};
      while (!stop.load(std::memory_order_relaxed)) {
        std::vector<int32_t>& a = *arrays[rng.nextU32() % 5];
        volatile int32_t* cell = a.data() + rng.nextU32() % a.size();
        *cell = static_cast<int32_t>(rng.nextU32());
        writes.fetch_add(1, std::memory_order_relaxed);
      }
    });
    while (writes.load() == 0) std::this_thread::yield();  // the kernel starts on a moving target
    const int kernel = round % 5;
    const int64_t before = writes.load();
    try {
      LossSums ls;
      if (kernel == 0) {
        alsSweep(P.view(), M.view(), o);
      } else if (kernel == 3) {
        trainLoss(P.view(), M.view(), o, ls);
      } else if (kernel == 4) {
        FitJob j;
        j.problem = P.view();
        j.model = M.view();
        j.options = o;
        j.algo = round % 2 ? Algo::Sgd : Algo::Als;
        j.iters = 3;
        runFit(j);
      } else {
        sgdEpoch(P.view(), M.view(), o, round);
      }
      outcomes[0]++;
    } catch (const Error& e) {
      const bool expected = e.code() == ErrorCode::IndexOutOfRange || e.code() == ErrorCode::InvalidArgument;
      CHECK_MSG(expected, "round %d (kernel %d): unexpected %s: %s", round, kernel, e.codeName(), e.what());
      outcomes[e.code() == ErrorCode::IndexOutOfRange ? 1 : 2]++;
    }
    writesDuring += writes.load() - before;
    stop.store(true);
    mutator.join();
    CHECK_MSG(M.guardsIntact(), "round %d (kernel %d): a write landed outside the model arrays", round, kernel);
  }
  std::printf("  %d runs under mutation (%lld writes while they ran): %d ok, %d index errors, %d argument errors\n",
              rounds, static_cast<long long>(writesDuring), outcomes[0], outcomes[1], outcomes[2]);
  CHECK(outcomes[0] + outcomes[1] + outcomes[2] == rounds);
  // Otherwise the garbage never reached a kernel and the rounds above tested nothing.
  CHECK_MSG(writesDuring > 0 && outcomes[1] > 0, "no mutation was seen by the kernels");
}

// ---- implicit ALS ----------------------------------------------------------------------------

/** The planted problem with implicit values: floor(|rating|) - 2, at least 0 (some entries are 0). */
static Problem implicitProblem(const SynthSpec& spec) {
  Problem P = makeProblem(spec);
  for (double& v : P.value) v = std::max(0.0, std::floor(std::fabs(v)) - 2.0);
  P.weight.clear();
  P.buildCsc();
  return P;
}

static Options implicitOptions(bool cg, bool logConf, int steps) {
  Options o = baseOptions();
  o.useBias = false;
  o.lambda = 0.1;
  o.implicit.alpha = logConf ? 4.0 : 2.0;
  o.implicit.logConfidence = logConf;
  o.implicit.epsilon = 0.5;
  o.implicit.cg = cg;
  o.implicit.cgSteps = steps;
  return o;
}

static FitJob implicitJob(const Problem& P, Model& M, const Options& o, int iters, uint32_t seed) {
  M.mu = 0.0;
  M.init(seed, 0.1);
  FitJob j;
  j.problem = P.view();
  j.model = M.view();
  j.options = o;
  j.algo = Algo::Ials;
  j.iters = iters;
  return j;
}

static void test_ials_objective_decreases() {
  const Problem P = implicitProblem(smallSpec());
  int zeros = 0;
  for (double v : P.value) zeros += v == 0.0 ? 1 : 0;
  CHECK_MSG(zeros > 0 && zeros < static_cast<int>(P.value.size()), "%d zero entries", zeros);
  for (bool cg : {false, true})
    for (bool logConf : {false, true}) {
      const char* name = cg ? (logConf ? "CG-3 log" : "CG-3 linear") : (logConf ? "exact log" : "exact linear");
      Model M(P.nRows, P.nCols, 8);
      const Options o = implicitOptions(cg, logConf, 3);
      FitJob j = implicitJob(P, M, o, 8, 5);
      // The objective of the initial model, for the first sweep's decrease.
      Confidences conf;
      implicitConfidences(P.view(), o.implicit, conf);
      LossSums start;
      implicitLoss(P.view(), M.view(), o, conf, start);
      const FitResult r = runFit(j);
      CHECK_MSG(r.status == FitStatus::Ok && static_cast<int>(r.history.size()) == j.iters, "%s: status %s, %zu iterations",
                name, fitStatusName(r.status), r.history.size());
      double prev = start.objective;
      for (size_t i = 0; i < r.history.size(); ++i) {
        const double obj = r.history[i].objective;
        // Every row's sub-problem is a convex quadratic that the exact solve minimises and CG
        // (warm-started) does not increase: the sum cannot go up beyond rounding.
        CHECK_MSG(obj <= prev * (1 + 1e-12), "%s: objective rose at sweep %zu: %.17g -> %.17g", name, i + 1, prev, obj);
        prev = obj;
      }
      if (r.history.empty()) continue;
      std::printf("  %s: objective %.6g -> %.6g (rmse %.4f)\n", name, start.objective, r.history.back().objective,
                  r.history.back().trainRmse);
      CHECK_MSG(r.history.back().objective < 0.5 * start.objective, "%s: objective %.6g from %.6g", name,
                r.history.back().objective, start.objective);
      // The history reports the model it leaves behind.
      LossSums end;
      implicitLoss(P.view(), M.view(), o, conf, end);
      CHECK(end.objective == r.history.back().objective);
    }
}

static double maxAbsDiff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0.0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

static void test_ials_cg_matches_exact() {
  const Problem P = implicitProblem(smallSpec());
  for (bool logConf : {false, true}) {
    for (int sweeps : {1, 3}) {
      Model E(P.nRows, P.nCols, 8), C(P.nRows, P.nCols, 8);
      const Options oe = implicitOptions(false, logConf, 3);
      const Options oc = implicitOptions(true, logConf, 40);  // k = 8: CG is exact after 8 steps up to rounding
      FitJob je = implicitJob(P, E, oe, sweeps, 9);
      FitJob jc = implicitJob(P, C, oc, sweeps, 9);
      runFit(je);
      runFit(jc);
      const double du = maxAbsDiff(E.U, C.U), dv = maxAbsDiff(E.V, C.V);
      std::printf("  %s, %d sweep(s): max |exact - CG-40| U %.3g, V %.3g\n", logConf ? "log" : "linear", sweeps, du, dv);
      CHECK_MSG(du <= 1e-6 && dv <= 1e-6, "U %.3g V %.3g", du, dv);
      // And the few-step CG is not accidentally the exact solver.
      Model C3(P.nRows, P.nCols, 8);
      FitJob j3 = implicitJob(P, C3, implicitOptions(true, logConf, 1), sweeps, 9);
      runFit(j3);
      CHECK_MSG(maxAbsDiff(E.U, C3.U) > 1e-6, "CG-1 equals the exact solve");
    }
  }
}

static void test_ials_threads() {
  SynthSpec big = smallSpec();
  big.nRows = 900;
  big.nCols = 500;
  big.targetNnz = 40000;
  const Problem L = implicitProblem(big);
  const Problem S = implicitProblem(smallSpec());
  struct Cfg {
    bool cg, logConf;
  };
  const Cfg cfgs[] = {{false, false}, {true, false}, {false, true}, {true, true}};
  auto run = [&](int threads, std::vector<Model>& models) {
    std::vector<FitJob> jobs;
    models.clear();
    models.reserve(8);
    for (const Cfg& c : cfgs) {
      Options o = implicitOptions(c.cg, c.logConf, 3);
      o.threads = threads;
      models.emplace_back(L.nRows, L.nCols, 16);
      jobs.push_back(implicitJob(L, models.back(), o, 3, 2));
      models.emplace_back(S.nRows, S.nCols, 4);
      jobs.push_back(implicitJob(S, models.back(), o, 3, 3));
    }
    CHECK((static_cast<double>(L.nnz()) + L.nRows + L.nCols) * 16 >= kSmallJobWork);
    CHECK((static_cast<double>(S.nnz()) + S.nRows + S.nCols) * 4 < kSmallJobWork);
    return fitMany(jobs, nullptr, threads);
  };
  std::vector<Model> ref;
  const std::vector<FitResult> want = run(1, ref);
  for (const FitResult& r : want) CHECK(r.status == FitStatus::Ok && r.history.size() == 3);
  for (int threads : {2, 4}) {
    std::vector<Model> got;
    const std::vector<FitResult> res = run(threads, got);
    for (size_t i = 0; i < res.size() && i < want.size(); ++i) {
      CHECK_MSG(sameHistory(res[i], want[i]), "%d threads: job %zu history differs", threads, i);
      for (size_t t = 0; t < res[i].history.size() && t < want[i].history.size(); ++t)
        CHECK_MSG(std::memcmp(&res[i].history[t].objective, &want[i].history[t].objective, sizeof(double)) == 0,
                  "%d threads: job %zu objective differs", threads, i);
      CHECK_MSG(sameBits(got[i], ref[i]), "%d threads: job %zu model differs", threads, i);
    }
  }
  // The large job's sweep itself split across 4 threads (not only fitMany's scheduling).
  for (const Cfg& c : cfgs) {
    Model A(L.nRows, L.nCols, 16), B(L.nRows, L.nCols, 16);
    Options o = implicitOptions(c.cg, c.logConf, 3);
    FitJob ja = implicitJob(L, A, o, 1, 4), jb = implicitJob(L, B, o, 1, 4);
    Confidences conf;
    implicitConfidences(L.view(), o.implicit, conf);
    o.threads = 1;
    ialsSweep(L.view(), ja.model, o, conf);
    o.threads = 4;
    ialsSweep(L.view(), jb.model, o, conf);
    CHECK_MSG(sameBits(A, B), "%s %s: 1 and 4 threads differ", c.cg ? "CG" : "exact", c.logConf ? "log" : "linear");
  }
}

/** The most entries with r > 0 in one column (beyond a gather's capacity, a column is chunked). */
static int64_t widestColumn(const Problem& P) {
  int64_t widest = 0;
  for (int32_t c = 0; c < P.nCols; ++c) {
    int64_t n = 0;
    for (int32_t e = P.colPtr[c]; e < P.colPtr[c + 1]; ++e) n += P.cscValue[e] > 0.0 ? 1 : 0;
    widest = std::max(widest, n);
  }
  return widest;
}

static void test_ials_cg_isa_bits() {
  // Columns with more than kCgCap entries with r > 0 take the chunked gather; k = 13 leaves vector tails.
  SynthSpec dense = smallSpec();
  dense.nRows = 3000;
  dense.nCols = 50;
  dense.targetNnz = 100000;
  const Problem P = implicitProblem(dense);
  const int64_t widest = widestColumn(P);
  CHECK_MSG(widest > als_detail::kCgCap, "widest column has %lld entries with r > 0", static_cast<long long>(widest));
  for (bool logConf : {false, true})
    for (int k : {13, 16}) {
      std::vector<Model> models;
      models.reserve(3);
      for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512}) {
        setIsaLimit(isa);
        models.emplace_back(P.nRows, P.nCols, k);
        FitJob j = implicitJob(P, models.back(), implicitOptions(true, logConf, 3), 3, 6);
        const FitResult r = runFit(j);
        CHECK(r.status == FitStatus::Ok);
      }
      setIsaLimit(Isa::Avx512);
      CHECK_MSG(sameBits(models[0], models[1]) && sameBits(models[0], models[2]), "k = %d %s: CG differs between ISAs", k,
                logConf ? "log" : "linear");
    }
}

/**
 * float32 CG (float arithmetic): the same bits on every ISA and thread count, the chunked gather
 * included, and within float rounding of the double CG started from the same (rounded) factors.
 */
static void test_ials_cg32() {
  // Columns with more than kCgCap32 entries with r > 0 take the chunked gather; k = 13 leaves vector tails.
  SynthSpec dense = smallSpec();
  dense.nRows = 40000;
  dense.nCols = 6;
  dense.targetNnz = 180000;
  const Problem P = implicitProblem(dense);
  const int64_t widest = widestColumn(P);
  CHECK_MSG(widest > als_detail::kCgCap32, "widest column has %lld entries with r > 0", static_cast<long long>(widest));
  for (bool logConf : {false, true})
    for (int k : {13, 32}) {
      Model D(P.nRows, P.nCols, k);
      D.init(6, 0.1);
      for (double& x : D.U) x = static_cast<float>(x);
      for (double& x : D.V) x = static_cast<float>(x);
      const Model32 D0(D);
      Options o = implicitOptions(true, logConf, 3);
      Confidences conf;
      implicitConfidences(P.view(), o.implicit, conf);
      auto run32 = [&](Isa isa, int threads) {
        Model32 m(D0);
        setIsaLimit(isa);
        o.threads = threads;
        for (int it = 0; it < 3; ++it) CHECK(ialsSweep(P.view(), m.view(), o, conf) == Status::Ok);
        setIsaLimit(Isa::Avx512);
        std::vector<float> uv(m.U);
        uv.insert(uv.end(), m.V.begin(), m.V.end());
        return uv;
      };
      const std::vector<float> ref = run32(Isa::Avx512, 1);
      for (Isa isa : {Isa::Generic, Isa::Avx2})
        CHECK_MSG(run32(isa, 1) == ref, "k = %d %s: float CG differs on %s", k, logConf ? "log" : "linear", isaName(isa));
      CHECK_MSG(run32(Isa::Avx512, 4) == ref, "k = %d %s: float CG differs on 4 threads", k, logConf ? "log" : "linear");
      o.threads = 1;
      for (int it = 0; it < 3; ++it) CHECK(ialsSweep(P.view(), D.view(), o, conf) == Status::Ok);
      double scale = 0.0, diff = 0.0;
      const size_t nU = D.U.size();
      for (size_t i = 0; i < ref.size(); ++i) {
        const double want = i < nU ? D.U[i] : D.V[i - nU];
        scale = std::max(scale, std::fabs(want));
        diff = std::max(diff, std::fabs(want - static_cast<double>(ref[i])));
      }
      std::printf("  k = %d %s: max |float CG - double CG| %.3g (scale %.3g)\n", k, logConf ? "log" : "linear", diff, scale);
      CHECK_MSG(diff <= 1e-3 * scale && diff > 0.0, "k = %d: float CG off by %.3g of %.3g", k, diff, scale);
    }
  // An index outside the other side reaches the float gather as a coded error naming it, on every ISA.
  Problem B = P;
  B.cscRow[B.colPtr[2] + 7] = B.nRows + 3;
  Model D(B.nRows, B.nCols, 16);
  D.init(2, 0.1);
  Options o = implicitOptions(true, false, 3);
  Confidences conf;
  implicitConfidences(B.view(), o.implicit, conf);
  for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512}) {
    setIsaLimit(isa);
    Model32 m(D);
    expectError("float CG cscRow", ErrorCode::IndexOutOfRange, "problem.cscRow[", [&] { ialsSweep(B.view(), m.view(), o, conf); });
  }
  setIsaLimit(Isa::Avx512);
}

static void test_ials_errors() {
  const Problem P = implicitProblem(smallSpec());
  for (bool cg : {false, true}) {
    const char* name = cg ? "CG" : "exact";
    // A raised cancel flag: no iteration runs.
    {
      Model M(P.nRows, P.nCols, 4);
      FitJob j = implicitJob(P, M, implicitOptions(cg, false, 3), 5, 1);
      const int32_t flag = 1;
      j.options.cancel = &flag;
      const std::vector<FitResult> r = fitMany({j});
      CHECK_MSG(r.size() == 1 && r[0].status == FitStatus::Aborted && r[0].history.empty(), "%s: not aborted", name);
    }
    // An index outside the other side, in the CSC arrays (the column pass): a coded error naming it.
    {
      Problem B = P;
      B.cscRow[B.colPtr[3]] = B.nRows + 5;
      B.cscValue[B.colPtr[3]] = 2.0;
      Model M(B.nRows, B.nCols, 4);
      FitJob j = implicitJob(B, M, implicitOptions(cg, false, 3), 1, 1);
      expectError(name, ErrorCode::IndexOutOfRange, "problem.cscRow[", [&] { runFit(j); });
    }
    // Bad settings.
    {
      Model M(P.nRows, P.nCols, 4);
      FitJob j = implicitJob(P, M, implicitOptions(cg, true, 3), 1, 1);
      j.options.implicit.epsilon = 0.0;
      expectError(name, ErrorCode::InvalidArgument, "epsilon", [&] { runFit(j); });
      j.options.implicit.epsilon = 1.0;
      j.options.implicit.alpha = -1.0;
      expectError(name, ErrorCode::InvalidArgument, "alpha", [&] { runFit(j); });
    }
  }
  // lambda = 0 and more factors than columns: G + ... is singular, the exact solve says which row.
  {
    SynthSpec few = smallSpec();
    few.nCols = 3;
    few.targetNnz = 900;
    few.minPerRow = 1;
    const Problem F = implicitProblem(few);
    Model M(F.nRows, F.nCols, 6);
    Options o = implicitOptions(false, false, 3);
    o.lambda = 0.0;
    FitJob j = implicitJob(F, M, o, 1, 1);
    expectError("exact, lambda 0", ErrorCode::Numeric, "implicit ALS: the normal equations of row ", [&] { runFit(j); });
  }
}

// ---- recommendMany (issue 10) ----

/** The reference: every column scored one by one as model.ts does, then sorted best first, ties by lower column. */
template <class T>
static std::vector<std::pair<int32_t, double>> recommendReference(int k, double mu, const std::vector<T>& U,
                                                                  const std::vector<T>& V, const std::vector<T>& rb,
                                                                  const std::vector<T>& cb, int32_t r, int32_t nCols,
                                                                  int32_t n, const std::vector<uint8_t>& skip) {
  std::vector<std::pair<int32_t, double>> all;
  for (int32_t c = 0; c < nCols; ++c) {
    if (skip[c]) continue;
    double dot = 0.0;
    for (int f = 0; f < k; ++f) dot += static_cast<double>(U[r * k + f]) * static_cast<double>(V[c * k + f]);
    all.push_back({c, ((mu + static_cast<double>(rb[r])) + static_cast<double>(cb[c])) + dot});
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (static_cast<int32_t>(all.size()) > n) all.resize(static_cast<size_t>(n));
  return all;
}

template <class T>
static void recommendCase(bool f32) {
  const int32_t nRows = 37, nCols = 53;
  const int k = 5;
  uint64_t s = 12345;
  // Factors on a coarse grid so that many scores tie exactly.
  auto next = [&]() -> T {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<T>(static_cast<int>((s >> 33) % 5) - 2) * static_cast<T>(0.5);
  };
  std::vector<T> U(nRows * k), V(nCols * k), rb(nRows), cb(nCols);
  for (auto& x : U) x = next();
  for (auto& x : V) x = next();
  for (auto& x : rb) x = next();
  for (auto& x : cb) x = next();
  ModelView m;
  m.k = k;
  m.mu = 0.25;
  if (f32) {
    m.U32 = reinterpret_cast<float*>(U.data()); m.V32 = reinterpret_cast<float*>(V.data());
    m.rowBias32 = reinterpret_cast<float*>(rb.data()); m.colBias32 = reinterpret_cast<float*>(cb.data());
  } else {
    m.U = reinterpret_cast<double*>(U.data()); m.V = reinterpret_cast<double*>(V.data());
    m.rowBias = reinterpret_cast<double*>(rb.data()); m.colBias = reinterpret_cast<double*>(cb.data());
  }
  // Row r excludes the columns c with (r + c) % 4 == 0, plus a shared list.
  std::vector<int32_t> ptr{0}, idx;
  for (int32_t r = 0; r < nRows; ++r) {
    for (int32_t c = 0; c < nCols; ++c) if ((r + c) % 4 == 0) idx.push_back(c);
    ptr.push_back(static_cast<int32_t>(idx.size()));
  }
  const std::vector<int32_t> shared{3, 7, 50};
  std::vector<int32_t> rows;
  for (int i = 0; i < 71; ++i) rows.push_back((i * 11) % nRows);
  for (int32_t n : {1, 6, 60}) {  // 60: more than the columns left
    for (int mode = 0; mode < 3; ++mode) {  // per-row, shared, none
      std::vector<std::vector<int32_t>> outIdx;
      std::vector<std::vector<double>> outScore;
      for (int threads : {1, 2, 3}) {
        RecommendJob j;
        j.nRows = nRows; j.nCols = nCols; j.rows = rows.data(); j.nQuery = static_cast<int64_t>(rows.size()); j.n = n;
        if (mode == 0) { j.excludePtr = ptr.data(); j.excludeIdx = idx.data(); j.nExcludeIdx = static_cast<int64_t>(idx.size()); }
        if (mode == 1) { j.sharedExclude = shared.data(); j.nShared = 3; }
        j.threads = threads;
        std::vector<int32_t> oi(rows.size() * n, -1), cnt(rows.size(), -1);
        std::vector<double> os(rows.size() * n, 0.0);
        j.outIdx = oi.data(); j.outScore = os.data(); j.outCount = cnt.data();
        recommendMany(m, j);
        for (size_t q = 0; q < rows.size(); ++q) {
          std::vector<uint8_t> skip(nCols, 0);
          if (mode == 0) for (int32_t e = ptr[rows[q]]; e < ptr[rows[q] + 1]; ++e) skip[idx[e]] = 1;
          if (mode == 1) for (int32_t c : shared) skip[c] = 1;
          const auto want = recommendReference(k, m.mu, U, V, rb, cb, rows[q], nCols, n, skip);
          CHECK_MSG(cnt[q] == static_cast<int32_t>(want.size()), "n %d mode %d row %zu: %d vs %zu", n, mode, q, cnt[q], want.size());
          for (size_t i = 0; i < want.size() && i < static_cast<size_t>(cnt[q]); ++i) {
            CHECK_MSG(oi[q * n + i] == want[i].first && os[q * n + i] == want[i].second,
                      "n %d mode %d row %zu slot %zu: (%d, %.17g) vs (%d, %.17g)", n, mode, q, i, oi[q * n + i],
                      os[q * n + i], want[i].first, want[i].second);
          }
        }
        outIdx.push_back(oi);
        outScore.push_back(os);
      }
      CHECK(outIdx[0] == outIdx[1] && outIdx[0] == outIdx[2]);
      CHECK(std::memcmp(outScore[0].data(), outScore[1].data(), outScore[0].size() * sizeof(double)) == 0);
      CHECK(std::memcmp(outScore[0].data(), outScore[2].data(), outScore[0].size() * sizeof(double)) == 0);
    }
  }
  // Bad indices are coded errors, not out-of-bounds reads.
  std::vector<int32_t> badRow{nRows}, oi(4), cnt(1);
  std::vector<double> os(4);
  RecommendJob j;
  j.nRows = nRows; j.nCols = nCols; j.rows = badRow.data(); j.nQuery = 1; j.n = 4;
  j.outIdx = oi.data(); j.outScore = os.data(); j.outCount = cnt.data();
  expectError("recommend bad row", ErrorCode::IndexOutOfRange, "rows[0]", [&] { recommendMany(m, j); });
  std::vector<int32_t> okRow{0}, badCol{nCols};
  j.rows = okRow.data(); j.sharedExclude = badCol.data(); j.nShared = 1;
  expectError("recommend bad exclude", ErrorCode::IndexOutOfRange, "exclude[0]", [&] { recommendMany(m, j); });
  j.nShared = 0; j.n = 0;
  expectError("recommend n = 0", ErrorCode::InvalidArgument, "n must be", [&] { recommendMany(m, j); });
}

/** Small ranks: the scalar solver against the general one (forced by the LAPACK knob), sweep for sweep. */
static void test_als_small_rank() {
  SynthSpec s = smallSpec();
  s.weighted = true;
  Problem P = makeProblem(s);
  AlsTuning general;
  general.useLapack = true;
  for (int k : {1, 2, 3}) {
    for (bool bias : {true, false}) {
      Options o = baseOptions();
      o.useBias = bias;
      Model A(P.nRows, P.nCols, k), B(P.nRows, P.nCols, k);
      A.mu = B.mu = bias ? P.mean : 0.0;
      A.init(3, 0.1);
      B.init(3, 0.1);
      for (int it = 0; it < 5; ++it) {
        CHECK(alsSweep(P.view(), A.view(), o) == Status::Ok);
        CHECK(alsSweep(P.view(), B.view(), o, &general) == Status::Ok);
      }
      double worst = 0.0;
      for (size_t i = 0; i < A.U.size(); ++i) worst = std::max(worst, std::fabs(A.U[i] - B.U[i]));
      for (size_t i = 0; i < A.V.size(); ++i) worst = std::max(worst, std::fabs(A.V[i] - B.V[i]));
      for (size_t i = 0; i < A.rowBias.size(); ++i) worst = std::max(worst, std::fabs(A.rowBias[i] - B.rowBias[i]));
      CHECK_MSG(worst < 1e-10, "k %d bias %d: small and general solvers differ by %g", k, bias ? 1 : 0, worst);
    }
  }
}

/** nearestRows against the definition and across thread counts; neighbourWeights across thread counts. */
static void test_neighbours() {
  // 50 queries x 6000 x 7: enough work for the searches to use up to 3 threads.
  const int A = 6000, T = 7, nq = 50, L = 12;
  Rng rng(11, 2);
  std::vector<double> rows(A * T), zt(T * A, 0.0), wt(T * A, 0.0);
  for (int i = 0; i < A; ++i)
    for (int t = 0; t < T; ++t) {
      const double v = rng.nextDouble() < 0.3 ? NAN : std::round((rng.nextDouble() * 4 - 2) * 8) / 8;
      rows[i * T + t] = v;
      if (v == v) {
        zt[t * A + i] = v;
        wt[t * A + i] = 1.0;
      }
    }
  std::vector<int32_t> need(nq), self(nq);
  for (int q = 0; q < nq; ++q) {
    need[q] = 1 + q % 2;
    self[q] = q % 3 == 0 ? -1 : q;
  }
  std::vector<std::vector<int32_t>> idxs;
  std::vector<std::vector<double>> dists;
  for (int threads : {1, 2, 3}) {
    NeighbourJob j;
    j.nCand = A; j.nCols = T; j.zt = zt.data(); j.wt = wt.data();
    j.nQuery = nq; j.query = rows.data(); j.need = need.data(); j.self = self.data(); j.L = L; j.threads = threads;
    std::vector<int32_t> idx(nq * L, -1), count(nq), finite(nq);
    std::vector<double> dist(nq * L, 0.0);
    j.outIdx = idx.data(); j.outDist = dist.data(); j.outCount = count.data(); j.outFinite = finite.data();
    nearestRows(j);
    for (int q = 0; q < nq; ++q) {
      std::vector<std::pair<double, int32_t>> all;
      for (int i = 0; i < A; ++i) {
        double ss = 0.0, n = 0.0;
        for (int t = 0; t < T; ++t) {
          const double a = rows[q * T + t], z = rows[i * T + t];
          if (a != a || z != z) continue;
          ss += (a - z) * (a - z);
          n += 1.0;
        }
        if (i != self[q] && n >= need[q]) all.emplace_back(ss / n, i);
      }
      std::sort(all.begin(), all.end());
      CHECK(finite[q] == static_cast<int32_t>(all.size()));
      CHECK(count[q] == std::min<int32_t>(L, static_cast<int32_t>(all.size())));
      for (int p = 0; p < count[q]; ++p) CHECK_MSG(idx[q * L + p] == all[p].second, "query %d slot %d", q, p);
    }
    idxs.push_back(idx);
    dists.push_back(dist);
  }
  CHECK(idxs[0] == idxs[1] && idxs[0] == idxs[2]);
  CHECK(std::memcmp(dists[0].data(), dists[2].data(), dists[0].size() * sizeof(double)) == 0);

  // neighbourWeights: candidate-major residuals, the first nq rows as queries, a few cells each.
  std::vector<double> resid(A * T), mask(A * T);
  for (int i = 0; i < A * T; ++i) {
    resid[i] = rows[i] == rows[i] ? rows[i] : 0.0;
    mask[i] = rows[i] == rows[i] ? 1.0 : 0.0;
  }
  std::vector<int32_t> cellPtr(nq + 1, 0), cellTask;
  for (int q = 0; q < nq; ++q) {
    for (int t = 0; t < T; t += 2) cellTask.push_back((t + q) % T);
    cellPtr[q + 1] = static_cast<int32_t>(cellTask.size());
  }
  const double betas[] = {0.0, 2.0, 5.0};
  const int K = 9;
  std::vector<std::vector<int32_t>> found;
  std::vector<std::vector<double>> ws;
  for (int threads : {1, 2, 3}) {
    SimilarityJob j;
    j.nCand = A; j.nCols = T; j.resid = resid.data(); j.mask = mask.data();
    j.nQuery = nq; j.rows = rows.data(); j.self = self.data(); j.cellPtr = cellPtr.data(); j.cellTask = cellTask.data();
    j.nCells = static_cast<int64_t>(cellTask.size()); j.betas = betas; j.nBetas = 3; j.minOverlap = 2; j.kMax = K; j.threads = threads;
    std::vector<int32_t> idx(cellTask.size() * 3 * K, -1), fnd(cellTask.size() * 3, -1);
    std::vector<double> w(cellTask.size() * 3 * K, 0.0);
    j.outIdx = idx.data(); j.outW = w.data(); j.outFound = fnd.data();
    neighbourWeights(j);
    // Best first, each a neighbour having the cell's column.
    for (size_t c = 0; c < cellTask.size(); ++c)
      for (int b = 0; b < 3; ++b) {
        const size_t s = c * 3 + b;
        CHECK(fnd[s] >= 0 && fnd[s] <= K);
        for (int p = 0; p < fnd[s]; ++p) {
          CHECK(mask[static_cast<size_t>(idx[s * K + p]) * T + cellTask[c]] == 1.0 && w[s * K + p] > 0.0);
          if (p > 0) CHECK(w[s * K + p] <= w[s * K + p - 1]);
        }
      }
    found.push_back(fnd);
    ws.push_back(w);
  }
  CHECK(found[0] == found[1] && found[0] == found[2]);
  CHECK(std::memcmp(ws[0].data(), ws[1].data(), ws[0].size() * sizeof(double)) == 0);
  std::vector<int32_t> badSelf(self);
  badSelf[0] = A;
  NeighbourJob bad;
  bad.nCand = A; bad.nCols = T; bad.zt = zt.data(); bad.wt = wt.data(); bad.nQuery = nq; bad.query = rows.data();
  bad.need = need.data(); bad.self = badSelf.data(); bad.L = L;
  expectError("nearestRows bad self", ErrorCode::IndexOutOfRange, "self[0]", [&] { nearestRows(bad); });
}

static void test_recommend_many() {
  recommendCase<double>(false);
  recommendCase<float>(true);
}

int main(int argc, char** argv) {
  const std::pair<const char*, void (*)()> tests[] = {
      {"rng", test_rng},
      {"als_converges", test_als_converges},
      {"als_normal_equations", test_als_normal_equations},
      {"als_variants", test_als_variants},
      {"als_isa_agree", test_als_isa_agree},
      {"als_float32", test_als_float32},
      {"sgd_deterministic", test_sgd_deterministic},
      {"sgd_parallel", test_sgd_parallel},
      {"sgd_parallel_float32", test_sgd_parallel_float32},
      {"loss", test_loss},
      {"cancel", test_cancel},
      {"numeric_error", test_numeric_error},
      {"bad_index", test_bad_index},
      {"concurrent_mutation", test_concurrent_mutation},
      {"runfit_converges", test_runfit_converges},
      {"runfit_early_stopping", test_runfit_early_stopping},
      {"fitmany_threads", test_fitmany_threads},
      {"fitmany_cancel", test_fitmany_cancel},
      {"ials_objective_decreases", test_ials_objective_decreases},
      {"ials_cg_matches_exact", test_ials_cg_matches_exact},
      {"ials_threads", test_ials_threads},
      {"ials_cg_isa_bits", test_ials_cg_isa_bits},
      {"ials_cg32", test_ials_cg32},
      {"ials_errors", test_ials_errors},
      {"recommend_many", test_recommend_many},
      {"als_small_rank", test_als_small_rank},
      {"neighbours", test_neighbours},
  };
  std::printf("collabperf core tests: %s, kernels %s\n", blasDescription().c_str(), simdLevel());
  int ran = 0, failed = 0;
  for (const auto& t : tests) {
    if (argc > 1 && std::strcmp(argv[1], t.first) != 0) continue;
    const int before = g_failures;
    std::printf("[ RUN  ] %s\n", t.first);
    try {
      t.second();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "  unexpected exception: %s\n", e.what());
      ++g_failures;
    }
    const bool ok = g_failures == before;
    std::printf("[ %s ] %s\n", ok ? " OK " : "FAIL", t.first);
    ++ran;
    failed += ok ? 0 : 1;
  }
  if (ran == 0) {
    std::fprintf(stderr, "unknown test %s\n", argc > 1 ? argv[1] : "");
    return 2;
  }
  std::printf("%d passed, %d failed\n", ran - failed, failed);
  return failed == 0 ? 0 : 1;
}
