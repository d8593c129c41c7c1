/*
 * Where a file's data is: lseek(2) with SEEK_DATA and SEEK_HOLE (Linux >= 3.1; see the lseek(2)
 * manual page, "Seeking file data and holes"). Node's fs has no lseek, and reading the holes of a
 * sparse raw disk image costs as much kernel time as reading its data (the kernel zero-fills the
 * buffer): a 4 GiB image with 1.5 GiB allocated is read ~2.7x faster when the holes are skipped.
 *
 * Exports seekData(fd, offset) and seekHole(fd, offset): the new offset, or -1 when lseek fails
 * with ENXIO (no data, or no hole, at or after offset). Other failures throw an Error with the
 * errno number in `errno` (EINVAL: the file system does not support these whence values).
 */
#define _FILE_OFFSET_BITS 64
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#if !defined(SEEK_DATA) || !defined(SEEK_HOLE)
#define NO_SEEK_DATA 1
#endif

static napi_value fail(napi_env env, int err) {
  napi_value message, error, code;
  if (napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &message) != napi_ok) return NULL;
  if (napi_create_error(env, NULL, message, &error) != napi_ok) return NULL;
  if (napi_create_int32(env, err, &code) == napi_ok) napi_set_named_property(env, error, "errno", code);
  napi_throw(env, error);
  return NULL;
}

static napi_value seek(napi_env env, napi_callback_info info, int whence) {
  size_t argc = 2;
  napi_value argv[2], result;
  int32_t fd;
  int64_t offset;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int64(env, argv[1], &offset) != napi_ok || fd < 0 || offset < 0) {
    napi_throw_type_error(env, NULL, "expected (fd, offset): two non-negative integers");
    return NULL;
  }
#ifdef NO_SEEK_DATA
  (void)whence;
  return fail(env, EINVAL);
#else
  off_t at = lseek(fd, (off_t)offset, whence);
  if (at < 0) {
    if (errno != ENXIO) return fail(env, errno);
    at = -1;
  }
  if (napi_create_int64(env, (int64_t)at, &result) != napi_ok) return NULL;
  return result;
#endif
}

#ifdef NO_SEEK_DATA
#define SEEK_DATA 0
#define SEEK_HOLE 0
#endif

static napi_value seek_data(napi_env env, napi_callback_info info) { return seek(env, info, SEEK_DATA); }
static napi_value seek_hole(napi_env env, napi_callback_info info) { return seek(env, info, SEEK_HOLE); }

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"seekData", NULL, seek_data, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seekHole", NULL, seek_hole, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, 2, props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
