{
  # The optional MPI module (DIST.md), apart from the main addon so that its builds and prebuilds never
  # depend on MPI. Built by `npm run build:dist` (node native/dist/build.js), and at install time when
  # mpicc is found. Compile and link flags come from Open MPI's wrapper compiler.
  "targets": [
    {
      "target_name": "ndgrad_dist",
      "sources": ["dist.cc", "comm.cc"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O2", "-fvisibility=hidden", "<!@(mpicc --showme:compile)"],
      "defines": ["NAPI_VERSION=8", "OMPI_SKIP_MPICXX"],
      "libraries": ["<!@(mpicc --showme:link)", "-ldl"]
    }
  ]
}
