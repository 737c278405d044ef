// The ETL transformation: one input record (a JSON object) to one output row.
//
// Input fields -> output columns (renames):
//   order_id (string or integer)         -> id
//   created  (ISO 8601 with Z / +hh:mm / -hh:mm / no zone = UTC, date only, or Unix epoch
//             seconds / milliseconds as a number) -> created_at, ISO 8601 UTC
//             "YYYY-MM-DDTHH:MM:SSZ"
//   customer (string)                    -> customer_name
//   unit_price (number or decimal string, >= 0, at most 2 decimals) -> price ("12.50")
//   quantity (integer >= 0)              -> qty
//   note (optional string)               -> note
// Derived: total = price * qty, exact (integer cents), "37.50".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json_value.h"

namespace etl {

struct Row {
  std::string id;
  std::string created_at;
  std::string customer_name;
  std::string price;
  std::string qty;
  std::string total;
  std::string note;
  std::string source_file;
};

inline constexpr std::string_view kCsvHeader =
    "id,created_at,customer_name,price,qty,total,note,source_file\r\n";

// Converts one record; nullopt with *reason set when the record is bad.
std::optional<Row> transform(const lambdad::sdk_detail::JsonValue& record,
                             std::string_view source_file, std::string* reason);

// ISO 8601 / epoch to "YYYY-MM-DDTHH:MM:SSZ"; nullopt when unparseable.
std::optional<std::string> normalize_timestamp(const lambdad::sdk_detail::JsonValue& v);

// Appends the row as one CSV record (RFC 4180: quoted when needed, CRLF).
void append_csv(const Row& row, std::string& out);

}  // namespace etl
