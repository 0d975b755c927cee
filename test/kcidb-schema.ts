/** KernelCI's KCIDB v5.3 schema (test/fixtures/kcidb/) as a validator, for the unit and VM tests. */
import { Ajv2019 } from 'ajv/dist/2019.js';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { fixture } from './fixtures.js';

export function kcidbValidator(): ValidateFunction {
  // strict: false: the schema carries annotations (examples) Ajv's strict mode rejects as unknown.
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  addFormats.default(ajv);
  return ajv.compile(JSON.parse(fixture('kcidb/kcidb-v5.3.schema.json')) as object);
}
