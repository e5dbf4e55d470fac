/**
 * The server's own client is the `@gatehouse/client` package
 * (packages/client): this module re-exports its Node entry so that
 * `gatehouse/client` and the tests keep one import path.
 */
export * from "@gatehouse/client/node";
