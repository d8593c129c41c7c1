/*
 * A promise whose work runs on libuv's thread pool (napi_create_async_work): the batch calls of our
 * addons, so that the main thread keeps reading and looking up while a pool thread hashes or seals.
 * A job keeps references to the JavaScript values whose memory it uses until it settles.
 *
 * Embed `job_t` as the first member of an operation's struct, set `run`, and call job_start().
 * `run` runs on a pool thread and touches no JavaScript value: it sets `value`, or `error` to a
 * static message, which rejects the promise with an Error.
 */
#ifndef SCW_BACKUP_ASYNC_JOB_H
#define SCW_BACKUP_ASYNC_JOB_H
#include <node_api.h>
#include <stdlib.h>

#define JOB_MAX_REFS 8

typedef struct job job_t;
struct job {
  void (*run)(job_t *job);
  double value;
  const char *error;
  napi_async_work work;
  napi_deferred deferred;
  napi_ref refs[JOB_MAX_REFS];
  size_t ref_count;
};

static void job_execute(napi_env env, void *data) {
  (void)env;
  job_t *job = data;
  job->run(job);
}

static void job_release(napi_env env, job_t *job) {
  for (size_t i = 0; i < job->ref_count; i++) napi_delete_reference(env, job->refs[i]);
  if (job->work) napi_delete_async_work(env, job->work);
  free(job);
}

static void job_complete(napi_env env, napi_status status, void *data) {
  job_t *job = data;
  napi_value result = NULL, message;
  if (status == napi_ok && !job->error) {
    napi_create_double(env, job->value, &result);
  } else if (napi_create_string_utf8(env, job->error ? job->error : "the job was cancelled", NAPI_AUTO_LENGTH, &message) == napi_ok) {
    napi_create_error(env, NULL, message, &result);
  }
  if (status == napi_ok && !job->error) napi_resolve_deferred(env, job->deferred, result);
  else napi_reject_deferred(env, job->deferred, result);
  job_release(env, job);
}

/* Queue `job` (malloc'ed, owned from here on), keeping `keep` alive until it settles; its promise, or NULL with an exception pending. */
static napi_value job_start(napi_env env, job_t *job, const napi_value *keep, size_t keep_count, const char *name) {
  napi_value promise, resource_name;
  job->work = NULL;
  job->ref_count = 0;
  job->error = NULL;
  job->value = 0;
  if (keep_count > JOB_MAX_REFS) {
    job_release(env, job);
    napi_throw_error(env, NULL, "a native job keeps at most 8 arguments alive");
    return NULL;
  }
  for (size_t i = 0; i < keep_count; i++) {
    if (napi_create_reference(env, keep[i], 1, &job->refs[i]) != napi_ok) {
      job_release(env, job);
      napi_throw_error(env, NULL, "could not keep the native job's arguments");
      return NULL;
    }
    job->ref_count++;
  }
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_async_work(env, NULL, resource_name, job_execute, job_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    job_release(env, job);
    napi_throw_error(env, NULL, "could not queue the native job");
    return NULL;
  }
  return promise;
}
#endif
