import { DistcheckError } from "../errors/distcheck-error.ts";

/** The oracle cannot predict an outcome from the inputs it was given (a suite's setup is wrong). */
export class OracleError extends DistcheckError {
  constructor(code: "oracle_ambiguous" | "oracle_input_invalid", message: string) {
    super(code, message, { category: "harness" });
    this.name = "OracleError";
  }
}
