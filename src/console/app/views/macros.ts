import { isFieldSet, type JsonValue } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { Outcome, PolicySchema, RoomRole } from "../../../../gen/gatehouse/v1/common_pb.js";
import { MacroSourceKind, type Macro } from "../../../../gen/gatehouse/v1/macros_pb.js";
import type { Repo } from "../../../../gen/gatehouse/v1/repos_pb.js";
import type { Room } from "../../../../gen/gatehouse/v1/rooms_pb.js";
import { failureOf } from "../api.js";
import { createCodeEditor } from "../code-editor.js";
import { createEditLease, type EditLease } from "../edit-lease.js";
import { field, formatBytes, formatTime, formValues, h, plural, replace, table } from "../dom.js";
import { button, errorBox, loadInto, notAllowed, notice, openDialog, section, serverInfoOf, type View, type ViewContext } from "../ui.js";
import { createRoomPicker } from "./room-picker.js";

/** macroTemplate is the code a new macro starts with. */
export const macroTemplate = `import { log } from "gatehouse:log";

export default function (input, ctx) {
  log("called by", ctx.caller.id);
  return { hello: (input && input.name) || "world" };
}
`;

/** remaining renders the time left until `date` as m:ss. */
function remaining(date: Date): string {
  const s = Math.max(0, Math.round((date.getTime() - Date.now()) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** outcomeName renders an Outcome (OK, TIMEOUT, …). */
function outcomeName(outcome: Outcome): string {
  return Outcome[outcome] ?? String(outcome);
}

/** LeaseRange is the lock lease range the server allows (GetServerInfo), in seconds. */
interface LeaseRange {
  min: number;
  max: number;
  fallback: number;
}

/**
 * MacroEditor shows one macro, read-only until "Edit" takes its lock. While
 * editing it shows who holds the lock and until when, keeps the lease
 * fresh while the tab is visible (see edit-lease.ts), validates as you
 * type (line and column markers), saves with the lock's fencing token and
 * the expected version, and runs the saved version. "Done", leaving the
 * editor and closing the page give the lock back.
 */
interface MacroEditor {
  el: HTMLElement;
  macroId: string;
  close(): Promise<void>;
}

function openEditor(ctx: ViewContext, room: Room | undefined, roomId: string, initial: Macro, options: { edit: boolean; onSaved: () => void }): MacroEditor {
  const { api, progress } = ctx;
  const target = `macro/${initial.macroId}`;
  let macro = initial;
  let refreshedAt: Date | undefined;
  let validateTimer: ReturnType<typeof setTimeout> | undefined;
  let dirty = false;
  let range: LeaseRange | undefined;

  const lockStatus = h("div", { id: "lock-status", class: "lock-status", role: "status" });
  const lockActions = h("div", { class: "lock-actions" });
  const lease = h("input", { id: "lock-lease", name: "lease", type: "number", inputmode: "numeric", class: "narrow", "aria-describedby": "lock-lease-hint" });
  const leaseHint = h("span", { class: "hint", id: "lock-lease-hint" }, "lease range: loading…");
  const leaseField = h("label", { class: "field lease-field" }, h("span", { class: "label" }, "Lease (s)"), lease, leaseHint);
  const editorStatus = h("div", { id: "editor-status" });
  const title = h("h2", {}, `Macro ${macro.name}`);
  const meta = h("p", { class: "muted", id: "macro-meta" });
  const mode = h("span", { id: "editor-mode", class: "badge" });
  const editor = createCodeEditor(() => {
    dirty = true;
    renderMeta();
    clearTimeout(validateTimer);
    validateTimer = setTimeout(() => void validate(false), 600);
  });

  void serverInfoOf(api).then((info) => {
    const l = info?.lockLease;
    if (!l) {
      replace(leaseHint, "the server's default lease");
      return;
    }
    range = { min: l.minTtlSeconds, max: l.maxTtlSeconds, fallback: l.defaultTtlSeconds };
    lease.min = String(range.min);
    lease.max = String(range.max);
    lease.placeholder = String(range.fallback);
    if (!lease.value) lease.value = String(range.fallback);
    replace(leaseHint, `${range.min}–${range.max} s (default ${range.fallback})`);
  });

  const renderMeta = () => replace(meta, `version ${macro.version} · `, h("code", {}, macro.macroId), dirty ? " · unsaved changes" : "");

  /** ttlSeconds reads the lease box: empty means the server's default; out of range is refused here, as the server would. */
  const ttlSeconds = (): number | undefined => {
    const text = lease.value.trim();
    if (!text) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || (range && (n < range.min || n > range.max))) {
      throw new RangeError(range ? `The lease must be a whole number of seconds from ${range.min} to ${range.max}.` : "The lease must be a whole number of seconds.");
    }
    return n;
  };
  const checkLease = (): boolean => {
    try {
      ttlSeconds();
      lease.setCustomValidity("");
      lease.removeAttribute("aria-invalid");
      return true;
    } catch (err) {
      lease.setCustomValidity((err as Error).message);
      lease.setAttribute("aria-invalid", "true");
      replace(editorStatus, notice("error", h("span", { id: "lease-error" }, (err as Error).message)));
      lease.focus();
      return false;
    }
  };

  const save = h("button", { type: "button", class: "primary", id: "macro-save" }, "Save");
  const editButton = button("Edit", () => void startEditing(), { id: "lock-acquire", class: "primary" });
  const doneButton = button("Done", () => void stopEditing(), { id: "lock-release" });

  const renderLock = (other?: { name: string; expiresAt?: Date }) => {
    const lock = editLease?.lock();
    editor.setReadOnly(!lock);
    save.hidden = !lock;
    mode.className = lock ? "badge ok" : "badge";
    replace(mode, lock ? "editing" : "read-only");
    if (lock?.expiresAt) {
      const expires = timestampDate(lock.expiresAt);
      replace(
        lockStatus,
        "locked by ",
        h("strong", { id: "lock-holder" }, lock.ownerName || lock.ownerId),
        " · expires ",
        h("span", { id: "lock-expires" }, formatTime(expires)),
        " (in ",
        h("span", { id: "lock-remaining" }, remaining(expires)),
        ") · fencing token ",
        h("code", { id: "lock-token" }, String(lock.fencingToken)),
        refreshedAt ? [" · refreshed ", h("span", { id: "lock-refreshed" }, formatTime(refreshedAt))] : "",
      );
      replace(lockActions, leaseField, doneButton);
      return;
    }
    replace(
      lockStatus,
      other
        ? ["locked by ", h("strong", { id: "lock-holder" }, other.name), other.expiresAt ? [" until ", h("span", { id: "lock-expires" }, formatTime(other.expiresAt))] : ""]
        : "not locked — press Edit to take the lock",
    );
    const mayBreak = other && ctx.can("locks.break") && room?.myRole === RoomRole.ADMIN;
    replace(lockActions, leaseField, editButton, mayBreak ? button("Break lock", () => void breakLock(), { id: "lock-break", class: "danger" }) : "");
  };

  /** showHolder shows who holds the lock now (after a refusal or a lost lease). */
  const showHolder = async (err?: unknown) => {
    const f = err === undefined ? undefined : failureOf(err);
    if (f?.code === Code.FailedPrecondition && f.detail?.holder) {
      const holder = f.detail.holder;
      renderLock({ name: holder.holderName || holder.holderId, expiresAt: holder.expiresAt ? timestampDate(holder.expiresAt) : undefined });
      return;
    }
    const current = await api.locks.getLock({ roomId, target }).then((r) => r.lock, () => undefined);
    const mine = current && current.ownerId === ctx.me.user?.userId;
    renderLock(current && !mine ? { name: current.ownerName || current.ownerId, expiresAt: current.expiresAt ? timestampDate(current.expiresAt) : undefined } : undefined);
  };

  let editLease: EditLease | undefined = createEditLease({
    api,
    roomId,
    target,
    ttlSeconds: () => {
      try {
        return ttlSeconds();
      } catch {
        return undefined;
      }
    },
    onChange: (_lock, event, lost) => {
      if (event === "refreshed") refreshedAt = new Date();
      if (event === "taken") refreshedAt = undefined;
      if (event === "lost") {
        replace(editorStatus, errorBox(lost, "Keeping the lock"), notice("warn", "The editor is read-only again; your unsaved changes are still here."));
        void showHolder(lost);
        return;
      }
      renderLock();
    },
  });

  const startEditing = async () => {
    if (!checkLease()) return;
    replace(editorStatus);
    try {
      await progress.run("Taking the lock", () => editLease!.take(), editButton);
      editor.textarea.focus();
    } catch (err) {
      replace(editorStatus, errorBox(err, "Edit"));
      await showHolder(err);
    }
  };
  const stopEditing = async () => {
    await editLease?.release();
    replace(editorStatus, dirty ? notice("warn", "Lock given back; your unsaved changes were not saved.") : null);
    editButton.focus();
  };
  const breakLock = async () => {
    const confirmed = await openDialog(progress, {
      id: "break-lock-dialog",
      title: "Break this lock?",
      body: h("p", {}, `The holder loses the lock on macro ${macro.name} at once; their unsaved changes cannot be saved under it. You then take the lock yourself.`),
      confirmLabel: "Break lock",
      danger: true,
      onConfirm: async () => {
        await api.locks.breakLock({ roomId, target });
      },
    });
    if (confirmed) await startEditing();
  };

  const validate = async (explicit: boolean) => {
    const code = editor.value();
    try {
      const res = await api.macros.validateMacro({ roomId, code });
      if (code !== editor.value()) return; // edited meanwhile: a newer check follows
      editor.mark(res.violations, true);
      if (explicit) replace(editorStatus, res.violations.length === 0 ? notice("ok", "Valid.") : notice("warn", `${res.violations.length} problem(s).`));
    } catch (err) {
      replace(editorStatus, errorBox(err, "Validate"));
    }
  };

  save.addEventListener("click", () => {
    const code = editor.value();
    void progress
      .run(
        "Saving macro",
        () =>
          api.macros.updateMacros({
            roomId,
            macros: [{ macroId: macro.macroId, name: macro.name, code, expectedVersion: macro.version, fencingToken: editLease?.lock()?.fencingToken }],
          }),
        save,
      )
      .then(
        (res) => {
          macro = res.macros[0] ?? macro;
          dirty = editor.value() !== code;
          editor.mark([], true);
          renderMeta();
          replace(editorStatus, notice("ok", h("span", { id: "save-ok" }, `Saved version ${macro.version}.`)));
          options.onSaved();
        },
        (err: unknown) => {
          const f = failureOf(err);
          if (f.detail?.violations.length) editor.mark(f.detail.violations, true);
          replace(editorStatus, errorBox(err, "Save"));
        },
      );
  });

  const runInput = h("textarea", { id: "run-input", class: "code small", spellcheck: "false", rows: 3 }, '{ "name": "world" }');
  const runResult = h("div", { id: "run-result" });
  const run = h("button", { type: "button", class: "primary", id: "run-submit" }, "Run");
  run.addEventListener("click", () => {
    let input: JsonValue;
    try {
      input = runInput.value.trim() === "" ? null : (JSON.parse(runInput.value) as JsonValue);
    } catch (err) {
      replace(runResult, notice("error", `Input is not JSON: ${(err as Error).message}`));
      return;
    }
    const version = macro.version;
    replace(runResult, h("p", { class: "muted loading" }, "Running…"));
    void progress.run("Running macro", () => api.macros.runMacro({ roomId, macroId: macro.macroId, input }), run).then(
      (res) => {
        const ok = res.outcome === Outcome.OK;
        replace(
          runResult,
          dirty ? notice("info", `Ran the saved version ${version}; your unsaved changes were not run.`) : null,
          h(
            "dl",
            { class: "run-facts" },
            h("dt", {}, "Outcome"),
            h("dd", {}, h("span", { id: "run-outcome", class: `badge ${ok ? "ok" : "deny"}` }, outcomeName(res.outcome))),
            h("dt", {}, "Duration"),
            h("dd", { id: "run-duration" }, `${res.durationMs} ms`),
            h("dt", {}, "Memory"),
            h("dd", { id: "run-memory" }, formatBytes(res.memoryUsedBytes)),
            h("dt", {}, "Host calls"),
            h("dd", { id: "run-host-calls" }, String(res.hostCalls)),
          ),
          res.errorMessage ? notice("error", h("span", { id: "run-error" }, res.errorMessage)) : null,
          h("h4", {}, "Output"),
          h("pre", { id: "run-output", class: "output" }, res.output !== undefined ? JSON.stringify(res.output, null, 2) : "(none)"),
          h("h4", {}, `Logs (${res.logs.length})`),
          h("pre", { id: "run-logs", class: "output" }, res.logs.length > 0 ? res.logs.join("\n") : "(none)"),
        );
      },
      (err: unknown) => replace(runResult, errorBox(err, "Run")),
    );
  });

  const tick = setInterval(() => {
    const el = lockStatus.querySelector("#lock-remaining");
    const lock = editLease?.lock();
    if (el && lock?.expiresAt) el.textContent = remaining(timestampDate(lock.expiresAt));
  }, 1000);

  editor.setValue(macro.code);
  renderMeta();
  renderLock();
  // A macro opens read-only (showing who holds it, if anyone); a new one opens for editing.
  void (options.edit ? startEditing() : showHolder()).then(() => validate(false));

  const el = h(
    "section",
    { class: "card", id: "macro-editor", "aria-labelledby": "macro-editor-title" },
    h("div", { class: "editor-head" }, title, mode),
    meta,
    h("div", { class: "lock-bar" }, lockStatus, lockActions),
    editor.el,
    h("div", { class: "actions" }, button("Validate", () => void validate(true), { id: "macro-validate" }), save),
    editorStatus,
    h("h3", {}, "Run"),
    field("Input (JSON)", runInput),
    h("div", { class: "actions" }, run),
    runResult,
  );
  title.id = "macro-editor-title";
  return {
    el,
    macroId: macro.macroId,
    async close() {
      clearInterval(tick);
      clearTimeout(validateTimer);
      const lease = editLease;
      editLease = undefined;
      await lease?.dispose();
    },
  };
}

/** macroLines counts a macro's lines, for the delete confirmation. */
function macroLines(code: string): number {
  return code === "" ? 0 : code.replace(/\n$/, "").split("\n").length;
}

/**
 * macrosView picks a room, lists its macros and repos, creates, opens and
 * deletes macros, adds, syncs and deletes repos. Opening a macro shows it
 * read-only (see openEditor); deleting asks first, naming what goes.
 */
export function macrosView(ctx: ViewContext): View {
  const { api, progress } = ctx;
  const list = h("div", { id: "macros-list", class: "list-box" });
  const repos = h("div", { id: "repos-list", class: "list-box" });
  const editorBox = h("div");
  const listStatus = h("div", { id: "macros-status" });
  const createStatus = h("div", { id: "create-macro-status" });
  let editor: MacroEditor | undefined;
  let roomId = "";
  let macros: Macro[] = [];

  const room = () => picker.rooms().find((r) => r.roomId === roomId);
  const canWrite = () => ctx.can("macros.write") && (room()?.myRole ?? RoomRole.UNSPECIFIED) >= RoomRole.EDITOR;

  const closeEditor = async () => {
    const e = editor;
    editor = undefined;
    replace(editorBox);
    await e?.close();
  };
  const open = async (m: Macro, edit: boolean) => {
    await editor?.close();
    editor = openEditor(ctx, room(), roomId, m, { edit, onSaved: () => void loadMacros() });
    replace(editorBox, editor.el);
    editor.el.querySelector("h2")?.scrollIntoView({ block: "nearest" });
  };

  const deleteMacro = async (m: Macro) => {
    const policy = await api.policies.getMacroPolicy({ roomId, macroId: m.macroId }).then(
      (r) => {
        const set = r.policy ? PolicySchema.fields.filter((f) => isFieldSet(r.policy!, f)).map((f) => f.name) : [];
        return set.length > 0 ? `its policy layer (${set.join(", ")})` : "its policy layer (empty)";
      },
      () => "its policy layer, if it has one",
    );
    const target = `macro/${m.macroId}`;
    await openDialog(progress, {
      id: "delete-macro-dialog",
      title: `Delete macro ${m.name}?`,
      body: [
        h("p", {}, "This deletes, for good:"),
        h("ul", { id: "delete-macro-what" }, h("li", {}, `the macro ${m.name}: version ${m.version}, ${plural(macroLines(m.code), "line")} of code`), h("li", {}, policy), h("li", {}, "its lock")),
        h("p", { class: "muted" }, "The room's stored records and the audit log stay."),
      ],
      confirmLabel: "Delete macro",
      danger: true,
      onConfirm: async () => {
        if (editor?.macroId === m.macroId) await closeEditor();
        // DeleteMacro needs the macro's lock: take it (refused, with the holder, when someone else has it).
        await api.locks.acquireLock({ roomId, target });
        try {
          await api.macros.deleteMacro({ roomId, macroId: m.macroId });
        } finally {
          await api.locks.releaseLock({ roomId, target }).catch(() => undefined);
        }
        replace(listStatus, notice("ok", `Deleted macro ${m.name}.`));
        void loadMacros();
      },
    });
  };

  const loadMacros = () =>
    loadInto(list, "macros", () => api.macros.listMacros({ roomId, pageSize: 1000 }), (res) => {
      macros = res.macros;
      return table(
        ["Macro", "Version", "Source", "Updated", ""],
        res.macros.map((m) => [
          h("strong", {}, m.name),
          String(m.version),
          m.source?.kind === MacroSourceKind.REPO ? h("span", { title: m.source.path }, "repo") : "manual",
          formatTime(m.updatedAt ? timestampDate(m.updatedAt) : undefined),
          h(
            "span",
            { class: "row-actions" },
            button("Open", () => void open(m, false), { class: "small", "data-macro": m.name, "aria-label": `Open macro ${m.name}` }),
            canWrite() ? button("Delete", () => void deleteMacro(m), { class: "small danger", "data-delete-macro": m.name, "aria-label": `Delete macro ${m.name}` }) : "",
          ),
        ]),
        { id: "macros-table", "aria-label": "Macros" },
      );
    });

  const deleteRepo = async (r: Repo) => {
    const imported = macros.filter((m) => m.source?.kind === MacroSourceKind.REPO && m.source.repoId === r.repoId);
    const target = `repo/${r.repoId}`;
    await openDialog(progress, {
      id: "delete-repo-dialog",
      title: "Delete this repository?",
      body: [
        h("p", {}, "This deletes the repository ", h("code", { class: "wrap" }, r.url), r.ref ? ` (ref ${r.ref})` : "", r.path ? ` (path ${r.path})` : "", " and its lock."),
        h(
          "p",
          { id: "delete-repo-what" },
          imported.length === 0
            ? "No macro was imported from it."
            : `${plural(imported.length, "macro was", "macros were")} imported from it; they stay, as manual macros: ${imported.map((m) => m.name).join(", ")}.`,
        ),
      ],
      confirmLabel: "Delete repository",
      danger: true,
      onConfirm: async () => {
        // DeleteRepo needs the repo's lock; the server lets it go once the repo is gone.
        const { lock } = await api.locks.acquireLock({ roomId, target });
        try {
          await api.repos.deleteRepo({ roomId, repoId: r.repoId, fencingToken: lock?.fencingToken });
        } catch (err) {
          await api.locks.releaseLock({ roomId, target }).catch(() => undefined);
          throw err;
        }
        replace(repoStatus, notice("ok", "Deleted the repository."));
        void loadRepos();
        void loadMacros();
      },
    });
  };

  const loadRepos = () =>
    loadInto(repos, "repositories", () => api.repos.listRepos({ roomId, pageSize: 1000 }), (res) =>
      table(
        ["URL", "Ref", "Path", "Last commit", "Synced", ""],
        res.repos.map((r) => {
          const sync = h("button", { type: "button", class: "small", "aria-label": `Sync ${r.url}` }, "Sync");
          const out = h("div");
          sync.addEventListener("click", () => {
            // A sync runs under the repo's lock: take it, sync with its fencing token, let it go.
            const target = `repo/${r.repoId}`;
            const work = async () => {
              const { lock } = await api.locks.acquireLock({ roomId, target });
              try {
                return await api.repos.syncRepo({ roomId, repoId: r.repoId, fencingToken: lock?.fencingToken });
              } finally {
                await api.locks.releaseLock({ roomId, target }).catch(() => undefined);
              }
            };
            void progress.run(`Syncing ${r.url}`, work, sync).then(
              (s) => {
                replace(
                  out,
                  notice(
                    s.violations.length ? "warn" : "ok",
                    `commit ${s.commit.slice(0, 12)}: ${s.imported.length} imported, ${s.removed.length} removed, ${s.violations.length} violation(s)`,
                    s.violations.length ? h("ul", {}, s.violations.map((v) => h("li", {}, `${v.file}: line ${v.line}, column ${v.column}: ${v.message}`))) : null,
                  ),
                );
                void loadMacros();
                void loadRepos();
              },
              (err: unknown) => replace(out, errorBox(err, "Sync")),
            );
          });
          const writable = ctx.can("repos.write") && (room()?.myRole ?? RoomRole.UNSPECIFIED) >= RoomRole.EDITOR;
          return [
            h("code", { class: "wrap" }, r.url),
            r.ref,
            r.path,
            h("code", {}, r.lastCommit.slice(0, 12) || "—"),
            [formatTime(r.lastSyncedAt ? timestampDate(r.lastSyncedAt) : undefined), r.lastError ? h("div", { class: "error-text" }, r.lastError) : null],
            [
              h("span", { class: "row-actions" }, writable ? sync : "", writable ? button("Delete", () => void deleteRepo(r), { class: "small danger", "data-delete-repo": r.url, "aria-label": `Delete repository ${r.url}` }) : ""),
              out,
            ],
          ];
        }),
        { id: "repos-table", "aria-label": "Repositories" },
      ),
    );

  const showRoom = async (id: string) => {
    await closeEditor();
    roomId = id;
    macros = [];
    replace(listStatus);
    if (!id) {
      replace(list, h("p", { class: "muted" }, "Choose a room to see its macros."));
      replace(repos, h("p", { class: "muted" }, "Choose a room to see its repositories."));
      return;
    }
    // Say what the caller's permissions and room role do not allow, rather than a refused call.
    const role = room()?.myRole ?? RoomRole.UNSPECIFIED;
    const refusal = (permission: string) =>
      !ctx.can(permission) ? `it needs the permission ${permission}` : role < RoomRole.EDITOR ? `your role in this room is ${RoomRole[role] ?? "none"}, and it takes EDITOR` : "";
    const macrosWhy = refusal("macros.read");
    const reposWhy = refusal("repos.read");
    await Promise.all([
      macrosWhy ? replace(list, notAllowed("macros", macrosWhy)) : loadMacros(),
      reposWhy ? replace(repos, notAllowed("repositories", reposWhy)) : loadRepos(),
    ]);
  };
  const picker = createRoomPicker(ctx, "macro-room", (id) => void showRoom(id));

  const create = h("button", { type: "submit", class: "primary", id: "create-macro-submit" }, "Create macro");
  const form = h("form", { class: "grid-form", id: "create-macro-form" }, field("Name", h("input", { name: "name", id: "new-macro-name", required: true, autocomplete: "off" })), h("div", { class: "actions" }, create));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = formValues(form).name ?? "";
    if (!roomId) {
      replace(createStatus, notice("error", "Choose a room first."));
      return;
    }
    void progress.run("Creating macro", () => api.macros.updateMacros({ roomId, macros: [{ name, code: macroTemplate }] }), create).then(
      (res) => {
        replace(createStatus);
        form.reset();
        void loadMacros();
        const m = res.macros[0];
        // A new macro opens for editing: writing it is why it was created.
        if (m) void open(m, true);
      },
      (err: unknown) => replace(createStatus, errorBox(err, "Create macro")),
    );
  });

  const repoStatus = h("div", { id: "repos-status" });
  const addRepo = h("button", { type: "submit", id: "add-repo-submit" }, "Add repository");
  const repoForm = h(
    "form",
    { class: "grid-form", id: "add-repo-form" },
    field("URL", h("input", { name: "url", id: "new-repo-url", required: true, placeholder: "https://git.example.com/macros.git", type: "url" })),
    field("Ref", h("input", { name: "ref", value: "main" })),
    field("Path", h("input", { name: "path", placeholder: "macros/" })),
    h("div", { class: "actions" }, addRepo),
  );
  repoForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = formValues(repoForm);
    if (!roomId) {
      replace(repoStatus, notice("error", "Choose a room first."));
      return;
    }
    void progress.run("Adding repository", () => api.repos.updateRepo({ roomId, url: v.url ?? "", ref: v.ref ?? "", path: v.path ?? "" }), addRepo).then(
      () => {
        replace(repoStatus);
        repoForm.reset();
        void loadRepos();
      },
      (err: unknown) => replace(repoStatus, errorBox(err, "Add repository")),
    );
  });

  replace(list, h("p", { class: "muted loading" }, "Loading rooms…"));
  void picker.reload();
  return {
    el: h(
      "div",
      { class: "view", id: "macros-view" },
      section("Macros", { id: "macros" }, picker.el, listStatus, list, h("h3", {}, "New macro"), createStatus, form),
      editorBox,
      section("Repositories", { id: "repos" }, repos, h("h3", {}, "Add a repository"), repoStatus, repoForm),
    ),
    dispose: () => closeEditor(),
  };
}
