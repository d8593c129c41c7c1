/**
 * Reading request fields: names, tags, sizes, nested objects, with errors in the style of the API
 * that asked (standard `invalid_arguments` for Block/IAM, legacy `invalid_request_error` for Instance).
 */
import { invalidArguments, invalidRequest, type ApiError, type JsonObject } from './http';
import { newId } from './model';
import type { ErrorStyle } from './state';

export function badField(style: ErrorStyle, field: string, message: string, reason: 'required' | 'format' | 'constraint' = 'constraint'): ApiError {
  return style === 'standard' ? invalidArguments(field, message, reason) : invalidRequest(field, message);
}

/** Sizes are bytes; the emulator insists on positive multiples of 512 (QCOW2 virtual sizes are sector counts). */
export function sizeOf(value: unknown, field: string, style: ErrorStyle = 'standard'): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0 || value % 512 !== 0) {
    throw badField(style, field, `${field} must be a positive number of bytes, a multiple of 512`);
  }
  return value;
}

export function asObject(value: unknown): JsonObject | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

export function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The given name, or a random one like the SDK's (`vol-1a2b3c4d`). */
export function nameOf(value: unknown, prefix: string): string {
  return typeof value === 'string' && value.length > 0 ? value : `${prefix}-${newId().slice(0, 8)}`;
}

export function tagsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string') : [];
}
