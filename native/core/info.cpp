#include "info.hpp"

#include <mutex>
#include <sstream>
#include <thread>

#include "blas.hpp"
#include "cpu.hpp"

namespace collabperf {

// OpenBLAS 0.3.21 (the one here) has no per-call or per-thread thread count: the only knob is the
// process-wide openblas_set_num_threads (openblas_set_threads_callback_function came in 0.3.27).
// So it is no longer set when the addon loads (that changed BLAS for everything else in the
// process, e.g. another addon): it is set on first use by a kernel path that calls BLAS, which
// with the default kernels is only the generic (no AVX2) ALS Gram step and the benchmark knobs.
// Our calls always come from our own team threads, one BLAS call per thread, so a multi-threaded
// BLAS there would only oversubscribe the cores.
void initBlas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

std::string blasConfig() {
  const char* c = openblas_get_config();
  return c != nullptr ? std::string(c) : std::string("OpenBLAS");
}

std::string blasDescription() {
  // The config string starts with "OpenBLAS <version>"; the core name says which kernels it picked.
  std::istringstream in(blasConfig());
  std::string name, version;
  in >> name >> version;
  std::string out = name.empty() ? std::string("OpenBLAS") : name;
  if (!version.empty()) out += " " + version;
  const char* core = openblas_get_corename();
  if (core != nullptr && *core != '\0') out += std::string(" (") + core + ")";
  return out;
}

int blasThreads() {
  // Every kernel that calls BLAS calls initBlas() first, so inside a kernel's BLAS call it is 1.
  return 1;
}

int maxThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

const char* simdLevel() { return isaName(activeIsa()); }

}  // namespace collabperf
