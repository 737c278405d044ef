// YAML subset and SAM template reading (sam.h).
#include "cli/sam.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace lambdad::cli {
namespace {

struct Line {
  int number = 0;  // 1-based
  int indent = 0;
  std::string text;  // without indentation, comment and trailing blanks
};

Error bad(int line, const std::string& why) {
  return Error::make(Code::kInvalidArgument, "line " + std::to_string(line) + ": " + why);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Index just past the quoted scalar starting at s[i] (a quote), or npos if unterminated.
size_t skip_quoted(std::string_view s, size_t i) {
  const char q = s[i];
  for (size_t j = i + 1; j < s.size(); ++j) {
    if (q == '"' && s[j] == '\\') {
      ++j;
    } else if (s[j] == q) {
      if (q == '\'' && j + 1 < s.size() && s[j + 1] == '\'') {
        ++j;  // '' is an escaped quote
      } else {
        return j + 1;
      }
    }
  }
  return std::string_view::npos;
}

// Removes a trailing comment: '#' at the start or after a blank, outside quoted scalars.
// A quote opens a scalar only where a scalar can start, so apostrophes in plain text are kept.
std::string_view strip_comment(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const char prev = i == 0 ? ' ' : s[i - 1];
    const bool at_start = prev == ' ' || prev == '[' || prev == '{' || prev == ',' || i == 0;
    if ((c == '"' || c == '\'') && at_start) {
      size_t end = skip_quoted(s, i);
      if (end == std::string_view::npos) return s;  // reported later by the scalar reader
      i = end - 1;
    } else if (c == '#' && (prev == ' ' || prev == '\t' || i == 0)) {
      return s.substr(0, i);
    }
  }
  return s;
}

void append_utf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes a whole quoted scalar s (quotes included).
Result<std::string> unquote(std::string_view s, int line) {
  if (s.size() < 2 || s.back() != s.front() || skip_quoted(s, 0) != s.size()) {
    return bad(line,
               "unterminated or trailing text after quoted scalar (multi-line quoted "
               "scalars are not supported)");
  }
  std::string out;
  std::string_view body = s.substr(1, s.size() - 2);
  if (s.front() == '\'') {
    for (size_t i = 0; i < body.size(); ++i) {
      out += body[i];
      if (body[i] == '\'') ++i;  // '' -> '
    }
    return out;
  }
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\') {
      out += body[i];
      continue;
    }
    if (++i >= body.size()) return bad(line, "bad escape");
    switch (body[i]) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '0':
        out += '\0';
        break;
      case '"':
      case '\\':
      case '/':
      case ' ':
        out += body[i];
        break;
      case 'u': {
        uint32_t cp = 0;
        if (i + 4 >= body.size()) return bad(line, "short \\u escape");
        auto r = std::from_chars(body.data() + i + 1, body.data() + i + 5, cp, 16);
        if (r.ptr != body.data() + i + 5) return bad(line, "bad \\u escape");
        append_utf8(&out, cp);
        i += 4;
        break;
      }
      default:
        return bad(line, std::string("unsupported escape \\") + body[i]);
    }
  }
  return out;
}

// A scalar value written inline: tag, quotes, flow collections, anchors rejected.
Result<YamlNode> inline_value(std::string_view s, int line);

Result<YamlNode> scalar_value(std::string_view s, int line) {
  YamlNode n;
  n.line = line;
  s = trim(s);
  if (s.starts_with('!')) {
    size_t sp = s.find(' ');
    n.tag = std::string(s.substr(0, sp));
    s = sp == std::string_view::npos ? std::string_view{} : trim(s.substr(sp));
    if (s.empty()) {
      n.kind = YamlNode::Kind::kScalar;
      return n;
    }
    auto inner = inline_value(s, line);
    if (!inner) return inner;
    inner->tag = n.tag;
    return inner;
  }
  if (s.starts_with('&') || s.starts_with('*')) {
    return bad(line, "anchors and aliases are not supported");
  }
  if (s.starts_with('"') || s.starts_with('\'')) {
    auto text = unquote(s, line);
    if (!text) return text.error();
    n.kind = YamlNode::Kind::kScalar;
    n.scalar = std::move(*text);
    return n;
  }
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return n;  // kNull
  n.kind = YamlNode::Kind::kScalar;
  n.scalar = std::string(s);
  return n;
}

// Splits a flow collection's inside on top-level commas.
std::vector<std::string_view> split_flow(std::string_view s) {
  std::vector<std::string_view> parts;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"' || c == '\'') {
      size_t end = skip_quoted(s, i);
      i = end == std::string_view::npos ? s.size() - 1 : end - 1;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 0) {
      parts.push_back(trim(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  std::string_view last = trim(s.substr(start));
  if (!last.empty() || !parts.empty()) parts.push_back(last);
  return parts;
}

// Position of the ':' separating a mapping key from its value, or npos.
size_t key_separator(std::string_view s) {
  size_t i = 0;
  if (!s.empty() && (s[0] == '"' || s[0] == '\'')) {
    i = skip_quoted(s, 0);
    if (i == std::string_view::npos) return i;
  }
  for (; i < s.size(); ++i) {
    if (s[i] == ':' && (i + 1 == s.size() || s[i + 1] == ' ')) return i;
  }
  return std::string_view::npos;
}

Result<std::string> key_text(std::string_view k, int line) {
  k = trim(k);
  if (k.empty()) return bad(line, "empty mapping key");
  if (k.starts_with('"') || k.starts_with('\'')) return unquote(k, line);
  if (k.starts_with('&') || k.starts_with('*') || k.starts_with('?')) {
    return bad(line, "anchors, aliases and complex keys are not supported");
  }
  return std::string(k);
}

Result<YamlNode> inline_value(std::string_view s, int line) {
  s = trim(s);
  if (s.starts_with('[') || s.starts_with('{')) {
    const bool is_seq = s.front() == '[';
    if (s.back() != (is_seq ? ']' : '}')) {
      return bad(line, "flow collections must close on the same line");
    }
    YamlNode n;
    n.line = line;
    n.kind = is_seq ? YamlNode::Kind::kSeq : YamlNode::Kind::kMap;
    for (std::string_view part : split_flow(s.substr(1, s.size() - 2))) {
      if (part.empty()) return bad(line, "empty entry in flow collection");
      if (is_seq) {
        auto v = inline_value(part, line);
        if (!v) return v;
        n.seq.push_back(std::move(*v));
        continue;
      }
      size_t colon = key_separator(part);
      if (colon == std::string_view::npos) return bad(line, "expected 'key: value' in flow map");
      auto key = key_text(part.substr(0, colon), line);
      if (!key) return key.error();
      auto v = inline_value(part.substr(colon + 1), line);
      if (!v) return v;
      n.map.push_back({std::move(*key), std::move(*v)});
    }
    return n;
  }
  return scalar_value(s, line);
}

class Parser {
 public:
  explicit Parser(std::vector<Line> lines) : lines_(std::move(lines)) {}

  Result<YamlNode> document() {
    if (lines_.empty()) return YamlNode{};
    auto n = block(lines_[0].indent);
    if (!n) return n;
    if (pos_ < lines_.size()) {
      return bad(lines_[pos_].number, "unexpected indentation or content");
    }
    return n;
  }

 private:
  static bool is_seq_item(const Line& l) { return l.text == "-" || l.text.starts_with("- "); }

  Result<YamlNode> block(int indent) {
    if (is_seq_item(lines_[pos_])) return sequence(indent);
    return mapping(indent);
  }

  // The value after "key:" or "- " when it is on the following lines (or absent).
  Result<YamlNode> nested(int parent_indent, bool allow_same_indent_seq, int line) {
    if (pos_ < lines_.size()) {
      const Line& next = lines_[pos_];
      if (next.indent > parent_indent) return block(next.indent);
      if (allow_same_indent_seq && next.indent == parent_indent && is_seq_item(next)) {
        return sequence(parent_indent);
      }
    }
    YamlNode n;
    n.line = line;
    return n;  // null
  }

  // Lines of a | or > block scalar: everything indented deeper than `indent`.
  YamlNode block_scalar(std::string_view header, int indent, int line) {
    const bool folded = header.starts_with('>');
    const bool strip = header.find('-') != std::string_view::npos;
    YamlNode n;
    n.kind = YamlNode::Kind::kScalar;
    n.line = line;
    int content_indent = -1;
    while (pos_ < lines_.size() && (lines_[pos_].indent > indent || lines_[pos_].text.empty())) {
      const Line& l = lines_[pos_++];
      if (content_indent < 0 && !l.text.empty()) content_indent = l.indent;
      std::string text;
      if (!l.text.empty()) {
        text = raw_[static_cast<size_t>(l.number - 1)].substr(
            static_cast<size_t>(std::min(content_indent, l.indent)));
      }
      if (!n.scalar.empty()) n.scalar += folded && !text.empty() ? " " : "\n";
      n.scalar += text;
    }
    while (!n.scalar.empty() && n.scalar.back() == '\n') n.scalar.pop_back();
    if (!strip && !n.scalar.empty()) n.scalar += '\n';
    return n;
  }

  Result<YamlNode> value_after(std::string_view rest, int indent, bool allow_same_indent_seq,
                               int line) {
    rest = trim(rest);
    if (rest.empty()) return nested(indent, allow_same_indent_seq, line);
    if (rest.starts_with('|') || rest.starts_with('>')) return block_scalar(rest, indent, line);
    return inline_value(rest, line);
  }

  Result<YamlNode> mapping(int indent) {
    YamlNode n;
    n.kind = YamlNode::Kind::kMap;
    n.line = lines_[pos_].number;
    while (pos_ < lines_.size() && lines_[pos_].indent == indent && !is_seq_item(lines_[pos_])) {
      const Line l = lines_[pos_++];
      size_t colon = key_separator(l.text);
      if (colon == std::string_view::npos) {
        return bad(l.number, "expected 'key: value' (multi-line plain scalars are not supported)");
      }
      auto key = key_text(std::string_view(l.text).substr(0, colon), l.number);
      if (!key) return key.error();
      for (const auto& [k, v] : n.map) {
        if (k == *key) return bad(l.number, "duplicate key '" + *key + "'");
      }
      auto v = value_after(std::string_view(l.text).substr(colon + 1), indent, true, l.number);
      if (!v) return v;
      n.map.push_back({std::move(*key), std::move(*v)});
    }
    return n;
  }

  Result<YamlNode> sequence(int indent) {
    YamlNode n;
    n.kind = YamlNode::Kind::kSeq;
    n.line = lines_[pos_].number;
    while (pos_ < lines_.size() && lines_[pos_].indent == indent && is_seq_item(lines_[pos_])) {
      Line& l = lines_[pos_];
      std::string_view rest = std::string_view(l.text).substr(1);
      size_t skip = rest.find_first_not_of(' ');
      if (skip == std::string_view::npos) {
        ++pos_;
        auto v = nested(indent, false, l.number);
        if (!v) return v;
        n.seq.push_back(std::move(*v));
        continue;
      }
      rest = rest.substr(skip);
      if (key_separator(rest) != std::string_view::npos && !rest.starts_with('[') &&
          !rest.starts_with('{')) {
        // "- key: v" opens a mapping whose keys sit at the column after "- ".
        const int item_indent = indent + 1 + static_cast<int>(skip);
        l.text = std::string(rest);
        l.indent = item_indent;
        auto v = mapping(item_indent);
        if (!v) return v;
        n.seq.push_back(std::move(*v));
        continue;
      }
      ++pos_;
      auto v = value_after(rest, indent, false, l.number);
      if (!v) return v;
      n.seq.push_back(std::move(*v));
    }
    return n;
  }

 public:
  std::vector<std::string> raw_;

 private:
  std::vector<Line> lines_;
  size_t pos_ = 0;
};

Result<std::string> string_prop(const YamlNode* v, const std::string& what) {
  if (v == nullptr || v->kind == YamlNode::Kind::kNull) return std::string();
  if (v->kind != YamlNode::Kind::kScalar || !v->tag.empty()) {
    return Error::make(Code::kInvalidArgument, what + " must be a plain string");
  }
  return v->scalar;
}

Result<int> int_prop(const YamlNode* v, const std::string& what, int fallback) {
  if (v == nullptr || v->kind == YamlNode::Kind::kNull) return fallback;
  int out = 0;
  if (v->kind == YamlNode::Kind::kScalar) {
    auto r = std::from_chars(v->scalar.data(), v->scalar.data() + v->scalar.size(), out);
    if (r.ec == std::errc() && r.ptr == v->scalar.data() + v->scalar.size()) return out;
  }
  return Error::make(Code::kInvalidArgument, what + " must be an integer");
}

// Applies one Properties mapping (Globals.Function or a function's) onto fn.
Result<void> apply_properties(const YamlNode& props, const std::string& where, SamFunction* fn) {
  struct StringField {
    const char* key;
    std::string SamFunction::*field;
  };
  static const StringField kStrings[] = {
      {"CodeUri", &SamFunction::code_uri},
      {"Handler", &SamFunction::handler},
      {"Runtime", &SamFunction::runtime},
      {"Description", &SamFunction::description},
      {"FunctionName", &SamFunction::function_name},
  };
  for (const auto& f : kStrings) {
    if (const YamlNode* v = props.get(f.key)) {
      auto s = string_prop(v, where + "." + f.key);
      if (!s) return s.error();
      if (!s->empty()) fn->*f.field = *s;
    }
  }
  if (const YamlNode* v = props.get("Role")) {
    // !GetAtt and friends name roles SAM would create; lambdad has no IAM, so they are ignored.
    if (v->kind == YamlNode::Kind::kScalar && v->tag.empty()) fn->role = v->scalar;
  }
  auto mem = int_prop(props.get("MemorySize"), where + ".MemorySize", fn->memory_size);
  if (!mem) return mem.error();
  fn->memory_size = *mem;
  auto timeout = int_prop(props.get("Timeout"), where + ".Timeout", fn->timeout);
  if (!timeout) return timeout.error();
  fn->timeout = *timeout;
  if (const YamlNode* v = props.get("Architectures")) {
    if (v->kind != YamlNode::Kind::kSeq) {
      return Error::make(Code::kInvalidArgument, where + ".Architectures must be a list");
    }
    fn->architectures.clear();
    for (const auto& a : v->seq) {
      auto s = string_prop(&a, where + ".Architectures");
      if (!s) return s.error();
      fn->architectures.push_back(*s);
    }
  }
  if (const YamlNode* env = props.get("Environment")) {
    const YamlNode* vars = env->get("Variables");
    if (vars != nullptr && vars->kind == YamlNode::Kind::kMap) {
      for (const auto& [k, v] : vars->map) {
        auto s = string_prop(&v, where + ".Environment.Variables." + k);
        if (!s) return s.error();
        fn->environment[k] = *s;
      }
    } else if (vars != nullptr && vars->kind != YamlNode::Kind::kNull) {
      return Error::make(Code::kInvalidArgument,
                         where + ".Environment.Variables must be a mapping");
    }
  }
  return ok();
}

}  // namespace

const YamlNode* YamlNode::get(std::string_view key) const {
  if (kind != Kind::kMap) return nullptr;
  for (const auto& [k, v] : map) {
    if (k == key) return &v;
  }
  return nullptr;
}

Result<YamlNode> parse_yaml(std::string_view text) {
  std::vector<Line> lines;
  std::vector<std::string> raw;
  int number = 0;
  bool seen_content = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view l = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++number;
    raw.emplace_back(l);
    if (!raw.back().empty() && raw.back().back() == '\r') raw.back().pop_back();
    size_t indent = l.find_first_not_of(' ');
    if (indent != std::string_view::npos && l[indent] == '\t') {
      return bad(number, "tabs are not allowed for indentation");
    }
    std::string_view content = indent == std::string_view::npos
                                   ? std::string_view{}
                                   : trim(strip_comment(l.substr(indent)));
    if (content == "---" && !seen_content) continue;
    if (content == "---" || content == "...") {
      return bad(number, "multiple documents are not supported");
    }
    if (content.starts_with("%")) return bad(number, "directives are not supported");
    // Blank lines are kept (as empty text) only for block scalars; blocks skip them.
    lines.push_back(Line{number, indent == std::string_view::npos ? 0 : static_cast<int>(indent),
                         std::string(content)});
    if (!content.empty()) seen_content = true;
  }
  // Blank lines matter only inside block scalars; drop the rest so indentation rules see content.
  std::vector<Line> kept;
  int block_indent = -1;  // indentation of the open block scalar's header line, or -1
  for (const Line& l : lines) {
    if (l.text.empty()) {
      if (block_indent >= 0) kept.push_back(l);
      continue;
    }
    if (block_indent >= 0 && l.indent <= block_indent) block_indent = -1;
    if (block_indent < 0) {
      const std::string& t = l.text;
      if (t.ends_with(" |") || t.ends_with(" >") || t.ends_with(" |-") || t.ends_with(" >-") ||
          t == "- |" || t == "- >") {
        block_indent = l.indent;
      }
    }
    kept.push_back(l);
  }
  while (!kept.empty() && kept.back().text.empty()) kept.pop_back();
  Parser p(std::move(kept));
  p.raw_ = std::move(raw);
  return p.document();
}

Result<SamTemplate> parse_sam_template(std::string_view yaml) {
  auto doc = parse_yaml(yaml);
  if (!doc) return doc.error();
  const YamlNode* resources = doc->get("Resources");
  if (resources == nullptr || resources->kind != YamlNode::Kind::kMap) {
    return Error::make(Code::kInvalidArgument, "template has no Resources mapping");
  }
  SamFunction defaults;
  if (const YamlNode* g = doc->get("Globals")) {
    if (const YamlNode* gf = g->get("Function")) {
      auto r = apply_properties(*gf, "Globals.Function", &defaults);
      if (!r) return r.error();
      defaults.function_name.clear();  // names are per function
    }
  }
  SamTemplate out;
  for (const auto& [id, res] : resources->map) {
    const YamlNode* type = res.get("Type");
    const std::string type_name = type != nullptr ? type->scalar : std::string("?");
    if (type_name != "AWS::Serverless::Function") {
      out.skipped.push_back(id + " (" + type_name + ")");
      continue;
    }
    SamFunction fn = defaults;
    fn.logical_id = id;
    const std::string where = "Resources." + id + ".Properties";
    const YamlNode* props = res.get("Properties");
    if (props != nullptr) {
      if (props->get("InlineCode") != nullptr || props->get("ImageUri") != nullptr) {
        return Error::make(Code::kInvalidArgument,
                           where + ": InlineCode and ImageUri are not supported; use CodeUri");
      }
      auto r = apply_properties(*props, where, &fn);
      if (!r) return r.error();
      if (const YamlNode* events = props->get("Events");
          events && events->kind == YamlNode::Kind::kMap) {
        for (const auto& [name, ev] : events->map) {
          SamEvent e;
          e.name = name;
          if (const YamlNode* t = ev.get("Type")) e.type = t->scalar;
          if (const YamlNode* p = ev.get("Properties")) e.properties = *p;
          fn.events.push_back(std::move(e));
        }
      }
    }
    if (fn.code_uri.empty()) {
      return Error::make(Code::kInvalidArgument, where + ".CodeUri is required");
    }
    if (fn.function_name.empty()) fn.function_name = id;
    out.functions.push_back(std::move(fn));
  }
  return out;
}

}  // namespace lambdad::cli
