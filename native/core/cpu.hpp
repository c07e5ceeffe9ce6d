// Runtime choice of the instruction set used by the kernels that do not need bit parity with the
// TypeScript backend (ALS Gram/Cholesky, parallel SGD). The deterministic SGD and the prediction
// formula are plain C++ compiled with -ffp-contract=off for every ISA.
#pragma once

namespace collabperf {

enum class Isa { Generic = 0, Avx2 = 1, Avx512 = 2 };

/** The best ISA this CPU supports (cached), lowered by setIsaLimit() or env COLLABPERF_ISA=generic|avx2|avx512. */
Isa activeIsa();

/** Caps the ISA (tests and benchmarks compare paths); the CPU's own limit still applies. */
void setIsaLimit(Isa limit);

const char* isaName(Isa isa);

}  // namespace collabperf
