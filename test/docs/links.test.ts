import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// Every relative link of the README and docs/ points at a file of the
// repository, and every #fragment at a heading (or an explicit anchor) of
// the page it names, so moving a section cannot silently break the docs.

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

function markdownFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : name.endsWith(".md") ? [path] : [];
    });
  return [join(repoRoot, "README.md"), ...walk(join(repoRoot, "docs"))];
}

/** withoutCode drops fenced blocks and inline code, where brackets are not links. */
function withoutCode(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
}

/** anchors answers the fragments a page defines: GitHub's heading slugs and `<a id>` anchors. */
function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  const text = markdown.replace(/^```[\s\S]*?^```/gm, "");
  for (const [, heading] of text.matchAll(/^#{1,6} (.+)$/gm)) {
    found.add(heading!.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-"));
  }
  for (const [, id] of text.matchAll(/<a id="([^"]+)"><\/a>/g)) found.add(id!);
  return found;
}

describe("documentation links", () => {
  const files = markdownFiles();

  it("finds the pages", () => {
    expect(files.map((f) => relative(repoRoot, f))).toEqual(
      expect.arrayContaining(["README.md", "docs/getting-started.md", "docs/concepts.md", "docs/macros.md", "docs/operations.md", "docs/performance.md", "docs/api/README.md"]),
    );
  });

  it("resolves every relative link and fragment", () => {
    const broken: string[] = [];
    const pageAnchors = new Map<string, Set<string>>();
    const anchorsOf = (path: string) => {
      let found = pageAnchors.get(path);
      if (!found) pageAnchors.set(path, (found = anchors(readFileSync(path, "utf8"))));
      return found;
    };
    for (const file of files) {
      const markdown = readFileSync(file, "utf8");
      for (const [, target] of withoutCode(markdown).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [path, fragment] = target!.split("#") as [string, string | undefined];
        const resolved = path === "" ? file : join(dirname(file), path);
        const where = `${relative(repoRoot, file)} → ${target}`;
        if (!existsSync(resolved)) {
          broken.push(`${where}: no such file`);
          continue;
        }
        if (fragment !== undefined && resolved.endsWith(".md") && !anchorsOf(resolved).has(fragment)) {
          broken.push(`${where}: no such heading`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
