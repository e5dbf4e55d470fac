import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    // Starts PostgreSQL, the Redis nodes and installs Chromium when missing (quick when all is up).
    globalSetup: ["test/global-setup.ts"],
    // test/system/ (real server processes, load, faults, fuzzing) runs after
    // everything else, so its CPU load never lands on the timing-sensitive
    // unit and e2e tests (sandbox responsiveness, lock TTLs).
    projects: [
      {
        extends: true,
        test: { name: "unit+e2e", include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, "test/system/**"], sequence: { groupOrder: 0 } },
      },
      { extends: true, test: { name: "system", include: ["test/system/**/*.test.ts"], sequence: { groupOrder: 1 } } },
    ],
  },
});
