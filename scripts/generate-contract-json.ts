// Regenerates contract.json from CONTRACT.md, the contract's one source of truth:
//   npx tsx scripts/generate-contract-json.ts
// Needs neither the distcheck CLI nor a container engine; src/contract/contract.test.ts fails until
// contract.json matches CONTRACT.md again.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { contractJson, parseContract } from "../src/contract/contract-parser.ts";

const root = path.resolve(import.meta.dirname, "..");
const contract = parseContract(readFileSync(path.join(root, "CONTRACT.md")));
writeFileSync(path.join(root, "contract.json"), contractJson(contract));
process.stdout.write(`contract.json: contract ${contract.version}, ${contract.clauses.length} clauses in ${contract.families.map((f) => f.id).join(", ")}, CONTRACT.md sha256 ${contract.sha256}\n`);
