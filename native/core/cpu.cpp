#include "cpu.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace collabperf {

namespace {

Isa detectCpu() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // libgcc's checks include the OS support for the AVX / AVX-512 register state (XCR0).
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2"))
    return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
  return Isa::Generic;
}

Isa envLimit() {
  const char* e = std::getenv("COLLABPERF_ISA");
  if (e == nullptr) return Isa::Avx512;
  if (std::strcmp(e, "generic") == 0) return Isa::Generic;
  if (std::strcmp(e, "avx2") == 0) return Isa::Avx2;
  return Isa::Avx512;
}

std::atomic<int> g_limit{-1};

}  // namespace

Isa activeIsa() {
  static const Isa cpu = detectCpu();
  static const Isa env = envLimit();
  int lim = g_limit.load(std::memory_order_relaxed);
  Isa best = cpu;
  if (static_cast<int>(env) < static_cast<int>(best)) best = env;
  if (lim >= 0 && lim < static_cast<int>(best)) best = static_cast<Isa>(lim);
  return best;
}

void setIsaLimit(Isa limit) { g_limit.store(static_cast<int>(limit), std::memory_order_relaxed); }

const char* isaName(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "generic";
  }
}

}  // namespace collabperf
