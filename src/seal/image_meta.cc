#include "seal/image_meta.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstring>

#include "base/hex.h"
#include "bls/karg.h"
#include "crypto/hash.h"

namespace bootseal::seal {
namespace {

using nlohmann::json;

struct TomlParser {
  std::string_view s;
  std::string_view file;
  size_t i = 0;
  int line = 1;

  Error err(std::string_view what) const { return input_error("{}: line {}: {}", file, line, what); }
  // Skips blanks, newlines and comments.
  void skip_ws(bool newlines) {
    while (i < s.size()) {
      char c = s[i];
      if (c == '#') {
        while (i < s.size() && s[i] != '\n') i++;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        i++;
      } else if (c == '\n' && newlines) {
        line++;
        i++;
      } else {
        break;
      }
    }
  }
  Result<std::string> string() {
    char q = s[i++];
    std::string out;
    while (i < s.size() && s[i] != q) {
      char c = s[i++];
      if (c == '\n') return err("newline inside a string");
      if (q == '"' && c == '\\') {
        if (i >= s.size()) break;
        char e = s[i++];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'u': {
            if (i + 4 > s.size()) return err("short \\u escape");
            unsigned v = 0;
            for (int k = 0; k < 4; k++) {
              char h = s[i++];
              int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
              if (d < 0) return err("bad \\u escape");
              v = v * 16 + static_cast<unsigned>(d);
            }
            if (v >= 0x80) return err("non-ASCII \\u escape in a kernel argument");
            out += static_cast<char>(v);
            break;
          }
          default: return err(fmt::format("unknown escape \\{}", e));
        }
      } else {
        out += c;
      }
    }
    if (i >= s.size()) return err("unterminated string");
    i++;
    return out;
  }
};

bool bare_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Key and value of a karg token ("K=V" -> K, V; "K" -> K, nullopt).
std::pair<std::string_view, std::optional<std::string_view>> split_karg(std::string_view t) {
  size_t eq = t.find('=');
  if (eq == std::string_view::npos) return {t, std::nullopt};
  return {t.substr(0, eq), t.substr(eq + 1)};
}

// The kernel treats '-' and '_' in parameter names alike.
bool same_key(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); k++) {
    char x = a[k] == '-' ? '_' : a[k], y = b[k] == '-' ? '_' : b[k];
    if (x != y) return false;
  }
  return true;
}

void octal(char* field, size_t width, uint64_t v) {
  // width-1 digits and a NUL, as GNU tar writes ustar numbers.
  std::string d = fmt::format("{:0{}o}", v, width - 1);
  std::memcpy(field, d.data(), width - 1);
  field[width - 1] = 0;
}

}  // namespace

Result<std::array<char, 512>> tar_header(const std::string& path, char type, uint32_t mode, uint64_t size, int64_t mtime) {
  std::array<char, 512> h{};
  std::string name = path, prefix;
  if (name.size() > 100) {
    size_t cut = name.rfind('/', 155);
    if (cut == std::string::npos || name.size() - cut - 1 > 100) return input_error("tar: path too long: {}", path);
    prefix = name.substr(0, cut);
    name = name.substr(cut + 1);
  }
  std::memcpy(&h[0], name.data(), name.size());
  octal(&h[100], 8, mode);
  octal(&h[108], 8, 0);
  octal(&h[116], 8, 0);
  if (size >= (1ull << 33)) return input_error("tar: {} is too large for ustar", path);
  octal(&h[124], 12, size);
  octal(&h[136], 12, static_cast<uint64_t>(mtime < 0 ? 0 : mtime));
  std::memset(&h[148], ' ', 8);
  h[156] = type;
  std::memcpy(&h[257], "ustar", 6);
  std::memcpy(&h[263], "00", 2);
  std::memcpy(&h[345], prefix.data(), prefix.size());
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  std::string cs = fmt::format("{:06o}", sum);
  std::memcpy(&h[148], cs.data(), 6);
  h[154] = 0;
  h[155] = ' ';
  return h;
}

Result<std::map<std::string, std::vector<std::string>>> parse_toml_string_arrays(std::string_view toml,
                                                                                  std::string_view file) {
  TomlParser p{toml, file};
  std::map<std::string, std::vector<std::string>> out;
  for (;;) {
    p.skip_ws(true);
    if (p.i >= toml.size()) break;
    if (toml[p.i] == '[') return p.err("tables are not supported here (expected key = [\"…\", …])");
    size_t k0 = p.i;
    while (p.i < toml.size() && bare_key_char(toml[p.i])) p.i++;
    std::string key(toml.substr(k0, p.i - k0));
    if (key.empty()) return p.err(fmt::format("expected a key, got '{}'", toml[p.i]));
    p.skip_ws(false);
    if (p.i >= toml.size() || toml[p.i] != '=') return p.err(fmt::format("expected '=' after {}", key));
    p.i++;
    p.skip_ws(false);
    if (p.i >= toml.size() || toml[p.i] != '[') return p.err(fmt::format("{}: expected an array of strings", key));
    p.i++;
    if (out.count(key)) return p.err(fmt::format("{} given twice", key));
    std::vector<std::string>& vals = out[key];
    for (;;) {
      p.skip_ws(true);
      if (p.i >= toml.size()) return p.err(fmt::format("{}: unterminated array", key));
      if (toml[p.i] == ']') {
        p.i++;
        break;
      }
      if (toml[p.i] != '"' && toml[p.i] != '\'') return p.err(fmt::format("{}: expected a string", key));
      vals.push_back(BS_TRY(p.string()));
      p.skip_ws(true);
      if (p.i < toml.size() && toml[p.i] == ',') {
        p.i++;
        continue;
      }
      p.skip_ws(true);
      if (p.i < toml.size() && toml[p.i] == ']') {
        p.i++;
        break;
      }
      return p.err(fmt::format("{}: expected ',' or ']'", key));
    }
    p.skip_ws(false);
    if (p.i < toml.size() && toml[p.i] != '\n') return p.err("expected the end of the line");
  }
  return out;
}

Result<std::vector<std::string>> parse_kargs_d(std::string_view toml, std::string_view file, Arch arch) {
  auto t = BS_TRY(parse_toml_string_arrays(toml, file));
  for (auto& [k, v] : t)
    if (k != "kargs" && k != "match-architectures")
      return input_error("{}: unknown key {} (bootc's kargs.d files have kargs and match-architectures)", file, k);
  auto kit = t.find("kargs");
  if (kit == t.end()) return input_error("{}: no kargs = [...]", file);
  if (auto m = t.find("match-architectures"); m != t.end()) {
    std::string_view want = arch_info(arch).qemu;  // Rust's ARCH: x86_64, aarch64
    bool match = false;
    for (auto& a : m->second) match = match || a == want;
    if (!match) return std::vector<std::string>{};
  }
  for (auto& k : kit->second) {
    if (k.empty() || bls::split_cmdline(k).size() != 1)
      return input_error("{}: karg \"{}\" is not one kernel argument", file, k);
  }
  return kit->second;
}

Status parse_policy(std::string_view toml, std::string_view file, KargPolicy& into) {
  auto t = BS_TRY(parse_toml_string_arrays(toml, file));
  for (auto& [k, v] : t) {
    if (k != "require" && k != "deny") return input_error("{}: unknown key {} (a policy has require and deny)", file, k);
    for (auto& a : v) {
      if (a.empty() || a[0] == '=' || bls::split_cmdline(a).size() != 1)
        return input_error("{}: {}: \"{}\" is not one kernel argument", file, k, a);
      (k == "require" ? into.require : into.deny).push_back({a, fmt::format("--policy {}", file)});
    }
  }
  return {};
}

Status check_policy(std::string_view cmdline, const KargPolicy& p) {
  std::vector<std::string_view> toks = bls::split_cmdline(cmdline);
  for (auto& r : p.require) {
    auto [key, val] = split_karg(r.arg);
    std::optional<std::optional<std::string_view>> last;
    for (auto t : toks) {
      auto [k, v] = split_karg(t);
      if (same_key(k, key)) last = v;
    }
    if (!last)
      return input_error("policy: the command line lacks the required argument {} ({}); nothing was signed or written",
                         r.arg, r.origin);
    if (val && *last != val)
      return input_error("policy: the command line has {}{}{}, but {} requires {}; nothing was signed or written", key,
                         last->has_value() ? "=" : "", last->value_or(""), r.origin, r.arg);
  }
  for (auto& d : p.deny) {
    auto [key, val] = split_karg(d.arg);
    for (auto t : toks) {
      auto [k, v] = split_karg(t);
      if (same_key(k, key) && (!val || v == val))
        return input_error("policy: the command line carries the forbidden argument {} (denied by {} {}); nothing was "
                           "signed or written",
                           t, d.origin, d.arg);
    }
  }
  return {};
}

Result<Bytes> one_file_tar(const std::vector<TarDir>& dirs, const std::string& path, ByteSpan content, int64_t mtime) {
  Bytes out;
  auto put = [&](const std::array<char, 512>& h) { out.insert(out.end(), h.begin(), h.end()); };
  for (auto& d : dirs) put(BS_TRY(tar_header(d.path + "/", '5', d.mode, 0, d.mtime)));
  put(BS_TRY(tar_header(path, '0', 0644, content.size(), mtime)));
  out.insert(out.end(), content.begin(), content.end());
  out.resize(out.size() + (512 - content.size() % 512) % 512, 0);
  out.resize(out.size() + 1024, 0);
  return out;
}

std::string oci_media_type(std::string_view t) {
  if (t == "application/vnd.docker.image.rootfs.diff.tar.gzip") return "application/vnd.oci.image.layer.v1.tar+gzip";
  if (t == "application/vnd.docker.image.rootfs.diff.tar") return "application/vnd.oci.image.layer.v1.tar";
  if (t == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip")
    return "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
  if (t == "application/vnd.docker.container.image.v1+json") return "application/vnd.oci.image.config.v1+json";
  if (t == "application/vnd.docker.distribution.manifest.v2+json") return "application/vnd.oci.image.manifest.v1+json";
  return std::string(t);
}

std::string bootable_annotation(unsigned erofs_version, std::string_view hash) {
  return fmt::format("composefs.merged.bootable.erofs.v{}.fsverity-{}-12", erofs_version, hash);
}
std::string config_annotation(std::string_view hash) { return fmt::format("composefs.config.fsverity-{}-12", hash); }

Result<SealedMeta> derive_sealed_meta(const SealInputs& in,
                                      const std::function<std::map<std::string, std::string>(ByteSpan)>& config_annotations_for) {
  json cfg = json::parse(in.config.begin(), in.config.end(), nullptr, false);
  if (cfg.is_discarded() || !cfg.is_object()) return input_error("image config: not a JSON object");
  json man = json::parse(in.manifest.begin(), in.manifest.end(), nullptr, false);
  if (man.is_discarded() || !man.is_object()) return input_error("image manifest: not a JSON object");
  if (!man.contains("layers") || !man["layers"].is_array() || !man.contains("config") || !man["config"].is_object())
    return input_error("image manifest: no config or layers");

  // Config: diff_id, history, labels.
  if (!cfg.contains("rootfs") || !cfg["rootfs"].is_object() || !cfg["rootfs"].contains("diff_ids") ||
      !cfg["rootfs"]["diff_ids"].is_array())
    return input_error("image config: missing \"rootfs.diff_ids\"");
  cfg["rootfs"]["diff_ids"].push_back(in.layer_digest);
  json hist = {{"created_by", in.layer_comment}};
  if (cfg.contains("created") && cfg["created"].is_string()) hist["created"] = cfg["created"];
  if (!cfg.contains("history") || !cfg["history"].is_array()) {
    // No history: none for the earlier layers either (history is optional, but when
    // present its non-empty entries must match the layers).
  } else {
    cfg["history"].push_back(hist);
  }
  if (!in.labels.empty()) {
    if (!cfg.contains("config") || !cfg["config"].is_object()) cfg["config"] = json::object();
    json& c = cfg["config"];
    if (!c.contains("Labels") || !c["Labels"].is_object()) c["Labels"] = json::object();
    for (auto& [k, v] : in.labels) c["Labels"][k] = v;
  }
  std::string cfg_text = cfg.dump();
  SealedMeta out;
  out.config.assign(cfg_text.begin(), cfg_text.end());

  // Manifest: OCI media types, the new config, the layer on top, annotations.
  json nm = json::object();
  nm["schemaVersion"] = 2;
  nm["mediaType"] = "application/vnd.oci.image.manifest.v1+json";
  json cd = {{"mediaType", "application/vnd.oci.image.config.v1+json"},
             {"digest", "sha256:" + to_hex(crypto::digest(crypto::HashAlg::kSha256, out.config))},
             {"size", out.config.size()}};
  std::map<std::string, std::string> cann = in.config_annotations;
  if (config_annotations_for)
    for (auto& [k, v] : config_annotations_for(out.config)) cann[k] = v;
  if (!cann.empty()) cd["annotations"] = cann;
  nm["config"] = cd;
  json layers = json::array();
  for (auto& l : man["layers"]) {
    if (!l.is_object() || !l.contains("mediaType") || !l["mediaType"].is_string())
      return input_error("image manifest: a layer without mediaType");
    json c = l;
    c["mediaType"] = oci_media_type(l["mediaType"].get<std::string>());
    layers.push_back(c);
  }
  json nl = {{"mediaType", "application/vnd.oci.image.layer.v1.tar"}, {"digest", in.layer_digest}, {"size", in.layer_size}};
  if (!in.layer_annotations.empty()) nl["annotations"] = in.layer_annotations;
  layers.push_back(nl);
  nm["layers"] = layers;
  json ann = json::object();
  if (man.contains("annotations") && man["annotations"].is_object()) ann = man["annotations"];
  for (auto& [k, v] : in.manifest_annotations) ann[k] = v;
  if (!ann.empty()) nm["annotations"] = ann;
  std::string man_text = nm.dump();
  out.manifest.assign(man_text.begin(), man_text.end());
  return out;
}

}  // namespace bootseal::seal
