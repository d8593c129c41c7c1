/**
 * IAM API v1alpha1 (`/iam/v1alpha1/…`, global): applications, policies and their rules, API keys
 * (the secret is returned once, at creation) and permission sets. Keys created here authenticate
 * against the emulator, and what their application's policies grant is enforced per API (Block,
 * Instance, IAM): a missing permission set answers permissions_denied.
 */
import { randomBytes } from 'node:crypto';
import { nameOf, stringOr, tagsOf } from './fields';
import { deniedAuthentication, invalidArguments, notFound, permissionsDenied, readJson, sendJson, sendNoContent, type JsonObject } from './http';
import { blockDate, newId, paginate, type ApiKeyRecord, type ApplicationRecord, type PolicyRecord, type RuleRecord } from './model';
import { API_PERMISSIONS, PERMISSION_SETS } from './permission-sets';
import type { Router } from './router';
import type { EmulatorState } from './state';

const BASE = '/iam/v1alpha1';

/**
 * Check the X-Auth-Token of an API request: the emulator's own secret key may do anything; a key
 * created through IAM may do what its application's policies allow. Throws the error to answer.
 */
export function authorize(state: EmulatorState, token: string | undefined, method: string, path: string): void {
  if (!token) throw deniedAuthentication('invalid_argument');
  if (token === state.config.secretKey) return;
  const key = [...state.apiKeys.values()].find((k) => k.secretKey === token);
  if (!key) throw deniedAuthentication('not_found');
  if (key.expiresAt && key.expiresAt.getTime() < Date.now()) throw deniedAuthentication('expired');
  const api = API_PERMISSIONS.find((a) => path.startsWith(a.prefix));
  if (!api) return;
  const write = method !== 'GET' && method !== 'HEAD';
  const needed = write ? api.write : api.read;
  const granted = new Set(
    [...state.policies.values()]
      .filter((p) => p.applicationId !== null && p.applicationId === key.applicationId)
      .flatMap((p) => p.rules.flatMap((r) => r.permissionSetNames)),
  );
  if (!needed.some((n) => granted.has(n))) throw permissionsDenied(api.resource, write ? 'write' : 'read');
}

export function addIamRoutes(router: Router, state: EmulatorState): void {
  router.add('GET', `${BASE}/permission-sets`, async (ctx) => {
    const all = PERMISSION_SETS.map((p) => ({ id: newIdFor(p.name), name: p.name, scope_type: p.scopeType, description: p.description, categories: p.categories }));
    sendJson(ctx.res, 200, { permission_sets: paginate(all, ctx.query, 'page_size'), total_count: all.length });
  });

  router.add('POST', `${BASE}/applications`, async (ctx) => {
    const body = await readJson(ctx.req);
    const now = new Date();
    const app: ApplicationRecord = {
      id: newId(),
      name: nameOf(body.name, 'app'),
      description: typeof body.description === 'string' ? body.description : '',
      organizationId: stringOr(body.organization_id) ?? state.config.organizationId,
      tags: tagsOf(body.tags),
      createdAt: now,
      updatedAt: now,
    };
    state.applications.set(app.id, app);
    sendJson(ctx.res, 200, applicationJson(state, app));
  });

  router.add('GET', `${BASE}/applications`, async (ctx) => {
    const q = ctx.query;
    const list = [...state.applications.values()].filter((a) => !q.get('name') || a.name.includes(q.get('name') as string));
    sendJson(ctx.res, 200, { applications: paginate(list, q, 'page_size').map((a) => applicationJson(state, a)), total_count: list.length });
  });

  router.add('GET', `${BASE}/applications/:id`, async (ctx) => {
    sendJson(ctx.res, 200, applicationJson(state, application(state, ctx.params.id)));
  });

  router.add('DELETE', `${BASE}/applications/:id`, async (ctx) => {
    const app = application(state, ctx.params.id);
    // Its API keys go with it; policies naming it stay (the emulator's guess).
    for (const [access, k] of state.apiKeys) if (k.applicationId === app.id) state.apiKeys.delete(access);
    state.applications.delete(app.id);
    sendNoContent(ctx.res);
  });

  router.add('POST', `${BASE}/policies`, async (ctx) => {
    const body = await readJson(ctx.req);
    const applicationId = stringOr(body.application_id) ?? null;
    if (applicationId) application(state, applicationId);
    const now = new Date();
    const policy: PolicyRecord = {
      id: newId(),
      name: nameOf(body.name, 'pol'),
      description: typeof body.description === 'string' ? body.description : '',
      organizationId: stringOr(body.organization_id) ?? state.config.organizationId,
      tags: tagsOf(body.tags),
      applicationId,
      userId: stringOr(body.user_id) ?? null,
      groupId: stringOr(body.group_id) ?? null,
      noPrincipal: body.no_principal === true,
      rules: rulesOf(body.rules),
      createdAt: now,
      updatedAt: now,
    };
    state.policies.set(policy.id, policy);
    sendJson(ctx.res, 200, policyJson(policy));
  });

  router.add('GET', `${BASE}/policies`, async (ctx) => {
    const q = ctx.query;
    const list = [...state.policies.values()].filter((p) => !q.get('application_ids') || q.getAll('application_ids').includes(p.applicationId ?? ''));
    sendJson(ctx.res, 200, { policies: paginate(list, q, 'page_size').map(policyJson), total_count: list.length });
  });

  router.add('GET', `${BASE}/policies/:id`, async (ctx) => {
    sendJson(ctx.res, 200, policyJson(policyOf(state, ctx.params.id)));
  });

  router.add('DELETE', `${BASE}/policies/:id`, async (ctx) => {
    state.policies.delete(policyOf(state, ctx.params.id).id);
    sendNoContent(ctx.res);
  });

  router.add('GET', `${BASE}/rules`, async (ctx) => {
    const id = ctx.query.get('policy_id');
    if (!id) throw invalidArguments('policy_id', 'policy_id is required', 'required');
    const rules = policyOf(state, id).rules;
    sendJson(ctx.res, 200, { rules: paginate(rules, ctx.query, 'page_size').map(ruleJson), total_count: rules.length });
  });

  router.add('PUT', `${BASE}/rules`, async (ctx) => {
    const body = await readJson(ctx.req);
    if (typeof body.policy_id !== 'string') throw invalidArguments('policy_id', 'policy_id is required', 'required');
    const policy = policyOf(state, body.policy_id);
    policy.rules = rulesOf(body.rules);
    policy.updatedAt = new Date();
    sendJson(ctx.res, 200, { rules: policy.rules.map(ruleJson) });
  });

  router.add('POST', `${BASE}/api-keys`, async (ctx) => {
    const body = await readJson(ctx.req);
    const applicationId = stringOr(body.application_id) ?? null;
    if (applicationId) application(state, applicationId);
    const now = new Date();
    const key: ApiKeyRecord = {
      accessKey: `SCW${randomAlnum(17)}`,
      secretKey: newId(),
      applicationId,
      userId: stringOr(body.user_id) ?? null,
      description: typeof body.description === 'string' ? body.description : '',
      defaultProjectId: stringOr(body.default_project_id) ?? state.config.projectId,
      expiresAt: typeof body.expires_at === 'string' ? new Date(body.expires_at) : null,
      createdAt: now,
      updatedAt: now,
    };
    state.apiKeys.set(key.accessKey, key);
    sendJson(ctx.res, 200, { ...apiKeyJson(key), secret_key: key.secretKey });
  });

  router.add('GET', `${BASE}/api-keys`, async (ctx) => {
    const q = ctx.query;
    const list = [...state.apiKeys.values()].filter((k) => !q.get('application_id') || k.applicationId === q.get('application_id'));
    sendJson(ctx.res, 200, { api_keys: paginate(list, q, 'page_size').map(apiKeyJson), total_count: list.length });
  });

  router.add('GET', `${BASE}/api-keys/:access`, async (ctx) => {
    sendJson(ctx.res, 200, apiKeyJson(apiKeyOf(state, ctx.params.access)));
  });

  router.add('DELETE', `${BASE}/api-keys/:access`, async (ctx) => {
    state.apiKeys.delete(apiKeyOf(state, ctx.params.access).accessKey);
    sendNoContent(ctx.res);
  });
}

function application(state: EmulatorState, id: string): ApplicationRecord {
  const app = state.applications.get(id);
  if (!app) throw notFound('application', id);
  return app;
}

function policyOf(state: EmulatorState, id: string): PolicyRecord {
  const p = state.policies.get(id);
  if (!p) throw notFound('policy', id);
  return p;
}

function apiKeyOf(state: EmulatorState, access: string): ApiKeyRecord {
  const k = state.apiKeys.get(access);
  if (!k) throw notFound('api_key', access);
  return k;
}

function rulesOf(value: unknown): RuleRecord[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidArguments('rules', 'rules must be a list');
  return value.map((raw, i) => {
    const r = (raw ?? {}) as JsonObject;
    const names = tagsOf(r.permission_set_names);
    for (const n of names) {
      if (!PERMISSION_SETS.some((p) => p.name === n)) throw invalidArguments(`rules.${i}.permission_set_names`, `unknown permission set "${n}"`);
    }
    const projectIds = Array.isArray(r.project_ids) ? tagsOf(r.project_ids) : null;
    const organizationId = stringOr(r.organization_id) ?? null;
    if (!projectIds && !organizationId) throw invalidArguments(`rules.${i}`, 'one of project_ids or organization_id is required', 'required');
    return { id: newId(), permissionSetNames: names, condition: typeof r.condition === 'string' ? r.condition : '', projectIds, organizationId };
  });
}

function applicationJson(state: EmulatorState, a: ApplicationRecord): JsonObject {
  const nbApiKeys = [...state.apiKeys.values()].filter((k) => k.applicationId === a.id).length;
  return {
    created_at: blockDate(a.createdAt),
    deletable: true,
    description: a.description,
    editable: true,
    id: a.id,
    managed: false,
    name: a.name,
    nb_api_keys: nbApiKeys,
    organization_id: a.organizationId,
    tags: [...a.tags],
    updated_at: blockDate(a.updatedAt),
  };
}

function policyJson(p: PolicyRecord): JsonObject {
  const principal: JsonObject = p.applicationId
    ? { application_id: p.applicationId }
    : p.userId
      ? { user_id: p.userId }
      : p.groupId
        ? { group_id: p.groupId }
        : { no_principal: true };
  return {
    ...principal,
    created_at: blockDate(p.createdAt),
    deletable: true,
    description: p.description,
    editable: true,
    id: p.id,
    managed: false,
    name: p.name,
    nb_permission_sets: new Set(p.rules.flatMap((r) => r.permissionSetNames)).size,
    nb_rules: p.rules.length,
    nb_scopes: p.rules.reduce((n, r) => n + (r.projectIds ? r.projectIds.length : 1), 0),
    organization_id: p.organizationId,
    tags: [...p.tags],
    updated_at: blockDate(p.updatedAt),
  };
}

function ruleJson(r: RuleRecord): JsonObject {
  const scopeType = r.permissionSetNames.every((n) => PERMISSION_SETS.find((p) => p.name === n)?.scopeType === 'organization') && r.permissionSetNames.length > 0
    ? 'organization'
    : 'projects';
  return {
    id: r.id,
    permission_set_names: [...r.permissionSetNames],
    permission_sets_scope_type: scopeType,
    condition: r.condition,
    ...(r.projectIds ? { project_ids: [...r.projectIds] } : { organization_id: r.organizationId }),
  };
}

function apiKeyJson(k: ApiKeyRecord): JsonObject {
  return {
    access_key: k.accessKey,
    ...(k.applicationId ? { application_id: k.applicationId } : { user_id: k.userId }),
    created_at: blockDate(k.createdAt),
    creation_ip: '127.0.0.1',
    default_project_id: k.defaultProjectId,
    deletable: true,
    description: k.description,
    editable: true,
    expires_at: blockDate(k.expiresAt),
    managed: false,
    updated_at: blockDate(k.updatedAt),
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomAlnum(n: number): string {
  return [...randomBytes(n)].map((b) => ALNUM[b % ALNUM.length]).join('');
}

/** Stable ids for permission sets (derived from the name, so listings agree across calls). */
function newIdFor(name: string): string {
  const hex = Buffer.from(name.padEnd(16, '_').slice(0, 16)).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
