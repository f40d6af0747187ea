import ts from "typescript";

// Test support (contract-coverage.test.ts): which clause ids the conformance suites name, read from
// their source so that no container has to run. Imports the TypeScript compiler, a dev dependency:
// nothing the CLI loads may import this module.

/** Anything shaped like a clause id, of any family: a title claiming `XYZ-01` is as wrong as `WHL-99`. */
const ID_SHAPE = "[A-Z]{3}-\\d{2}";
/** The ids a title starts with, as `clauseIdsOf` reads them at run time (`"ARC-04, ARC-07: ..."`). */
const LEADING_IDS = new RegExp(`^\\s*((?:${ID_SHAPE}[\\s,]*)+):`);

/** A clause id found in a suite, where it was found. */
export interface ClauseMention {
  id: string;
  /** 1-based line in the suite file. */
  line: number;
}

/** A test title whose leading clause ids come from an expression the scanner cannot evaluate. */
export interface DynamicTitle {
  line: number;
  /** The expression's source text, e.g. `entry.clauses.join(" ")`. */
  expression: string;
}

export interface SuiteClauseScan {
  /** The suite file, relative to the repository root (`suites/discovery.test.ts`). */
  file: string;
  /** Ids that test titles claim: the leading ids of literal titles and of `it.for` rows. */
  claimed: ClauseMention[];
  /** Every token of a known family's id shape anywhere in the file (titles, comments, data). */
  mentioned: ClauseMention[];
  dynamic: DynamicTitle[];
}

function leadingIds(text: string): string[] {
  const lead = LEADING_IDS.exec(text)?.[1];
  return lead ? [...new Set(lead.match(new RegExp(ID_SHAPE, "g")) ?? [])] : [];
}

/** `it`, `test` and their chains (`it.concurrent.skip`), the functions whose first argument is a title. */
function isTestFunction(callee: ts.Expression): boolean {
  let root: ts.Expression = callee;
  while (ts.isPropertyAccessExpression(root)) root = root.expression;
  return ts.isIdentifier(root) && (root.text === "it" || root.text === "test");
}

/** Methods of `it` that return a test function instead of declaring a test: `it.for(rows)`, `it.skipIf(cond)`. */
const RETURNS_TEST_FUNCTION = ["for", "each", "skipIf", "runIf", "extend"];

/** A call whose first argument is a title: `it(...)`, `it.skip(...)`, `it.skipIf(cond)(...)`; not `it.for(rows)` itself. */
function isTitledCall(callee: ts.Expression): boolean {
  if (ts.isCallExpression(callee)) return ts.isPropertyAccessExpression(callee.expression) && ["skipIf", "runIf"].includes(callee.expression.name.text) && isTestFunction(callee.expression.expression);
  return isTestFunction(callee) && !(ts.isPropertyAccessExpression(callee) && RETURNS_TEST_FUNCTION.includes(callee.name.text));
}

/** `it.for` / `it.each` (and chains ending in them): called with rows, returning the test function. */
function isTableCall(node: ts.Expression): node is ts.CallExpression {
  return ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && ["for", "each"].includes(node.expression.name.text) && isTestFunction(node.expression.expression);
}

/** The clause ids a table title's leading placeholder takes from each row (`%s` the first cell, `$key` a field), at the row's line. */
function idsFromRows(title: string, rows: ts.Expression, lineOf: (node: ts.Node) => number): ClauseMention[] | undefined {
  if (!ts.isArrayLiteralExpression(rows)) return undefined;
  const placeholder = /^\s*(%s|\$([A-Za-z_][\w.]*))\s*:/.exec(title);
  if (!placeholder) return undefined;
  const ids: ClauseMention[] = [];
  for (const row of rows.elements) {
    let cell: ts.Expression | undefined;
    if (placeholder[1] === "%s" && ts.isArrayLiteralExpression(row)) cell = row.elements[0];
    else if (placeholder[2] && ts.isObjectLiteralExpression(row)) {
      const prop = row.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText() === placeholder[2]);
      cell = prop?.initializer;
    }
    if (!cell || !ts.isStringLiteralLike(cell)) return undefined;
    const found = leadingIds(`${cell.text}:`);
    if (found.length === 0) return undefined;
    ids.push(...found.map((id) => ({ id, line: lineOf(cell!) })));
  }
  return ids;
}

/**
 * Reads one suite's source: the clause ids its test titles claim (literal titles, template titles
 * whose literal head starts with ids, `it.for` tables whose title starts with `%s:` or `$key:`), every
 * mention of a clause id of `families`, and the titles whose leading ids only an expression knows.
 */
export function scanSuiteSource(file: string, source: string, families: readonly string[]): SuiteClauseScan {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lineOf = (pos: number): number => sf.getLineAndCharacterOfPosition(pos).line + 1;
  const lineOfNode = (node: ts.Node): number => lineOf(node.getStart(sf));
  const claimed: ClauseMention[] = [];
  const dynamic: DynamicTitle[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && node.arguments.length > 0 && (isTitledCall(node.expression) || isTableCall(node.expression))) {
      const title = node.arguments[0]!;
      const line = lineOfNode(title);
      const claim = (ids: string[]): void => void claimed.push(...ids.map((id) => ({ id, line })));
      if (ts.isStringLiteralLike(title)) {
        const rows = isTableCall(node.expression) ? node.expression.arguments[0] : undefined;
        const fromRows = rows ? idsFromRows(title.text, rows, lineOfNode) : undefined;
        if (fromRows) claimed.push(...fromRows);
        else if (rows && /^\s*(%|\$)/.test(title.text)) dynamic.push({ line, expression: `${title.getText(sf)} over ${rows.getText(sf).slice(0, 80)}` });
        else claim(leadingIds(title.text));
      } else if (ts.isTemplateExpression(title)) {
        const head = title.head.text;
        if (head.trim() === "" && title.templateSpans[0]) dynamic.push({ line, expression: title.templateSpans[0].expression.getText(sf) });
        else claim(leadingIds(head));
      } else {
        dynamic.push({ line, expression: title.getText(sf) });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  const mentionRe = new RegExp(`\\b(?:${families.join("|")})-\\d{2}\\b`, "g");
  const mentioned = [...source.matchAll(mentionRe)].map((m) => ({ id: m[0], line: lineOf(m.index) }));
  return { file, claimed, mentioned, dynamic };
}
