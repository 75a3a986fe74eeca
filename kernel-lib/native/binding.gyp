{
  "targets": [
    {
      "target_name": "nativeblas",
      "sources": ["nativeblas.cc", "dnnl-gemm.cc", "attention.cc", "field-output.cc", "adaln.cc"],
      "cflags": ["-O3", "-pthread"],
      "cflags_cc": ["-O3", "-std=c++17", "-pthread", "-fno-math-errno", "-fno-trapping-math"],
      "ldflags": ["-pthread"],
      "libraries": ["-ldl", "-lpthread"]
    }
  ]
}
