#include "store/record.h"

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "base/text.h"
#include "fstree/dumpfile.h"

namespace bootseal::store {

using fstree::Escape;

namespace {

// A byte string as a JSON member (docs/cli.md, "Bytes in JSON"): as it is when
// valid UTF-8, else its Latin-1 reading plus `<key>_b64` with the exact bytes.
void put_bytes(nlohmann::ordered_json& j, const std::string& key, const std::string& v) {
  if (is_utf8(v)) {
    j[key] = v;
    return;
  }
  j[key] = utf8_or_latin1(v);
  j[key + "_b64"] = to_base64(v);
}

// The bytes put_bytes wrote: `<key>_b64` wins; a missing member is "".
Result<std::string> get_bytes(const nlohmann::json& j, const std::string& key) {
  auto b = j.find(key + "_b64");
  if (b != j.end()) {
    if (!b->is_string()) return input_error("\"{}_b64\" is not a string", key);
    return BS_TRY_CTX(from_base64(b->get<std::string>()), "\"{}_b64\"", key);
  }
  auto v = j.find(key);
  if (v == j.end() || v->is_null()) return std::string();
  if (!v->is_string()) return input_error("\"{}\" is not a string", key);
  return v->get<std::string>();
}

constexpr size_t kMaxRecordEntries = 10'000'000;

char type_char(tar::EntryType t) {
  switch (t) {
    case tar::EntryType::kRegular: return 'f';
    case tar::EntryType::kDirectory: return 'd';
    case tar::EntryType::kSymlink: return 'l';
    case tar::EntryType::kHardlink: return 'h';
    case tar::EntryType::kCharDev: return 'c';
    case tar::EntryType::kBlockDev: return 'b';
    case tar::EntryType::kFifo: return 'p';
    case tar::EntryType::kSocket: return 's';
  }
  return '?';
}

Result<tar::EntryType> type_from(std::string_view s) {
  if (s.size() != 1) return input_error("bad type \"{}\"", s);
  switch (s[0]) {
    case 'f': return tar::EntryType::kRegular;
    case 'd': return tar::EntryType::kDirectory;
    case 'l': return tar::EntryType::kSymlink;
    case 'h': return tar::EntryType::kHardlink;
    case 'c': return tar::EntryType::kCharDev;
    case 'b': return tar::EntryType::kBlockDev;
    case 'p': return tar::EntryType::kFifo;
  }
  return input_error("bad type \"{}\"", s);
}

std::string esc(const std::string& s) { return s.empty() ? "-" : fstree::escape(s, Escape::kLoneDash); }

Result<std::string> unesc(std::string_view s) {
  if (s == "-") return std::string();
  return fstree::unescape(s);
}

template <typename T>
Result<T> num(std::string_view s, int base, const char* what) {
  if (s.empty() || s.size() > 24) return input_error("bad {}", what);
  bool neg = false;
  size_t i = 0;
  if (s[0] == '-') {
    if (!std::is_signed_v<T>) return input_error("bad {}", what);
    neg = true;
    i = 1;
  }
  unsigned __int128 v = 0;
  if (i >= s.size()) return input_error("bad {}", what);
  for (; i < s.size(); i++) {
    int d = s[i] - '0';
    if (d < 0 || d >= base) return input_error("bad {}", what);
    v = v * static_cast<unsigned>(base) + static_cast<unsigned>(d);
    if (v > static_cast<unsigned __int128>(UINT64_MAX)) return input_error("bad {}", what);
  }
  __int128 sv = neg ? -static_cast<__int128>(v) : static_cast<__int128>(v);
  if (sv < static_cast<__int128>(std::numeric_limits<T>::min()) || sv > static_cast<__int128>(std::numeric_limits<T>::max()))
    return input_error("bad {}", what);
  return static_cast<T>(sv);
}

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i <= line.size()) {
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

std::string layer_stream_name(const std::string& algorithm, const std::string& hex) {
  return std::string(kLayerStreamPrefix) + algorithm + "-" + hex;
}

std::string serialize_layer_record(const std::vector<RecordEntry>& entries) {
  std::string out = std::string(kLayerRecordMagic) + "\n";
  for (auto& r : entries) {
    const tar::Entry& e = r.entry;
    std::string data = "-";
    if (!r.data.digest.empty())
      data = "o:" + to_hex(r.data.digest);
    else if (e.type == tar::EntryType::kRegular)
      data = "i:" + to_hex(r.data.inline_content);
    out += fmt::format("{} {} {:o} {} {} {} {} {} {} {} {} {}", type_char(e.type), esc(e.path), e.mode, e.uid, e.gid,
                       e.mtime_sec, e.mtime_nsec, e.size, esc(e.link_target), e.dev_major, e.dev_minor, data);
    for (auto& [n, v] : e.xattrs)
      out += " " + fstree::escape(n, Escape::kEqual) + "=" + fstree::escape(v, Escape::kEqual);
    out += "\n";
  }
  return out;
}

Result<std::vector<RecordEntry>> parse_layer_record(ByteSpan bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::vector<RecordEntry> out;
  size_t pos = text.find('\n');
  if (pos == std::string_view::npos || text.substr(0, pos) != kLayerRecordMagic)
    return input_error("layer record: bad header");
  pos++;
  size_t lineno = 1;
  while (pos < text.size()) {
    lineno++;
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) return input_error("layer record: line {}: no newline", lineno);
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (out.size() >= kMaxRecordEntries) return input_error("layer record: too many entries");
    auto f = split(line);
    if (f.size() < 12) return input_error("layer record: line {}: {} fields, expected at least 12", lineno, f.size());
    RecordEntry r;
    tar::Entry& e = r.entry;
    auto ctx = [&](const Error& err) { return Error(err).context(fmt::format("layer record: line {}", lineno)); };
#define REC_TRY(x) ({ auto r_ = (x); if (!r_.ok()) return ctx(r_.error()); std::move(r_).value(); })
    e.type = REC_TRY(type_from(f[0]));
    e.path = REC_TRY(unesc(f[1]));
    e.mode = REC_TRY(num<uint32_t>(f[2], 8, "mode")) & 07777;
    e.uid = REC_TRY(num<uint32_t>(f[3], 10, "uid"));
    e.gid = REC_TRY(num<uint32_t>(f[4], 10, "gid"));
    e.mtime_sec = REC_TRY(num<int64_t>(f[5], 10, "mtime"));
    e.mtime_nsec = REC_TRY(num<uint32_t>(f[6], 10, "mtime nsec"));
    if (e.mtime_nsec >= 1000000000u) return input_error("layer record: line {}: bad mtime nsec", lineno);
    e.size = REC_TRY(num<uint64_t>(f[7], 10, "size"));
    e.link_target = REC_TRY(unesc(f[8]));
    e.dev_major = REC_TRY(num<uint32_t>(f[9], 10, "major"));
    e.dev_minor = REC_TRY(num<uint32_t>(f[10], 10, "minor"));
    std::string_view data = f[11];
    if (data.starts_with("o:")) {
      r.data.digest = REC_TRY(from_hex(data.substr(2)));
      if (r.data.digest.size() != 32 && r.data.digest.size() != 64)
        return input_error("layer record: line {}: bad digest", lineno);
    } else if (data.starts_with("i:")) {
      r.data.inline_content = REC_TRY(from_hex(data.substr(2)));
      if (r.data.inline_content.size() != e.size || e.size > oci::kInlineContentMax)
        return input_error("layer record: line {}: inline content does not match the size", lineno);
    } else if (data != "-") {
      return input_error("layer record: line {}: bad data field", lineno);
    }
    if (e.type == tar::EntryType::kRegular && r.data.digest.empty() && data == "-")
      return input_error("layer record: line {}: regular file without data", lineno);
    for (size_t i = 12; i < f.size(); i++) {
      auto eq = f[i].find('=');
      if (eq == std::string_view::npos) return input_error("layer record: line {}: bad xattr", lineno);
      std::string n = REC_TRY(fstree::unescape(f[i].substr(0, eq)));
      std::string v = REC_TRY(fstree::unescape(f[i].substr(eq + 1)));
      e.xattrs.emplace_back(std::move(n), std::move(v));
    }
#undef REC_TRY
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<std::string>> layer_record_objects(ByteSpan text) {
  auto entries = BS_TRY(parse_layer_record(text));
  std::vector<std::string> out;
  for (auto& r : entries)
    if (!r.data.digest.empty()) out.push_back(to_hex(r.data.digest));
  return out;
}

std::string serialize_image_record(const ImageRecord& r) {
  nlohmann::ordered_json j;
  j["type"] = "bootseal-image";
  j["version"] = 1;
  put_bytes(j, "source", r.source);
  j["manifest_digest"] = r.manifest_digest;
  j["config_digest"] = r.config_digest;
  j["layers"] = r.layers;
  j["architecture"] = r.architecture;
  j["os"] = r.os;
  j["created"] = r.created;
  j["image_version"] = r.version;
  j["image"] = r.image;
  j["format"] = r.format;
  j["hash"] = r.hash;
  j["xattrs"] = r.xattrs;
  j["transforms"] = r.transforms;
  j["tree"] = r.tree;
  return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<ImageRecord> parse_image_record(ByteSpan data) {
  nlohmann::json j = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
  auto type = j.is_object() ? j.find("type") : j.end();
  if (j.is_discarded() || !j.is_object() || type == j.end() || !type->is_string() || *type != "bootseal-image")
    return input_error("image record: not a bootseal image record");
  ImageRecord r;
  try {
    r.source = BS_TRY(get_bytes(j, "source"));
    r.manifest_digest = j.value("manifest_digest", "");
    r.config_digest = j.value("config_digest", "");
    r.layers = j.value("layers", std::vector<std::string>{});
    r.architecture = j.value("architecture", "");
    r.os = j.value("os", "");
    r.created = j.value("created", "");
    r.version = j.value("image_version", "");
    r.image = j.value("image", "");
    r.format = j.value("format", 1u);
    r.hash = j.value("hash", "");
    r.xattrs = j.value("xattrs", "");
    r.transforms = j.value("transforms", std::vector<std::string>{});
    r.tree = j.value("tree", "");
  } catch (const nlohmann::json::exception& e) {
    return input_error("image record: {}", e.what());
  }
  return r;
}

std::string serialize_deploy_record(const DeployRecord& r) {
  nlohmann::ordered_json j;
  j["image"] = r.image;
  put_bytes(j, "source", r.source);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<DeployRecord> parse_deploy_record(ByteSpan data) {
  nlohmann::json j = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return input_error("deployment record: not a JSON object");
  DeployRecord r;
  if (!j.contains("image") || !j["image"].is_string()) return input_error("deployment record: no \"image\"");
  r.image = j["image"].get<std::string>();
  if (!is_hex(r.image) || (r.image.size() != 64 && r.image.size() != 128))
    return input_error("deployment record: image '{}' is not a digest", r.image);
  r.source = BS_TRY(get_bytes(j, "source"));
  return r;
}

}  // namespace bootseal::store
