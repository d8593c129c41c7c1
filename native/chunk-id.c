/*
 * Chunk ids of a batch in one call: ids[32*i ..] = HMAC-SHA256(key, data[starts[i] .. +lengths[i]])
 * (docs/FORMAT.md §5; HMAC is RFC 2104, SHA-256 FIPS 180-4). The work is OpenSSL's, the same
 * library node:crypto calls (its symbols are exported by the node binary, its headers ship with
 * Node's); what this saves is the per-chunk cost of node:crypto's objects. A backup hashes one
 * 64 KiB chunk at a time: createHmac().update().digest() ran at ~1.2-1.4 GB/s per core here,
 * one call per batch at ~1.5 GB/s, the speed of SHA-256 itself (bench/README.md).
 *
 * Export: hmacSha256Ranges(key, data, starts, lengths, count, ids), all but count typed arrays
 * (starts and lengths Uint32Array). Arguments that do not fit (a range outside data, ids too
 * short) throw a TypeError or RangeError before anything is hashed.
 */
#include <node_api.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdint.h>

#define ID_LENGTH 32

static int view(napi_env env, napi_value value, napi_typedarray_type want, void **data, size_t *length) {
  bool is;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_is_typedarray(env, value, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, value, &type, length, data, &buffer, &offset) != napi_ok) return 0;
  return type == want;
}

static napi_value fail(napi_env env, int range, const char *message) {
  if (range) napi_throw_range_error(env, NULL, message);
  else napi_throw_type_error(env, NULL, message);
  return NULL;
}

static napi_value hmac_ranges(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  void *key, *data, *starts_v, *lengths_v, *ids;
  size_t key_length, data_length, starts_count, lengths_count, ids_length;
  uint32_t count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 6 || !view(env, argv[0], napi_uint8_array, &key, &key_length) ||
      !view(env, argv[1], napi_uint8_array, &data, &data_length) ||
      !view(env, argv[2], napi_uint32_array, &starts_v, &starts_count) ||
      !view(env, argv[3], napi_uint32_array, &lengths_v, &lengths_count) ||
      napi_get_value_uint32(env, argv[4], &count) != napi_ok ||
      !view(env, argv[5], napi_uint8_array, &ids, &ids_length)) {
    return fail(env, 0, "expected (key: Uint8Array, data: Uint8Array, starts: Uint32Array, lengths: Uint32Array, count: number, ids: Uint8Array)");
  }
  const uint32_t *starts = starts_v, *lengths = lengths_v;
  if (count > starts_count || count > lengths_count) return fail(env, 1, "count is larger than starts or lengths");
  if ((size_t)count * ID_LENGTH > ids_length) return fail(env, 1, "ids is shorter than 32 bytes per chunk");
  for (uint32_t i = 0; i < count; i++) {
    if ((uint64_t)starts[i] + lengths[i] > data_length) return fail(env, 1, "a chunk's range lies outside data");
  }

  EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
  EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
    OSSL_PARAM_construct_end(),
  };
  int ok = ctx != NULL && EVP_MAC_CTX_set_params(ctx, params);
  for (uint32_t i = 0; ok && i < count; i++) {
    size_t out_length;
    // Keyed afresh for every chunk (two SHA-256 blocks, the pads: nothing next to 64 KiB of data),
    // rather than relying on how a NULL key re-initialises a context.
    ok = EVP_MAC_init(ctx, key, key_length, NULL) &&
         EVP_MAC_update(ctx, (const unsigned char *)data + starts[i], lengths[i]) &&
         EVP_MAC_final(ctx, (unsigned char *)ids + (size_t)i * ID_LENGTH, &out_length, ID_LENGTH) &&
         out_length == ID_LENGTH;
  }
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  if (!ok) {
    napi_throw_error(env, NULL, "OpenSSL's HMAC-SHA256 failed");
    return NULL;
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "hmacSha256Ranges", NAPI_AUTO_LENGTH, hmac_ranges, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "hmacSha256Ranges", fn) != napi_ok) return NULL;
  return exports;
}
