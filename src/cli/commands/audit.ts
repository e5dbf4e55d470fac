import { createWriteStream } from "node:fs";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { toJson } from "@bufbuild/protobuf";
import { AuditEventSchema, AuditOutcome, type AuditEvent, type GatehouseClient } from "../client.js";
import { ExitCode } from "../exit-codes.js";
import { roomIdOf, timeText, userIdOf } from "../lookup.js";
import { CliError } from "../output.js";
import type { Session } from "../session.js";

type Open = (cmd: Command) => Session;

/** FilterOptions narrow the audit log. */
interface FilterOptions {
  room?: string;
  actor?: string;
  action?: string;
  since?: string;
  until?: string;
}

const filterFlags = (cmd: Command) =>
  cmd
    .option("--room <room>", "only events of this room (name or id)")
    .option("--actor <user>", "only events of this user (username or id)")
    .option("--action <action>", "only this action, e.g. macros.run or auth.login")
    .option("--since <time>", "only events at or after this time (ISO 8601)")
    .option("--until <time>", "only events before this time (ISO 8601)");

const timeOf = (flag: string, text: string | undefined) => {
  if (text === undefined) return undefined;
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new CliError(`${flag} is not a time: ${text}`);
  return timestampFromDate(date);
};

/** events pages through the audit log, newest first, calling `each` on every page until it answers false. */
async function events(gh: GatehouseClient, o: FilterOptions, each: (page: AuditEvent[]) => boolean | Promise<boolean>): Promise<void> {
  const request = {
    roomId: o.room === undefined ? undefined : await roomIdOf(gh, o.room),
    actorId: o.actor === undefined ? undefined : await userIdOf(gh, o.actor),
    action: o.action,
    since: timeOf("--since", o.since),
    until: timeOf("--until", o.until),
  };
  let pageToken = "";
  do {
    const res = await gh.audit.listAuditEvents({ ...request, pageToken, pageSize: 1000 });
    if (!(await each(res.events))) return;
    pageToken = res.nextPageToken;
  } while (pageToken !== "");
}

/** registerAudit adds audit list, verify and export. */
export function registerAudit(program: Command, open: Open): void {
  const audit = program.command("audit").description("the tenant's tamper-evident audit log");

  filterFlags(audit.command("list").description("list audit events, newest first"))
    .option("--limit <n>", "at most this many events", (v) => Number.parseInt(v, 10), 50)
    .action(async (opts: FilterOptions & { limit: number }, cmd: Command) => {
      const s = open(cmd);
      const shown: AuditEvent[] = [];
      await events(s.client(), opts, (page) => {
        shown.push(...page.slice(0, opts.limit - shown.length));
        return shown.length < opts.limit;
      });
      if (s.out.json) return s.out.data(shown.map((e) => s.out.message(AuditEventSchema, e)));
      s.out.table(
        ["seq", "time", "actor", "action", "outcome", "resource", "reason"],
        shown.map((e) => [e.seq.toString(), timeText(e.createdAt), e.actorName, e.action, (AuditOutcome[e.outcome] ?? "").toLowerCase(), e.resource, e.reason]),
      );
    });

  audit
    .command("verify")
    .description("check the hash chain of the tenant's audit log (exit 9 when broken)")
    .action(async (_opts: unknown, cmd: Command) => {
      const s = open(cmd);
      const res = await s.client().audit.verifyAuditChain({});
      if (s.out.json) s.out.data({ ok: res.ok, eventsChecked: res.eventsChecked.toString(), firstBrokenSeq: res.firstBrokenSeq?.toString() ?? null });
      else s.out.line(res.ok ? `ok: ${res.eventsChecked} events checked, the chain is intact` : `BROKEN at seq ${res.firstBrokenSeq} (${res.eventsChecked} events checked)`);
      if (!res.ok) throw new CliError("the audit chain is broken", ExitCode.checkFailed);
    });

  filterFlags(audit.command("export").description("write every matching event as JSON lines (newest first)"))
    .option("--output <file>", "write to a file instead of stdout")
    .action(async (opts: FilterOptions & { output?: string }, cmd: Command) => {
      const s = open(cmd);
      const sink: NodeJS.WritableStream = opts.output ? createWriteStream(opts.output, { mode: 0o600 }) : process.stdout;
      let count = 0;
      await events(s.client(), opts, async (page) => {
        const text = page.map((e) => `${JSON.stringify(toJson(AuditEventSchema, e))}\n`).join("");
        count += page.length;
        if (text && !sink.write(text)) await new Promise<void>((r) => sink.once("drain", () => r()));
        return true;
      });
      if (sink !== process.stdout) await new Promise<void>((resolve) => sink.end(() => resolve()));
      s.out.note(`${count} event(s) exported`);
    });
}
