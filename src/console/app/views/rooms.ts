import { timestampDate } from "@bufbuild/protobuf/wkt";
import { RoomRole } from "../../../../gen/gatehouse/v1/common_pb.js";
import type { Room } from "../../../../gen/gatehouse/v1/rooms_pb.js";
import type { User } from "../../../../gen/gatehouse/v1/users_pb.js";
import { allowsInRoom } from "../access.js";
import { field, formatTime, formValues, h, replace, select, table } from "../dom.js";
import { button, errorBox, loadInto, notice, section, type View, type ViewContext } from "../ui.js";

const roomRoles = [RoomRole.VIEWER, RoomRole.EDITOR, RoomRole.ADMIN] as const;

/** roomRoleName renders a RoomRole as its name (EDITOR). */
export function roomRoleName(role: RoomRole): string {
  return RoomRole[role] ?? String(role);
}

/** roomsView lists rooms, creates one, and shows and edits a room's members. */
export function roomsView(ctx: ViewContext): View {
  const { api, progress } = ctx;
  const list = h("div", { id: "rooms-list" });
  const members = h("div", { id: "room-members" });
  const createStatus = h("div", { id: "create-room-status" });
  let users: User[] | undefined;

  const showMembers = async (room: Room) => {
    ctx.state.roomId = room.roomId;
    const manages = allowsInRoom(ctx, "rooms.write", room.myRole, RoomRole.ADMIN);
    if (manages && ctx.can("users.read")) users ??= await api.users.listUsers({ pageSize: 1000 }).then((r) => r.users, () => undefined);
    const status = h("div");
    const body = h("div");
    const load = () =>
      loadInto(body, "members", () => api.rooms.listRoomMembers({ roomId: room.roomId, pageSize: 1000 }), (res) =>
        table(
          ["Member", "Room role", "User id", ""],
          res.members.map((m) => [
            h("strong", {}, m.username),
            h("span", { class: "badge" }, roomRoleName(m.role)),
            h("code", {}, m.userId),
            !manages ? "" : button("Remove", () => {
              void api.rooms.removeRoomMember({ roomId: room.roomId, userId: m.userId }).then(
                () => void load(),
                (err: unknown) => replace(status, errorBox(err, "Remove member")),
              );
            }, { class: "small danger" }),
          ]),
          { id: "members-table" },
        ),
      );
    // The user list (UsersService) may be unavailable: fall back to typing an id.
    const who = users
      ? select("userId", users.map((u) => [u.userId, u.username] as const), undefined, { id: "member-user" })
      : h("input", { name: "userId", id: "member-user", placeholder: "user id", required: true });
    const add = h("button", { type: "submit" }, "Add member");
    const form = h(
      "form",
      { class: "grid-form", id: "add-member-form" },
      field("User", who),
      field("Room role", select("role", roomRoles.map((r) => [String(r), roomRoleName(r)]), String(RoomRole.EDITOR), { id: "member-role" })),
      h("div", { class: "actions" }, add),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const v = formValues(form);
      void progress.run("Adding member", () => api.rooms.addRoomMember({ roomId: room.roomId, userId: v.userId ?? "", role: Number(v.role) as RoomRole }), add).then(
        () => {
          replace(status);
          void load();
        },
        (err: unknown) => replace(status, errorBox(err, "Add member")),
      );
    });
    replace(members, section(`Members of ${room.name}`, { id: "members" }, h("p", {}, h("code", {}, room.roomId)), status, body, manages ? [h("h3", {}, "Add a member"), form] : null));
    await load();
  };

  const load = () =>
    loadInto(list, "rooms", () => api.rooms.listRooms({ pageSize: 1000 }), (res) =>
      table(
        ["Room", "Room id", "Created", ""],
        res.rooms.map((r) => [
          h("strong", { class: "room-name" }, r.name),
          h("code", {}, r.roomId),
          formatTime(r.createdAt ? timestampDate(r.createdAt) : undefined),
          r.myRole >= RoomRole.VIEWER ? button("Members", () => void showMembers(r), { class: "small", "data-room": r.name }) : "",
        ]),
        { id: "rooms-table" },
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
        if (res.room) void showMembers(res.room);
      },
      (err: unknown) => replace(createStatus, errorBox(err, "Create room")),
    );
  });

  void load();
  return {
    el: h(
      "div",
      { class: "view", id: "rooms-view" },
      section("Rooms", { id: "rooms" }, list),
      ctx.can("rooms.write") ? section("Create a room", { id: "create-room" }, createStatus, form) : null,
      members,
    ),
  };
}
