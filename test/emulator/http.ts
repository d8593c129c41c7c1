/**
 * HTTP plumbing of the emulator: JSON in and out the way the Scaleway SDK expects it, and the error
 * bodies the SDK maps to its error classes (@scaleway/sdk-client 1.3.3, scw/errors/error-parser).
 *
 * The SDK parses a body as JSON only when Content-Type is exactly `application/json` (no charset),
 * so every JSON answer carries exactly that. Error bodies follow what the real API sends, e.g.
 * (terraform-provider-scaleway cassettes, 2025-2026):
 *   404 {"message":"resource is not found","resource":"snapshot","resource_id":"…","type":"not_found"}
 *   412 {"help_message":"…","message":"precondition is not respected","precondition":"resource_not_usable","type":"precondition_failed"}
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue | undefined };
export type JsonObject = { [key: string]: JsonValue | undefined };

/** An answer other than 2xx: status, JSON body and extra headers. Thrown by handlers. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: JsonObject,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.message === 'string' ? body.message : `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

/** 404 → Errors.ResourceNotFoundError (needs `resource` and `resource_id`). */
export function notFound(resource: string, resourceId: string): ApiError {
  return new ApiError(404, { message: 'resource is not found', resource, resource_id: resourceId, type: 'not_found' });
}

/** 409 → Errors.TransientStateError (needs `resource`, `resource_id`, `current_state`). */
export function transientState(resource: string, resourceId: string, currentState: string): ApiError {
  return new ApiError(409, {
    message: 'resource is in a transient state',
    resource,
    resource_id: resourceId,
    current_state: currentState,
    type: 'transient_state',
  });
}

/** 412 → Errors.PreconditionFailedError (needs `precondition` and `help_message`). */
export function preconditionFailed(
  precondition: 'resource_still_in_use' | 'resource_not_usable' | 'attribute_must_be_set' | 'unknown_precondition',
  helpMessage: string,
): ApiError {
  return new ApiError(412, { help_message: helpMessage, message: 'precondition is not respected', precondition, type: 'precondition_failed' });
}

/** 400 → Errors.InvalidArgumentsError (standard form, `details[{argument_name, reason, help_message}]`). */
export function invalidArguments(argumentName: string, helpMessage: string, reason: 'required' | 'format' | 'constraint' = 'constraint'): ApiError {
  return new ApiError(400, {
    details: [{ argument_name: argumentName, reason, help_message: helpMessage }],
    message: 'invalid argument(s)',
    type: 'invalid_arguments',
  });
}

/**
 * 400 in the legacy form (Instance API, and QCOW2 refusals on import): `invalid_request_error` with
 * `fields`, which the SDK's InvalidRequestMapper turns into Errors.InvalidArgumentsError. Without
 * fields the SDK would only give a plain ScalewayError, so fields are always set.
 */
export function invalidRequest(field: string, message: string): ApiError {
  return new ApiError(400, { fields: { [field]: [message] }, message, type: 'invalid_request_error' });
}

/** 403 → Errors.QuotasExceededError (needs `details[{resource, quota, current}]`). */
export function quotasExceeded(resource: string, quota: number, current: number, projectId: string): ApiError {
  return new ApiError(403, {
    details: [{ resource, quota, current, project_id: projectId }],
    message: 'quota(s) exceeded for this resource',
    type: 'quotas_exceeded',
  });
}

/** 403 → Errors.PermissionsDeniedError (needs `details[{resource, action}]`). */
export function permissionsDenied(resource: string, action: string): ApiError {
  return new ApiError(403, { details: [{ resource, action }], message: 'insufficient permissions', type: 'permissions_denied' });
}

/** 401 → Errors.DeniedAuthenticationError (needs `method` and `reason`). */
export function deniedAuthentication(reason: 'invalid_argument' | 'not_found' | 'expired'): ApiError {
  return new ApiError(401, { message: 'authentication is denied', method: 'api_key', reason, type: 'denied_authentication' });
}

/** 429 → Errors.TooManyRequestsError (needs `help_message`), with a Retry-After header. */
export function tooManyRequests(retryAfterSeconds: number): ApiError {
  return new ApiError(
    429,
    {
      help_message: 'slow down: the emulator was told to rate-limit this request',
      limit: { quota: 10, window_seconds: 1 },
      message: 'too many requests',
      reset_seconds: retryAfterSeconds,
      type: 'too_many_requests',
    },
    { 'Retry-After': String(retryAfterSeconds) },
  );
}

/** 5xx: no SDK subclass applies, the client gets a plain ScalewayError with this status. */
export function serverError(status: number, message?: string): ApiError {
  const text = message ?? (status === 503 ? 'service unavailable' : 'internal error');
  return new ApiError(status, { message: text, type: status === 503 ? 'service_unavailable' : 'internal_error' });
}

/** `body` is any JSON-serialisable object or array. */
export function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** 204 with an empty body: the SDK returns undefined for it (the real API sends 204 on deletes). */
export function sendNoContent(res: ServerResponse): void {
  res.writeHead(204, { 'Content-Type': 'application/json' });
  res.end();
}

export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, err.body, err.headers);
}

export async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req) {
    const b = part as Buffer;
    size += b.length;
    if (size > limit) throw new ApiError(413, { message: `request body larger than ${limit} bytes`, type: 'invalid_request_error' });
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/** The JSON object of a request body ({} when empty). */
export async function readJson(req: IncomingMessage): Promise<JsonObject> {
  const raw = await readBody(req);
  if (raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ApiError(400, { message: 'the request body is not valid JSON', type: 'invalid_request_error' });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ApiError(400, { message: 'the request body must be a JSON object', type: 'invalid_request_error' });
  }
  return parsed as JsonObject;
}
