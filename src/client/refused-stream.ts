/** isRefusedStream and refusedStreamIsUnavailable live in the client package; re-exported for the server's code and tests. */
export { isRefusedStream, refusedStreamIsUnavailable } from "@gatehouse/client/node";
