// Bytes in --json output (docs/cli.md, "Bytes in JSON"): a string that is not
// valid UTF-8 is written with its invalid bytes read as Latin-1 (U+00XX), and,
// as an object member, with a `<key>_b64` companion holding the exact bytes.
// print_json applies this to every document, so no verb can crash on a file
// name or section content; dump() then never meets invalid UTF-8.
#include "base/text.h"
#include "cli/command.h"

namespace bootseal::cli {

nlohmann::json json_safe(const nlohmann::json& j) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    return is_utf8(s) ? j : nlohmann::json(utf8_or_latin1(s));
  }
  if (j.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : j) out.push_back(json_safe(e));
    return out;
  }
  if (!j.is_object()) return j;
  nlohmann::json out = nlohmann::json::object();
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    std::string k = is_utf8(key) ? key : utf8_or_latin1(key);
    if (it->is_string() && !is_utf8(it->get_ref<const std::string&>())) {
      const auto& s = it->get_ref<const std::string&>();
      out[k] = utf8_or_latin1(s);
      out[k + "_b64"] = to_base64(s);
    } else {
      out[k] = json_safe(*it);
    }
  }
  return out;
}

std::string json_text(const nlohmann::json& j, int indent) {
  // json_safe leaves no invalid UTF-8; `replace` is the guard that dump() never throws.
  return json_safe(j).dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace bootseal::cli
