/*
 * Compress and seal a batch of chunks as data blobs on libuv's thread pool (docs/FORMAT.md §4):
 * sealed = nonce || AES-256-GCM(compression byte || payload) || 16-byte tag, with associated data
 * "scw-backup blob v1" || type || id. The payload is the chunk's zstd frame (RFC 8878, at the
 * store's level, content size recorded) when that saves at least 1/32, else the chunk itself.
 * Version 1 stores use a random 12-byte nonce under the store's key; version 2 stores XAES-256-GCM
 * (C2SP, https://c2sp.org/XAES-256-GCM): a random 24-byte nonce whose first 12 bytes derive the
 * blob's AES-256-GCM key, K_x = AES-256_K(M1 ^ K1) || AES-256_K(M2 ^ K1), its last 12 the GCM nonce.
 * engine/crypto/seal.ts and xaes.ts are the same in JavaScript; the tests compare the two.
 *
 * This is what the chunk workers did (engine/pipeline/chunk-worker.ts) without a JavaScript isolate
 * per thread: zstd compresses straight into the output, AES-GCM encrypts it there in place, and the
 * only allocations are one zstd and two OpenSSL contexts per pool thread, reused.
 *
 * Exports:
 *   createSealer(version: 1 | 2, key: Uint8Array(32), level: number): an opaque sealer;
 *   sealBatch(sealer, type, data, starts, lengths, ids, count, out, outLengths): a promise of the
 *     bytes written to `out`: the sealed blobs one after the other, their sizes in outLengths.
 *     Arguments that do not fit (a range outside data, `out` smaller than the worst case of every
 *     chunk stored raw) throw a TypeError or RangeError before anything is queued. The caller must
 *     leave the arrays alone until the promise settles.
 * zstd is zstd-napi's copy of the library (deps/zstd), compiled into this addon; OpenSSL is Node's.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include <uv.h>
#include <zstd.h>
#include <zstd_errors.h>
#include "async-job.h"
#include "napi-args.h"

#define KEY_LENGTH 32
#define ID_LENGTH 32
#define TAG_LENGTH 16
#define MAX_NONCE_LENGTH 24
#define MAX_CHUNK_LENGTH (1u << 30)
static const char AAD_PREFIX[] = "scw-backup blob v1";
#define AAD_PREFIX_LENGTH (sizeof AAD_PREFIX - 1)

/* One thread's contexts: taken for a job, given back after it. */
typedef struct lane {
  struct lane *next;
  ZSTD_CCtx *zstd;
  EVP_CIPHER_CTX *gcm;
  EVP_CIPHER_CTX *ecb; /* version 2: the bare block cipher under the store's key, for K_x */
} lane_t;

typedef struct {
  uv_mutex_t lock;
  lane_t *free;
  int version;
  int level;
  size_t nonce_length;
  unsigned char key[KEY_LENGTH];
  unsigned char k1[16]; /* version 2: the CMAC subkey of XAES's key derivation */
} sealer_t;

static void lane_free(lane_t *lane) {
  ZSTD_freeCCtx(lane->zstd);
  EVP_CIPHER_CTX_free(lane->gcm);
  EVP_CIPHER_CTX_free(lane->ecb);
  free(lane);
}

static lane_t *lane_new(const sealer_t *s) {
  lane_t *lane = calloc(1, sizeof *lane);
  if (!lane) return NULL;
  lane->zstd = ZSTD_createCCtx();
  lane->gcm = EVP_CIPHER_CTX_new();
  lane->ecb = s->version == 2 ? EVP_CIPHER_CTX_new() : NULL;
  int ok = lane->zstd && lane->gcm && (s->version != 2 || lane->ecb) &&
           !ZSTD_isError(ZSTD_CCtx_setParameter(lane->zstd, ZSTD_c_compressionLevel, s->level)) &&
           EVP_EncryptInit_ex(lane->gcm, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
           (s->version != 2 || (EVP_EncryptInit_ex(lane->ecb, EVP_aes_256_ecb(), NULL, s->key, NULL) == 1 &&
                                EVP_CIPHER_CTX_set_padding(lane->ecb, 0) == 1));
  if (!ok) {
    lane_free(lane);
    return NULL;
  }
  return lane;
}

static lane_t *lane_take(sealer_t *s) {
  uv_mutex_lock(&s->lock);
  lane_t *lane = s->free;
  if (lane) s->free = lane->next;
  uv_mutex_unlock(&s->lock);
  return lane ? lane : lane_new(s);
}

static void lane_give(sealer_t *s, lane_t *lane) {
  uv_mutex_lock(&s->lock);
  lane->next = s->free;
  s->free = lane;
  uv_mutex_unlock(&s->lock);
}

static void sealer_finalize(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  sealer_t *s = data;
  while (s->free) {
    lane_t *next = s->free->next;
    lane_free(s->free);
    s->free = next;
  }
  uv_mutex_destroy(&s->lock);
  OPENSSL_cleanse(s, sizeof *s);
  free(s);
}

/* XAES-256-GCM steps 3-5: K_x from the nonce's first 12 bytes (steps 1-2, K1, at createSealer). */
static int derive_xaes_key(const sealer_t *s, EVP_CIPHER_CTX *ecb, const unsigned char *nonce, unsigned char *kx) {
  unsigned char m[32];
  int n;
  for (int half = 0; half < 2; half++) {
    unsigned char *mi = m + 16 * half;
    mi[0] = 0x00, mi[1] = (unsigned char)(half + 1), mi[2] = 0x58, mi[3] = 0x00;
    memcpy(mi + 4, nonce, 12);
    for (int i = 0; i < 16; i++) mi[i] ^= s->k1[i];
  }
  int ok = EVP_EncryptUpdate(ecb, kx, &n, m, sizeof m) == 1 && n == (int)sizeof m;
  OPENSSL_cleanse(m, sizeof m);
  return ok;
}

typedef struct {
  job_t job;
  sealer_t *sealer;
  unsigned char type;
  const unsigned char *data, *ids;
  const uint32_t *starts, *lengths;
  uint32_t count;
  unsigned char *out;
  uint32_t *out_lengths;
} seal_job_t;

/* Seal chunk i at out + o; its sealed size, or 0 with job.error set. */
static size_t seal_one(seal_job_t *j, lane_t *lane, uint32_t i, unsigned char *at) {
  const sealer_t *s = j->sealer;
  const unsigned char *chunk = j->data + j->starts[i];
  size_t length = j->lengths[i];
  unsigned char *nonce = at, *body = at + s->nonce_length;
  unsigned char aad[AAD_PREFIX_LENGTH + 1 + ID_LENGTH], kx[KEY_LENGTH];
  int n;
  if (RAND_bytes(nonce, (int)s->nonce_length) != 1) {
    j->job.error = "OpenSSL's random generator failed";
    return 0;
  }
  int keyed = s->version == 2
                  ? derive_xaes_key(s, lane->ecb, nonce, kx) && EVP_EncryptInit_ex(lane->gcm, NULL, NULL, kx, nonce + 12) == 1
                  : EVP_EncryptInit_ex(lane->gcm, NULL, NULL, s->key, nonce) == 1;
  OPENSSL_cleanse(kx, sizeof kx);
  memcpy(aad, AAD_PREFIX, AAD_PREFIX_LENGTH);
  aad[AAD_PREFIX_LENGTH] = j->type;
  memcpy(aad + AAD_PREFIX_LENGTH + 1, j->ids + (size_t)i * ID_LENGTH, ID_LENGTH);
  if (!keyed || EVP_EncryptUpdate(lane->gcm, NULL, &n, aad, sizeof aad) != 1) {
    j->job.error = "OpenSSL's AES-256-GCM failed";
    return 0;
  }
  // Keep the zstd frame only when it saves at least 1/32 (FORMAT.md §4): a frame that does not fit
  // in that room is not worth it, and zstd says so with dstSize_tooSmall.
  size_t packed = ZSTD_compress2(lane->zstd, body + 1, length - (length >> 5), chunk, length);
  if (ZSTD_isError(packed) && ZSTD_getErrorCode(packed) != ZSTD_error_dstSize_tooSmall) {
    j->job.error = "zstd could not compress a chunk";
    return 0;
  }
  size_t plain;
  int ok;
  if (!ZSTD_isError(packed)) {
    body[0] = 1; /* COMPRESSION_ZSTD */
    plain = 1 + packed;
    ok = EVP_EncryptUpdate(lane->gcm, body, &n, body, (int)plain) == 1; /* in place */
  } else {
    body[0] = 0; /* COMPRESSION_NONE */
    plain = 1 + length;
    ok = EVP_EncryptUpdate(lane->gcm, body, &n, body, 1) == 1 &&
         EVP_EncryptUpdate(lane->gcm, body + 1, &n, chunk, (int)length) == 1;
  }
  ok = ok && EVP_EncryptFinal_ex(lane->gcm, body + plain, &n) == 1 && n == 0 &&
       EVP_CIPHER_CTX_ctrl(lane->gcm, EVP_CTRL_GCM_GET_TAG, TAG_LENGTH, body + plain) == 1;
  if (!ok) {
    j->job.error = "OpenSSL's AES-256-GCM failed";
    return 0;
  }
  return s->nonce_length + plain + TAG_LENGTH;
}

static void run_seal(job_t *job) {
  seal_job_t *j = (seal_job_t *)job;
  lane_t *lane = lane_take(j->sealer);
  if (!lane) {
    job->error = "could not set up zstd or OpenSSL contexts";
    return;
  }
  size_t o = 0;
  for (uint32_t i = 0; i < j->count; i++) {
    size_t sealed = seal_one(j, lane, i, j->out + o);
    if (!sealed) break;
    j->out_lengths[i] = (uint32_t)sealed;
    o += sealed;
  }
  lane_give(j->sealer, lane);
  job->value = (double)o;
}

static napi_value seal_batch(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  void *sealer, *data, *starts, *lengths, *ids, *out, *out_lengths;
  size_t data_length, starts_count, lengths_count, ids_length, out_length, out_lengths_count;
  uint32_t type, count;
  napi_valuetype kind;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 9 || napi_typeof(env, argv[0], &kind) != napi_ok || kind != napi_external ||
      napi_get_value_external(env, argv[0], &sealer) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &type) != napi_ok || type > 255 ||
      !view(env, argv[2], napi_uint8_array, &data, &data_length) ||
      !view(env, argv[3], napi_uint32_array, &starts, &starts_count) ||
      !view(env, argv[4], napi_uint32_array, &lengths, &lengths_count) ||
      !view(env, argv[5], napi_uint8_array, &ids, &ids_length) ||
      napi_get_value_uint32(env, argv[6], &count) != napi_ok ||
      !view(env, argv[7], napi_uint8_array, &out, &out_length) ||
      !view(env, argv[8], napi_uint32_array, &out_lengths, &out_lengths_count)) {
    return fail(env, 0, "expected (sealer, type: 0-255, data: Uint8Array, starts: Uint32Array, lengths: Uint32Array, ids: Uint8Array, count: number, out: Uint8Array, outLengths: Uint32Array)");
  }
  const sealer_t *s = sealer;
  const char *wrong = check_batch(data_length, starts, starts_count, lengths, lengths_count, ids_length, count);
  if (!wrong && count > out_lengths_count) wrong = "outLengths is shorter than count";
  uint64_t bound = 0;
  for (uint32_t i = 0; !wrong && i < count; i++) {
    uint32_t length = ((const uint32_t *)lengths)[i];
    // OpenSSL takes int lengths; the format's chunks are at most 8 MiB (store/config.ts).
    if (length > MAX_CHUNK_LENGTH) wrong = "a chunk is larger than 1 GiB";
    bound += s->nonce_length + 1 + length + TAG_LENGTH;
  }
  if (!wrong && bound > out_length) wrong = "out is smaller than the sealed chunks may be";
  if (wrong) return fail(env, 1, wrong);

  seal_job_t *j = malloc(sizeof *j);
  if (!j) return fail(env, 1, "out of memory");
  j->job.run = run_seal;
  j->sealer = sealer, j->type = (unsigned char)type, j->data = data, j->ids = ids;
  j->starts = starts, j->lengths = lengths, j->count = count, j->out = out, j->out_lengths = out_lengths;
  napi_value keep[] = {argv[0], argv[2], argv[3], argv[4], argv[5], argv[7], argv[8]};
  return job_start(env, &j->job, keep, 7, "scw-backup:sealBatch");
}

static napi_value create_sealer(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  void *key;
  size_t key_length;
  uint32_t version, level;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 3 || napi_get_value_uint32(env, argv[0], &version) != napi_ok ||
      !view(env, argv[1], napi_uint8_array, &key, &key_length) ||
      napi_get_value_uint32(env, argv[2], &level) != napi_ok) {
    return fail(env, 0, "expected (version: 1 | 2, key: Uint8Array, level: number)");
  }
  if (version != 1 && version != 2) return fail(env, 1, "version must be 1 or 2");
  if (key_length != KEY_LENGTH) return fail(env, 1, "the key must be 32 bytes");
  if ((int)level < ZSTD_minCLevel() || (int)level > ZSTD_maxCLevel()) return fail(env, 1, "level is outside zstd's levels");
  sealer_t *s = calloc(1, sizeof *s);
  if (!s || uv_mutex_init(&s->lock) != 0) {
    free(s);
    return fail(env, 1, "out of memory");
  }
  s->version = (int)version, s->level = (int)level, s->nonce_length = version == 2 ? MAX_NONCE_LENGTH : 12;
  memcpy(s->key, key, KEY_LENGTH);
  if (version == 2) {
    // XAES-256-GCM steps 1-2: L = AES-256_K(0^128); K1 = L << 1, xor 0x87 into the last byte when L's top bit was set.
    unsigned char zero[16] = {0}, l[16];
    int n, ok;
    EVP_CIPHER_CTX *ecb = EVP_CIPHER_CTX_new();
    ok = ecb && EVP_EncryptInit_ex(ecb, EVP_aes_256_ecb(), NULL, s->key, NULL) == 1 && EVP_CIPHER_CTX_set_padding(ecb, 0) == 1 &&
         EVP_EncryptUpdate(ecb, l, &n, zero, 16) == 1 && n == 16;
    EVP_CIPHER_CTX_free(ecb);
    for (int i = 0; i < 16; i++) s->k1[i] = (unsigned char)((l[i] << 1) | (i < 15 ? l[i + 1] >> 7 : 0));
    if (l[0] & 0x80) s->k1[15] ^= 0x87;
    OPENSSL_cleanse(l, sizeof l);
    if (!ok) {
      sealer_finalize(env, s, NULL);
      napi_throw_error(env, NULL, "OpenSSL's AES-256 failed");
      return NULL;
    }
  }
  if (napi_create_external(env, s, sealer_finalize, NULL, &result) != napi_ok) {
    sealer_finalize(env, s, NULL);
    return NULL;
  }
  return result;
}

NAPI_MODULE_INIT() {
  int ok = export_function(env, exports, "createSealer", create_sealer) && export_function(env, exports, "sealBatch", seal_batch);
  return ok ? exports : NULL;
}
