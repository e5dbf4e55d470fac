import {
  coversValue,
  defaultPolicy,
  formatPolicyValue,
  loosestValue,
  policyFields,
  policyFieldValue,
  sameValue,
  tightestValue,
  type EffectivePolicy,
  type PolicyField,
  type PolicyFieldName,
  type PolicyValue,
  type PolicyValues,
} from "./policy.js";

/**
 * PolicyLayerName names a layer: `global`, `room`, `macro`, `user` (the
 * user's override) or `role:<name>` (a role's default policy).
 */
export type PolicyLayerName = "global" | "room" | "macro" | "user" | `role:${string}`;

/** PolicySource is the layer that set a merged field, or `default` (the built-in default). */
export type PolicySource = PolicyLayerName | "default";

/** PolicyLayer is one layer handed to mergePolicies. */
export interface PolicyLayer {
  readonly name: PolicyLayerName;
  readonly policy: PolicyValues;
}

/** MergeOptions tune mergePolicies. */
export interface MergeOptions {
  /** defaults replace the built-in defaultPolicy (tests, other deployments). */
  readonly defaults?: EffectivePolicy;
}

/** ClampedField is a user-layer value cut back to the bound (see mergePolicies). */
export interface ClampedField {
  readonly field: PolicyFieldName;
  /** layer is the user layer that asked: `user` or `role:<name>`. */
  readonly layer: PolicyLayerName;
  /** attempted is the user layer's value as text. */
  readonly attempted: string;
  /** applied is the value that took effect as text. */
  readonly applied: string;
}

/** MergedPolicy is the result of mergePolicies. */
export interface MergedPolicy {
  /** policy holds every field's effective value. */
  readonly policy: EffectivePolicy;
  /** sources says, for every field, which layer set its value (`default` when none did). */
  readonly sources: Readonly<Record<PolicyFieldName, PolicySource>>;
  /** loosened lists the fields the user layer made looser than global → room → macro. */
  readonly loosened: readonly PolicyFieldName[];
  /** clamped lists the user-layer values cut back to the bound. */
  readonly clamped: readonly ClampedField[];
}

function boundValue(field: PolicyField, upper: PolicyValue, ceiling: PolicyValues | undefined): PolicyValue {
  const limit = ceiling === undefined ? undefined : policyFieldValue(ceiling, field);
  return limit === undefined ? upper : loosestValue(field, limit, upper);
}

/**
 * userLayerBound answers how loose the user layer may make each field:
 * per field, the looser of `upper` (the merge of the layers above) and the
 * ceiling's value, or `upper` alone where the ceiling leaves the field unset
 * (or there is no ceiling): there the user layer may only tighten. A ceiling
 * tighter than `upper` never tightens by itself; it only forbids loosening.
 *
 * Writes of a user override or a role's default policy are checked with
 * `checkTightenOnly(userLayerBound(globalMerge, ceiling), layer)`.
 */
export function userLayerBound(upper: EffectivePolicy, ceiling: PolicyValues | undefined): EffectivePolicy {
  const bound: Record<string, PolicyValue> = {};
  for (const field of policyFields) bound[field.key] = boundValue(field, policyFieldValue(upper, field)!, ceiling);
  return bound as unknown as EffectivePolicy;
}

interface Candidate {
  value: PolicyValue;
  layer: PolicyLayerName;
}

/**
 * The role fallback for one field: the most permissive of the roles' values,
 * where a role leaving the field unset offers `upper` (it inherits). Answers
 * undefined when inheriting is already the most permissive.
 */
function roleCandidate(field: PolicyField, roles: readonly PolicyLayer[], upper: PolicyValue): Candidate | undefined {
  let inherits = false;
  let combined: PolicyValue | undefined;
  for (const role of roles) {
    const value = policyFieldValue(role.policy, field);
    if (value === undefined) inherits = true;
    else combined = combined === undefined ? value : loosestValue(field, combined, value);
  }
  if (combined === undefined) return undefined;
  if (inherits) {
    combined = loosestValue(field, combined, upper);
    if (sameValue(field, combined, upper)) return undefined;
  }
  // Provenance: the first role holding the whole combined value, else the
  // first role that added something beyond what inheriting gives.
  const set = roles.filter((role) => policyFieldValue(role.policy, field) !== undefined);
  const exact = set.find((role) => sameValue(field, policyFieldValue(role.policy, field)!, combined));
  const adding = set.find((role) => !inherits || !coversValue(field, upper, policyFieldValue(role.policy, field)!));
  return { value: combined, layer: (exact ?? adding ?? set[0]!).name };
}

/**
 * mergePolicies computes the effective policy and, for every field, the
 * layer that set it. Layers may come in any order; they are told apart by
 * name (at most one each of global, room, macro and user; any number of
 * `role:<name>`).
 *
 * Per field:
 *
 * 1. **upper** = the global value (else the built-in default), then
 *    tightened by room, then by macro: `upper = tightest(global ?? default,
 *    room, macro)` over the layers that set the field. Room and macro can
 *    never loosen, even if stored before a global tightening, so tightening
 *    global tightens everything below at once.
 * 2. **bound** = `loosest(upper, ceiling)` where the global policy's
 *    `override_ceiling` sets the field, else `upper` (see userLayerBound).
 * 3. **user layer**: the user's override (layer `user`) when present — it
 *    replaces the roles' defaults entirely, and fields it leaves unset
 *    inherit `upper`. Without an override, the role fallback: per field the
 *    most permissive value among the user's roles (docs/concepts.md), where a
 *    role that leaves the field unset counts as inheriting `upper`. So any
 *    one role may loosen a field (within the bound), but the roles tighten
 *    it only when every one of them sets it tighter.
 * 4. **effective** = `tightest(userValue, bound)` when the user layer sets
 *    the field (a value past the bound is clamped to it, and reported in
 *    `clamped`), else `upper`.
 *
 * Hence effective ≤ loosest(global ?? default, ceiling) always, and
 * effective ≤ upper unless the user layer loosened it (reported in
 * `loosened`, for the audit log).
 *
 * Provenance: a layer takes a field only when it changes the value; on ties
 * the higher layer keeps it (global over room over macro over user), and a
 * field no layer changed is `default`. A clamped user value is still the
 * user layer's (`clamped` says it was cut).
 */
export function mergePolicies(layers: readonly PolicyLayer[], options: MergeOptions = {}): MergedPolicy {
  const defaults = options.defaults ?? defaultPolicy;
  const named = new Map<string, PolicyLayer>();
  const roles: PolicyLayer[] = [];
  for (const layer of layers) {
    if (layer.name.startsWith("role:") && layer.name.length > 5) roles.push(layer);
    else if (layer.name === "global" || layer.name === "room" || layer.name === "macro" || layer.name === "user") {
      if (named.has(layer.name)) throw new RangeError(`policy layer ${layer.name} given twice`);
      named.set(layer.name, layer);
    } else throw new RangeError(`unknown policy layer ${JSON.stringify(layer.name)}`);
  }
  const global = named.get("global");
  const user = named.get("user");
  const ceiling = global?.policy.overrideCeiling;

  const policy: Record<string, PolicyValue> = {};
  const sources = {} as Record<PolicyFieldName, PolicySource>;
  const loosened: PolicyFieldName[] = [];
  const clamped: ClampedField[] = [];

  for (const field of policyFields) {
    let value = policyFieldValue(defaults, field)!;
    let source: PolicySource = "default";
    const globalValue = global && policyFieldValue(global.policy, field);
    if (globalValue !== undefined) {
      value = globalValue;
      source = "global";
    }
    for (const name of ["room", "macro"] as const) {
      const layer = named.get(name);
      const layerValue = layer && policyFieldValue(layer.policy, field);
      if (layerValue === undefined) continue;
      const tighter = tightestValue(field, value, layerValue);
      if (!sameValue(field, tighter, value)) {
        value = tighter;
        source = name;
      }
    }
    const upper = value;

    let candidate: Candidate | undefined;
    if (user !== undefined) {
      const userValue = policyFieldValue(user.policy, field);
      if (userValue !== undefined) candidate = { value: userValue, layer: "user" };
    } else if (roles.length > 0) {
      candidate = roleCandidate(field, roles, upper);
    }
    if (candidate !== undefined) {
      const applied = tightestValue(field, candidate.value, boundValue(field, upper, ceiling));
      if (!sameValue(field, applied, candidate.value)) {
        clamped.push({
          field: field.name,
          layer: candidate.layer,
          attempted: formatPolicyValue(candidate.value),
          applied: formatPolicyValue(applied),
        });
      }
      if (!sameValue(field, applied, upper)) {
        value = applied;
        source = candidate.layer;
        if (!coversValue(field, upper, applied)) loosened.push(field.name);
      }
    }
    policy[field.key] = value;
    sources[field.name] = source;
  }
  return { policy: policy as unknown as EffectivePolicy, sources, loosened, clamped };
}

/** RoomTokenAdmission says whether a room accepts room tokens and, when not, which layer decided. */
export interface RoomTokenAdmission {
  readonly accepted: boolean;
  /** layer is the layer that refused (`global`, `default` or `room`); empty when accepted. */
  readonly layer: PolicySource | "";
  /** value is that layer's `allow_room_tokens` as text (`false`, or `unset` for a room that has not opted in). */
  readonly value: string;
}

/**
 * roomTokenAdmission decides whether a room accepts `x-room-token`
 * credentials. Room tokens are opt-in per room: the room's own layer must set
 * `allow_room_tokens` true, and every layer above it must permit it (the
 * global value, else the built-in default false, is a ceiling, not a
 * switch). A room that leaves the field unset accepts no token, whatever
 * the global policy says.
 */
export function roomTokenAdmission(global: PolicyValues, room: PolicyValues, options: MergeOptions = {}): RoomTokenAdmission {
  const above = mergePolicies([{ name: "global", policy: global }], options);
  if (!above.policy.allowRoomTokens) return { accepted: false, layer: above.sources.allow_room_tokens, value: "false" };
  if (room.allowRoomTokens !== true) return { accepted: false, layer: "room", value: room.allowRoomTokens === false ? "false" : "unset" };
  return { accepted: true, layer: "", value: "true" };
}
