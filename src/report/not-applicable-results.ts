import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { CONTRACT, citation } from "../contract/contract.ts";
import type { NotApplicable } from "./host-verdicts.ts";
import { familyOf } from "./test-identity.ts";

const CONTRACT_CLAUSE_IDS = CONTRACT.clauses.map((c) => c.id);

/**
 * Allure results for what is not applicable, one per clause and cell, so the report shows the
 * clause with its reason where a host cannot be judged on it (never as passed).
 */
export function notApplicableResults(notApplicable: readonly NotApplicable[], out: string): void {
  const now = Date.now();
  for (const na of notApplicable) {
    const ids = na.clauses[0] === "*" ? CONTRACT_CLAUSE_IDS : na.clauses;
    for (const cell of na.cells) {
      for (const clause of ids) {
        const uuid = createHash("sha256").update(`${na.host}\0${cell}\0${clause}`).digest("hex").slice(0, 32);
        const [platform, base, host] = cell.split(".");
        writeFileSync(path.join(out, `${uuid}-result.json`), JSON.stringify({
          uuid,
          historyId: uuid,
          name: `${clause}: not applicable on ${cell}`,
          fullName: `not-applicable#${cell} ${clause}`,
          status: "skipped",
          statusDetails: { message: `not applicable: ${na.reason}` },
          stage: "finished",
          start: now,
          stop: now,
          description: citation(clause),
          labels: [
            { name: "epic", value: familyOf(clause) },
            { name: "story", value: clause },
            { name: "feature", value: "not applicable" },
            { name: "parentSuite", value: `not applicable on ${cell}` },
            { name: "tag", value: "not-applicable" },
          ],
          parameters: [
            { name: "platform", value: platform ?? "" },
            { name: "Debian suite", value: base ?? "" },
            { name: "host", value: host ?? na.host },
          ],
          attachments: [],
          steps: [],
        }));
      }
    }
  }
}
