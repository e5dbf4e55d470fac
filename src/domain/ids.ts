const uuidShape = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** isUuid tells whether a string is a UUID in its canonical text form (any case). */
export function isUuid(value: string): boolean {
  return uuidShape.test(value);
}
