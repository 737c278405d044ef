// ETL function: an S3 event names a zip; its JSON files (arrays of order records) become one CSV
// object (<key>.csv in the same bucket) and rows in a DynamoDB table (ETL_TABLE, default
// "etl-orders"). Bad records and unreadable files are counted and reported, not fatal.
//
// Result: {"bucket":..,"key":..,"csvKey":..,"table":..,"files":n,"records":n,"rows":n,
//          "badRecords":n,"badFiles":n,"batchCalls":n,"errors":[{"file":..,"index":n,"reason":..}]}
// (errors lists the first 20.)
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "json_value.h"
#include "lambdad/aws.h"
#include "lambdad/runtime.h"
#include "transform.h"
#include "zip_reader.h"

namespace {

using lambdad::InvocationRequest;
using lambdad::InvocationResponse;
using lambdad::json_escape;
using lambdad::sdk_detail::JsonValue;
namespace aws = lambdad::aws;

constexpr std::size_t kMaxReportedErrors = 20;

// S3 event keys are URL-encoded with '+' for spaces.
std::string decode_event_key(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto hexval = [](char c) {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out += static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool is_json_name(std::string_view name) {
  if (name.empty() || name.back() == '/' || name.size() < 5) return false;
  std::string tail(name.substr(name.size() - 5));
  for (char& c : tail) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return tail == ".json";
}

struct Stats {
  std::size_t files = 0, records = 0, rows = 0, bad_records = 0, bad_files = 0;
  std::string errors;  // JSON array members
  std::size_t reported = 0;

  void error(std::string_view file, long index, std::string_view reason) {
    if (reported++ >= kMaxReportedErrors) return;
    if (!errors.empty()) errors += ',';
    errors.append("{\"file\":\"").append(json_escape(file)).append("\",\"index\":");
    errors.append(std::to_string(index)).append(",\"reason\":\"");
    errors.append(json_escape(reason)).append("\"}");
  }
};

aws::Item to_item(const etl::Row& row) {
  aws::Item item = {{"id", aws::AttributeValue::string(row.id)},
                    {"created_at", aws::AttributeValue::string(row.created_at)},
                    {"customer_name", aws::AttributeValue::string(row.customer_name)},
                    {"price", aws::AttributeValue::number(row.price)},
                    {"qty", aws::AttributeValue::number(row.qty)},
                    {"total", aws::AttributeValue::number(row.total)},
                    {"source_file", aws::AttributeValue::string(row.source_file)}};
  if (!row.note.empty()) item.emplace_back("note", aws::AttributeValue::string(row.note));
  return item;
}

class Etl {
 public:
  Etl(aws::S3Client s3, aws::DynamoDbClient ddb, std::string table)
      : s3_(std::move(s3)), ddb_(std::move(ddb)), table_(std::move(table)) {}

  InvocationResponse handle(const InvocationRequest& req) {
    JsonValue event;
    std::string why;
    if (!JsonValue::parse(req.payload, &event, &why)) {
      return InvocationResponse::failure("event is not JSON: " + why, "InvalidEvent");
    }
    const JsonValue* records = event.find("Records");
    const JsonValue* s3 = (records != nullptr && records->is_array() && !records->items().empty())
                              ? records->items()[0].find("s3")
                              : nullptr;
    const JsonValue* bucket = s3 ? s3->find_path({"bucket", "name"}) : nullptr;
    const JsonValue* key = s3 ? s3->find_path({"object", "key"}) : nullptr;
    if (bucket == nullptr || !bucket->is_string() || key == nullptr || !key->is_string()) {
      return InvocationResponse::failure(
          "expected an S3 event notification: Records[0].s3.bucket.name and .object.key",
          "InvalidEvent");
    }
    std::string bucket_name = bucket->text();
    std::string object_key = decode_event_key(key->text());
    std::string csv_key = object_key + ".csv";

    std::string zip;
    if (auto e = s3_.get_object(bucket_name, object_key, zip); !e.ok()) {
      return InvocationResponse::failure(
          "GetObject s3://" + bucket_name + "/" + object_key + ": " + e.code + ": " + e.message,
          "S3Error");
    }
    etl::ZipReader reader;
    if (!reader.open(zip, &why)) return InvocationResponse::failure(why, "InvalidZip");

    Stats stats;
    std::string csv(etl::kCsvHeader);
    std::vector<std::string> items;
    std::string content;
    for (const auto& entry : reader.entries()) {
      if (!is_json_name(entry.name)) continue;
      ++stats.files;
      if (!reader.extract(entry, content, &why)) {
        ++stats.bad_files;
        stats.error(entry.name, -1, why);
        continue;
      }
      JsonValue doc;
      if (!JsonValue::parse(content, &doc, &why)) {
        ++stats.bad_files;
        stats.error(entry.name, -1, "not JSON: " + why);
        continue;
      }
      if (!doc.is_array()) {
        ++stats.bad_files;
        stats.error(entry.name, -1, "not a JSON array");
        continue;
      }
      long index = 0;
      for (const auto& record : doc.items()) {
        ++stats.records;
        std::optional<etl::Row> row = etl::transform(record, entry.name, &why);
        if (!row) {
          ++stats.bad_records;
          stats.error(entry.name, index++, why);
          continue;
        }
        ++index;
        ++stats.rows;
        etl::append_csv(*row, csv);
        items.push_back(aws::item_json(to_item(*row)));
      }
    }

    if (auto e = s3_.put_object(bucket_name, csv_key, csv, "text/csv"); !e.ok()) {
      return InvocationResponse::failure(
          "PutObject s3://" + bucket_name + "/" + csv_key + ": " + e.code + ": " + e.message,
          "S3Error");
    }
    std::uint64_t calls_before = ddb_.batch_calls();
    if (auto e = ddb_.batch_write_item_json(table_, items); !e.ok()) {
      return InvocationResponse::failure(
          "BatchWriteItem " + table_ + ": " + e.code + ": " + e.message, "DynamoDbError");
    }

    std::string out = "{\"bucket\":\"" + json_escape(bucket_name) + "\",\"key\":\"" +
                      json_escape(object_key) + "\",\"csvKey\":\"" + json_escape(csv_key) +
                      "\",\"table\":\"" + json_escape(table_) + "\"";
    auto field = [&out](const char* name, std::uint64_t v) {
      out.append(",\"").append(name).append("\":").append(std::to_string(v));
    };
    field("files", stats.files);
    field("records", stats.records);
    field("rows", stats.rows);
    field("badRecords", stats.bad_records);
    field("badFiles", stats.bad_files);
    field("batchCalls", ddb_.batch_calls() - calls_before);
    out.append(",\"errors\":[").append(stats.errors).append("]}");
    return InvocationResponse::success(std::move(out));
  }

 private:
  aws::S3Client s3_;
  aws::DynamoDbClient ddb_;
  std::string table_;
};

}  // namespace

int main() {
  std::string error;
  auto s3 = aws::S3Client::from_env(&error);
  if (!s3) return lambdad::report_init_error(error, "ConfigurationError");
  auto ddb = aws::DynamoDbClient::from_env(&error);
  if (!ddb) return lambdad::report_init_error(error, "ConfigurationError");
  const char* table = std::getenv("ETL_TABLE");
  Etl etl(std::move(*s3), std::move(*ddb),
          table != nullptr && *table != '\0' ? table : "etl-orders");
  return lambdad::run([&etl](const InvocationRequest& req) { return etl.handle(req); });
}
