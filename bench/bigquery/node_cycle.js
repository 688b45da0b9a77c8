// The official Node client's side of the BigQuery batch-writer benchmark
// (@google-cloud/bigquery 9.3.0, installed by compare.sh from the pinned
// lockfile in tests/emulator/bigquery/conformance/node): C concurrent
// writers, each repeating the same cycle as rebound's BatchWriter — create a
// staging table with expirationTime, load 25 NDJSON rows (multipart load
// job, awaited), MERGE into its own target on id (query job, awaited),
// delete the staging table — for S seconds. Prints one line:
//   node <clients> <cycles> <seconds> <cycles_per_second>
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const {BigQuery} = require('@google-cloud/bigquery');
const {OAuth2Client} = require('google-auth-library');

const [url, clientsArg, secondsArg] = process.argv.slice(2);
const clients = Number(clientsArg), seconds = Number(secondsArg);

function authClient() {
  const c = new OAuth2Client();
  c.setCredentials({access_token: 'bench', expiry_date: Date.now() + 3600 * 1000});
  return c;
}

const schema = [{name: 'id', type: 'INTEGER', mode: 'REQUIRED'}, {name: 'name', type: 'STRING'},
                {name: 'score', type: 'FLOAT'}];

async function writer(bq, dataset, c, until, tmp) {
  const target = 'node_t' + c;
  await dataset.createTable(target, {schema}).catch(e => { if (e.code !== 409) throw e; });
  let cycles = 0;
  for (let cycle = 0; Date.now() < until; ++cycle) {
    const stage = 'node_stage_' + c + '_' + cycle + '_' + process.pid;
    const [table] = await dataset.createTable(stage, {
      schema: schema.map(f => ({...f, mode: 'NULLABLE'})),
      expirationTime: String(Date.now() + 3600 * 1000)});
    let rows = '';
    for (let i = 0; i < 25; ++i) {
      rows += JSON.stringify({id: (cycle * 7 + i) % 50, name: 'n' + cycle, score: i * 0.5}) + '\n';
    }
    const file = path.join(tmp, stage + '.json');
    fs.writeFileSync(file, rows);
    await table.load(file, {sourceFormat: 'NEWLINE_DELIMITED_JSON', writeDisposition: 'WRITE_APPEND'});
    await bq.query({query: 'MERGE `bench.' + target + '` T USING `bench.' + stage +
      '` S ON T.id = S.id WHEN MATCHED THEN UPDATE SET name = S.name, score = S.score ' +
      'WHEN NOT MATCHED THEN INSERT (id, name, score) VALUES (S.id, S.name, S.score)',
      location: 'US'});
    await table.delete();
    fs.unlinkSync(file);
    ++cycles;
  }
  return cycles;
}

async function main() {
  const bq = new BigQuery({projectId: 'bench', apiEndpoint: url, authClient: authClient()});
  const dataset = bq.dataset('bench');
  await bq.createDataset('bench', {location: 'US'}).catch(e => { if (e.code !== 409) throw e; });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'node-cycle-'));
  const start = Date.now();
  const until = start + seconds * 1000;
  const counts = await Promise.all([...Array(clients).keys()].map(c => writer(bq, dataset, c, until, tmp)));
  const elapsed = (Date.now() - start) / 1000;
  const total = counts.reduce((a, b) => a + b, 0);
  fs.rmSync(tmp, {recursive: true, force: true});
  console.log(`node ${clients} ${total} ${elapsed.toFixed(2)} ${(total / elapsed).toFixed(2)}`);
}

main().catch(e => { console.error(e.stack || String(e)); process.exit(1); });
