/** The CLI's view of the client package, plus small helpers shared by its commands. */
export * from "@gatehouse/client/node";

/** isUuid tells whether a command argument is an id rather than a name. */
export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
