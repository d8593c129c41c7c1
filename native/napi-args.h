/* Argument checks shared by our N-API addons: typed-array views and thrown TypeError/RangeError. */
#ifndef SCW_BACKUP_NAPI_ARGS_H
#define SCW_BACKUP_NAPI_ARGS_H
#include <node_api.h>
#include <stdint.h>

/* The data and element count of `value` when it is a typed array of type `want`; 0 otherwise. */
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

/* Batch calls: `count` chunks whose ranges are starts[i] .. +lengths[i]. */
static const char *check_count(size_t starts_count, size_t lengths_count, uint32_t count) {
  return count > starts_count || count > lengths_count ? "count is larger than starts or lengths" : NULL;
}

static const char *check_ranges(size_t data_length, const uint32_t *starts, const uint32_t *lengths, uint32_t count) {
  for (uint32_t i = 0; i < count; i++) {
    if ((uint64_t)starts[i] + lengths[i] > data_length) return "a chunk's range lies outside data";
  }
  return NULL;
}
#endif
