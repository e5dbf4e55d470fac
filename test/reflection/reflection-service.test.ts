import { fromBinary, getExtension } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { access } from "../../gen/gatehouse/v1/access_pb.js";
import { Level } from "../../gen/gatehouse/v1/common_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { createHealthImpl } from "../../src/reflection/health-service.js";
import { createHealthStatusSource } from "../../src/reflection/health-status.js";
import { registerReflection } from "../../src/reflection/reflection-service.js";
import {
  clientConstructor,
  createProbeService,
  loadGatehouseServices,
  loadGrpcPackage,
  startServer,
} from "./harness.js";
import type { TestServer } from "./harness.js";

/** ReflectionResponse is a response as @grpc/proto-loader decodes it (camelCase, oneofs named). */
interface ReflectionResponse {
  validHost: string;
  originalRequest: Record<string, unknown> | null;
  messageResponse: "fileDescriptorResponse" | "allExtensionNumbersResponse" | "listServicesResponse" | "errorResponse";
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  allExtensionNumbersResponse?: { baseTypeName: string; extensionNumber: number[] };
  listServicesResponse?: { service: { name: string }[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

const NOT_FOUND = 5;
const GATEHOUSE_FILES = ["gatehouse/v1/access.proto", "gatehouse/v1/common.proto"];
const WKT_FILES = ["google/protobuf/descriptor.proto", "google/protobuf/duration.proto", "google/protobuf/timestamp.proto"];

/** gatehouseServices are the real services in gen/gatehouse/v1, served beside the probe. */
const gatehouseServices = await loadGatehouseServices();

let server: TestServer;
let pkg: grpc.GrpcObject;
const clients: grpc.Client[] = [];
const reflectionClients = new Map<string, grpc.Client>();

/** reflectionClient returns the one grpc-js reflection client of a version. */
function reflectionClient(version: string): grpc.Client {
  let client = reflectionClients.get(version);
  if (client === undefined) {
    const Client = clientConstructor(pkg, `grpc.reflection.${version}.ServerReflection`);
    client = new Client(server.address, grpc.credentials.createInsecure());
    reflectionClients.set(version, client);
    clients.push(client);
  }
  return client;
}

beforeAll(async () => {
  const probe = createProbeService();
  server = await startServer((router) => {
    registerReflection(router, [probe, ...gatehouseServices]);
    router.service(Health, createHealthImpl(createHealthStatusSource({ serving: true, subscribe: () => () => {} }, [])));
  });
  pkg = loadGrpcPackage([
    "grpc/reflection/v1/reflection.proto",
    "grpc/reflection/v1alpha/reflection.proto",
    "grpc/health/v1/health.proto",
  ]);
});

afterAll(async () => {
  for (const client of clients) {
    client.close();
  }
  await server.close();
});

/** reflect sends the requests on one ServerReflectionInfo stream and collects every response. */
function reflect(version: string, requests: object[]): Promise<ReflectionResponse[]> {
  const client = reflectionClient(version);
  return new Promise((resolve, reject) => {
    const call = (client as unknown as { serverReflectionInfo(): grpc.ClientDuplexStream<object, ReflectionResponse> })
      .serverReflectionInfo();
    const responses: ReflectionResponse[] = [];
    call.on("data", (response: ReflectionResponse) => responses.push(response));
    call.on("error", reject);
    call.on("end", () => resolve(responses));
    for (const request of requests) {
      call.write(request);
    }
    call.end();
  });
}

/** reflectOne asks one question and returns its answer. */
async function reflectOne(version: string, request: object): Promise<ReflectionResponse> {
  const responses = await reflect(version, [request]);
  expect(responses).toHaveLength(1);
  return responses[0]!;
}

/** decodeFiles decodes a file_descriptor_response with @bufbuild/protobuf. */
function decodeFiles(response: ReflectionResponse): FileDescriptorProto[] {
  expect(response.messageResponse).toBe("fileDescriptorResponse");
  return response.fileDescriptorResponse!.fileDescriptorProto.map((bytes) =>
    fromBinary(FileDescriptorProtoSchema, new Uint8Array(bytes)),
  );
}

describe.each(["v1", "v1alpha"])("grpc.reflection.%s.ServerReflection", (version) => {
  describe("list_services", () => {
    it("lists the given services, health and both reflection services", async () => {
      const response = await reflectOne(version, { host: "gatehouse", listServices: "" });
      expect(response.validHost).toBe("gatehouse");
      expect(response.originalRequest).toMatchObject({ listServices: "" });
      expect(response.listServicesResponse!.service.map((s) => s.name)).toEqual([
        "gatehouse.test.v1.ProbeService",
        ...gatehouseServices.map((s) => s.typeName),
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]);
    });
  });

  describe("file_containing_symbol", () => {
    it("returns a service's file first, with its transitive dependencies", async () => {
      const files = decodeFiles(await reflectOne(version, { fileContainingSymbol: "gatehouse.test.v1.ProbeService" }));
      expect(files[0]!.name).toBe("gatehouse/test/v1/probe.proto");
      expect(files[0]!.dependency).toEqual(["gatehouse/v1/access.proto", "google/protobuf/empty.proto"]);
      expect(files.map((f) => f.name).sort()).toEqual(
        ["gatehouse/test/v1/probe.proto", "google/protobuf/empty.proto", ...GATEHOUSE_FILES, ...WKT_FILES].sort(),
      );
    });

    it(
      "serves the file of every Gatehouse service, with access.proto among its dependencies",
      async () => {
        expect(gatehouseServices.length).toBe(12);
        for (const service of gatehouseServices) {
          const files = decodeFiles(await reflectOne(version, { fileContainingSymbol: service.typeName }));
          expect(files[0]!.name).toBe(service.file.proto.name);
          expect(files[0]!.service.map((s) => s.name)).toContain(service.name);
          expect(files.map((f) => f.name)).toEqual(expect.arrayContaining([...GATEHOUSE_FILES, ...WKT_FILES]));
          for (const method of service.methods) {
            const methodFiles = decodeFiles(await reflectOne(version, { fileContainingSymbol: method.input.typeName }));
            expect(methodFiles[0]!.name).toBe(method.input.file.proto.name);
          }
        }
      },
    );

    it("keeps the (gatehouse.v1.access) method option in the served file", async () => {
      const [probe] = decodeFiles(await reflectOne(version, { fileContainingSymbol: "gatehouse.test.v1.ProbeService" }));
      const options = probe!.service[0]!.method[0]!.options!;
      expect(getExtension(options, access)).toMatchObject({ minLevel: Level.ADMIN, permission: "probe.ping" });
    });

    it("returns the file of a method's input message with its dependencies", async () => {
      const files = decodeFiles(await reflectOne(version, { fileContainingSymbol: "gatehouse.v1.AccessRule" }));
      expect(files[0]!.name).toBe("gatehouse/v1/access.proto");
      expect(files[0]!.messageType.map((m) => m.name)).toContain("AccessRule");
      expect(files.map((f) => f.name).sort()).toEqual([...GATEHOUSE_FILES, ...WKT_FILES].sort());
    });

    it("serves a well-known file alone", async () => {
      const files = decodeFiles(await reflectOne(version, { fileContainingSymbol: "google.protobuf.Empty" }));
      expect(files.map((f) => f.name)).toEqual(["google/protobuf/empty.proto"]);
    });

    it.each([
      ["a method", "gatehouse.test.v1.ProbeService.Ping", "gatehouse/test/v1/probe.proto"],
      ["a nested message", "gatehouse.test.v1.PingRequest.Inner", "gatehouse/test/v1/probe.proto"],
      ["a nested enum", "gatehouse.test.v1.PingRequest.Mode", "gatehouse/test/v1/probe.proto"],
      ["a field", "gatehouse.test.v1.PingRequest.rule", "gatehouse/test/v1/probe.proto"],
      ["an enum", "gatehouse.v1.Level", "gatehouse/v1/common.proto"],
      ["an enum value", "gatehouse.v1.LEVEL_ADMIN", "gatehouse/v1/common.proto"],
      ["an extension", "gatehouse.v1.access", "gatehouse/v1/access.proto"],
      ["the health service", "grpc.health.v1.Health", "grpc/health/v1/health.proto"],
      ["a reflection message", `grpc.reflection.${version}.ServerReflectionRequest`, `grpc/reflection/${version}/reflection.proto`],
    ])("finds the file of %s", async (_kind, symbol, filename) => {
      const files = decodeFiles(await reflectOne(version, { fileContainingSymbol: symbol }));
      expect(files[0]!.name).toBe(filename);
    });

    it("answers NOT_FOUND for an unknown symbol and keeps the stream open", async () => {
      const responses = await reflect(version, [
        { fileContainingSymbol: "gatehouse.v1.NoSuchThing" },
        { fileContainingSymbol: "gatehouse.v1.AccessRule" },
      ]);
      expect(responses).toHaveLength(2);
      expect(responses[0]!.messageResponse).toBe("errorResponse");
      expect(responses[0]!.errorResponse!.errorCode).toBe(NOT_FOUND);
      expect(decodeFiles(responses[1]!)[0]!.name).toBe("gatehouse/v1/access.proto");
    });
  });

  describe("file_by_filename", () => {
    it("returns the named file with its dependencies", async () => {
      const files = decodeFiles(await reflectOne(version, { fileByFilename: "gatehouse/v1/common.proto" }));
      expect(files.map((f) => f.name)).toEqual([
        "gatehouse/v1/common.proto",
        "google/protobuf/duration.proto",
        "google/protobuf/timestamp.proto",
      ]);
    });

    it("serves google/protobuf/descriptor.proto with its extension ranges", async () => {
      const [descriptor] = decodeFiles(await reflectOne(version, { fileByFilename: "google/protobuf/descriptor.proto" }));
      const methodOptions = descriptor!.messageType.find((m) => m.name === "MethodOptions");
      expect(methodOptions!.extensionRange[0]).toMatchObject({ start: 1000 });
    });

    it("answers NOT_FOUND for an unknown file", async () => {
      const response = await reflectOne(version, { fileByFilename: "gatehouse/v1/nothing.proto" });
      expect(response.errorResponse!.errorCode).toBe(NOT_FOUND);
    });
  });

  describe("file_containing_extension", () => {
    it("returns the file declaring an extension", async () => {
      const files = decodeFiles(
        await reflectOne(version, {
          fileContainingExtension: { containingType: "google.protobuf.MethodOptions", extensionNumber: 51001 },
        }),
      );
      expect(files[0]!.name).toBe("gatehouse/v1/access.proto");
    });

    it("answers NOT_FOUND for an unknown extension number", async () => {
      const response = await reflectOne(version, {
        fileContainingExtension: { containingType: "google.protobuf.MethodOptions", extensionNumber: 51002 },
      });
      expect(response.errorResponse!.errorCode).toBe(NOT_FOUND);
    });
  });

  describe("all_extension_numbers_of_type", () => {
    it("lists the extension numbers of a message", async () => {
      const response = await reflectOne(version, { allExtensionNumbersOfType: "google.protobuf.MethodOptions" });
      expect(response.allExtensionNumbersResponse).toEqual({
        baseTypeName: "google.protobuf.MethodOptions",
        extensionNumber: [51001],
      });
    });

    it("answers an empty list for a message without extensions", async () => {
      const response = await reflectOne(version, { allExtensionNumbersOfType: "gatehouse.v1.AccessRule" });
      expect(response.allExtensionNumbersResponse!.extensionNumber).toEqual([]);
    });

    it("answers NOT_FOUND for an unknown type", async () => {
      const response = await reflectOne(version, { allExtensionNumbersOfType: "gatehouse.v1.Nope" });
      expect(response.errorResponse!.errorCode).toBe(NOT_FOUND);
    });
  });
});

describe("reflected descriptors", () => {
  it("are enough for a client that knows no protos to call Health.Check", async () => {
    const files = (await reflectOne("v1", { fileContainingSymbol: "grpc.health.v1.Health" })).fileDescriptorResponse!
      .fileDescriptorProto;
    // A FileDescriptorSet is `repeated FileDescriptorProto file = 1`: encode it by hand.
    const set = Buffer.concat(files.flatMap((bytes) => [Buffer.from([0x0a]), varint(bytes.length), bytes]));
    const discovered = grpc.loadPackageDefinition(protoLoader.loadFileDescriptorSetFromBuffer(set, { enums: String }));
    const Client = clientConstructor(discovered, "grpc.health.v1.Health");
    const client = new Client(server.address, grpc.credentials.createInsecure());
    clients.push(client);
    const health = client as unknown as {
      check(request: object, callback: (err: grpc.ServiceError | null, value?: { status: string }) => void): void;
    };
    const response = await new Promise<{ status: string }>((resolve, reject) =>
      health.check({ service: "" }, (err, value) => (err ? reject(err) : resolve(value!))),
    );
    expect(response.status).toBe(HealthCheckResponse_ServingStatus[HealthCheckResponse_ServingStatus.SERVING]);
  });
});

/** varint encodes a length as a protobuf varint. */
function varint(value: number): Buffer {
  const bytes: number[] = [];
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  bytes.push(value);
  return Buffer.from(bytes);
}
