import type { Call } from "../call.js";
import type { AuditChainReport } from "../../store/audit-writer.js";
import type { AuditLogStore } from "../../store/audit-log.js";

/** verifyAuditChain re-hashes the caller's tenant's audit chain and says where it first breaks, if it does. */
export function verifyAuditChain(stores: { auditLog: AuditLogStore }, call: Call): Promise<AuditChainReport> {
  return call.inTx((tx) => stores.auditLog.verifyChain(tx, call.principal.tenantId));
}
