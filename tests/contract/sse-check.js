// SPDX-License-Identifier: MIT
// sse-check: the events half of the contract test. Prism validates an event
// stream only as a string, so this reads a text/event-stream body on stdin,
// splits it into events as an SSE client (EventSource) does ({event, data}
// with data parsed as JSON) and validates each against a schema of the
// OpenAPI document (components/schemas/NAME, JSON Schema 2020-12 with
// formats). Exits 1 naming every event that breaks it, or when the body holds
// no event; prints the number of events checked otherwise.
//
// Usage: NODE_PATH=build/contract/node_modules node sse-check.js SPEC NAME < body
'use strict';
const fs = require('fs');
const yaml = require('js-yaml');
const Ajv2020 = require('ajv/dist/2020');
const addFormats = require('ajv-formats');

const [spec, name] = process.argv.slice(2);
if (!spec || !name) {
  console.error('usage: sse-check.js SPEC SCHEMA_NAME < event-stream');
  process.exit(2);
}
const doc = yaml.safeLoad(fs.readFileSync(spec, 'utf8'));
// Only the components are a JSON Schema document; refs in them are
// '#/components/schemas/...', relative to this root. `discriminator` and
// `example` are OpenAPI keywords Ajv ignores (strict: false); oneOf decides.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: 'openapi', components: doc.components });
const compile = (ref) => ajv.compile({ $ref: `openapi${ref}` });
const validateAny = compile(`#/components/schemas/${name}`);
// With a discriminator on `event`, an event is checked against its own
// schema, so that the errors name what is wrong with it, not every branch.
const disc = doc.components.schemas[name] && doc.components.schemas[name].discriminator;
const byEvent = {};
if (disc && disc.propertyName === 'event')
  for (const [ev, ref] of Object.entries(disc.mapping || {})) byEvent[ev] = compile(ref);

// Blocks end at a blank line; a line ':...' is a comment; several data lines
// are joined by '\n' (the SSE parsing rules, enough for what modeld sends).
const text = fs.readFileSync(0, 'utf8').replace(/\r\n?/g, '\n');
const events = [];
for (const block of text.split('\n\n')) {
  let event = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length) events.push({ event, raw: data.join('\n') });
}

let bad = 0;
for (const [i, e] of events.entries()) {
  let item;
  try {
    item = { event: e.event, data: JSON.parse(e.raw) };
  } catch (err) {
    console.error(`event ${i} (${e.event}): data is not JSON: ${err.message}`);
    bad++;
    continue;
  }
  const validate = byEvent[e.event] || validateAny;
  if (!validate(item)) {
    console.error(`event ${i} (${e.event}) breaks ${name}: ${ajv.errorsText(validate.errors)}`);
    bad++;
  }
}
if (events.length === 0) {
  console.error('sse-check: the stream holds no event');
  process.exit(1);
}
console.log(`sse-check: ${events.length} event(s) checked against ${name}, ${bad} bad`);
process.exit(bad ? 1 : 0);
