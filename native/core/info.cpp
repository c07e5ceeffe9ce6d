#include "info.hpp"

#include <mutex>
#include <sstream>
#include <thread>

#include "blas.hpp"
#include "cpu.hpp"

namespace collabperf {

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
  initBlas();
  return openblas_get_num_threads();
}

int maxThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

const char* simdLevel() { return isaName(activeIsa()); }

}  // namespace collabperf
