/*
 * Argon2id (RFC 9106, version 0x13) for the store's key files, with the lanes of each slice
 * computed on threads of their own and the memory returned to the system when it is done.
 *
 * Why native: hash-wasm's WebAssembly runs the 4 lanes one after the other, ~0.25 s for the
 * default key (t = 3, m = 64 MiB, p = 4) on our 2-core machines, paid by every command that
 * opens a store (here ~0.08 s on 2 threads); and a WebAssembly memory never shrinks, so its 64 MiB
 * stayed in the process until a full garbage collection (engine/crypto/kdf.ts). Here the memory is
 * one malloc'ed area, freed before the promise settles: glibc maps an allocation over 32 MiB (its
 * largest mmap threshold) on its own and unmaps it on free.
 *
 * Export: argon2idAsync(password, salt, secret, associatedData, time, memoryKiB, parallelism, tag):
 * the first four and tag Uint8Arrays (secret and associatedData may be empty), the tag filled with
 * tag.length bytes (4 .. 1024). Returns a promise, computed off the main thread; the caller must
 * leave the arrays alone until it settles. Parameters RFC 9106 §3.1 forbids (m < 8p KiB, p or t
 * out of range) throw a RangeError. The store's own limits (kdf.ts) are checked before this runs.
 */
#include <string.h>
#include <uv.h>
#include "async-job.h"
#include "napi-args.h"

/* ---- BLAKE2b (RFC 7693), the hash H of RFC 9106 §3.2 ---- */

static const uint64_t BLAKE2B_IV[8] = {
  0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
  0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

/* RFC 7693 §2.7: message word schedule; rounds 10 and 11 reuse rows 0 and 1. */
static const uint8_t SIGMA[10][16] = {
  {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
  {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
  {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
  {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
  {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
  {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
  {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
  {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
  {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
  {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};

typedef struct {
  uint64_t h[8], t;
  uint8_t buffer[128];
  size_t buffered, out_length;
} blake2b_t;

static inline uint64_t rotr64(uint64_t x, unsigned n) { return (x >> n) | (x << (64 - n)); }

static inline uint64_t load64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static inline void store64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline void store32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

#define B2B_G(a, b, c, d, x, y)     \
  do {                              \
    a = a + b + (x);                \
    d = rotr64(d ^ a, 32);          \
    c = c + d;                      \
    b = rotr64(b ^ c, 24);          \
    a = a + b + (y);                \
    d = rotr64(d ^ a, 16);          \
    c = c + d;                      \
    b = rotr64(b ^ c, 63);          \
  } while (0)

/* RFC 7693 §3.2, function F. Messages here are far below 2^64 bytes, so the counter's high word is 0. */
static void blake2b_compress(blake2b_t *s, const uint8_t block[128], int last) {
  uint64_t m[16], v[16];
  for (int i = 0; i < 16; i++) m[i] = load64(block + 8 * i);
  for (int i = 0; i < 8; i++) v[i] = s->h[i], v[i + 8] = BLAKE2B_IV[i];
  v[12] ^= s->t;
  if (last) v[14] = ~v[14];
  for (int r = 0; r < 12; r++) {
    const uint8_t *k = SIGMA[r % 10];
    B2B_G(v[0], v[4], v[8], v[12], m[k[0]], m[k[1]]);
    B2B_G(v[1], v[5], v[9], v[13], m[k[2]], m[k[3]]);
    B2B_G(v[2], v[6], v[10], v[14], m[k[4]], m[k[5]]);
    B2B_G(v[3], v[7], v[11], v[15], m[k[6]], m[k[7]]);
    B2B_G(v[0], v[5], v[10], v[15], m[k[8]], m[k[9]]);
    B2B_G(v[1], v[6], v[11], v[12], m[k[10]], m[k[11]]);
    B2B_G(v[2], v[7], v[8], v[13], m[k[12]], m[k[13]]);
    B2B_G(v[3], v[4], v[9], v[14], m[k[14]], m[k[15]]);
  }
  for (int i = 0; i < 8; i++) s->h[i] ^= v[i] ^ v[i + 8];
}

/* Unkeyed BLAKE2b with an `out_length`-byte digest (1 .. 64): RFC 7693 §2.5's parameter block. */
static void blake2b_init(blake2b_t *s, size_t out_length) {
  memcpy(s->h, BLAKE2B_IV, sizeof s->h);
  s->h[0] ^= 0x01010000ULL ^ out_length;
  s->t = 0;
  s->buffered = 0;
  s->out_length = out_length;
}

static void blake2b_update(blake2b_t *s, const uint8_t *data, size_t length) {
  while (length > 0) {
    // The last block is compressed by final(), with its flag: compress a full buffer only when more follows.
    if (s->buffered == 128) {
      s->t += 128;
      blake2b_compress(s, s->buffer, 0);
      s->buffered = 0;
    }
    size_t take = 128 - s->buffered;
    if (take > length) take = length;
    memcpy(s->buffer + s->buffered, data, take);
    s->buffered += take, data += take, length -= take;
  }
}

static void blake2b_final(blake2b_t *s, uint8_t *out) {
  uint8_t digest[64];
  s->t += s->buffered;
  memset(s->buffer + s->buffered, 0, 128 - s->buffered);
  blake2b_compress(s, s->buffer, 1);
  for (int i = 0; i < 8; i++) store64(digest + 8 * i, s->h[i]);
  memcpy(out, digest, s->out_length);
}

static void blake2b_update32(blake2b_t *s, uint32_t value) {
  uint8_t le[4];
  store32(le, value);
  blake2b_update(s, le, 4);
}

/* RFC 9106 §3.3, H'^T(prefix || suffix): the variable-length hash; `out_length` 1 .. 2^32-1. */
static void hash_long(uint8_t *out, size_t out_length, const uint8_t *prefix, size_t prefix_length,
                      const uint8_t *suffix, size_t suffix_length) {
  blake2b_t s;
  blake2b_init(&s, out_length <= 64 ? out_length : 64);
  blake2b_update32(&s, (uint32_t)out_length);
  blake2b_update(&s, prefix, prefix_length);
  blake2b_update(&s, suffix, suffix_length);
  if (out_length <= 64) {
    blake2b_final(&s, out);
    return;
  }
  // r = ceil(T/32) - 2 64-byte hashes V1..Vr, of which the first 32 bytes of each are kept, then
  // V_{r+1} of T - 32r bytes, whole.
  uint8_t v[64];
  blake2b_final(&s, v);
  size_t r = (out_length + 31) / 32 - 2;
  for (size_t i = 1; i < r; i++) {
    memcpy(out, v, 32);
    out += 32;
    blake2b_init(&s, 64);
    blake2b_update(&s, v, 64);
    blake2b_final(&s, v);
  }
  memcpy(out, v, 32);
  out += 32;
  blake2b_init(&s, out_length - 32 * r);
  blake2b_update(&s, v, 64);
  blake2b_final(&s, out);
}

/* ---- Argon2id (RFC 9106 §3) ---- */

#define BLOCK_WORDS 128 /* 1024-byte blocks of 64-bit little-endian words */
#define SYNC_POINTS 4   /* slices per pass */
#define ADDRESSES_PER_BLOCK 128
#define ARGON2_VERSION 0x13
#define ARGON2ID 2

typedef struct { uint64_t v[BLOCK_WORDS]; } block_t;

/* RFC 9106 §3.6: the multiplication-hardened G of BLAKE2b's round, GB. */
static inline uint64_t fblamka(uint64_t x, uint64_t y) {
  return x + y + 2 * (uint64_t)(uint32_t)x * (uint32_t)y;
}

#define GB(a, b, c, d)          \
  do {                          \
    a = fblamka(a, b);          \
    d = rotr64(d ^ a, 32);      \
    c = fblamka(c, d);          \
    b = rotr64(b ^ c, 24);      \
    a = fblamka(a, b);          \
    d = rotr64(d ^ a, 16);      \
    c = fblamka(c, d);          \
    b = rotr64(b ^ c, 63);      \
  } while (0)

/* RFC 9106 §3.6, permutation P on sixteen 64-bit words (v0 .. v15 of the RFC). */
#define PERMUTE(v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15) \
  do {                                                                                   \
    GB(v0, v4, v8, v12);                                                                 \
    GB(v1, v5, v9, v13);                                                                 \
    GB(v2, v6, v10, v14);                                                                \
    GB(v3, v7, v11, v15);                                                                \
    GB(v0, v5, v10, v15);                                                                \
    GB(v1, v6, v11, v12);                                                                \
    GB(v2, v7, v8, v13);                                                                 \
    GB(v3, v4, v9, v14);                                                                 \
  } while (0)

/*
 * RFC 9106 §3.5, next = G(x, y), XORed into next's old value when `xor` (passes after the first,
 * version 0x13). R = x ^ y is seen as an 8x8 matrix of 16-byte registers: P on each row, then on
 * each column, and the result XORed with R.
 */
static void fill_block(const block_t *x, const block_t *y, block_t *next, int xor) {
  block_t r, out;
  for (int i = 0; i < BLOCK_WORDS; i++) r.v[i] = x->v[i] ^ y->v[i];
  for (int i = 0; i < BLOCK_WORDS; i++) out.v[i] = xor ? r.v[i] ^ next->v[i] : r.v[i];
  uint64_t *q = r.v;
  for (int i = 0; i < 8; i++) {
    uint64_t *w = q + 16 * i;
    PERMUTE(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9], w[10], w[11], w[12], w[13], w[14], w[15]);
  }
  for (int i = 0; i < 8; i++) {
    uint64_t *w = q + 2 * i;
    PERMUTE(w[0], w[1], w[16], w[17], w[32], w[33], w[48], w[49], w[64], w[65], w[80], w[81], w[96], w[97], w[112], w[113]);
  }
  for (int i = 0; i < BLOCK_WORDS; i++) next->v[i] = out.v[i] ^ r.v[i];
}

typedef struct {
  block_t *memory;
  uint32_t passes, lanes, lane_length, segment_length, memory_blocks;
} instance_t;

/* RFC 9106 §3.4.1.2: the column within its lane of the block that J1 points to. */
static uint32_t reference_index(const instance_t *in, uint32_t pass, uint32_t slice, uint32_t index,
                                uint32_t j1, int same_lane) {
  uint64_t area;
  if (pass == 0) {
    // First pass: only the slices before this one, and this segment up to the previous block.
    if (slice == 0) area = index - 1;
    else if (same_lane) area = (uint64_t)slice * in->segment_length + index - 1;
    else area = (uint64_t)slice * in->segment_length - (index == 0 ? 1 : 0);
  } else {
    // Later passes: every segment but this slice's, and this segment up to the previous block.
    if (same_lane) area = in->lane_length - in->segment_length + index - 1;
    else area = in->lane_length - in->segment_length - (index == 0 ? 1 : 0);
  }
  uint64_t x = ((uint64_t)j1 * j1) >> 32;
  uint64_t relative = area - 1 - ((area * x) >> 32);
  uint64_t start = (pass != 0 && slice != SYNC_POINTS - 1) ? (uint64_t)(slice + 1) * in->segment_length : 0;
  return (uint32_t)((start + relative) % in->lane_length);
}

/* The next 128 (J1, J2) pairs of data-independent addressing (RFC 9106 §3.4.1.2): G(0, G(0, Z || counter)). */
static void next_addresses(block_t *addresses, block_t *input, const block_t *zero) {
  input->v[6]++;
  fill_block(zero, input, addresses, 0);
  fill_block(zero, addresses, addresses, 0);
}

/* One segment: the blocks of `lane` in `slice` of `pass`. Touches only that segment's blocks. */
static void fill_segment(const instance_t *in, uint32_t pass, uint32_t lane, uint32_t slice) {
  // Argon2id: data-independent addresses in the first half of the first pass, then data-dependent.
  int independent = pass == 0 && slice < SYNC_POINTS / 2;
  block_t zero, input, addresses;
  if (independent) {
    memset(&zero, 0, sizeof zero);
    memset(&input, 0, sizeof input);
    input.v[0] = pass, input.v[1] = lane, input.v[2] = slice, input.v[3] = in->memory_blocks;
    input.v[4] = in->passes, input.v[5] = ARGON2ID;
  }
  uint32_t start = 0;
  if (pass == 0 && slice == 0) {
    start = 2; // blocks 0 and 1 come from H0
    if (independent) next_addresses(&addresses, &input, &zero);
  }
  block_t *lane_base = in->memory + (size_t)lane * in->lane_length;
  for (uint32_t i = start; i < in->segment_length; i++) {
    uint32_t column = slice * in->segment_length + i;
    uint32_t previous = column == 0 ? in->lane_length - 1 : column - 1;
    uint64_t pseudo_random;
    if (independent) {
      if (i % ADDRESSES_PER_BLOCK == 0) next_addresses(&addresses, &input, &zero);
      pseudo_random = addresses.v[i % ADDRESSES_PER_BLOCK];
    } else {
      pseudo_random = lane_base[previous].v[0];
    }
    uint32_t reference_lane = (uint32_t)((pseudo_random >> 32) % in->lanes);
    if (pass == 0 && slice == 0) reference_lane = lane; // nothing else is filled yet
    uint32_t reference = reference_index(in, pass, slice, i, (uint32_t)pseudo_random, reference_lane == lane);
    const block_t *ref_block = in->memory + (size_t)reference_lane * in->lane_length + reference;
    fill_block(&lane_base[previous], ref_block, &lane_base[column], pass != 0);
  }
}

typedef struct {
  const instance_t *in;
  uint32_t pass, slice, first_lane, lane_step;
} slice_share_t;

static void fill_lanes(void *arg) {
  const slice_share_t *share = arg;
  for (uint32_t lane = share->first_lane; lane < share->in->lanes; lane += share->lane_step) {
    fill_segment(share->in, share->pass, lane, share->slice);
  }
}

#define MAX_THREADS 16

/*
 * The passes, slice by slice. A slice's segments read only blocks of earlier slices (and their own),
 * so the lanes of a slice are independent: up to min(p, cores) threads share them, this one included,
 * and all are joined at the slice's end (RFC 9106 §3.4's synchronisation points).
 */
static void fill_memory(const instance_t *in) {
  unsigned threads = uv_available_parallelism();
  if (threads > in->lanes) threads = in->lanes;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  if (threads < 1) threads = 1;
  for (uint32_t pass = 0; pass < in->passes; pass++) {
    for (uint32_t slice = 0; slice < SYNC_POINTS; slice++) {
      slice_share_t shares[MAX_THREADS];
      uv_thread_t ids[MAX_THREADS];
      int started[MAX_THREADS] = {0};
      for (unsigned k = 0; k < threads; k++) shares[k] = (slice_share_t){in, pass, slice, k, threads};
      // A thread that cannot be started leaves its lanes to this one: slower, never wrong.
      for (unsigned k = 1; k < threads; k++) started[k] = uv_thread_create(&ids[k], fill_lanes, &shares[k]) == 0;
      fill_lanes(&shares[0]);
      for (unsigned k = 1; k < threads; k++) {
        if (started[k]) uv_thread_join(&ids[k]);
        else fill_lanes(&shares[k]);
      }
    }
  }
}

static void block_from_bytes(block_t *b, const uint8_t *bytes) {
  for (int i = 0; i < BLOCK_WORDS; i++) b->v[i] = load64(bytes + 8 * i);
}

static void wipe(void *p, size_t n) {
  volatile uint8_t *v = p;
  while (n--) *v++ = 0;
}

typedef struct {
  job_t job;
  const uint8_t *password, *salt, *secret, *associated;
  size_t password_length, salt_length, secret_length, associated_length;
  uint32_t time, memory_kib, parallelism;
  uint8_t *tag;
  size_t tag_length;
} argon2_job_t;

/* RFC 9106 §3.2, H0: the 64-byte hash of the parameters and inputs. */
static void initial_hash(const argon2_job_t *a, uint8_t h0[64]) {
  blake2b_t s;
  blake2b_init(&s, 64);
  blake2b_update32(&s, a->parallelism);
  blake2b_update32(&s, (uint32_t)a->tag_length);
  blake2b_update32(&s, a->memory_kib);
  blake2b_update32(&s, a->time);
  blake2b_update32(&s, ARGON2_VERSION);
  blake2b_update32(&s, ARGON2ID);
  blake2b_update32(&s, (uint32_t)a->password_length);
  blake2b_update(&s, a->password, a->password_length);
  blake2b_update32(&s, (uint32_t)a->salt_length);
  blake2b_update(&s, a->salt, a->salt_length);
  blake2b_update32(&s, (uint32_t)a->secret_length);
  blake2b_update(&s, a->secret, a->secret_length);
  blake2b_update32(&s, (uint32_t)a->associated_length);
  blake2b_update(&s, a->associated, a->associated_length);
  blake2b_final(&s, h0);
  wipe(&s, sizeof s);
}

static void argon2id_run(job_t *job) {
  argon2_job_t *a = (argon2_job_t *)job;
  instance_t in;
  // RFC 9106 §3.2: m' = 4p * floor(m / 4p) blocks, q = m'/p columns per lane, in 4 segments.
  in.lanes = a->parallelism;
  in.passes = a->time;
  in.segment_length = a->memory_kib / (SYNC_POINTS * in.lanes);
  in.lane_length = in.segment_length * SYNC_POINTS;
  in.memory_blocks = in.lane_length * in.lanes;
  in.memory = malloc((size_t)in.memory_blocks * sizeof(block_t));
  if (!in.memory) {
    job->error = "could not allocate the Argon2 memory";
    return;
  }
  uint8_t h0[64], bytes[1024], suffix[8];
  initial_hash(a, h0);
  for (uint32_t lane = 0; lane < in.lanes; lane++) {
    for (uint32_t column = 0; column < 2; column++) {
      // B[i][0] and B[i][1] = H'^1024(H0 || LE32(column) || LE32(lane))
      store32(suffix, column);
      store32(suffix + 4, lane);
      hash_long(bytes, sizeof bytes, h0, sizeof h0, suffix, sizeof suffix);
      block_from_bytes(&in.memory[(size_t)lane * in.lane_length + column], bytes);
    }
  }
  fill_memory(&in);
  // C = XOR of every lane's last block; tag = H'^T(C).
  block_t last = in.memory[in.lane_length - 1];
  for (uint32_t lane = 1; lane < in.lanes; lane++) {
    const block_t *b = &in.memory[(size_t)lane * in.lane_length + in.lane_length - 1];
    for (int i = 0; i < BLOCK_WORDS; i++) last.v[i] ^= b->v[i];
  }
  for (int i = 0; i < BLOCK_WORDS; i++) store64(bytes + 8 * i, last.v[i]);
  hash_long(a->tag, a->tag_length, bytes, sizeof bytes, NULL, 0);
  // The default's 64 MiB go back to the system, which zeroes pages before it hands them out again
  // (a smaller area may stay in this process's heap); what stays on this stack is wiped.
  free(in.memory);
  wipe(h0, sizeof h0);
  wipe(bytes, sizeof bytes);
  wipe(&last, sizeof last);
}

static napi_value argon2id_async(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  void *password, *salt, *secret, *associated, *tag;
  size_t password_length, salt_length, secret_length, associated_length, tag_length;
  uint32_t time, memory_kib, parallelism;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 8 || !view(env, argv[0], napi_uint8_array, &password, &password_length) ||
      !view(env, argv[1], napi_uint8_array, &salt, &salt_length) ||
      !view(env, argv[2], napi_uint8_array, &secret, &secret_length) ||
      !view(env, argv[3], napi_uint8_array, &associated, &associated_length) ||
      napi_get_value_uint32(env, argv[4], &time) != napi_ok ||
      napi_get_value_uint32(env, argv[5], &memory_kib) != napi_ok ||
      napi_get_value_uint32(env, argv[6], &parallelism) != napi_ok ||
      !view(env, argv[7], napi_uint8_array, &tag, &tag_length)) {
    return fail(env, 0, "expected (password, salt, secret, associatedData: Uint8Array, time, memoryKiB, parallelism: number, tag: Uint8Array)");
  }
  // RFC 9106 §3.1's ranges, narrowed where this code relies on it: p <= 2^24-1, t >= 1,
  // 8p <= m <= 2^32-1 KiB, T >= 4, inputs shorter than 2^32 bytes; a tag of at most 1024 bytes here.
  if (parallelism < 1 || parallelism > 0xFFFFFF) return fail(env, 1, "parallelism must be 1 .. 2^24-1");
  if (time < 1) return fail(env, 1, "time must be at least 1");
  if (memory_kib < 8 * (uint64_t)parallelism) return fail(env, 1, "memoryKiB must be at least 8 * parallelism");
  if (tag_length < 4 || tag_length > 1024) return fail(env, 1, "the tag must be 4 .. 1024 bytes");
  if (password_length > UINT32_MAX || salt_length > UINT32_MAX || secret_length > UINT32_MAX || associated_length > UINT32_MAX) {
    return fail(env, 1, "inputs must be shorter than 2^32 bytes");
  }
  argon2_job_t *a = malloc(sizeof *a);
  if (!a) return fail(env, 0, "out of memory");
  a->job.run = argon2id_run;
  a->password = password, a->password_length = password_length;
  a->salt = salt, a->salt_length = salt_length;
  a->secret = secret, a->secret_length = secret_length;
  a->associated = associated, a->associated_length = associated_length;
  a->time = time, a->memory_kib = memory_kib, a->parallelism = parallelism;
  a->tag = tag, a->tag_length = tag_length;
  napi_value keep[5] = {argv[0], argv[1], argv[2], argv[3], argv[7]};
  return job_start(env, &a->job, keep, 5, "scw-backup:argon2id");
}

NAPI_MODULE_INIT() {
  return export_function(env, exports, "argon2idAsync", argon2id_async) ? exports : NULL;
}
