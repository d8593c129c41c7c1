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
    }
  ]
}
