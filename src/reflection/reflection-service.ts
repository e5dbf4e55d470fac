import type { DescService } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ServerReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { createDescriptorIndex } from "./descriptor-index.js";
import type { DescriptorIndex } from "./descriptor-index.js";

/**
 * ReflectionImpls holds the two implementations of gRPC server reflection:
 * `grpc.reflection.v1.ServerReflection` (current) and
 * `grpc.reflection.v1alpha.ServerReflection` (what older grpcurl and
 * grpc_cli ask for first). Both answer the same from one index.
 */
export interface ReflectionImpls {
  /** v1 implements `grpc.reflection.v1.ServerReflection`. */
  readonly v1: ServiceImpl<typeof ServerReflectionV1>;
  /** v1alpha implements `grpc.reflection.v1alpha.ServerReflection`. */
  readonly v1alpha: ServiceImpl<typeof ServerReflectionV1alpha>;
}

/**
 * createReflectionImpls builds reflection for the given services. It lists
 * them, `grpc.health.v1.Health` and both reflection services (each once, in
 * that order), and serves the files of all of them with their transitive
 * dependencies, well-known `google/protobuf/*.proto` files included.
 *
 * Unknown files, symbols, extensions and types are answered in-stream with an
 * `error_response` of code NOT_FOUND (5); a request with no question set with
 * INVALID_ARGUMENT (3). The stream stays open after an error response.
 */
export function createReflectionImpls(services: readonly DescService[]): ReflectionImpls {
  const listed = uniqueServices([...services, Health, ServerReflectionV1, ServerReflectionV1alpha]);
  const index = createDescriptorIndex(listed.map((service) => service.file));
  const serviceNames = listed.map((service) => ({ name: service.typeName }));
  return {
    v1: {
      async *serverReflectionInfo(requests) {
        for await (const request of requests) {
          yield {
            validHost: request.host,
            originalRequest: request,
            messageResponse: answer(index, serviceNames, request.messageRequest),
          };
        }
      },
    },
    v1alpha: {
      async *serverReflectionInfo(requests) {
        for await (const request of requests) {
          yield {
            validHost: request.host,
            originalRequest: request,
            messageResponse: answer(index, serviceNames, request.messageRequest),
          };
        }
      },
    },
  };
}

/**
 * registerReflection registers both reflection services for `services` on
 * the router (see createReflectionImpls) and returns the router. It does not
 * register `grpc.health.v1.Health`; do that with createHealthImpl.
 */
export function registerReflection(router: ConnectRouter, services: readonly DescService[]): ConnectRouter {
  const impls = createReflectionImpls(services);
  return router.service(ServerReflectionV1, impls.v1).service(ServerReflectionV1alpha, impls.v1alpha);
}

/**
 * ReflectionQuestion is the `message_request` oneof of a reflection request,
 * shaped so that the v1 and the v1alpha message both fit.
 */
type ReflectionQuestion =
  | { case: "fileByFilename"; value: string }
  | { case: "fileContainingSymbol"; value: string }
  | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
  | { case: "allExtensionNumbersOfType"; value: string }
  | { case: "listServices"; value: string }
  | { case: undefined; value?: undefined };

/**
 * ReflectionAnswer is the `message_response` oneof of a reflection response,
 * as an init shape that both the v1 and the v1alpha message accept.
 */
type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/**
 * answer computes the response to one reflection question.
 */
function answer(
  index: DescriptorIndex,
  serviceNames: readonly { name: string }[],
  question: ReflectionQuestion,
): ReflectionAnswer {
  switch (question.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: serviceNames.map((s) => ({ ...s })) } };
    case "fileByFilename":
      return files(index.fileByFilename(question.value), `file ${question.value}`);
    case "fileContainingSymbol":
      return files(index.fileContainingSymbol(question.value), `symbol ${question.value}`);
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = question.value;
      return files(
        index.fileContainingExtension(containingType, extensionNumber),
        `extension ${extensionNumber} of ${containingType}`,
      );
    }
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbersOf(question.value);
      if (numbers === undefined) {
        return notFound(`type ${question.value}`);
      }
      return { case: "allExtensionNumbersResponse", value: { baseTypeName: question.value, extensionNumber: numbers } };
    }
    case undefined:
      return { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "no message_request set" } };
  }
}

/**
 * files wraps serialized files into a response, or answers NOT_FOUND.
 */
function files(found: Uint8Array[] | undefined, what: string): ReflectionAnswer {
  return found === undefined ? notFound(what) : { case: "fileDescriptorResponse", value: { fileDescriptorProto: found } };
}

/**
 * notFound is the error response for something reflection does not know.
 */
function notFound(what: string): ReflectionAnswer {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } };
}

/**
 * uniqueServices drops repeated services (by type name), keeping the first.
 */
function uniqueServices(services: readonly DescService[]): DescService[] {
  const byName = new Map<string, DescService>();
  for (const service of services) {
    if (!byName.has(service.typeName)) {
      byName.set(service.typeName, service);
    }
  }
  return [...byName.values()];
}
