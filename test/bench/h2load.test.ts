import { describe, expect, it } from "vitest";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { CheckPermissionRequestSchema } from "../../gen/gatehouse/v1/users_pb.js";
import { durationSeconds, grpcFrame, h2loadArgs, parseH2loadLog, parseH2loadSummary, percentile } from "../../bench/outside/h2load.js";

// h2load 1.52's output of a gRPC run, trimmed of its progress lines.
const output = `starting benchmark...
spawning thread #0: 8 total client(s). 10000 total requests
Application protocol: h2c
progress: 10% done
progress: 100% done

finished in 8.21s, 1218.03 req/s, 76.14KB/s
requests: 10000 total, 10000 started, 9990 done, 9985 succeeded, 15 failed, 10 errored, 0 timeout
status codes: 9985 2xx, 0 3xx, 3 4xx, 2 5xx
traffic: 625.12KB (640120) total, 166.02KB (170000) headers (space savings 91.20%), 244.14KB (250000) data
                     min         max         mean         sd        +/- sd
time for request:     5.12ms    410.33ms    103.65ms     40.12ms    71.30%
time for connect:      201us       1.03ms       611us       280us    62.50%
time to 1st byte:    12.04ms     30.17ms     20.44ms      6.01ms    62.50%
req/s           :     152.01      153.88      152.25        0.61    87.50%
`;

describe("parseH2loadSummary", () => {
  it("reads the wall time, the request counts and the status classes", () => {
    expect(parseH2loadSummary(output)).toEqual({
      protocol: "h2c",
      seconds: 8.21,
      requestsPerSecond: 1218.03,
      total: 10000,
      started: 10000,
      done: 9990,
      succeeded: 9985,
      failed: 15,
      errored: 10,
      timeout: 0,
      status: { "2xx": 9985, "3xx": 0, "4xx": 3, "5xx": 2 },
    });
  });

  it("reads a run that finished in milliseconds", () => {
    expect(parseH2loadSummary(output.replace("finished in 8.21s", "finished in 850.50ms")).seconds).toBeCloseTo(0.8505, 6);
  });

  it("throws, naming what is missing, when h2load printed no summary", () => {
    expect(() => parseH2loadSummary("connect to 127.0.0.1 failed\n")).toThrow(/finished in, requests:, status codes:/);
  });
});

describe("durationSeconds", () => {
  it("reads seconds, milliseconds and microseconds", () => {
    expect(durationSeconds("2.5s")).toBe(2.5);
    expect(durationSeconds("250ms")).toBeCloseTo(0.25, 9);
    expect(durationSeconds("912us")).toBeCloseTo(0.000912, 9);
    expect(() => durationSeconds("3 minutes")).toThrow();
  });
});

describe("parseH2loadLog", () => {
  it("reads start, status and duration of each request, failed ones as status -1", () => {
    const log = "1764861600000000\t200\t1520\n1764861600000100\t-1\t30000\n\n";
    expect(parseH2loadLog(log)).toEqual([
      { startUs: 1764861600000000, status: 200, durationUs: 1520 },
      { startUs: 1764861600000100, status: -1, durationUs: 30000 },
    ]);
  });

  it("throws on a line that is not h2load's", () => {
    expect(() => parseH2loadLog("200 1520\n")).toThrow(/not an h2load log line/);
  });
});

describe("percentile", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it("answers the nearest rank", () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([1, 2, 3], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([7], 99)).toBe(7);
  });

  it("answers NaN for no values and refuses a percentile out of range", () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile(hundred, 0)).toThrow(RangeError);
    expect(() => percentile(hundred, 101)).toThrow(RangeError);
  });
});

describe("grpcFrame", () => {
  it("prefixes the message with an uncompressed flag and its length, big-endian", () => {
    const message = toBinary(CheckPermissionRequestSchema, create(CheckPermissionRequestSchema, { permission: "macros.run" }));
    const frame = grpcFrame(message);
    expect(frame.length).toBe(5 + message.length);
    expect(frame[0]).toBe(0);
    expect(new DataView(frame.buffer).getUint32(1, false)).toBe(message.length);
    expect(fromBinary(CheckPermissionRequestSchema, frame.subarray(5)).permission).toBe("macros.run");
  });

  it("frames an empty message as five bytes", () => {
    expect(Array.from(grpcFrame(new Uint8Array()))).toEqual([0, 0, 0, 0, 0]);
  });

  it("writes lengths past 255 over several bytes", () => {
    const frame = grpcFrame(new Uint8Array(70_000));
    expect(Array.from(frame.subarray(0, 5))).toEqual([0, 0, 1, 0x11, 0x70]);
  });
});

describe("h2loadArgs", () => {
  it("passes the load shape, one thread, the body, headers, --h1 and the log file before the URLs", () => {
    expect(
      h2loadArgs({
        urls: ["http://127.0.0.1:1/a", "http://127.0.0.1:1/b"],
        requests: 100,
        connections: 8,
        streams: 16,
        bodyFile: "/tmp/body",
        headers: { "content-type": "application/grpc", te: "trailers" },
        h1: true,
        logFile: "/tmp/log",
      }),
    ).toEqual([
      "-n", "100", "-c", "8", "-m", "16", "-t", "1", "-d", "/tmp/body",
      "-H", "content-type: application/grpc", "-H", "te: trailers",
      "--h1", "--log-file", "/tmp/log",
      "http://127.0.0.1:1/a", "http://127.0.0.1:1/b",
    ]);
  });
});
