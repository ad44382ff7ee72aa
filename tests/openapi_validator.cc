#include "tests/openapi_validator.h"

#include <algorithm>
#include <regex>
#include <sstream>

namespace beyondkv::testing {
namespace {

using nlohmann::json;

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!s.empty() && s.back() == sep) parts.push_back("");
  return parts;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool HasType(const json& value, const std::string& type) {
  if (type == "null") return value.is_null();
  if (type == "boolean") return value.is_boolean();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "string") return value.is_string();
  if (type == "array") return value.is_array();
  if (type == "object") return value.is_object();
  return false;
}

// A header value as the JSON value its schema describes (integers parsed strictly).
json HeaderAsJson(const std::string& text, const json& schema) {
  std::vector<std::string> types;
  if (schema.contains("type")) {
    if (schema["type"].is_string()) {
      types.push_back(schema["type"]);
    } else {
      for (const json& t : schema["type"]) types.push_back(t);
    }
  }
  if (std::find(types.begin(), types.end(), "integer") != types.end()) {
    const bool digits = !text.empty() && std::all_of(text.begin() + (text[0] == '-'), text.end(),
                                                     [](char c) { return c >= '0' && c <= '9'; });
    if (digits && text != "-") return json::parse(text);
  }
  return text;
}

}  // namespace

OpenApiValidator::OpenApiValidator(json doc) : doc_(std::move(doc)) {}

const json& OpenApiValidator::Resolve(const json& schema) const {
  if (schema.is_object() && schema.contains("$ref")) {
    const std::string ref = schema["$ref"];
    const json* node = &doc_;
    for (const std::string& part : Split(ref.substr(2), '/')) node = &(*node)[part];
    return Resolve(*node);
  }
  return schema;
}

std::vector<std::string> OpenApiValidator::CheckSchema(const json& raw_schema, const json& value,
                                                       const std::string& where) const {
  std::vector<std::string> errors;
  const json& schema = Resolve(raw_schema);
  if (!schema.is_object()) return errors;
  auto fail = [&](const std::string& what) { errors.push_back(where + ": " + what); };
  if (schema.contains("type")) {
    bool ok = false;
    if (schema["type"].is_string()) {
      ok = HasType(value, schema["type"]);
    } else {
      for (const json& t : schema["type"]) ok = ok || HasType(value, t);
    }
    if (!ok) {
      fail("expected type " + schema["type"].dump() + ", got " + value.dump());
      return errors;
    }
  }
  if (schema.contains("const") && value != schema["const"])
    fail("expected " + schema["const"].dump());
  if (schema.contains("enum") &&
      std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end()) {
    fail(value.dump() + " is not in " + schema["enum"].dump());
  }
  if (value.is_number()) {
    if (schema.contains("minimum") && value.get<double>() < schema["minimum"].get<double>()) {
      fail(value.dump() + " < minimum " + schema["minimum"].dump());
    }
    if (schema.contains("maximum") && value.get<double>() > schema["maximum"].get<double>()) {
      fail(value.dump() + " > maximum " + schema["maximum"].dump());
    }
  }
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (schema.contains("minLength") && s.size() < schema["minLength"].get<size_t>()) {
      fail("shorter than minLength");
    }
    if (schema.contains("pattern") &&
        !std::regex_search(s, std::regex(schema["pattern"].get<std::string>()))) {
      fail(value.dump() + " does not match " + schema["pattern"].dump());
    }
  }
  if (value.is_array()) {
    if (schema.contains("minItems") && value.size() < schema["minItems"].get<size_t>()) {
      fail("fewer than minItems");
    }
    if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<size_t>()) {
      fail("more than maxItems");
    }
    if (schema.contains("items")) {
      for (size_t i = 0; i < value.size(); ++i) {
        auto more = CheckSchema(schema["items"], value[i], where + "[" + std::to_string(i) + "]");
        errors.insert(errors.end(), more.begin(), more.end());
      }
    }
  }
  if (value.is_object()) {
    if (schema.contains("required")) {
      for (const json& name : schema["required"]) {
        if (!value.contains(name.get<std::string>())) fail("missing required " + name.dump());
      }
    }
    const json properties = schema.value("properties", json::object());
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (properties.contains(it.key())) {
        auto more = CheckSchema(properties[it.key()], it.value(), where + "." + it.key());
        errors.insert(errors.end(), more.begin(), more.end());
      } else if (schema.contains("additionalProperties")) {
        const json& extra = schema["additionalProperties"];
        if (extra.is_boolean() && !extra.get<bool>()) {
          fail("undocumented property \"" + it.key() + "\"");
        } else if (extra.is_object()) {
          auto more = CheckSchema(extra, it.value(), where + "." + it.key());
          errors.insert(errors.end(), more.begin(), more.end());
        }
      }
    }
  }
  if (schema.contains("oneOf")) {
    int matches = 0;
    std::string detail;
    for (const json& option : schema["oneOf"]) {
      auto more = CheckSchema(option, value, where);
      if (more.empty()) {
        ++matches;
      } else {
        detail += " [" + more.front() + "]";
      }
    }
    if (matches != 1) fail("matches " + std::to_string(matches) + " of oneOf:" + detail);
  }
  if (schema.contains("anyOf")) {
    bool any = false;
    for (const json& option : schema["anyOf"])
      any = any || CheckSchema(option, value, where).empty();
    if (!any) fail("matches none of anyOf");
  }
  return errors;
}

const json* OpenApiValidator::FindOperation(const std::string& method, const std::string& path,
                                            std::string* template_out) const {
  const std::vector<std::string> segments = Split(path, '/');
  const json* best = nullptr;
  int best_literals = -1;
  for (auto it = doc_["paths"].begin(); it != doc_["paths"].end(); ++it) {
    const std::vector<std::string> pattern = Split(it.key(), '/');
    if (pattern.size() != segments.size()) continue;
    int literals = 0;
    bool ok = true;
    for (size_t i = 0; i < pattern.size() && ok; ++i) {
      if (!pattern[i].empty() && pattern[i].front() == '{') continue;
      ok = pattern[i] == segments[i];
      ++literals;
    }
    const std::string m = Lower(method);
    if (ok && it.value().contains(m) && literals > best_literals) {
      best = &it.value()[m];
      best_literals = literals;
      *template_out = it.key();
    }
  }
  return best;
}

std::vector<std::string> OpenApiValidator::CheckExchange(const std::string& method,
                                                         const std::string& target,
                                                         const std::string& request_body,
                                                         const HttpReply& reply) {
  std::vector<std::string> errors;
  const std::string label = method + " " + target + " -> " + std::to_string(reply.status) + ": ";
  auto fail = [&](const std::string& what) { errors.push_back(label + what); };
  const size_t q = target.find('?');
  const std::string path = target.substr(0, q);
  std::string templ;
  const json* op = FindOperation(method, path, &templ);
  if (op == nullptr) {
    fail("no documented operation");
    return errors;
  }
  const std::string op_id = (*op)["operationId"];
  const std::string status = std::to_string(reply.status);
  covered_.insert({op_id, status});
  if (!(*op)["responses"].contains(status)) {
    fail("status " + status + " is not documented for " + op_id + "; body " + reply.body);
    return errors;
  }
  const json& response = (*op)["responses"][status];
  const bool accepted = reply.status >= 200 && reply.status < 300;

  // Query parameters of an accepted request are documented ones.
  if (accepted && q != std::string::npos) {
    std::set<std::string> documented;
    for (const json& p : op->value("parameters", json::array())) {
      if (p["in"] == "query") documented.insert(p["name"].get<std::string>());
    }
    for (const std::string& pair : Split(target.substr(q + 1), '&')) {
      const std::string name = pair.substr(0, pair.find('='));
      if (!name.empty() && documented.count(name) == 0) fail("undocumented parameter " + name);
    }
  }
  // An accepted JSON request body matches the documented schema.
  if (accepted && op->contains("requestBody")) {
    const json& content = (*op)["requestBody"]["content"];
    if (content.contains("application/json") && content["application/json"].contains("schema")) {
      json body = json::parse(request_body, nullptr, false);
      for (const std::string& e :
           CheckSchema(content["application/json"]["schema"], body, "request")) {
        fail(e);
      }
    }
  }

  // Headers.
  const json headers = response.value("headers", json::object());
  for (auto it = headers.begin(); it != headers.end(); ++it) {
    const bool present = reply.Has(it.key());
    if (!present) {
      if (it.value().value("required", false)) fail("missing required header " + it.key());
      continue;
    }
    const json value = HeaderAsJson(reply.Header(it.key()), it.value()["schema"]);
    for (const std::string& e : CheckSchema(it.value()["schema"], value, "header " + it.key())) {
      fail(e);
    }
  }
  for (const auto& [name, value] : reply.headers) {
    if (Lower(name).rfind("x-kv-", 0) == 0 && !headers.contains(name)) {
      fail("undocumented header " + name + ": " + value);
    }
  }

  // Content.
  const json content = response.value("content", json::object());
  std::string media = reply.Header("Content-Type");
  media = media.substr(0, media.find(';'));
  const bool head = method == "HEAD";
  if (content.empty()) {
    if (!head && !reply.body.empty()) fail("a body where none is documented: " + reply.body);
    return errors;
  }
  if (!content.contains(media)) {
    fail("Content-Type \"" + media + "\" is not documented (" + content.dump() + ")");
    return errors;
  }
  if (!head && media == "application/json" && content[media].contains("schema")) {
    json body = json::parse(reply.body, nullptr, false);
    if (body.is_discarded()) {
      fail("body is not JSON: " + reply.body);
    } else {
      for (const std::string& e : CheckSchema(content[media]["schema"], body, "body")) fail(e);
    }
  }
  return errors;
}

std::vector<std::string> OpenApiValidator::Uncovered() const {
  std::vector<std::string> missing;
  for (auto p = doc_["paths"].begin(); p != doc_["paths"].end(); ++p) {
    for (auto m = p.value().begin(); m != p.value().end(); ++m) {
      const std::string op_id = m.value()["operationId"];
      for (auto r = m.value()["responses"].begin(); r != m.value()["responses"].end(); ++r) {
        if (covered_.count({op_id, r.key()}) == 0) missing.push_back(op_id + " " + r.key());
      }
    }
  }
  return missing;
}

}  // namespace beyondkv::testing
