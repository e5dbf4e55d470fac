import { randomUUID } from "node:crypto";
import type { GatehouseClient } from "../../src/client/index.js";

/**
 * newMacroTarget creates a trivial macro in the room through `client` (a
 * caller with `macros.write` and room EDITOR) and answers its lock target,
 * `macro/<id>`: AcquireLock takes only targets that exist in the room.
 */
export async function newMacroTarget(client: GatehouseClient, roomId: string): Promise<string> {
  const res = await client.macros.updateMacros({ roomId, macros: [{ name: `lockable-${randomUUID().slice(0, 8)}`, code: "export default function () { return 1; }" }] });
  return `macro/${res.macros[0]!.macroId}`;
}
