'use strict';

// Cross-checks alguna-go's Standard Webhooks signing with the reference
// TypeScript library, in both directions. webhooks_crosscheck_test.go (in the
// module root) runs it; it is not meant to be run by hand, but can be:
//
//   node crosscheck.js sign N   prints N deliveries signed by the library
//   node crosscheck.js verify   reads deliveries signed by Go on stdin and
//                               prints the library's verdict on each
//
// A delivery is {secrets, id, timestamp, body, signature}: body is base64 so
// that its exact bytes survive the trip, timestamp is the header's text, and
// signature is the whole webhook-signature header value.

const crypto = require('node:crypto');
const { Webhook } = require('standardwebhooks');

const eventTypes = [
  'account.credits.balance_depleted',
  'account.credits.granted',
  'checkout.session.completed',
  'subscription.created',
  'subscription.activated',
  'invoice.paid',
  'payment.updated',
  'refund.updated',
];

// Characters chosen to trip up encoders: quotes, escapes, controls,
// multi-byte UTF-8, astral-plane emoji and the JavaScript line separators.
const alphabet = [
  ...'abcXYZ019 _-.,:;/',
  '"', '\\', '\n', '\t', '\u0001', '\u007f',
  'é', 'ß', 'Ω', '日本', '€', '\u2028', '\u2029', '\ufeff', '😀', '🧾',
];

function randomText(maxLen) {
  let s = '';
  const n = crypto.randomInt(0, maxLen + 1);
  for (let i = 0; i < n; i++) {
    s += alphabet[crypto.randomInt(alphabet.length)];
  }
  return s;
}

function randomID() {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = 'msg_';
  const n = crypto.randomInt(1, 40);
  for (let i = 0; i < n; i++) {
    s += chars[crypto.randomInt(chars.length)];
  }
  return s;
}

function randomSecret() {
  const key = crypto.randomBytes(crypto.randomInt(16, 65)).toString('base64');
  // Both spellings Alguna's dashboard might hand out.
  return crypto.randomInt(4) === 0 ? key : 'whsec_' + key;
}

function randomBody(unix) {
  const event = {
    type: eventTypes[crypto.randomInt(eventTypes.length)],
    timestamp: new Date(unix * 1000).toISOString(),
    data: {
      id: randomID(),
      accountId: 'acc_' + crypto.randomBytes(4).toString('hex'),
      amount: (crypto.randomInt(0, 1000000) / 100).toFixed(2),
      note: randomText(120),
    },
  };
  // Compact, indented or with a trailing newline: the signature covers the
  // exact bytes, whatever their layout.
  switch (crypto.randomInt(3)) {
    case 0:
      return JSON.stringify(event);
    case 1:
      return JSON.stringify(event, null, 2);
    default:
      return JSON.stringify(event) + '\n';
  }
}

function sign(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const secrets = [randomSecret()];
    if (i % 4 === 0) {
      secrets.push(randomSecret()); // rotation: one signature per secret
    }
    const unix = crypto.randomInt(1000000000, 4000000000);
    const id = randomID();
    const body = randomBody(unix);
    const signature = secrets
      .map((s) => new Webhook(s).sign(id, new Date(unix * 1000), body))
      .join(' ');
    out.push({
      secrets,
      id,
      timestamp: String(unix),
      body: Buffer.from(body, 'utf8').toString('base64'),
      signature,
    });
  }
  return out;
}

function verify(deliveries) {
  return deliveries.map((d) => {
    try {
      new Webhook(d.secrets[0]).verify(
        Buffer.from(d.body, 'base64'),
        {
          'webhook-id': d.id,
          'webhook-timestamp': d.timestamp,
          'webhook-signature': d.signature,
        },
        { jsonParse: false },
      );
      return { ok: true };
    } catch (err) {
      return { ok: false, error: String(err && err.message) };
    }
  });
}

function readStdin() {
  return require('node:fs').readFileSync(0, 'utf8');
}

function main(argv) {
  switch (argv[0]) {
    case 'sign': {
      const n = Number.parseInt(argv[1] || '100', 10);
      if (!(n > 0)) {
        throw new Error('sign needs a positive count');
      }
      return sign(n);
    }
    case 'verify':
      return verify(JSON.parse(readStdin()));
    default:
      throw new Error('usage: node crosscheck.js sign N | verify < deliveries.json');
  }
}

process.stdout.write(JSON.stringify(main(process.argv.slice(2))) + '\n');
