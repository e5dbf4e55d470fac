import { readdir } from "node:fs/promises";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { create, createFileRegistry, setExtension } from "@bufbuild/protobuf";
import type { DescService } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  file_google_protobuf_empty,
  FileDescriptorProtoSchema,
  MethodOptionsSchema,
} from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { access, AccessRuleSchema, file_gatehouse_v1_access } from "../../gen/gatehouse/v1/access_pb.js";
import { Level } from "../../gen/gatehouse/v1/common_pb.js";

/** protoDir is the repository's proto/ folder, read by the grpc-js client. */
export const protoDir = fileURLToPath(new URL("../../proto", import.meta.url));

/** protoDepsDir holds buf/validate/validate.proto, derived by `npm run proto:deps` (our protos import it). */
export const protoDepsDir = fileURLToPath(new URL("../../proto-deps", import.meta.url));

/**
 * createProbeService builds a test-only service, `gatehouse.test.v1.ProbeService`
 * in `gatehouse/test/v1/probe.proto`, that imports the real
 * `gatehouse/v1/access.proto` and `google/protobuf/empty.proto` and carries the
 * `(gatehouse.v1.access)` option, standing in for Gatehouse services while
 * gen/gatehouse/v1 has none. It has a nested message and enum to look up.
 */
export function createProbeService(): DescService {
  const options = create(MethodOptionsSchema);
  setExtension(options, access, create(AccessRuleSchema, { minLevel: Level.ADMIN, permission: "probe.ping" }));
  const optional = FieldDescriptorProto_Label.OPTIONAL;
  const { MESSAGE, INT32 } = FieldDescriptorProto_Type;
  const proto = create(FileDescriptorProtoSchema, {
    name: "gatehouse/test/v1/probe.proto",
    package: "gatehouse.test.v1",
    syntax: "proto3",
    dependency: ["gatehouse/v1/access.proto", "google/protobuf/empty.proto"],
    messageType: [
      {
        name: "PingRequest",
        field: [{ name: "rule", number: 1, label: optional, type: MESSAGE, typeName: ".gatehouse.v1.AccessRule", jsonName: "rule" }],
        nestedType: [{ name: "Inner", field: [{ name: "n", number: 1, label: optional, type: INT32, jsonName: "n" }] }],
        enumType: [{ name: "Mode", value: [{ name: "MODE_UNSPECIFIED", number: 0 }, { name: "MODE_FAST", number: 1 }] }],
      },
    ],
    service: [
      {
        name: "ProbeService",
        method: [
          {
            name: "Ping",
            inputType: ".gatehouse.test.v1.PingRequest",
            outputType: ".google.protobuf.Empty",
            options,
          },
        ],
      },
    ],
  });
  const deps = [file_gatehouse_v1_access, file_google_protobuf_empty];
  const registry = createFileRegistry(proto, (name) => deps.find((f) => f.proto.name === name));
  const service = registry.getService("gatehouse.test.v1.ProbeService");
  if (service === undefined) {
    throw new Error("probe service did not build");
  }
  return service;
}

/**
 * loadGatehouseServices imports every gen/gatehouse/v1/*_pb.ts and returns
 * the services they export (none until the Gatehouse service protos land).
 */
export async function loadGatehouseServices(): Promise<DescService[]> {
  const dir = new URL("../../gen/gatehouse/v1/", import.meta.url);
  const names = (await readdir(dir)).filter((name) => name.endsWith("_pb.ts")).sort();
  const services: DescService[] = [];
  for (const name of names) {
    const exports = (await import(new URL(name, dir).href)) as Record<string, unknown>;
    for (const value of Object.values(exports)) {
      if (typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "service") {
        services.push(value as DescService);
      }
    }
  }
  return services;
}

/** TestServer is a Connect server on an ephemeral port. */
export interface TestServer {
  /** address is `127.0.0.1:<port>`, for grpc-js. */
  readonly address: string;
  /** close stops the server, ending open streams. */
  close(): Promise<void>;
}

/**
 * startServer serves the given routes over plaintext HTTP/2 on port 0, as
 * the real server does.
 */
export async function startServer(routes: (router: ConnectRouter) => void): Promise<TestServer> {
  const server = http2.createServer(connectNodeAdapter({ routes }));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const session of sessions) {
          session.destroy();
        }
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** loadGrpcPackage loads protos from proto/ into a grpc-js package object. */
export function loadGrpcPackage(files: string[]): grpc.GrpcObject {
  const definition = protoLoader.loadSync(files, {
    includeDirs: [protoDir, protoDepsDir],
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition);
}

/** clientConstructor picks a service client class out of a grpc-js package object by dotted name. */
export function clientConstructor(pkg: grpc.GrpcObject, serviceName: string): grpc.ServiceClientConstructor {
  let node: unknown = pkg;
  for (const part of serviceName.split(".")) {
    node = (node as Record<string, unknown>)[part];
  }
  if (typeof node !== "function") {
    throw new Error(`no client for ${serviceName}`);
  }
  return node as grpc.ServiceClientConstructor;
}
