// SigV4 signing in the browser (WebCrypto), for servers with access keys. The console keeps the
// key in sessionStorage only (gone when the tab closes) and signs exactly what botocore would:
// host, x-amz-date and (when present) content-type / x-amz-* headers.
const enc = new TextEncoder();

function hex(buf) {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function sha256Hex(text) {
  return hex(await crypto.subtle.digest('SHA-256', enc.encode(text)));
}

async function hmac(key, text) {
  const k = await crypto.subtle.importKey(
    'raw', typeof key === 'string' ? enc.encode(key) : key,
    { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return crypto.subtle.sign('HMAC', k, enc.encode(text));
}

// RFC 3986: everything but A-Z a-z 0-9 - _ . ~ is percent-encoded.
export function uriEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function canonicalQuery(query) {
  if (!query) return '';
  return query.split('&').filter(Boolean).map((kv) => {
    const i = kv.indexOf('=');
    const k = decodeURIComponent(i < 0 ? kv : kv.slice(0, i));
    const v = i < 0 ? '' : decodeURIComponent(kv.slice(i + 1));
    return [uriEncode(k), uriEncode(v)];
  }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join('&');
}

// Returns the headers to add (Authorization, X-Amz-Date) for a request to this origin.
// `headers` are the request's own headers (names any case); `creds` = {accessKeyId, secretAccessKey, region}.
export async function sign(method, path, query, headers, body, creds) {
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const region = creds.region || 'us-east-1';
  const all = { host: location.host, 'x-amz-date': amzDate };
  for (const [k, v] of Object.entries(headers || {})) {
    const name = k.toLowerCase();
    if (name === 'content-type' || name.startsWith('x-amz-')) all[name] = String(v).trim().replace(/\s+/g, ' ');
  }
  const names = Object.keys(all).sort();
  const canonical = [
    method,
    path.split('/').map((seg) => uriEncode(decodeURIComponent(seg))).join('/'),
    canonicalQuery(query),
    names.map((n) => `${n}:${all[n]}\n`).join(''),
    names.join(';'),
    await sha256Hex(body || ''),
  ].join('\n');
  const scope = `${date}/${region}/lambda/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, await sha256Hex(canonical)].join('\n');
  let key = await hmac('AWS4' + creds.secretAccessKey, date);
  key = await hmac(key, region);
  key = await hmac(key, 'lambda');
  key = await hmac(key, 'aws4_request');
  const signature = hex(await hmac(key, toSign));
  return {
    'X-Amz-Date': amzDate,
    Authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, ` +
      `SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
}
