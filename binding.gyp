{
  # The shipping build (prebuildify and node-gyp-build's fallback drive node-gyp). Sources come
  # from native/sources.json, the same list CMakeLists.txt reads.
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
    "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-fno-math-errno", "-fPIC", "-fvisibility=hidden"],
    "cflags": ["-O3", "-fno-math-errno", "-fPIC"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "GCC_ENABLE_CPP_RTTI": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "MACOSX_DEPLOYMENT_TARGET": "11.0"
    },
    "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] } }
  },
  "targets": [
    {
      "target_name": "ndgrad",
      "sources": ["<!@(node native/sources.js core)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "variables": { "ndgrad_glibc_compat": "<!(node native/glibc-compat.js enabled <(target_arch))" },
      "conditions": [
        # Linux glibc: static libstdc++ and old symbol versions, so the binary loads on glibc 2.28
        # (native/src/compat/glibc_compat.cc says why and how).
        ["OS=='linux' and ndgrad_glibc_compat==1", {
          "defines": ["NDGRAD_GLIBC_COMPAT"],
          "ldflags": ["<!@(node native/glibc-compat.js ldflags <(target_arch))"]
        }],
        ["target_arch=='x64'", {
          "dependencies": ["ndgrad_avx2", "ndgrad_avx512", "ndgrad_avx512bf16"],
          "defines": ["NDGRAD_HAVE_AVX2", "NDGRAD_HAVE_AVX512"]
        }],
        ["target_arch=='arm64'", {
          "dependencies": ["ndgrad_neon"],
          "defines": ["NDGRAD_HAVE_NEON"]
        }]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "ndgrad_avx2",
          "type": "static_library",
          "sources": ["<!@(node native/sources.js x64_avx2)"],
          "cflags_cc": ["-mavx2", "-mfma"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx2", "-mfma"] },
          "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX2"] } }
        },
        {
          "target_name": "ndgrad_avx512",
          "type": "static_library",
          "sources": ["<!@(node native/sources.js x64_avx512)"],
          "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mfma"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mfma"] },
          "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX512"] } }
        },
        {
          "target_name": "ndgrad_avx512bf16",
          "type": "static_library",
          "sources": ["<!@(node native/sources.js x64_avx512bf16)"],
          "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512bf16"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512bf16"] },
          "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX512"] } }
        }
      ]
    }],
    ["target_arch=='arm64'", {
      "targets": [
        {
          "target_name": "ndgrad_neon",
          "type": "static_library",
          "sources": ["<!@(node native/sources.js arm64_neon)"]
        }
      ]
    }]
  ]
}
