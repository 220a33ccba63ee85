// The GraphQL-over-HTTP audit (graphql-http's auditServer, 61 audits of the
// spec's MUSTs, SHOULDs and MAYs) against a running Tessera at TESSERA_URL:
// every audit must pass, so no error, no warning and no notice.
import { auditServer } from 'graphql-http';

const url = `${process.env.TESSERA_URL ?? 'http://127.0.0.1:8080'}/graphql`;
const results = await auditServer({ url });
const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  if (result.status !== 'ok') {
    console.log(`${result.status.toUpperCase()} ${result.id} ${result.name}`);
    console.log(`  ${result.reason}`);
    if (result.response) {
      const body = await result.response.text().catch(() => '');
      console.log(`  -> ${result.response.status} ${result.response.headers.get('content-type')} ${body.slice(0, 300)}`);
    }
  }
}
console.log(`graphql-http audit of ${url}: ${results.length} audits, ${counts.ok} ok, ${counts.notice} notices, ${counts.warn} warnings, ${counts.error} errors`);
// Notices (MAYs) are held to the same bar: every audit must pass.
process.exit(results.length > 0 && counts.ok === results.length ? 0 : 1);
