# node-gyp build of the native addon: the same sources and flags as CMakeLists.txt (keep in step).
#   node-gyp rebuild            -> build/Release/collabperf.node
{
  "targets": [
    {
      "target_name": "collabperf",
      "sources": [
        "native/binding/addon.cpp",
        "native/core/als.cpp",
        "native/core/als_small.cpp",
        "native/core/sgd.cpp",
        "native/core/loss.cpp",
        "native/core/info.cpp",
        "native/core/threads.cpp",
        "native/core/fit_job.cpp",
        "native/core/ials.cpp",
        "native/core/recommend.cpp",
        "native/core/neighbours.cpp",
        "native/core/cpu.cpp",
        "native/core/kernels_generic.cpp",
        "native/core/kernels_avx2.cpp",
        "native/core/kernels_avx512.cpp"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/core"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "COLLABPERF_VERSION=\"<!(node -p \"require('./package.json').version\")\""
      ],
      # Parity with the TypeScript backend: no FMA contraction, no reassociation, no -march=native.
      "cflags!": ["-fno-exceptions", "-O0", "-O1", "-O2", "-Os"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++1y", "-std=gnu++20", "-O0", "-O1", "-O2", "-Os"],
      "cflags": ["-O3", "-ffp-contract=off", "-fno-fast-math", "-pthread", "-fvisibility=hidden"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-ffp-contract=off", "-fno-fast-math", "-pthread", "-fvisibility=hidden"],
      "ldflags": ["-pthread"],
      "libraries": [
        "<!@(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)"
      ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CFLAGS": ["-ffp-contract=off", "-fno-fast-math"]
      }
    }
  ]
}
