import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFileRegistry, fromBinary, type DescFile, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { renderApiReference } from "../../src/tools/protoc-gen-docs.js";

// The protos as buf compiles them, comments included (the generated code in
// gen/ keeps no comments, so the test builds its own image).
let registry: FileRegistry;
let files: DescFile[];
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-api-docs-"));
  const image = join(dir, "image.binpb");
  // buf from the project's own node_modules/.bin: a nested `npx` fails under `npx -p node@… -c`
  // (that call's npm_config_call reaches it).
  execFileSync(fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url)), ["build", "--as-file-descriptor-set", "-o", image], { stdio: "pipe" });
  registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(image)));
  files = [...registry.files].filter((f) => f.proto.package.startsWith("gatehouse."));
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("protoc-gen-docs", () => {
  it("matches the committed docs/api/README.md (run npm run generate when it does not)", () => {
    const committed = readFileSync(new URL("../../docs/api/README.md", import.meta.url), "utf8");
    expect(renderApiReference(files, registry)).toBe(committed);
  });

  it("documents every method of every service with its access rule", () => {
    const doc = renderApiReference(files, registry);
    const methods = files.flatMap((f) => f.services.flatMap((s) => s.methods.map((m) => `${s.name}.${m.name}`)));
    expect(methods.length).toBeGreaterThan(50);
    for (const name of methods) {
      const section = doc.split(`\n### ${name}\n`)[1]?.split("\n### ")[0];
      expect(section, name).toBeDefined();
      expect(section, name).toMatch(/- \*\*Access:\*\* (public|level|permission|room role|any signed-in user)/);
    }
    expect(doc).not.toContain("none (refused)");
  });

  it("documents every message field and enum value", () => {
    const doc = renderApiReference(files, registry);
    for (const file of files) {
      for (const message of file.messages) {
        const section = doc.split(`\n### ${message.name}\n`)[1]?.split("\n### ")[0] ?? "";
        for (const field of message.fields) expect(section, `${message.typeName}.${field.name}`).toContain(`| \`${field.name}\``);
      }
      for (const e of file.enums) {
        const section = doc.split(`\n### ${e.name}\n`)[1]?.split("\n### ")[0] ?? "";
        for (const value of e.values) expect(section, `${e.typeName}.${value.name}`).toContain(`| \`${value.name}\` | ${value.number} |`);
      }
    }
  });

  it("reads the access option: CreateTenant needs SUPERGOD and tenants.manage", () => {
    const doc = renderApiReference(files, registry);
    const section = doc.split("\n### TenantsService.CreateTenant\n")[1]!.split("\n### ")[0]!;
    expect(section).toContain("- **Access:** level ≥ `LEVEL_SUPERGOD`; permission `tenants.manage`; audited; mutates");
  });
});
