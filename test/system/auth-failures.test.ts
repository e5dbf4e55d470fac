import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { refused } from "../support/fixtures.js";
import { startReplicas, type ReplicaSet } from "../support/replicas.js";

/**
 * The failed-authentication limit (GATEHOUSE_AUTH_FAILURES_PER_MINUTE) holds
 * across replicas: two server processes on one Redis count one client's
 * failures together (counts, not timings).
 */
describe("failed authentication limit across replicas", () => {
  const LIMIT = 10;
  let set: ReplicaSet;
  beforeAll(async () => {
    set = await startReplicas({ count: 2, env: { GATEHOUSE_AUTH_FAILURES_PER_MINUTE: String(LIMIT) } });
  });
  afterAll(async () => {
    await set?.close();
  });

  it("counts failures on every replica against one limit, and never blocks a valid token", async () => {
    const [a, b] = set.replicas as [NonNullable<ReplicaSet["replicas"][0]>, NonNullable<ReplicaSet["replicas"][0]>];
    const token = await a.login();
    for (let i = 0; i < LIMIT / 2; i++) {
      await refused(a.client({ token: `garbage-a-${i}` }).auth.whoAmI({}), Code.Unauthenticated, "UNAUTHENTICATED");
      await refused(b.client({ token: `garbage-b-${i}` }).auth.whoAmI({}), Code.Unauthenticated, "UNAUTHENTICATED");
    }
    // Each replica saw only half the limit: alone, neither would refuse yet.
    await refused(b.client({ token: "garbage-b" }).auth.whoAmI({}), Code.ResourceExhausted, "AUTH_RATE_LIMITED");
    await refused(a.client({ token: "garbage-a" }).auth.whoAmI({}), Code.ResourceExhausted, "AUTH_RATE_LIMITED");
    await refused(a.client().auth.whoAmI({}), Code.ResourceExhausted, "AUTH_RATE_LIMITED");
    expect((await a.client({ token }).auth.whoAmI({})).user?.username).toBe("admin");
    expect((await b.client({ token }).auth.whoAmI({})).user?.username).toBe("admin");
  });
});
