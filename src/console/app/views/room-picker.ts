import type { Room } from "../../../../gen/gatehouse/v1/rooms_pb.js";
import { h, replace } from "../dom.js";
import { errorBox, track, type ViewContext } from "../ui.js";

/** RoomPicker is a room <select> loaded from ListRooms that remembers the choice across screens. */
export interface RoomPicker {
  el: HTMLElement;
  /** rooms answers the rooms loaded. */
  rooms(): readonly Room[];
  /** reload lists the rooms again (keeping the choice when it still exists). */
  reload(): Promise<void>;
}

/** createRoomPicker builds a RoomPicker; `onChange` gets the chosen room id ("" for none). */
export function createRoomPicker(ctx: ViewContext, id: string, onChange: (roomId: string) => void): RoomPicker {
  let rooms: Room[] = [];
  const sel = h("select", { id, name: "roomId" });
  const status = h("span");
  sel.addEventListener("change", () => {
    ctx.state.roomId = sel.value || undefined;
    onChange(sel.value);
  });
  const reload = async () => {
    try {
      rooms = (await track(ctx.api.rooms.listRooms({ pageSize: 1000 }))).rooms;
      replace(status);
    } catch (err) {
      rooms = [];
      replace(status, errorBox(err, "List rooms"));
    }
    const chosen = rooms.some((r) => r.roomId === ctx.state.roomId) ? ctx.state.roomId! : "";
    replace(sel, h("option", { value: "" }, rooms.length === 0 ? "(no rooms)" : "Choose a room…"), rooms.map((r) => h("option", { value: r.roomId, selected: r.roomId === chosen }, r.name)));
    sel.value = chosen;
    onChange(chosen);
  };
  return {
    el: h("label", { class: "field inline" }, h("span", { class: "label" }, "Room"), sel, status),
    rooms: () => rooms,
    reload,
  };
}
