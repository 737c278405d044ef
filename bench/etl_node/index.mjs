// The ETL function of examples/etl in Node.js, for bench/etl_bench.py: same event, same
// transformation, same CSV and items, with the AWS SDK for JavaScript v3 and adm-zip.
import { S3Client, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { DynamoDBClient, BatchWriteItemCommand } from "@aws-sdk/client-dynamodb";
import AdmZip from "adm-zip";

const s3 = new S3Client({ forcePathStyle: true });
const ddb = new DynamoDBClient({});
const TABLE = process.env.ETL_TABLE || "etl-orders";

function pad(n, w = 2) { return String(n).padStart(w, "0"); }
function iso(ms) {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}Z`;
}
function normTs(v) {
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 0) return null;
    return iso(v >= 1e11 ? Math.floor(v / 1000) * 1000 : v * 1000);
  }
  if (typeof v !== "string") return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?(Z|z|[+-]\d{2}:?\d{2})?)?$/.exec(v);
  if (!m) return null;
  const [, y, mo, d, h = "0", mi = "0", s = "0", z] = m;
  let ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  const chk = new Date(Date.UTC(+y, +mo - 1, +d));
  if (chk.getUTCMonth() !== +mo - 1 || +h > 23 || +mi > 59) return null;
  if (z && z !== "Z" && z !== "z") {
    const sign = z[0] === "-" ? -1 : 1;
    const digits = z.slice(1).replace(":", "");
    ms -= sign * (+digits.slice(0, 2) * 60 + +digits.slice(2)) * 60000;
  }
  return iso(ms);
}
function cents(v) {
  const t = typeof v === "number" ? String(v) : v;
  if (typeof t !== "string") return null;
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(t);
  if (!m) return null;
  return BigInt(m[1]) * 100n + BigInt((m[2] || "0").padEnd(2, "0"));
}
const money = (c) => `${c / 100n}.${pad(Number(c % 100n))}`;
function csvField(f) { return /[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f; }

function transform(r, file) {
  if (typeof r !== "object" || r === null || Array.isArray(r)) return [null, "record is not an object"];
  const id = r.order_id;
  if (!((typeof id === "string" && id) || (Number.isInteger(id) && id >= 0)))
    return [null, "order_id missing or not a string/integer"];
  const ts = normTs(r.created);
  if (!ts) return [null, "created missing or not a timestamp"];
  if (typeof r.customer !== "string") return [null, "customer missing or not a string"];
  const c = cents(r.unit_price);
  if (c === null) return [null, "unit_price missing or not a decimal >= 0 with at most 2 places"];
  if (!Number.isInteger(r.quantity) || r.quantity < 0) return [null, "quantity missing or not an integer >= 0"];
  return [{ id: String(id), created_at: ts, customer_name: r.customer, price: money(c),
            qty: String(r.quantity), total: money(c * BigInt(r.quantity)),
            note: typeof r.note === "string" ? r.note : "", source_file: file }, null];
}

export const handler = async (event) => {
  const rec = event.Records[0].s3;
  const bucket = rec.bucket.name;
  const key = decodeURIComponent(rec.object.key.replace(/\+/g, " "));
  const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const zip = new AdmZip(Buffer.from(await obj.Body.transformToByteArray()));
  const st = { files: 0, records: 0, rows: 0, badRecords: 0, badFiles: 0, errors: [] };
  let csv = "id,created_at,customer_name,price,qty,total,note,source_file\r\n";
  const items = [];
  for (const e of zip.getEntries()) {
    if (e.isDirectory || !e.entryName.toLowerCase().endsWith(".json")) continue;
    st.files++;
    let doc;
    try { doc = JSON.parse(e.getData().toString("utf8")); } catch (err) { st.badFiles++; continue; }
    if (!Array.isArray(doc)) { st.badFiles++; continue; }
    doc.forEach((r) => {
      st.records++;
      const [row, why] = transform(r, e.entryName);
      if (!row) { st.badRecords++; if (st.errors.length < 20) st.errors.push(why); return; }
      st.rows++;
      csv += [row.id, row.created_at, row.customer_name, row.price, row.qty, row.total, row.note,
              row.source_file].map(csvField).join(",") + "\r\n";
      const item = { id: { S: row.id }, created_at: { S: row.created_at },
        customer_name: { S: row.customer_name }, price: { N: row.price }, qty: { N: row.qty },
        total: { N: row.total }, source_file: { S: row.source_file } };
      if (row.note) item.note = { S: row.note };
      items.push(item);
    });
  }
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key + ".csv", Body: csv, ContentType: "text/csv" }));
  let calls = 0;
  for (let i = 0; i < items.length; i += 25) {
    let pending = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 1, backoff = 25; pending.length; attempt++, backoff = Math.min(backoff * 2, 1000)) {
      calls++;
      const out = await ddb.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: pending } }));
      pending = (out.UnprocessedItems && out.UnprocessedItems[TABLE]) || [];
      if (pending.length && attempt >= 8) throw new Error("items still unprocessed");
      if (pending.length) await new Promise((r) => setTimeout(r, backoff));
    }
  }
  return { bucket, key, csvKey: key + ".csv", table: TABLE, ...st, batchCalls: calls };
};
