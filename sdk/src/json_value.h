// A minimal JSON reader for the SDK's event helpers (not installed). It builds a small tree,
// enough to pick fields out of an event; numbers keep their source text. No Boost, no
// exceptions: parse() returns false with a message on malformed input.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lambdad::sdk_detail {

class JsonValue {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_object() const { return kind_ == Kind::kObject; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool boolean() const { return bool_; }
  // The decoded string, or the number's source text.
  const std::string& text() const { return text_; }
  const std::vector<JsonValue>& items() const { return items_; }
  const std::vector<std::pair<std::string, JsonValue>>& members() const { return members_; }

  // The member named `key` (last one wins on duplicates), or nullptr; nullptr when not an object.
  const JsonValue* find(std::string_view key) const;
  // Follows a path of member names; nullptr as soon as one is missing.
  const JsonValue* find_path(std::initializer_list<std::string_view> keys) const;

  // Parses `text` as one JSON document (RFC 8259) into *out. On failure returns false and sets
  // *error (if non-null) to a message with the byte offset. Nesting deeper than 128 fails.
  static bool parse(std::string_view text, JsonValue* out, std::string* error);

 private:
  friend class JsonParser;

  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  std::string text_;
  std::vector<JsonValue> items_;
  std::vector<std::pair<std::string, JsonValue>> members_;
};

}  // namespace lambdad::sdk_detail
