/**
 * Messages for the Pulumi engine, filed under a resource, from inside the Node dynamic-provider
 * plugin. The plugin's own stdout and stderr reach the user only as global lines (the engine reads
 * them with an empty URN: sdk/go/common/resource/plugin/plugin.go newPlugin, runtrace), and a dynamic
 * provider's Diff cannot return a detailed reason (cmd/dynamic-provider/index.js sets only changes,
 * replaces and deleteBeforeReplace). The engine gives every plugin its address as first argument
 * (provider_plugin.go NewProvider: `[]string{host.ServerAddr()}`); its Log call takes a URN and files
 * the message under that resource (pkg/host/host_server.go Log), which is where `pulumi preview`
 * prints it. The client comes from the @pulumi/pulumi the plugin itself runs.
 */
type Severity = 'info' | 'warning';

interface Client {
  log(req: unknown, cb: (err: Error | null) => void): void;
}
interface Engine {
  client: Client;
  request(severity: Severity, urn: string, message: string): unknown;
}

let engine: Engine | null | undefined;

/** The engine this process is a plugin of, or null when it is not (the CLI, tests calling the ops). */
function connect(): Engine | null {
  if (engine !== undefined) return engine;
  const main = require.main;
  const address = process.argv[2];
  const isPlugin = main !== undefined && /cmd[\\/]dynamic-provider[\\/]index\.js$/.test(main.filename);
  if (!isPlugin || !main || !address || !/^[\w.[\]:-]+:\d+$/.test(address)) {
    engine = null;
    return engine;
  }
  const grpc = main.require('@grpc/grpc-js') as { credentials: { createInsecure(): unknown } };
  const services = main.require('../../proto/engine_grpc_pb') as { EngineClient: new (address: string, credentials: unknown) => Client };
  const messages = main.require('../../proto/engine_pb') as {
    LogRequest: new () => { setSeverity(s: number): void; setMessage(m: string): void; setUrn(u: string): void };
    LogSeverity: Record<'INFO' | 'WARNING', number>;
  };
  const client = new services.EngineClient(address, grpc.credentials.createInsecure());
  engine = {
    client,
    request(severity, urn, message) {
      const req = new messages.LogRequest();
      req.setSeverity(severity === 'warning' ? messages.LogSeverity.WARNING : messages.LogSeverity.INFO);
      req.setMessage(message);
      req.setUrn(urn);
      return req;
    },
  };
  return engine;
}

/**
 * File `message` under the resource `urn` in the engine's log. In a plugin without a URN to file it
 * under, or when the engine refuses it, the message goes to stderr instead (a global line), with why.
 * Outside a plugin (the CLI, tests calling the ops) nothing is printed: the caller has the message.
 */
export async function tellEngine(urn: string | undefined, severity: Severity, message: string): Promise<void> {
  const e = connect();
  if (!e || !urn) {
    if (e) process.stderr.write(`${message}\n`);
    return;
  }
  try {
    await new Promise<void>((resolve, reject) => e.client.log(e.request(severity, urn, message), (err) => (err ? reject(err) : resolve())));
  } catch (err) {
    process.stderr.write(`${message} (the engine's log refused it: ${err instanceof Error ? err.message : String(err)})\n`);
  }
}
