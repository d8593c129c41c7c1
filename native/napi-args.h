/* Shared by our N-API addons: argument checks (typed-array views, thrown TypeError/RangeError) and exports. */
#ifndef SCW_BACKUP_NAPI_ARGS_H
#define SCW_BACKUP_NAPI_ARGS_H
#include <node_api.h>
#include <stdint.h>

/* The data and element count of `value` when it is a typed array of type `want`; 0 otherwise. */
static inline int view(napi_env env, napi_value value, napi_typedarray_type want, void **data, size_t *length) {
  bool is;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_is_typedarray(env, value, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, value, &type, length, data, &buffer, &offset) != napi_ok) return 0;
  return type == want;
}

static inline napi_value fail(napi_env env, int range, const char *message) {
  if (range) napi_throw_range_error(env, NULL, message);
  else napi_throw_type_error(env, NULL, message);
  return NULL;
}

/*
 * Batch calls: `count` chunks whose ranges are starts[i] .. +lengths[i] of data, with a 32-byte id
 * each in ids. What is wrong with them, in this order, or NULL.
 */
static inline const char *check_batch(size_t data_length, const uint32_t *starts, size_t starts_count, const uint32_t *lengths,
                                      size_t lengths_count, size_t ids_length, uint32_t count) {
  if (count > starts_count || count > lengths_count) return "count is larger than starts or lengths";
  if ((size_t)count * 32 > ids_length) return "ids is shorter than 32 bytes per chunk";
  for (uint32_t i = 0; i < count; i++) {
    if ((uint64_t)starts[i] + lengths[i] > data_length) return "a chunk's range lies outside data";
  }
  return NULL;
}

/* exports[name] = a function calling `callback`; 0 when N-API refused. */
static inline int export_function(napi_env env, napi_value exports, const char *name, napi_callback callback) {
  napi_value fn;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, NULL, &fn) == napi_ok &&
         napi_set_named_property(env, exports, name, fn) == napi_ok;
}
#endif
