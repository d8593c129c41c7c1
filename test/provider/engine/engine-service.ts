/**
 * The engine's side of the gRPC conversation a provider plugin may start: the `Engine` service
 * (proto/pulumi/engine.proto) whose address the engine gives every plugin as its first argument.
 * The real one (pkg/host/host_server.go `Log`) files a message under the URN it names, which is
 * how `pulumi preview` shows it beside that resource; this one records them per URN.
 */
import * as grpc from '@grpc/grpc-js';

// The generated services and messages of the same @pulumi/pulumi the plugin runs.
const engineGrpc = require('@pulumi/pulumi/proto/engine_grpc_pb') as { EngineService: grpc.ServiceDefinition };
const emptyProto = require('google-protobuf/google/protobuf/empty_pb') as { Empty: new () => unknown };

export interface EngineLog {
  severity: 'debug' | 'info' | 'warning' | 'error';
  urn: string;
  message: string;
}

const SEVERITIES = ['debug', 'info', 'warning', 'error'] as const;

interface LogRequest { getSeverity(): number; getMessage(): string; getUrn(): string }
type Unary<Req> = (call: { request: Req }, callback: grpc.sendUnaryData<unknown>) => void;

export class EngineService {
  readonly logs: EngineLog[] = [];
  private constructor(private readonly server: grpc.Server, readonly address: string) {}

  static async start(): Promise<EngineService> {
    const server = new grpc.Server();
    let service: EngineService | undefined;
    const log: Unary<LogRequest> = (call, callback) => {
      const r = call.request;
      service?.logs.push({ severity: SEVERITIES[r.getSeverity()] ?? 'error', urn: r.getUrn(), message: r.getMessage() });
      callback(null, new emptyProto.Empty());
    };
    const unimplemented: Unary<unknown> = (_call, callback) => callback({ code: grpc.status.UNIMPLEMENTED, details: 'not in the test engine' });
    server.addService(engineGrpc.EngineService, {
      log, getRootResource: unimplemented, setRootResource: unimplemented, startDebugging: unimplemented,
      requirePulumiVersion: unimplemented,
    } as unknown as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    service = new EngineService(server, `127.0.0.1:${port}`);
    return service;
  }

  /** Messages filed under `urn`. */
  about(urn: string): EngineLog[] {
    return this.logs.filter((l) => l.urn === urn);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }
}
