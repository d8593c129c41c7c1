{
  "targets": [
    {
      "target_name": "sparse",
      "sources": ["sparse.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
