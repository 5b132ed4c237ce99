import { chromium } from 'playwright-core';
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const p = await b.newPage({ viewport: { width: 1400, height: 1000 } });
const msgs = []; p.on('console', (m) => msgs.push(m.type() + ': ' + m.text())); p.on('pageerror', (e) => msgs.push('pageerror: ' + e.message));
await p.goto('file:///tmp/h14-sample/report.html');
await p.waitForSelector('body[data-ready]');
await p.screenshot({ path: '/tmp/h14m/full.png', fullPage: true });
console.log(msgs);
await b.close();
