import { timestampDate } from "@bufbuild/protobuf/wkt";
import { RoomRole } from "../../../../gen/gatehouse/v1/common_pb.js";
import type { Lock } from "../../../../gen/gatehouse/v1/locks_pb.js";
import type { Room } from "../../../../gen/gatehouse/v1/rooms_pb.js";
import type { User } from "../../../../gen/gatehouse/v1/users_pb.js";
import { field, formatTime, formValues, h, plural, replace, select, table } from "../dom.js";
import { button, errorBox, loadInto, notAllowed, notice, openDialog, section, type View, type ViewContext } from "../ui.js";

const roomRoles = [RoomRole.VIEWER, RoomRole.EDITOR, RoomRole.ADMIN] as const;

/** roomRoleName renders a RoomRole as its name (EDITOR). */
export function roomRoleName(role: RoomRole): string {
  return RoomRole[role] ?? String(role);
}

/** isRoomAdmin tells whether the caller administers the room (their own role in it, as the server enforces it). */
function isRoomAdmin(room: Room): boolean {
  return room.myRole === RoomRole.ADMIN;
}

/**
 * roomsView lists rooms, creates and deletes them (the confirmation names
 * what goes, with counts), and shows a room's members (edited by its
 * admins) and its locks: who holds what until when, which a room admin
 * with `locks.break` can break.
 */
export function roomsView(ctx: ViewContext): View {
  const { api, progress } = ctx;
  const list = h("div", { id: "rooms-list", class: "list-box" });
  const detail = h("div", { id: "room-detail" });
  const listStatus = h("div", { id: "rooms-status" });
  const createStatus = h("div", { id: "create-room-status" });
  let users: User[] | undefined;
  let shown: Room | undefined;

  const membersPanel = (room: Room): HTMLElement => {
    const admin = isRoomAdmin(room) && ctx.can("rooms.write");
    const status = h("div");
    const body = h("div", { class: "list-box" });
    const load = () =>
      loadInto(body, "members", () => api.rooms.listRoomMembers({ roomId: room.roomId, pageSize: 1000 }), (res) =>
        table(
          ["Member", "Room role", "User id", ""],
          res.members.map((m) => [
            h("strong", {}, m.username),
            h("span", { class: "badge" }, roomRoleName(m.role)),
            h("code", {}, m.userId),
            admin
              ? button("Remove", () => {
                  void progress.run("Removing member", () => api.rooms.removeRoomMember({ roomId: room.roomId, userId: m.userId })).then(
                    () => void load(),
                    (err: unknown) => replace(status, errorBox(err, "Remove member")),
                  );
                }, { class: "small danger", "aria-label": `Remove ${m.username} from ${room.name}` })
              : "",
          ]),
          { id: "members-table", "aria-label": `Members of ${room.name}` },
        ),
      );
    let form: HTMLElement | null = null;
    if (admin) {
      // The user list (UsersService) may be unavailable: fall back to typing an id.
      const who = users
        ? select("userId", users.map((u) => [u.userId, u.username] as const), undefined, { id: "member-user" })
        : h("input", { name: "userId", id: "member-user", placeholder: "user id", required: true });
      const add = h("button", { type: "submit" }, "Add member");
      const f = h(
        "form",
        { class: "grid-form", id: "add-member-form" },
        field("User", who),
        field("Room role", select("role", roomRoles.map((r) => [String(r), roomRoleName(r)]), String(RoomRole.EDITOR), { id: "member-role" })),
        h("div", { class: "actions" }, add),
      );
      f.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const v = formValues(f);
        void progress.run("Adding member", () => api.rooms.addRoomMember({ roomId: room.roomId, userId: v.userId ?? "", role: Number(v.role) as RoomRole }), add).then(
          () => {
            replace(status);
            void load();
          },
          (err: unknown) => replace(status, errorBox(err, "Add member")),
        );
      });
      form = h("div", {}, h("h3", {}, "Add a member"), f);
    }
    void load();
    return section(`Members of ${room.name}`, { id: "members" }, h("p", {}, "Room id ", h("code", {}, room.roomId), " · your role ", h("span", { class: "badge", id: "my-room-role" }, roomRoleName(room.myRole))), status, body, form);
  };

  const locksPanel = (room: Room): HTMLElement => {
    const mayBreak = isRoomAdmin(room) && ctx.can("locks.break");
    const status = h("div", { id: "room-locks-status" });
    const body = h("div", { id: "room-locks-list", class: "list-box" });
    // Targets are `macro/<id>` and `repo/<id>`: show names where the caller may list them.
    const names = async (): Promise<Map<string, string>> => {
      const out = new Map<string, string>();
      const [macros, repos] = await Promise.all([
        api.macros.listMacros({ roomId: room.roomId, pageSize: 1000 }).then((r) => r.macros, () => []),
        api.repos.listRepos({ roomId: room.roomId, pageSize: 1000 }).then((r) => r.repos, () => []),
      ]);
      for (const m of macros) out.set(`macro/${m.macroId}`, `macro ${m.name}`);
      for (const r of repos) out.set(`repo/${r.repoId}`, `repo ${r.url}`);
      return out;
    };
    const breakLock = async (lock: Lock, what: string) => {
      await openDialog(progress, {
        id: "break-lock-dialog",
        title: "Break this lock?",
        body: h("p", {}, `${lock.ownerName || lock.ownerId} loses the lock on ${what} at once; their unsaved changes can no longer be saved under it.`),
        confirmLabel: "Break lock",
        danger: true,
        onConfirm: async () => {
          await api.locks.breakLock({ roomId: room.roomId, target: lock.target });
          replace(status, notice("ok", `Broke the lock on ${what}.`));
          void load();
        },
      });
    };
    const load = () =>
      loadInto(body, "locks", async () => {
        const [res, named] = await Promise.all([api.locks.listLocks({ roomId: room.roomId, pageSize: 1000 }), names()]);
        return { locks: res.locks, named };
      }, ({ locks, named }) =>
        table(
          ["Locked", "Holder", "Since", "Expires", "Fencing token", ""],
          locks.map((l) => {
            const what = named.get(l.target) ?? l.target;
            return [
              h("span", { title: l.target }, what),
              h("strong", {}, l.ownerName || l.ownerId),
              formatTime(l.acquiredAt ? timestampDate(l.acquiredAt) : undefined),
              formatTime(l.expiresAt ? timestampDate(l.expiresAt) : undefined),
              h("code", {}, String(l.fencingToken)),
              mayBreak ? button("Break", () => void breakLock(l, what), { class: "small danger", "data-break": l.target, "aria-label": `Break the lock on ${what}` }) : "",
            ];
          }),
          { id: "locks-table", "aria-label": `Locks in ${room.name}` },
        ),
      );
    if (ctx.can("locks.read")) void load();
    else replace(body, notAllowed("the room's locks", "it needs the permission locks.read"));
    return section(
      `Locks in ${room.name}`,
      { id: "room-locks" },
      h("p", { class: "muted" }, "Who is editing what (as of opening this panel). A lease that is not refreshed runs out at its expiry."),
      status,
      body,
    );
  };

  const showRoom = async (room: Room) => {
    shown = room;
    ctx.state.roomId = room.roomId;
    // The user list feeds the add-member form, which only the room's admins get.
    if (isRoomAdmin(room) && ctx.can("rooms.write") && ctx.can("users.read")) users ??= await api.users.listUsers({ pageSize: 1000 }).then((r) => r.users, () => undefined);
    if (shown !== room) return;
    replace(detail, h("div", { class: "view" }, membersPanel(room), locksPanel(room)));
    // The panel opens below the list: bring it into view and move focus there (screen readers follow).
    const heading = detail.querySelector("h2");
    heading?.setAttribute("tabindex", "-1");
    heading?.focus({ preventScroll: true });
    heading?.scrollIntoView({ block: "start" });
  };

  const deleteRoom = async (room: Room) => {
    let contents;
    try {
      contents = (await progress.run("Counting what the room holds", () => api.rooms.getRoom({ roomId: room.roomId }))).contents;
    } catch (err) {
      replace(listStatus, errorBox(err, "Delete room"));
      return;
    }
    const confirmName = h("input", { id: "delete-room-name", autocomplete: "off", spellcheck: "false" });
    const what = contents
      ? [
          plural(contents.memberCount, "member"),
          plural(contents.macroCount, "macro"),
          plural(contents.repoCount, "repository", "repositories"),
          plural(contents.recordCount, "stored record"),
        ]
      : ["its members, macros, repositories and stored records"];
    const deleted = await openDialog(progress, {
      id: "delete-room-dialog",
      title: `Delete room ${room.name}?`,
      body: [
        h("p", {}, "This deletes the room and everything in it, for good:"),
        h("ul", { id: "delete-room-what" }, what.map((w) => h("li", {}, w)), h("li", {}, "its policies and locks")),
        h("p", { class: "muted" }, "Its audit events stay."),
        field(`Type the room's name (${room.name}) to confirm`, confirmName),
      ],
      confirmLabel: "Delete room",
      danger: true,
      onConfirm: async () => {
        if (confirmName.value.trim() !== room.name) {
          confirmName.setAttribute("aria-invalid", "true");
          confirmName.focus();
          throw new Error(`type ${room.name} to confirm`);
        }
        await api.rooms.deleteRoom({ roomId: room.roomId });
      },
    });
    if (!deleted) return;
    if (ctx.state.roomId === room.roomId) ctx.state.roomId = undefined;
    if (shown?.roomId === room.roomId) {
      shown = undefined;
      replace(detail);
    }
    replace(listStatus, notice("ok", `Deleted room ${room.name}.`));
    void load();
  };

  const load = () =>
    loadInto(list, "rooms", () => api.rooms.listRooms({ pageSize: 1000 }), (res) =>
      table(
        ["Room", "Your role", "Room id", "Created", ""],
        res.rooms.map((r) => [
          h("strong", { class: "room-name" }, r.name),
          h("span", { class: "badge" }, roomRoleName(r.myRole)),
          h("code", {}, r.roomId),
          formatTime(r.createdAt ? timestampDate(r.createdAt) : undefined),
          h(
            "span",
            { class: "row-actions" },
            r.myRole !== RoomRole.UNSPECIFIED ? button("Members", () => void showRoom(r), { class: "small", "data-room": r.name, "aria-label": `Members of ${r.name}, and its locks` }) : "",
            isRoomAdmin(r) && ctx.can("rooms.write") ? button("Delete", () => void deleteRoom(r), { class: "small danger", "data-delete-room": r.name, "aria-label": `Delete room ${r.name}` }) : "",
          ),
        ]),
        { id: "rooms-table", "aria-label": "Rooms" },
      ),
    );

  const submit = h("button", { type: "submit", class: "primary", id: "create-room-submit" }, "Create room");
  const form = h("form", { id: "create-room-form", class: "grid-form" }, field("Name", h("input", { name: "name", id: "new-room-name", required: true, autocomplete: "off" })), h("div", { class: "actions" }, submit));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = formValues(form).name ?? "";
    void progress.run("Creating room", () => api.rooms.createRoom({ name }), submit).then(
      (res) => {
        replace(createStatus, notice("ok", `Created room ${res.room?.name ?? name}.`));
        form.reset();
        if (res.room) ctx.state.roomId = res.room.roomId;
        void load();
        if (res.room) void showRoom(res.room);
      },
      (err: unknown) => replace(createStatus, errorBox(err, "Create room")),
    );
  });

  void load();
  return {
    el: h(
      "div",
      { class: "view", id: "rooms-view" },
      section("Rooms", { id: "rooms" }, listStatus, list),
      ctx.can("rooms.write") ? section("Create a room", { id: "create-room" }, createStatus, form) : null,
      detail,
    ),
  };
}
