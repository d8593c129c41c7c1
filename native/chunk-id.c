/*
 * Chunk ids of a batch in one call: ids[32*i ..] = HMAC-SHA256(key, data[starts[i] .. +lengths[i]])
 * (docs/FORMAT.md §5; HMAC is RFC 2104, SHA-256 FIPS 180-4). The work is OpenSSL's, the same
 * library node:crypto calls (its symbols are exported by the node binary, its headers ship with
 * Node's); what this saves is the per-chunk cost of node:crypto's objects. A backup hashes one
 * 64 KiB chunk at a time: createHmac().update().digest() ran at ~1.2-1.4 GB/s per core here,
 * one call per batch at ~1.5 GB/s, the speed of SHA-256 itself (bench/README.md).
 *
 * Exports: hmacSha256Ranges(key, data, starts, lengths, count, ids), all but count typed arrays
 * (starts and lengths Uint32Array), and hmacSha256RangesAsync with the same arguments, which
 * hashes on libuv's thread pool and returns a promise (the caller must leave the arrays alone until
 * it settles). Arguments that do not fit (a range outside data, ids too short) throw a TypeError or
 * RangeError before anything is hashed.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include "async-job.h"
#include "napi-args.h"

#define ID_LENGTH 32

typedef struct {
  job_t job;
  const uint8_t *key, *data;
  size_t key_length;
  const uint32_t *starts, *lengths;
  uint32_t count;
  uint8_t *ids;
} hash_job_t;

/* Returns 1, or 0 when OpenSSL failed. Safe on any thread (a context per call). */
static int hash(const hash_job_t *h) {
  EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
  EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
    OSSL_PARAM_construct_end(),
  };
  int ok = ctx != NULL && EVP_MAC_CTX_set_params(ctx, params);
  for (uint32_t i = 0; ok && i < h->count; i++) {
    size_t out_length;
    // Keyed afresh for every chunk (two SHA-256 blocks, the pads: nothing next to 64 KiB of data),
    // rather than relying on how a NULL key re-initialises a context.
    ok = EVP_MAC_init(ctx, h->key, h->key_length, NULL) &&
         EVP_MAC_update(ctx, h->data + h->starts[i], h->lengths[i]) &&
         EVP_MAC_final(ctx, h->ids + (size_t)i * ID_LENGTH, &out_length, ID_LENGTH) &&
         out_length == ID_LENGTH;
  }
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  return ok;
}

/* Read and check the six arguments into `h`; 0 with an exception pending when they do not fit. */
static int parse(napi_env env, napi_callback_info info, hash_job_t *h, napi_value *argv) {
  size_t argc = 6;
  void *key, *data, *starts, *lengths, *ids;
  size_t key_length, data_length, starts_count, lengths_count, ids_length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc != 6 || !view(env, argv[0], napi_uint8_array, &key, &key_length) ||
      !view(env, argv[1], napi_uint8_array, &data, &data_length) ||
      !view(env, argv[2], napi_uint32_array, &starts, &starts_count) ||
      !view(env, argv[3], napi_uint32_array, &lengths, &lengths_count) ||
      napi_get_value_uint32(env, argv[4], &h->count) != napi_ok ||
      !view(env, argv[5], napi_uint8_array, &ids, &ids_length)) {
    fail(env, 0, "expected (key: Uint8Array, data: Uint8Array, starts: Uint32Array, lengths: Uint32Array, count: number, ids: Uint8Array)");
    return 0;
  }
  h->key = key, h->key_length = key_length, h->data = data, h->starts = starts, h->lengths = lengths, h->ids = ids;
  const char *wrong = check_batch(data_length, h->starts, starts_count, h->lengths, lengths_count, ids_length, h->count);
  if (wrong) fail(env, 1, wrong);
  return wrong == NULL;
}

static napi_value hmac_ranges(napi_env env, napi_callback_info info) {
  hash_job_t h;
  napi_value argv[6];
  if (parse(env, info, &h, argv) && !hash(&h)) napi_throw_error(env, NULL, "OpenSSL's HMAC-SHA256 failed");
  return NULL;
}

static void run_hash(job_t *job) {
  if (!hash((hash_job_t *)job)) job->error = "OpenSSL's HMAC-SHA256 failed";
}

static napi_value hmac_ranges_async(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  hash_job_t *h = malloc(sizeof *h);
  if (!h) return fail(env, 1, "out of memory");
  if (!parse(env, info, h, argv)) {
    free(h);
    return NULL;
  }
  h->job.run = run_hash;
  // Nothing is copied: the key, the data, the ranges and the ids stay alive until the job settles.
  napi_value keep[] = {argv[0], argv[1], argv[2], argv[3], argv[5]};
  return job_start(env, &h->job, keep, 5, "scw-backup:hmacSha256Ranges");
}

NAPI_MODULE_INIT() {
  int ok = export_function(env, exports, "hmacSha256Ranges", hmac_ranges) &&
           export_function(env, exports, "hmacSha256RangesAsync", hmac_ranges_async);
  return ok ? exports : NULL;
}
