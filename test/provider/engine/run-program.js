// Runs a Pulumi program as the language host would for the engine, under the SDK's own mocks
// (pulumi.runtime.setMocks) instead of a resource monitor, and writes down every registration as the
// engine receives it: the RegisterResourceRequest's object as the SDK serialized it (secrets wrapped,
// unknowns as the unknown sentinel in a preview, `__provider` as dynamic.Resource serialized it).
// Plain Node on purpose: the closure serializer inspects functions through V8's inspector, which must
// see them in the main realm, not in jest's.
//
// PROGRAM_SPEC (JSON): { program: path of the compiled program, project, stack, preview, config
// (keys without the project prefix), secretKeys, answers: { "<type>::<name>": outputs the engine
// returns for it }, created: { "<type>": outputs a new resource of that type gets on `up` } }.
// OUT: file to write { registrations } to.
'use strict';
const { writeFileSync } = require('node:fs');
const { dirname } = require('node:path');

const spec = JSON.parse(process.env.PROGRAM_SPEC);
// The same @pulumi/pulumi the program loads (resolved from its folder).
const pulumi = require(require.resolve('@pulumi/pulumi', { paths: [dirname(spec.program)] }));

const registrations = [];

/** What the engine answers a registration with. */
function answer(args) {
  const key = `${args.type}::${args.name}`;
  if (spec.answers && spec.answers[key]) return { id: spec.answers[key].id ?? `${args.name}-id`, state: spec.answers[key].outputs };
  // A preview of a new resource: the engine returns its inputs; what only the provider computes
  // stays unknown (provider_plugin.go Create with preview and no provider preview support).
  if (spec.preview) return { id: undefined, state: args.inputs };
  return { id: `${args.name}-id`, state: { ...args.inputs, ...((spec.created || {})[args.type] || {}) } };
}

(async () => {
  await pulumi.runtime.setMocks({ newResource: answer, call: (args) => args.inputs }, spec.project, spec.stack, spec.preview);
  const monitor = pulumi.runtime.getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    const record = {
      type: req.getType(), name: req.getName(), parent: req.getParent(), custom: req.getCustom(),
      object: req.getObject() ? req.getObject().toJavaScript() : {},
      dependencies: req.getDependenciesList(), additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      deleteBeforeReplace: req.getDeletebeforereplace(), retainOnDelete: req.hasRetainondelete() ? req.getRetainondelete() : undefined,
    };
    registrations.push(record);
    return register(req, (err, res) => {
      if (res) record.urn = res.getUrn();
      cb(err, res);
    });
  };
  const prefixed = (k) => `${spec.project}:${k}`;
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(spec.config || {}).map(([k, v]) => [prefixed(k), v])),
    (spec.secretKeys || []).map(prefixed),
  );
  require(spec.program);
  // Every registration started (dynamic providers serialize asynchronously) has been answered.
  await pulumi.runtime.waitForRPCs();
  writeFileSync(process.env.OUT, JSON.stringify({ registrations }));
})().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 1;
});
