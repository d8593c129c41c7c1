/**
 * A small method + path router: patterns like `/block/v1/zones/:zone/volumes/:id`, matched whole.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The credentials the request was authenticated with, for handlers that care (IAM). */
  token: string;
}

export type Handler = (ctx: RouteContext) => Promise<void>;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, parts: split(pattern), handler });
    return this;
  }

  /** The handler and path parameters, `'method'` when the path exists under another method, or undefined. */
  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | 'method' | undefined {
    const parts = split(path);
    let otherMethod = false;
    for (const route of this.routes) {
      const params = matchParts(route.parts, parts);
      if (!params) continue;
      if (route.method === method) return { handler: route.handler, params };
      otherMethod = true;
    }
    return otherMethod ? 'method' : undefined;
  }
}

function split(path: string): string[] {
  return path.split('/').filter((p) => p.length > 0);
}

function matchParts(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p.startsWith(':')) params[p.slice(1)] = decodeURIComponent(parts[i]);
    else if (p !== parts[i]) return undefined;
  }
  return params;
}
