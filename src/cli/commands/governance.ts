import { readFile } from "node:fs/promises";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { Effect, LockSchema, PolicySchema, RuleSchema, type Lock, type Policy } from "../client.js";
import { listAll, macroIdOf, readStdin, roomIdOf, timeText, userIdOf } from "../lookup.js";
import { CliError } from "../output.js";
import type { Session } from "../session.js";

type Open = (cmd: Command) => Session;

/** ScopeOptions pick a policy layer: --global, --room, --room with --macro, or --user. */
interface ScopeOptions {
  global?: boolean;
  room?: string;
  macro?: string;
  user?: string;
}

const scopeFlags = (cmd: Command) =>
  cmd
    .option("--global", "the platform-wide global policy")
    .option("--room <room>", "a room's policy (name or id)")
    .option("--macro <macro>", "with --room: a macro's policy (name or id)")
    .option("--user <user>", "a user's override (username or id)");

/** registerGovernance adds policy, rules and locks. */
export function registerGovernance(program: Command, open: Open): void {
  const policy = program.command("policy").description("sandbox policies: one layer, or the effective merge");
  const showPolicy = (s: Session, p: Policy | undefined) => s.out.data(p ? s.out.message(PolicySchema, p) : {});

  const scoped = async (s: Session, o: ScopeOptions) => {
    const picked = [o.global, o.room !== undefined && o.macro === undefined, o.macro !== undefined, o.user !== undefined].filter(Boolean).length;
    if (picked !== 1) throw new CliError("pick one layer: --global, --room, --room with --macro, or --user");
    if (o.macro !== undefined && o.room === undefined) throw new CliError("--macro needs --room");
    const gh = s.client();
    if (o.global) return { kind: "global" as const, gh };
    if (o.user !== undefined) return { kind: "user" as const, gh, userId: await userIdOf(gh, o.user) };
    const roomId = await roomIdOf(gh, o.room!);
    if (o.macro !== undefined) return { kind: "macro" as const, gh, roomId, macroId: await macroIdOf(gh, roomId, o.macro) };
    return { kind: "room" as const, gh, roomId };
  };

  scopeFlags(policy.command("get").description("print one policy layer as JSON")).action(async (opts: ScopeOptions, cmd: Command) => {
    const s = open(cmd);
    const l = await scoped(s, opts);
    const res =
      l.kind === "global"
        ? await l.gh.policies.getGlobalPolicy({})
        : l.kind === "user"
          ? await l.gh.policies.getUserPolicy({ userId: l.userId })
          : l.kind === "macro"
            ? await l.gh.policies.getMacroPolicy({ roomId: l.roomId, macroId: l.macroId })
            : await l.gh.policies.getRoomPolicy({ roomId: l.roomId });
    showPolicy(s, res.policy);
  });

  scopeFlags(policy.command("set <file>").description("replace one policy layer with the JSON of a file (- for stdin); it may only tighten the layer above")).action(
    async (file: string, opts: ScopeOptions, cmd: Command) => {
      const s = open(cmd);
      const text = file === "-" ? await readStdin() : await readFile(file, "utf8");
      let p: Policy;
      try {
        p = fromJson(PolicySchema, JSON.parse(text) as JsonValue);
      } catch (error) {
        throw new CliError(`${file} is not a policy in JSON: ${(error as Error).message}`);
      }
      const l = await scoped(s, opts);
      const res =
        l.kind === "global"
          ? await l.gh.policies.updateGlobalPolicy({ policy: p })
          : l.kind === "user"
            ? await l.gh.policies.updateUserPolicy({ userId: l.userId, policy: p })
            : l.kind === "macro"
              ? await l.gh.policies.updateMacroPolicy({ roomId: l.roomId, macroId: l.macroId, policy: p })
              : await l.gh.policies.updateRoomPolicy({ roomId: l.roomId, policy: p });
      showPolicy(s, res.policy);
    },
  );

  policy
    .command("effective")
    .description("the merged policy of a room (and macro, and user), with the layer that set each field")
    .requiredOption("--room <room>", "the room's name or id")
    .option("--macro <macro>", "a macro of the room (name or id)")
    .option("--user <user>", "the user (username or id; default: you)")
    .action(async (opts: { room: string; macro?: string; user?: string }, cmd: Command) => {
      const s = open(cmd);
      const gh = s.client();
      const roomId = await roomIdOf(gh, opts.room);
      const res = await gh.policies.getEffectivePolicy({
        roomId,
        macroId: opts.macro === undefined ? undefined : await macroIdOf(gh, roomId, opts.macro),
        userId: opts.user === undefined ? undefined : await userIdOf(gh, opts.user),
      });
      const json = res.policy ? (s.out.message(PolicySchema, res.policy) as Record<string, unknown>) : {};
      if (s.out.json) return s.out.data({ policy: json, sources: res.sources });
      const rows = Object.entries(json)
        .filter(([k]) => k !== "overrideCeiling")
        .map(([k, v]) => {
          const snake = k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
          return [snake, typeof v === "object" ? JSON.stringify((v as { values?: unknown }).values ?? v) : String(v), res.sources[snake] ?? ""];
        });
      s.out.table(["field", "value", "layer"], rows);
    });

  const rules = program.command("rules").description("runtime allow/deny rules");
  rules
    .command("list")
    .description("list rules")
    .option("--subject <subject>", "only rules of this subject")
    .action(async (opts: { subject?: string }, cmd: Command) => {
      const s = open(cmd);
      const gh = s.client();
      const all = await listAll(async (pageToken) => {
        const res = await gh.rules.listRules({ subject: opts.subject, pageToken, pageSize: 1000 });
        return { items: res.rules, next: res.nextPageToken };
      });
      if (s.out.json) return s.out.data(all.map((r) => s.out.message(RuleSchema, r)));
      s.out.table(["effect", "subject", "action", "resource", "description", "id"], all.map((r) => [Effect[r.effect] ?? "", r.subject, r.action, r.resource, r.description, r.ruleId]));
    });
  rules
    .command("create")
    .description("create a rule")
    .requiredOption("--subject <subject>", "who: *, user:<id>, role:<name>, room:<id> or macro:<id>")
    .requiredOption("--action <action>", "what, e.g. store.read or macro.run")
    .requiredOption("--resource <resource>", "on what (a glob)")
    .requiredOption("--effect <effect>", "allow or deny")
    .option("--description <text>", "why", "")
    .action(async (opts: { subject: string; action: string; resource: string; effect: string; description: string }, cmd: Command) => {
      const s = open(cmd);
      const effect = { allow: Effect.ALLOW, deny: Effect.DENY }[opts.effect.toLowerCase()];
      if (effect === undefined) throw new CliError("--effect must be allow or deny");
      const { rule } = await s.client().rules.createRule({ subject: opts.subject, action: opts.action, resource: opts.resource, effect, description: opts.description });
      if (s.out.json) return s.out.data(s.out.message(RuleSchema, rule!));
      s.out.table(["effect", "subject", "action", "resource", "id"], [[Effect[rule!.effect] ?? "", rule!.subject, rule!.action, rule!.resource, rule!.ruleId]]);
    });
  rules
    .command("delete <ruleId>")
    .description("delete a rule")
    .action(async (ruleId: string, _opts: unknown, cmd: Command) => {
      const s = open(cmd);
      await s.client().rules.deleteRule({ ruleId });
      if (s.out.json) s.out.data({ deleted: ruleId });
      else s.out.note(`deleted rule ${ruleId}`);
    });

  const locks = program.command("locks").description("editing locks of a room's macros and repos");
  const lockRows = (all: Lock[]) => all.map((l) => [l.target, l.ownerName, l.fencingToken.toString(), timeText(l.expiresAt)]);
  /** targetOf accepts macro/<name> as well as macro/<id> and repo/<id>. */
  const targetOf = async (s: Session, roomId: string, target: string) => {
    const m = /^macro\/(.+)$/.exec(target);
    return m ? `macro/${await macroIdOf(s.client(), roomId, m[1]!)}` : target;
  };
  locks
    .command("status [target]")
    .description("who holds which lock in a room (or one target: macro/<name or id>, repo/<id>)")
    .requiredOption("--room <room>", "the room's name or id")
    .action(async (target: string | undefined, opts: { room: string }, cmd: Command) => {
      const s = open(cmd);
      const gh = s.client();
      const roomId = await roomIdOf(gh, opts.room);
      const all =
        target === undefined
          ? await listAll(async (pageToken) => {
              const res = await gh.locks.listLocks({ roomId, pageToken, pageSize: 1000 });
              return { items: res.locks, next: res.nextPageToken };
            })
          : [(await gh.locks.getLock({ roomId, target: await targetOf(s, roomId, target) })).lock].filter((l): l is Lock => l !== undefined);
      if (s.out.json) return s.out.data(all.map((l) => s.out.message(LockSchema, l)));
      s.out.table(["target", "holder", "fencing token", "expires"], lockRows(all));
    });
  locks
    .command("break <target>")
    .description("free a lock whoever holds it (room admins; audited)")
    .requiredOption("--room <room>", "the room's name or id")
    .action(async (target: string, opts: { room: string }, cmd: Command) => {
      const s = open(cmd);
      const gh = s.client();
      const roomId = await roomIdOf(gh, opts.room);
      const { lock } = await gh.locks.breakLock({ roomId, target: await targetOf(s, roomId, target) });
      if (s.out.json) return s.out.data({ broken: lock ? s.out.message(LockSchema, lock) : null });
      if (lock) s.out.table(["target", "holder", "fencing token", "expires"], lockRows([lock]));
      else s.out.note("the target was not locked");
    });
}
