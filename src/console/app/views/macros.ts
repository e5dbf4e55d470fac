import type { JsonValue } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { Outcome } from "../../../../gen/gatehouse/v1/common_pb.js";
import type { Lock } from "../../../../gen/gatehouse/v1/locks_pb.js";
import type { Macro } from "../../../../gen/gatehouse/v1/macros_pb.js";
import { failureOf } from "../api.js";
import { createCodeEditor } from "../code-editor.js";
import { field, formatBytes, formatTime, formValues, h, replace, table } from "../dom.js";
import { button, errorBox, loadInto, notice, section, type View, type ViewContext } from "../ui.js";
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

/**
 * MacroEditor edits one macro under its lock: it acquires the lock when
 * opened, shows who holds it and until when, refreshes it on a timer (a
 * third of the lease) while open, validates as you type (line and column
 * markers), saves with the lock's fencing token and the expected version,
 * runs the saved version, and releases the lock when closed.
 */
interface MacroEditor {
  el: HTMLElement;
  close(): Promise<void>;
}

function openEditor(ctx: ViewContext, roomId: string, initial: Macro, onSaved: () => void): MacroEditor {
  const { api, progress } = ctx;
  const target = `macro/${initial.macroId}`;
  let macro = initial;
  let lock: Lock | undefined;
  let refreshedAt: Date | undefined;
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  let validateTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let dirty = false;

  const lockStatus = h("div", { id: "lock-status", class: "lock-status" });
  const lockActions = h("span", { class: "lock-actions" });
  const lease = h("input", { id: "lock-lease", type: "number", min: 1, max: 1800, placeholder: "900", class: "narrow" });
  const editorStatus = h("div", { id: "editor-status" });
  const title = h("h2", {}, `Macro ${macro.name}`);
  const meta = h("p", { class: "muted", id: "macro-meta" });
  const editor = createCodeEditor(() => {
    dirty = true;
    clearTimeout(validateTimer);
    validateTimer = setTimeout(() => void validate(false), 600);
  });

  const renderMeta = () => replace(meta, `version ${macro.version} · `, h("code", {}, macro.macroId), dirty ? " · unsaved changes" : "");

  const renderLock = (other?: { name: string; expiresAt?: Date }) => {
    if (lock?.expiresAt) {
      const expires = timestampDate(lock.expiresAt);
      replace(
        lockStatus,
        h("span", { class: "badge ok" }, "locked by you"),
        " held by ",
        h("strong", { id: "lock-holder" }, lock.ownerName || lock.ownerId),
        " · expires ",
        h("span", { id: "lock-expires" }, formatTime(expires)),
        " (in ",
        h("span", { id: "lock-remaining" }, remaining(expires)),
        ") · fencing token ",
        h("code", { id: "lock-token" }, String(lock.fencingToken)),
        refreshedAt ? [" · refreshed ", h("span", { id: "lock-refreshed" }, formatTime(refreshedAt))] : "",
      );
      replace(lockActions, field("Lease (s)", lease), button("Release lock", () => void release(), { id: "lock-release", class: "small" }));
      return;
    }
    replace(
      lockStatus,
      other
        ? [h("span", { class: "badge warn" }, "locked"), " held by ", h("strong", { id: "lock-holder" }, other.name), other.expiresAt ? [" until ", h("span", { id: "lock-expires" }, formatTime(other.expiresAt))] : "", " — read-only"]
        : [h("span", { class: "badge" }, "not locked"), " — take the lock to edit"],
    );
    replace(
      lockActions,
      field("Lease (s)", lease),
      button("Take lock", () => void acquire(), { id: "lock-acquire", class: "small" }),
      other && ctx.can("locks.break") ? button("Break lock", () => void breakLock(), { id: "lock-break", class: "small danger" }) : "",
    );
  };

  const scheduleRefresh = () => {
    clearTimeout(refreshTimer);
    if (!lock?.expiresAt || !lock.acquiredAt || closed) return;
    // Refresh at a third of the lease, so two refreshes can fail before it lapses.
    const leaseMs = timestampDate(lock.expiresAt).getTime() - Date.now();
    refreshTimer = setTimeout(() => void refresh(), Math.max(1000, leaseMs / 3));
  };
  const ttlSeconds = () => (lease.value ? Number(lease.value) : undefined);

  const held = (l: Lock | undefined) => {
    lock = l;
    editor.setReadOnly(!lock);
    renderLock();
    scheduleRefresh();
  };
  const showHolder = async (err: unknown) => {
    const f = failureOf(err);
    lock = undefined;
    editor.setReadOnly(true);
    if (f.code === Code.FailedPrecondition && f.detail?.holder) {
      const holder = f.detail.holder;
      renderLock({ name: holder.holderName || holder.holderId, expiresAt: holder.expiresAt ? timestampDate(holder.expiresAt) : undefined });
      return;
    }
    const current = await api.locks.getLock({ roomId, target }).then((r) => r.lock, () => undefined);
    renderLock(current ? { name: current.ownerName || current.ownerId, expiresAt: current.expiresAt ? timestampDate(current.expiresAt) : undefined } : undefined);
    replace(editorStatus, errorBox(err, "Lock"));
  };

  const acquire = async () => {
    try {
      const res = await api.locks.acquireLock({ roomId, target, ttlSeconds: ttlSeconds() });
      refreshedAt = undefined;
      held(res.lock);
      replace(editorStatus);
    } catch (err) {
      await showHolder(err);
    }
  };
  const refresh = async () => {
    if (!lock || closed) return;
    try {
      const res = await api.locks.refreshLock({ roomId, target, ttlSeconds: ttlSeconds() });
      refreshedAt = new Date();
      held(res.lock);
    } catch (err) {
      await showHolder(err);
      replace(editorStatus, errorBox(err, "Refreshing the lock"));
    }
  };
  const release = async () => {
    clearTimeout(refreshTimer);
    const had = lock;
    lock = undefined;
    editor.setReadOnly(true);
    renderLock();
    if (had) await api.locks.releaseLock({ roomId, target }).catch(() => undefined);
  };
  const breakLock = async () => {
    try {
      await api.locks.breakLock({ roomId, target });
      await acquire();
    } catch (err) {
      replace(editorStatus, errorBox(err, "Break lock"));
    }
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

  const save = h("button", { type: "button", class: "primary", id: "macro-save" }, "Save");
  save.addEventListener("click", () => {
    const code = editor.value();
    void progress
      .run(
        "Saving macro",
        () =>
          api.macros.updateMacros({
            roomId,
            macros: [{ macroId: macro.macroId, name: macro.name, code, expectedVersion: macro.version, fencingToken: lock?.fencingToken }],
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
          onSaved();
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
    if (el && lock?.expiresAt) el.textContent = remaining(timestampDate(lock.expiresAt));
  }, 1000);

  editor.setValue(macro.code);
  editor.setReadOnly(true);
  renderMeta();
  renderLock();
  void acquire().then(() => validate(false));

  const el = h(
    "section",
    { class: "card", id: "macro-editor" },
    title,
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
  return {
    el,
    async close() {
      closed = true;
      clearInterval(tick);
      clearTimeout(validateTimer);
      await release();
    },
  };
}

/**
 * macrosView picks a room, lists its macros and repos, creates macros, and
 * opens the macro editor (see openEditor). Repo sync shows progress.
 */
export function macrosView(ctx: ViewContext): View {
  const { api, progress } = ctx;
  const list = h("div", { id: "macros-list" });
  const repos = h("div", { id: "repos-list" });
  const editorBox = h("div");
  const createStatus = h("div", { id: "create-macro-status" });
  let editor: MacroEditor | undefined;
  let roomId = "";

  const open = async (m: Macro) => {
    await editor?.close();
    editor = openEditor(ctx, roomId, m, () => void loadMacros());
    replace(editorBox, editor.el);
  };
  const loadMacros = () =>
    loadInto(list, "macros", () => api.macros.listMacros({ roomId, pageSize: 1000 }), (res) =>
      table(
        ["Macro", "Version", "Updated", ""],
        res.macros.map((m) => [
          h("strong", {}, m.name),
          String(m.version),
          formatTime(m.updatedAt ? timestampDate(m.updatedAt) : undefined),
          button("Open", () => void open(m), { class: "small", "data-macro": m.name }),
        ]),
        { id: "macros-table" },
      ),
    );

  const loadRepos = () =>
    loadInto(repos, "repositories", () => api.repos.listRepos({ roomId, pageSize: 1000 }), (res) =>
      table(
        ["URL", "Ref", "Path", "Last commit", "Synced", ""],
        res.repos.map((r) => {
          const sync = h("button", { type: "button", class: "small" }, "Sync");
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
          return [
            h("code", {}, r.url),
            r.ref,
            r.path,
            h("code", {}, r.lastCommit.slice(0, 12) || "—"),
            [formatTime(r.lastSyncedAt ? timestampDate(r.lastSyncedAt) : undefined), r.lastError ? h("div", { class: "error-text" }, r.lastError) : null],
            [sync, out],
          ];
        }),
        { id: "repos-table" },
      ),
    );

  const showRoom = async (id: string) => {
    await editor?.close();
    editor = undefined;
    replace(editorBox);
    roomId = id;
    if (!id) {
      replace(list, h("p", { class: "muted" }, "Choose a room to see its macros."));
      replace(repos);
      return;
    }
    await Promise.all([loadMacros(), loadRepos()]);
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
        if (m) void open(m);
      },
      (err: unknown) => replace(createStatus, errorBox(err, "Create macro")),
    );
  });

  const repoStatus = h("div");
  const addRepo = h("button", { type: "submit" }, "Add repository");
  const repoForm = h(
    "form",
    { class: "grid-form", id: "add-repo-form" },
    field("URL", h("input", { name: "url", required: true, placeholder: "https://git.example.com/macros.git", type: "url" })),
    field("Ref", h("input", { name: "ref", value: "main" })),
    field("Path", h("input", { name: "path", placeholder: "macros/" })),
    h("div", { class: "actions" }, addRepo),
  );
  repoForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = formValues(repoForm);
    void progress.run("Adding repository", () => api.repos.updateRepo({ roomId, url: v.url ?? "", ref: v.ref ?? "", path: v.path ?? "" }), addRepo).then(
      () => {
        replace(repoStatus);
        void loadRepos();
      },
      (err: unknown) => replace(repoStatus, errorBox(err, "Add repository")),
    );
  });

  void picker.reload();
  return {
    el: h(
      "div",
      { class: "view", id: "macros-view" },
      section("Macros", { id: "macros" }, picker.el, list, h("h3", {}, "New macro"), createStatus, form),
      editorBox,
      section("Repositories", { id: "repos" }, repos, h("h3", {}, "Add a repository"), repoStatus, repoForm),
    ),
    dispose: () => editor?.close(),
  };
}
