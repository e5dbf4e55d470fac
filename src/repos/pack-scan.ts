import { inflateSync } from "node:zlib";
import { DomainError } from "../domain/errors.js";

/**
 * A bounded look at a git packfile before the git client unpacks it.
 *
 * The pack a server sends is capped in bytes by the fetch, but objects in it
 * are zlib-compressed: a few MiB of pack can inflate to gigabytes, and a
 * delta of a few bytes can declare a target of any size. The git client
 * inflates and indexes every object as soon as the fetch ends, so the pack
 * is checked first: every object's declared size (and every delta's target
 * size) must be within `maxObjectBytes`, their sum within
 * `maxInflatedBytes`, and each object is inflated here with an output cap of
 * its declared size, so a stream that inflates to more than it declares is
 * refused too.
 */

/** PackLimits bound what a pack may hold. */
export interface PackLimits {
  /** maxObjects caps the number of objects in the pack. */
  maxObjects: number;
  /** maxObjectBytes caps each object's inflated size (and each delta's target size). */
  maxObjectBytes: number;
  /** maxInflatedBytes caps the sum of all objects' inflated sizes. */
  maxInflatedBytes: number;
}

/** PackSummary says what a scanned pack holds. */
export interface PackSummary {
  objects: number;
  inflatedBytes: number;
}

function tooLarge(message: string): DomainError {
  return new DomainError("invalid_argument", "INVALID_ARGUMENT", `the repository is too large: ${message}`, { field: "url" });
}

function malformed(message: string): DomainError {
  return new DomainError("invalid_argument", "INVALID_ARGUMENT", `the git server sent a malformed pack: ${message}`, { field: "url" });
}

/**
 * extractPack answers the packfile carried by a git-upload-pack response:
 * the side-band channel 1 data of its pkt-lines (`shallow`, `ACK`, `NAK`
 * and progress lines are skipped), read the way isomorphic-git reads it
 * (GitSideBand.demux), so both see the same pack. Undefined when the
 * response carries no pack. A side-band error message (channel 3) is thrown
 * as UNAVAILABLE; data that are no pkt-lines are malformed.
 */
export function extractPack(response: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos < response.length) {
    if (response.length - pos < 4) throw malformed("truncated pkt-line");
    const lengthText = response.toString("latin1", pos, pos + 4);
    if (!/^[0-9a-f]{4}$/i.test(lengthText)) throw malformed("bad pkt-line length");
    const length = parseInt(lengthText, 16);
    if (length === 0 || length === 1) {
      pos += 4; // flush, delimiter
      continue;
    }
    if (length < 4) throw malformed("bad pkt-line length");
    if (pos + length > response.length) throw malformed("truncated pkt-line");
    const payload = response.subarray(pos + 4, pos + length);
    pos += length;
    if (payload[0] === 1) parts.push(payload.subarray(1));
    else if (payload[0] === 3) {
      const message = payload.subarray(1).toString("utf8").replace(/[^\x20-\x7e]/g, " ").trim().slice(0, 200);
      throw new DomainError("unavailable", "UNAVAILABLE", `the git server reported an error: ${message}`);
    }
  }
  return parts.length === 0 ? undefined : Buffer.concat(parts);
}

/**
 * scanPack checks a packfile against the limits without keeping any
 * object: it reads every object header, inflates each object with an
 * output cap of its declared size, and reads each delta's target size.
 * Throws INVALID_ARGUMENT (field `url`) for a pack over the limits or
 * malformed.
 */
export function scanPack(pack: Buffer, limits: PackLimits): PackSummary {
  if (pack.length < 32 || pack.toString("latin1", 0, 4) !== "PACK") throw malformed("no PACK header");
  const version = pack.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw malformed(`unsupported pack version ${version}`);
  const count = pack.readUInt32BE(8);
  if (count > limits.maxObjects) throw tooLarge(`${count} objects; the limit is ${limits.maxObjects}`);
  let pos = 12;
  let inflatedBytes = 0;
  const byte = () => {
    if (pos >= pack.length - 20) throw malformed("truncated object");
    return pack[pos++]!;
  };
  for (let i = 0; i < count; i++) {
    let c = byte();
    const type = (c >> 4) & 7;
    let size = c & 15;
    let shift = 4;
    while (c & 0x80) {
      c = byte();
      size += (c & 0x7f) * 2 ** shift;
      shift += 7;
      if (shift > 49) throw malformed("object size too long");
    }
    if (type === 0 || type === 5) throw malformed(`object type ${type}`);
    if (type === 6) {
      do c = byte();
      while (c & 0x80);
    } else if (type === 7) {
      if (pos + 20 > pack.length - 20) throw malformed("truncated object");
      pos += 20;
    }
    if (size > limits.maxObjectBytes) throw tooLarge(`an object of ${size} bytes; the limit is ${limits.maxObjectBytes}`);
    let inflated: Buffer;
    let consumed: number;
    try {
      const result = inflateSync(pack.subarray(pos, pack.length - 20), { info: true, maxOutputLength: Math.max(size, 1) } as object) as unknown as {
        buffer: Buffer;
        engine: { bytesWritten: number };
      };
      inflated = result.buffer;
      consumed = result.engine.bytesWritten;
    } catch (err) {
      if ((err as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") throw malformed("an object inflates to more than its declared size");
      throw malformed("an object does not inflate");
    }
    if (inflated.length !== size || consumed <= 0) throw malformed("an object's size differs from its declared size");
    pos += consumed;
    let produced = size;
    if (type === 6 || type === 7) {
      // A delta starts with the base's size and the target's size (7-bit little-endian varints).
      let at = 0;
      const varint = () => {
        let value = 0;
        let bits = 0;
        let b: number;
        do {
          if (at >= inflated.length) throw malformed("truncated delta header");
          b = inflated[at++]!;
          value += (b & 0x7f) * 2 ** bits;
          bits += 7;
        } while (b & 0x80 && bits < 49);
        return value;
      };
      varint();
      produced = varint();
      if (produced > limits.maxObjectBytes) throw tooLarge(`an object of ${produced} bytes; the limit is ${limits.maxObjectBytes}`);
    }
    inflatedBytes += produced;
    if (inflatedBytes > limits.maxInflatedBytes) throw tooLarge(`more than ${limits.maxInflatedBytes} bytes once unpacked`);
  }
  return { objects: count, inflatedBytes };
}
