import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { createValidator, ValidationError, violationsToProto, type Validator } from "@bufbuild/protovalidate";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { createValidateInterceptor } from "@connectrpc/validate";
import { DomainError } from "../domain/errors.js";
import { toConnectError } from "./errors.js";

/** ValidationOptions configure createValidationInterceptor. */
export interface ValidationOptions {
  /** validator checks request messages; by default one `createValidator()` for the server's life (it caches per message type). */
  validator?: Validator;
}

/**
 * createValidationInterceptor enforces the `buf.validate` rules of every
 * request message (connectrpc/validate-es) before any authentication or
 * database work. A violation answers INVALID_ARGUMENT with our ErrorDetail
 * (reason INVALID_ARGUMENT, `field` the path of the first violation, such as
 * `user_id` or `checks[1].room_id`) followed by protovalidate's own
 * `buf.validate.Violations` detail listing every violation.
 */
export function createValidationInterceptor(options: ValidationOptions = {}): Interceptor {
  const validate = createValidateInterceptor({ validator: options.validator ?? createValidator() });
  return (next) => {
    const call = validate(next);
    return async (req) => {
      try {
        return await call(req);
      } catch (err) {
        throw err instanceof ConnectError && err.cause instanceof ValidationError ? invalidRequest(err.cause) : err;
      }
    };
  };
}

/** invalidRequest turns protovalidate's violations into our INVALID_ARGUMENT error. */
function invalidRequest(failure: ValidationError): ConnectError {
  const described = failure.violations.map((v) => `${pathToString(v.field)}: ${v.message}`);
  const field = failure.violations[0] ? pathToString(failure.violations[0].field) : "";
  const err = toConnectError(new DomainError("invalid_argument", "INVALID_ARGUMENT", described.join("; "), { field }));
  const [violations, schema] = violationsToProto(failure.violations);
  err.details.push({ desc: schema, value: violations });
  return err;
}
