/**
 * protoc-gen-docs is a local `buf` plugin that writes the API reference,
 * `docs/api/README.md`, from the protos: every Gatehouse service, method (with
 * its `(gatehouse.v1.access)` rule), message, field and enum value with its
 * comments. `npm run generate` runs it beside protoc-gen-es (buf.gen.yaml);
 * CI fails when the committed reference differs from what it writes.
 *
 * Run as a plugin: `node --import tsx src/tools/protoc-gen-docs.ts` reading a
 * CodeGeneratorRequest on stdin. `renderApiReference` is the pure part.
 */
import {
  create,
  createFileRegistry,
  getOption,
  hasOption,
  ScalarType,
  type DescEnum,
  type DescExtension,
  type DescField,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
  type FileRegistry,
} from "@bufbuild/protobuf";
import {
  CodeGeneratorResponse_Feature,
  CodeGeneratorResponseSchema,
  FileDescriptorSetSchema,
  MethodOptions_IdempotencyLevel,
  type CodeGeneratorRequest,
  type CodeGeneratorResponse,
} from "@bufbuild/protobuf/wkt";
import { pathToFileURL } from "node:url";
import { getComments, runNodeJs, type Plugin } from "@bufbuild/protoplugin";

/** apiReferenceFile is the file the plugin writes, relative to its `out` folder. */
export const apiReferenceFile = "README.md";

/** protocGenDocs is the plugin: one Markdown file for every `gatehouse.*` file in the request. */
export const protocGenDocs: Plugin = {
  name: "protoc-gen-docs",
  version: "v1",
  run(request: CodeGeneratorRequest): CodeGeneratorResponse {
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: request.protoFile }));
    const files = request.fileToGenerate
      .map((name) => registry.getFile(name))
      .filter((file): file is DescFile => file !== undefined && file.proto.package.startsWith("gatehouse."));
    return create(CodeGeneratorResponseSchema, {
      supportedFeatures: BigInt(CodeGeneratorResponse_Feature.PROTO3_OPTIONAL),
      file: [{ name: apiReferenceFile, content: renderApiReference(files, registry) }],
    });
  },
};

/**
 * renderApiReference renders the files' services, messages and enums as one
 * Markdown document. Files are taken in name order; declarations in source order.
 */
export function renderApiReference(files: DescFile[], registry: FileRegistry): string {
  const sorted = [...files].sort((a, b) => a.name.localeCompare(b.name));
  const access = registry.getExtension("gatehouse.v1.access");
  const services = sorted.flatMap((f) => f.services);
  const messages = sorted.flatMap((f) => f.messages.flatMap(withNested));
  const enums = sorted.flatMap((f) => [...f.enums, ...f.messages.flatMap(withNested).flatMap((m) => m.nestedEnums)]);
  const out: string[] = [];
  out.push(
    "# API reference",
    "",
    "<!-- Generated from proto/ by src/tools/protoc-gen-docs.ts (`npm run generate`). Do not edit. -->",
    "",
    `Package \`${sorted[0]?.proto.package ?? "gatehouse.v1"}\`, from [\`proto/\`](../../proto). ` +
      "Every method is reachable over gRPC, gRPC-Web and Connect on the one port: " +
      "`POST /<package>.<Service>/<Method>`. Methods marked *no side effects* also answer Connect GET.",
    "",
    "Each method's **access** line is its `(gatehouse.v1.access)` option: *public* (no credentials), " +
      "the lowest *level*, the catalog *permission* the caller's roles must grant, the *room role* needed in " +
      "the request's `room_id`, *audited* (every call is recorded) and *mutates* (changes state: audited with " +
      "the change, and a cookie session must send `x-csrf-token`).",
    "",
    "In JSON (Connect, grpcurl) a field is named in lowerCamelCase, shown beside its proto name where " +
      "they differ; enum values are written by name, 64-bit integers as strings, `google.protobuf.Timestamp` " +
      "as an RFC 3339 string and `google.protobuf.Value` as any JSON value.",
    "",
    "## Services",
    "",
  );
  for (const service of services) out.push(`- [${service.name}](#${anchor(service.name)})`);
  out.push("", "## Messages", "");
  out.push(messages.map((m) => `[${m.typeName.replace(/^gatehouse\.v1\./, "")}](#${anchor(m.typeName)})`).join(" · "));
  out.push("", "## Enums", "");
  out.push(enums.map((e) => `[${e.typeName.replace(/^gatehouse\.v1\./, "")}](#${anchor(e.typeName)})`).join(" · "));
  out.push("");
  for (const service of services) out.push(...renderService(service, access));
  for (const message of messages) out.push(...renderMessage(message));
  for (const e of enums) out.push(...renderEnum(e));
  return out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd() + "\n";
}

function withNested(message: DescMessage): DescMessage[] {
  return [message, ...message.nestedMessages.filter((m) => !isMapEntry(m)).flatMap(withNested)];
}

function isMapEntry(message: DescMessage): boolean {
  return message.proto.options?.mapEntry === true;
}

function renderService(service: DescService, access: DescExtension | undefined): string[] {
  const out = ["", `## ${service.name}`, "", `<a id="${anchor(service.name)}"></a>\`${service.typeName}\` — [\`proto/${service.file.proto.name}\`](../../proto/${service.file.proto.name})`, ""];
  out.push(paragraphs(getComments(service).leading), "");
  out.push("| method | request | response | access |", "|---|---|---|---|");
  for (const method of service.methods) {
    out.push(`| [${method.name}](#${anchor(`${service.name}.${method.name}`)}) | ${typeLink(method.input)} | ${typeLink(method.output)} | ${cell(accessLine(method, access))} |`);
  }
  for (const method of service.methods) {
    out.push("", `### ${service.name}.${method.name}`, "", `<a id="${anchor(`${service.name}.${method.name}`)}"></a>`);
    const streaming = method.methodKind === "unary" ? "" : ` (${method.methodKind.replace(/_/g, " ")})`;
    out.push(`\`rpc ${method.name}(${method.input.name}) returns (${method.output.name})\`${streaming}`, "");
    out.push(`- **Request:** ${typeLink(method.input)}`, `- **Response:** ${typeLink(method.output)}`);
    out.push(`- **Access:** ${accessLine(method, access)}`);
    if (method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) out.push("- **No side effects:** also callable with Connect GET");
    out.push("", paragraphs(getComments(method).leading));
  }
  return out;
}

/** accessLine describes a method's `(gatehouse.v1.access)` option in words. */
function accessLine(method: DescMethod, access: DescExtension | undefined): string {
  if (access === undefined || !hasOption(method, access)) return "none (refused)";
  // The option's value is a gatehouse.v1.AccessRule; read its fields by name
  // so the plugin does not depend on the generated code it sits beside.
  const rule = getOption(method, access) as unknown as Record<string, unknown>;
  const parts: string[] = [];
  if (rule.public === true) parts.push("public");
  const levels = access.message?.fields.find((f) => f.name === "min_level")?.enum;
  const roles = access.message?.fields.find((f) => f.name === "room_role")?.enum;
  if (typeof rule.minLevel === "number" && rule.minLevel !== 0) parts.push(`level ≥ ${enumName(levels, rule.minLevel)}`);
  if (typeof rule.permission === "string" && rule.permission !== "") parts.push(`permission \`${rule.permission}\``);
  if (typeof rule.roomRole === "number" && rule.roomRole !== 0) parts.push(`room role ≥ ${enumName(roles, rule.roomRole)}`);
  if (parts.length === 0) parts.push("any signed-in user");
  if (rule.audit === true) parts.push("audited");
  if (rule.mutates === true) parts.push("mutates");
  return parts.join("; ");
}

function enumName(e: DescEnum | undefined, n: number): string {
  return `\`${e?.values.find((v) => v.number === n)?.name ?? String(n)}\``;
}

function renderMessage(message: DescMessage): string[] {
  const out = ["", `### ${message.typeName.replace(/^gatehouse\.v1\./, "")}`, "", `<a id="${anchor(message.typeName)}"></a>\`${message.typeName}\``, ""];
  out.push(paragraphs(getComments(message).leading), "");
  if (message.fields.length === 0) {
    out.push("No fields.");
    return out;
  }
  out.push("| field | type | description |", "|---|---|---|");
  for (const field of message.fields) {
    const oneof = field.oneof !== undefined && !field.oneof.proto.name.startsWith("_") ? ` (one of \`${field.oneof.name}\`)` : "";
    const comments = getComments(field);
    const text = [comments.leading, comments.trailing].filter((c) => c !== undefined && c.trim() !== "").join(" ");
    const name = field.jsonName === field.name ? `\`${field.name}\`` : `\`${field.name}\` (\`${field.jsonName}\`)`;
    out.push(`| ${name} | ${fieldType(field)}${oneof} | ${cell(text)} |`);
  }
  return out;
}

function renderEnum(e: DescEnum): string[] {
  const out = ["", `### ${e.typeName.replace(/^gatehouse\.v1\./, "")}`, "", `<a id="${anchor(e.typeName)}"></a>\`${e.typeName}\``, ""];
  out.push(paragraphs(getComments(e).leading), "");
  out.push("| value | number | description |", "|---|---:|---|");
  for (const value of e.values) out.push(`| \`${value.name}\` | ${value.number} | ${cell(getComments(value).leading ?? "")} |`);
  return out;
}

function fieldType(field: DescField): string {
  switch (field.fieldKind) {
    case "scalar":
      return `${field.proto.proto3Optional ? "optional " : ""}${scalarName(field.scalar)}`;
    case "enum":
      return `${field.proto.proto3Optional ? "optional " : ""}${typeLink(field.enum)}`;
    case "message":
      return typeLink(field.message);
    case "list":
      return `repeated ${field.listKind === "scalar" ? scalarName(field.scalar) : field.listKind === "enum" ? typeLink(field.enum) : typeLink(field.message)}`;
    case "map": {
      const value = field.mapKind === "scalar" ? scalarName(field.scalar) : field.mapKind === "enum" ? typeLink(field.enum) : typeLink(field.message);
      return `map&lt;${scalarName(field.mapKey)}, ${value}&gt;`;
    }
  }
}

function scalarName(scalar: ScalarType): string {
  return ScalarType[scalar].toLowerCase();
}

function typeLink(desc: DescMessage | DescEnum): string {
  if (!desc.typeName.startsWith("gatehouse.")) return `\`${desc.typeName}\``;
  return `[${desc.typeName.replace(/^gatehouse\.v1\./, "")}](#${anchor(desc.typeName)})`;
}

/** anchor is the fragment a link uses for a declaration: lowercase letters, digits and dashes. */
function anchor(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
}

/**
 * escapeHtml keeps a comment's `<` and `>` outside code spans from being read
 * as HTML (`Bearer <token>`); code spans are left as written.
 */
function escapeHtml(text: string): string {
  return text
    .split("`")
    .map((part, i) => (i % 2 === 0 ? part.replace(/</g, "&lt;").replace(/>/g, "&gt;") : part))
    .join("`");
}

/** paragraphs keeps a comment's blank-line paragraphs and joins its wrapped lines. */
function paragraphs(comment: string | undefined): string {
  if (comment === undefined) return "";
  return escapeHtml(comment)
    .split(/\n\s*\n/)
    .map((p) => p.split("\n").map((l) => l.trim()).join(" ").trim())
    .filter((p) => p !== "")
    .join("\n\n");
}

/** cell makes text safe for one Markdown table cell. */
function cell(text: string): string {
  return escapeHtml(text).replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|").trim();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) runNodeJs(protocGenDocs);
