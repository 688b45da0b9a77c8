// Google's official Node.js client (@google-cloud/bigquery 9.3.0) against
// rebound's BigQuery emulator. Usage: node conformance.js http://127.0.0.1:PORT
// Creates a dataset and tables, loads NDJSON (multipart upload), runs a
// MERGE, reads the rows back, sees a 409 for a reused job id, survives a
// jobComplete:false answer, then repeats table create/delete through
// BIGQUERY_EMULATOR_HOST (paths without /bigquery/v2). Exits 0 when all pass.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const {BigQuery} = require('@google-cloud/bigquery');
const {OAuth2Client} = require('google-auth-library');

const url = process.argv[2];
if (!url) {
  console.error('usage: node conformance.js http://127.0.0.1:PORT');
  process.exit(2);
}

function check(condition, what) {
  if (!condition) throw new Error('FAILED: ' + what);
  console.log('ok - ' + what);
}

// A preset token, so the client never looks for real credentials.
function authClient() {
  const client = new OAuth2Client();
  client.setCredentials({access_token: 'emulator-token', expiry_date: Date.now() + 3600 * 1000});
  return client;
}

function control(route, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url + '/__emulator/' + route, {method: 'POST', headers: {'Content-Type': 'application/json'}}, res => {
      let data = '';
      res.on('data', d => (data += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(data) : reject(new Error(route + ': ' + data))));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function main() {
  const bq = new BigQuery({projectId: 'p', apiEndpoint: url, authClient: authClient()});
  const schema = [{name: 'id', type: 'INTEGER', mode: 'REQUIRED'}, {name: 'name', type: 'STRING'}];

  const [dataset] = await bq.createDataset('conf', {location: 'US'});
  check(dataset.id === 'conf', 'dataset created');
  const [orders] = await dataset.createTable('orders', {schema});
  check(orders.id === 'orders', 'table created');
  await bq.query({query: "INSERT INTO conf.orders (id, name) VALUES (1, 'old'), (9, 'keep')", useLegacySql: false});

  const file = path.join(os.tmpdir(), `rebound-conformance-${process.pid}.json`);
  fs.writeFileSync(file, '{"id": 1, "name": "new"}\n{"id": 2, "name": "two"}\n');
  const [loadJob] = await dataset.table('orders_tmp').load(file, {
    sourceFormat: 'NEWLINE_DELIMITED_JSON',
    writeDisposition: 'WRITE_TRUNCATE',
    createDisposition: 'CREATE_IF_NEEDED',
    schema: {fields: schema},
  });
  fs.unlinkSync(file);
  check(loadJob.status.state === 'DONE' && !loadJob.status.errorResult, 'NDJSON load job DONE without errors');
  check(loadJob.statistics.load.outputRows === '2', 'load wrote 2 rows');

  const [mergeJob] = await bq.createQueryJob({
    query: 'MERGE `p.conf.orders` T USING `p.conf.orders_tmp` S ON T.id = S.id ' +
      'WHEN MATCHED THEN UPDATE SET name = S.name WHEN NOT MATCHED THEN INSERT ROW',
    useLegacySql: false,
  });
  await mergeJob.getQueryResults();
  const [mergeMeta] = await mergeJob.getMetadata();
  check(mergeMeta.statistics.query.numDmlAffectedRows === '2', 'MERGE affected 2 rows');

  const [rows] = await bq.query({query: 'SELECT id, name FROM conf.orders ORDER BY id', useLegacySql: false});
  check(JSON.stringify(rows) === JSON.stringify([{id: 1, name: 'new'}, {id: 2, name: 'two'}, {id: 9, name: 'keep'}]),
        'rows read back: ' + JSON.stringify(rows));

  await bq.createQueryJob({query: 'SELECT 1', useLegacySql: false, jobId: 'fixed_job_id'});
  let conflict = null;
  try {
    await bq.createQueryJob({query: 'SELECT 1', useLegacySql: false, jobId: 'fixed_job_id'});
  } catch (err) {
    conflict = err;
  }
  check(conflict && conflict.code === 409, 'reused job id is 409');
  check(conflict && /Already Exists: Job p:US\.fixed_job_id/.test(conflict.message), '409 message names the job');

  await control('faults', {faults: [{path: '/queries$', times: 1, action: {kind: 'slowJob', incompleteResponses: 1}}]});
  const [one] = await bq.query('SELECT 1');
  check(JSON.stringify(one) === '[{"f0_":1}]', 'query after jobComplete:false returns [{"f0_":1}]');

  process.env.BIGQUERY_EMULATOR_HOST = url;
  const viaEnv = new BigQuery({projectId: 'p', authClient: authClient()});
  const [temp] = await viaEnv.dataset('conf').createTable('via_env', {schema});
  check(temp.id === 'via_env', 'table created through BIGQUERY_EMULATOR_HOST');
  await temp.delete();
  const [exists] = await viaEnv.dataset('conf').table('via_env').exists();
  check(!exists, 'table deleted through BIGQUERY_EMULATOR_HOST');
  console.log('PASS');
}

main().catch(err => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
