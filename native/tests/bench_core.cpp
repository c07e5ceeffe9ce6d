// bench_core: times ALS sweeps, SGD epochs and the loss on a synthetic problem (low rank + biases +
// noise, skewed popularity). Not a test. Examples:
//   bench_core --preset large --threads 2 --k 32 --als 3 --sgd 3
//   bench_core --rows 20000 --cols 5000 --nnz 2000000 --als 5 --lapack --blas-gram --isa avx2
//   bench_core --preset large --k 64 --als 0 --sgd 0 --ials 3   # implicit CG-3, float64 and float32
//   bench_core --preset large --als 3 --sgd 0 --als-float32     # explicit ALS on float32 storage too
//   bench_core --preset large --als 0 --sgd 3 --det 0 --sgd-float32  # parallel SGD on float32 storage too
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "als.hpp"
#include "cpu.hpp"
#include "ials.hpp"
#include "info.hpp"
#include "loss.hpp"
#include "sgd.hpp"
#include "synth.hpp"

using namespace collabperf;
using namespace collabperf::testing;

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/** CPU seconds (user + system) of this process so far: with other load on the machine, CPU time / threads
 *  is a steadier estimate than wall time. */
static double cpuSeconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static double peakRssMiB() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

int main(int argc, char** argv) {
  SynthSpec spec;
  spec.nRows = 20000;
  spec.nCols = 5000;
  spec.targetNnz = 2000000;
  spec.trueRank = 10;
  spec.noise = 0.5;
  spec.minPerRow = 20;
  int prefetch = 32;
  int k = 32, threads = 2, ialsSweeps = 0, alsSweeps = 3, sgdEpochs = 3, deterministicEpochs = -1, blocks = 0;
  bool ialsOnly32 = false, alsFloat32 = false, sgdFloat32 = false, shuffleRows = false, noAlignedCopy = false, lapack = false, blasGram = false, noRowShuffle = false, weighted = false, profile = true;
  double lr = 0.005, lambda = 0.05;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--preset") {
      const std::string p = next();
      if (p == "large") {  // the size of MovieLens 20M
        spec.nRows = 138493;
        spec.nCols = 26744;
        spec.targetNnz = 19600000;
      } else if (p == "medium") {
        spec.nRows = 50000;
        spec.nCols = 10000;
        spec.targetNnz = 5000000;
      }
    } else if (a == "--rows") spec.nRows = std::atoi(next());
    else if (a == "--cols") spec.nCols = std::atoi(next());
    else if (a == "--nnz") spec.targetNnz = std::atoll(next());
    else if (a == "--k") k = std::atoi(next());
    else if (a == "--threads") threads = std::atoi(next());
    else if (a == "--als") alsSweeps = std::atoi(next());
    else if (a == "--ials") ialsSweeps = std::atoi(next());
    else if (a == "--ials32-only") ialsOnly32 = true;
    else if (a == "--als-float32") alsFloat32 = true;
    else if (a == "--sgd") sgdEpochs = std::atoi(next());
    else if (a == "--sgd-float32") sgdFloat32 = true;
    else if (a == "--det") deterministicEpochs = std::atoi(next());
    else if (a == "--blocks") blocks = std::atoi(next());
    else if (a == "--lr") lr = std::atof(next());
    else if (a == "--lambda") lambda = std::atof(next());
    else if (a == "--prefetch") prefetch = std::atoi(next());
    else if (a == "--lapack") lapack = true;
    else if (a == "--no-aligned-copy") noAlignedCopy = true;
    else if (a == "--blas-gram") blasGram = true;
    else if (a == "--no-rotate") noRowShuffle = true;
    else if (a == "--weighted") weighted = true;
    else if (a == "--shuffle-rows") shuffleRows = true;
    else if (a == "--no-profile") profile = false;
    else if (a == "--isa") {
      const std::string v = next();
      setIsaLimit(v == "generic" ? Isa::Generic : v == "avx2" ? Isa::Avx2 : Isa::Avx512);
    } else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (deterministicEpochs < 0) deterministicEpochs = sgdEpochs > 0 ? 1 : 0;
  spec.weighted = weighted;

  std::printf("%s, kernels %s, %d threads, k = %d\n", blasDescription().c_str(), simdLevel(), threads, k);
  double t0 = now();
  Problem P = makeProblem(spec);
  std::printf("problem %d x %d, nnz %lld (generated in %.1f s), peak RSS %.0f MiB\n", P.nRows, P.nCols,
              static_cast<long long>(P.nnz()), now() - t0, peakRssMiB());

  Options o;
  o.useBias = true;
  o.lambda = lambda;
  o.lambdaBias = lambda;
  o.threads = threads;
  o.learningRate = lr;
  o.lrDecay = 0.0;
  o.seed = 7;

  auto report = [&](Model& M, const char* what, int it, double secs, double cpu) {
    LossSums s;
    const double tl = now();
    trainLoss(P.view(), M.view(), o, s);
    std::printf("  %s %d: %.3f s wall, %.3f s CPU (%.3f s per thread)   train rmse %.5f   (loss %.3f s)\n", what, it,
                secs, cpu, cpu / threads, std::sqrt(s.sse / s.wsum), now() - tl);
  };

  auto printProfile = [](const AlsProfile& prof) {
    std::printf("    rows %.3f s, cols %.3f s; thread time: gather %.3f s, Gram %.3f s (%.1f GFLOP/s per thread), "
                "solve %.3f s\n",
                prof.rowPassSeconds, prof.colPassSeconds, prof.gatherSeconds, prof.gramSeconds,
                prof.gramFlops / prof.gramSeconds * 1e-9, prof.solveSeconds);
    std::printf("    row pass: gather %.3f, Gram %.3f, solve %.3f; column pass: gather %.3f, Gram %.3f, solve %.3f\n",
                prof.passGather[0], prof.passGram[0], prof.passSolve[0], prof.passGather[1], prof.passGram[1],
                prof.passSolve[1]);
  };

  if (alsSweeps > 0) {
    Model M(P.nRows, P.nCols, k);
    M.mu = P.mean;
    M.init(1, 0.1);
    AlsTuning tuning;
    tuning.useLapack = lapack;
    tuning.useBlasGram = blasGram;
    tuning.prefetch = prefetch;
    tuning.alignedCopy = !noAlignedCopy;
    std::printf("ALS%s%s:\n", lapack ? " (LAPACK dposv)" : "", blasGram ? " (BLAS Gram)" : "");
    double best = 1e300, bestCpu = 1e300;
    for (int it = 0; it < alsSweeps; ++it) {
      AlsProfile prof;
      t0 = now();
      const double c0 = cpuSeconds();
      alsSweep(P.view(), M.view(), o, &tuning, profile ? &prof : nullptr);
      const double secs = now() - t0;
      const double cpu = cpuSeconds() - c0;
      best = std::min(best, secs);
      bestCpu = std::min(bestCpu, cpu);
      report(M, "sweep", it, secs, cpu);
      if (profile) printProfile(prof);
    }
    std::printf("ALS best sweep %.3f s wall, %.3f s CPU\n", best, bestCpu);
    if (alsFloat32) {
      // The same sweeps on float32 storage (the float Gram), from the same start rounded to float32.
      Model S(P.nRows, P.nCols, k);
      S.mu = P.mean;
      S.init(1, 0.1);
      Model32 S32(S);
      const ModelView mv = S32.view();
      double best32 = 1e300, bestCpu32 = 1e300;
      for (int it = 0; it < alsSweeps; ++it) {
        t0 = now();
        const double c0 = cpuSeconds();
        AlsProfile prof;
        alsSweep(P.view(), mv, o, &tuning, profile ? &prof : nullptr);
        const double secs = now() - t0, cpu = cpuSeconds() - c0;
        best32 = std::min(best32, secs);
        bestCpu32 = std::min(bestCpu32, cpu);
        LossSums ls;
        trainLoss(P.view(), mv, o, ls);
        std::printf("  float32 sweep %d: %.3f s wall, %.3f s CPU   train rmse %.5f\n", it, secs, cpu, std::sqrt(ls.sse / ls.wsum));
        if (profile) printProfile(prof);
      }
      std::printf("ALS float32 best sweep %.3f s wall, %.3f s CPU (%.2fx the float64 CPU)\n", best32, bestCpu32, bestCpu32 / bestCpu);
    }
  }

  if (ialsSweeps > 0) {
    // Implicit CG-3 on counts 1 + floor(|rating|) (every entry observed), alpha 2, the same start in
    // float64 and float32 storage: the float32 sweeps run the float-arithmetic CG.
    Problem I = P;
    for (double& v : I.value) v = 1.0 + std::floor(std::fabs(v));
    for (double& v : I.cscValue) v = 1.0 + std::floor(std::fabs(v));
    Options io = o;
    io.useBias = false;
    io.implicit.alpha = 2.0;
    io.implicit.cg = true;
    io.implicit.cgSteps = 3;
    Confidences conf;
    implicitConfidences(I.view(), io.implicit, conf);
    Model M(I.nRows, I.nCols, k);
    M.init(1, 0.1);
    Model32 M32(M);
    for (int f32 = ialsOnly32 ? 1 : 0; f32 < 2; ++f32) {
      const ModelView mv = f32 ? M32.view() : M.view();
      double best = 1e300, bestCpu = 1e300;
      for (int it = 0; it < ialsSweeps; ++it) {
        t0 = now();
        const double c0 = cpuSeconds();
        ialsSweep(I.view(), mv, io, conf);
        best = std::min(best, now() - t0);
        bestCpu = std::min(bestCpu, cpuSeconds() - c0);
      }
      LossSums s;
      implicitLoss(I.view(), mv, io, conf, s);
      std::printf("implicit CG-3 %s: best sweep %.3f s wall, %.3f s CPU, objective %.6g\n", f32 ? "float32" : "float64", best,
                  bestCpu, s.objective);
    }
  }

  for (int mode = 0; mode < 2; ++mode) {
    const int epochs = mode == 0 ? deterministicEpochs : sgdEpochs;
    if (epochs <= 0) continue;
    Model M(P.nRows, P.nCols, k);
    M.mu = P.mean;
    M.init(1, 0.1);
    o.sgdMode = mode == 0 ? SgdMode::Deterministic : SgdMode::Parallel;
    SgdTuning tuning;
    tuning.blocksPerDim = blocks;
    tuning.rotateRows = !noRowShuffle;
    tuning.shuffleRows = shuffleRows;
    SgdProfile sp;
    if (mode == 1 && profile) tuning.profile = &sp;
    // --sgd-float32: each parallel epoch is followed by the same epoch on float32 storage (the float
    // kernel), from the same start rounded to float32, so the two alternate under the same load.
    const bool with32 = mode == 1 && sgdFloat32;
    Model32 M32(with32 ? M : Model(0, 0, k));
    std::printf("SGD %s%s:\n", mode == 0 ? "deterministic" : "parallel", with32 ? " (float64, then float32 each epoch)" : "");
    double best = 1e300, bestCpu = 1e300, best32 = 1e300, bestCpu32 = 1e300;
    for (int ep = 0; ep < epochs; ++ep) {
      t0 = now();
      const double c0 = cpuSeconds();
      sgdEpoch(P.view(), M.view(), o, ep, &tuning);
      const double secs = now() - t0;
      const double cpu = cpuSeconds() - c0;
      best = std::min(best, secs);
      bestCpu = std::min(bestCpu, cpu);
      report(M, "epoch", ep, secs, cpu);
      if (tuning.profile) {
        std::printf("    setup %.3f s, thread time: updates %.3f s, waiting %.3f s\n", sp.setupSeconds, sp.processSeconds,
                    sp.waitSeconds);
        sp = SgdProfile();
      }
      if (!with32) continue;
      const ModelView mv = M32.view();
      t0 = now();
      const double c32 = cpuSeconds();
      sgdEpoch(P.view(), mv, o, ep, &tuning);
      const double secs32 = now() - t0;
      const double cpu32 = cpuSeconds() - c32;
      best32 = std::min(best32, secs32);
      bestCpu32 = std::min(bestCpu32, cpu32);
      LossSums ls;
      trainLoss(P.view(), mv, o, ls);
      std::printf("  float32 epoch %d: %.3f s wall, %.3f s CPU (%.3f s per thread)   train rmse %.5f\n", ep, secs32, cpu32,
                  cpu32 / threads, std::sqrt(ls.sse / ls.wsum));
      if (tuning.profile) {
        std::printf("    setup %.3f s, thread time: updates %.3f s, waiting %.3f s\n", sp.setupSeconds, sp.processSeconds,
                    sp.waitSeconds);
        sp = SgdProfile();
      }
    }
    std::printf("SGD %s best epoch %.3f s wall, %.3f s CPU\n", mode == 0 ? "deterministic" : "parallel", best, bestCpu);
    if (with32) {
      LossSums l64, l32;
      trainLoss(P.view(), M.view(), o, l64);
      trainLoss(P.view(), M32.view(), o, l32);
      std::printf("SGD parallel float32 best epoch %.3f s wall, %.3f s CPU (%.2fx the float64 wall, %.2fx its CPU); "
                  "train rmse float64 %.5f, float32 %.5f\n",
                  best32, bestCpu32, best32 / best, bestCpu32 / bestCpu, std::sqrt(l64.sse / l64.wsum),
                  std::sqrt(l32.sse / l32.wsum));
    }
  }
  std::printf("peak RSS %.0f MiB\n", peakRssMiB());
  return 0;
}
