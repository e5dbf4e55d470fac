import { createRegistry, toBinary } from "@bufbuild/protobuf";
import type { DescFile, DescMessage, Registry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

/**
 * DescriptorIndex answers the look-ups of gRPC server reflection over a closed
 * set of files: the given files and everything they import, transitively.
 * Every answer is a file together with its transitive dependencies, serialized
 * as `google.protobuf.FileDescriptorProto`, the requested file first.
 */
export interface DescriptorIndex {
  /**
   * fileByFilename returns the file with the given proto path (for example
   * `gatehouse/v1/access.proto`) and its dependencies, or undefined.
   */
  fileByFilename(filename: string): Uint8Array[] | undefined;
  /**
   * fileContainingSymbol returns the file that defines a fully-qualified
   * symbol (no leading dot) and its dependencies, or undefined. Symbols are
   * services, methods, messages, enums, enum values, fields, oneofs and
   * extensions, nested ones included.
   */
  fileContainingSymbol(symbol: string): Uint8Array[] | undefined;
  /**
   * fileContainingExtension returns the file that declares extension number
   * `extensionNumber` of message `containingType` and its dependencies, or
   * undefined.
   */
  fileContainingExtension(containingType: string, extensionNumber: number): Uint8Array[] | undefined;
  /**
   * extensionNumbersOf returns the numbers of all known extensions of message
   * `typeName` (ascending), or undefined when the message is unknown.
   */
  extensionNumbersOf(typeName: string): number[] | undefined;
}

/**
 * createDescriptorIndex indexes the given files and their transitive
 * dependencies. Types come from a `@bufbuild/protobuf` registry; members that
 * a registry does not hold (methods, fields, oneofs, enum values) are indexed
 * here by their fully-qualified names. Serialized files are cached.
 */
export function createDescriptorIndex(files: Iterable<DescFile>): DescriptorIndex {
  const filesByName = new Map<string, DescFile>();
  for (const file of files) {
    collectFiles(file, filesByName);
  }
  const registry: Registry = createRegistry(...filesByName.values());
  const members = indexMembers(filesByName.values());
  const serialized = new Map<DescFile, Uint8Array>();

  function serialize(file: DescFile): Uint8Array {
    let bytes = serialized.get(file);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      serialized.set(file, bytes);
    }
    return bytes;
  }

  function withDependencies(file: DescFile): Uint8Array[] {
    const closure = new Map<string, DescFile>();
    collectFiles(file, closure);
    // collectFiles lists dependencies before dependents; the requested file goes first.
    const ordered = [file, ...[...closure.values()].filter((f) => f !== file)];
    return ordered.map(serialize);
  }

  function extendee(typeName: string): DescMessage | undefined {
    return registry.getMessage(typeName);
  }

  return {
    fileByFilename(filename) {
      const file = filesByName.get(filename);
      return file && withDependencies(file);
    },
    fileContainingSymbol(symbol) {
      const name = symbol.startsWith(".") ? symbol.slice(1) : symbol;
      const file = registry.get(name)?.file ?? members.get(name);
      return file && withDependencies(file);
    },
    fileContainingExtension(containingType, extensionNumber) {
      const message = extendee(containingType);
      const extension = message && registry.getExtensionFor(message, extensionNumber);
      return extension && withDependencies(extension.file);
    },
    extensionNumbersOf(typeName) {
      if (extendee(typeName) === undefined) {
        return undefined;
      }
      const numbers: number[] = [];
      for (const desc of registry) {
        if (desc.kind === "extension" && desc.extendee.typeName === typeName) {
          numbers.push(desc.number);
        }
      }
      return numbers.sort((a, b) => a - b);
    },
  };
}

/**
 * collectFiles adds `file` and its transitive dependencies to `into`, keyed
 * by proto path, dependencies before the files that import them.
 */
function collectFiles(file: DescFile, into: Map<string, DescFile>): void {
  if (into.has(file.proto.name)) {
    return;
  }
  for (const dependency of file.dependencies) {
    collectFiles(dependency, into);
  }
  into.set(file.proto.name, file);
}

/**
 * indexMembers maps the fully-qualified names of methods, fields, oneofs and
 * enum values to their files. Enum values are scoped like C++ enumerators:
 * `pkg.VALUE` for a top-level enum, `pkg.Message.VALUE` for a nested one.
 */
function indexMembers(files: Iterable<DescFile>): Map<string, DescFile> {
  const members = new Map<string, DescFile>();
  const scopeOf = (typeName: string) => typeName.slice(0, Math.max(0, typeName.lastIndexOf(".")));
  const qualify = (scope: string, name: string) => (scope === "" ? name : `${scope}.${name}`);

  function addMessage(message: DescMessage): void {
    for (const field of message.fields) {
      members.set(qualify(message.typeName, field.name), message.file);
    }
    for (const oneof of message.oneofs) {
      members.set(qualify(message.typeName, oneof.name), message.file);
    }
    for (const nested of message.nestedEnums) {
      for (const value of nested.values) {
        members.set(qualify(message.typeName, value.name), message.file);
      }
    }
    message.nestedMessages.forEach(addMessage);
  }

  for (const file of files) {
    for (const service of file.services) {
      for (const method of service.methods) {
        members.set(qualify(service.typeName, method.name), file);
      }
    }
    for (const enumDesc of file.enums) {
      for (const value of enumDesc.values) {
        members.set(qualify(scopeOf(enumDesc.typeName), value.name), file);
      }
    }
    file.messages.forEach(addMessage);
  }
  return members;
}
