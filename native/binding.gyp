{
  "targets": [
    {
      "target_name": "sparse",
      "sources": ["sparse.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "chunk_id",
      "sources": ["chunk-id.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "argon2",
      "sources": ["argon2.c"],
      "cflags": ["-O3", "-Wall", "-Wextra"]
    },
    {
      "target_name": "seal",
      "sources": ["seal.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "dependencies": ["<!(node -p \"require('path').join(require('path').dirname(require.resolve('zstd-napi/package.json')), 'deps', 'zstd.gyp')\"):libzstd"]
    }
  ]
}
