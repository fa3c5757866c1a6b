#include "boot/entries.h"

#include <algorithm>

#include "base/hex.h"
#include "bls/entry.h"
#include "sys/file.h"
#include "sys/fsops.h"
#include "sys/tree.h"

namespace bootseal::boot {
namespace {

Result<std::vector<std::string>> conf_files(const std::string& dir) {
  std::vector<std::string> out;
  for (std::string& n : BS_TRY(sys::list_names(dir)))
    if (n.size() > 5 && n.ends_with(".conf")) out.push_back(std::move(n));
  return out;
}

}  // namespace

std::optional<std::string> digest_of_uki_path(std::string_view efi) {
  std::string prefix = fmt::format("/{}/bootc_composefs-", kUkiDir);
  if (!efi.starts_with(prefix) || !efi.ends_with(".efi")) return std::nullopt;
  std::string_view hex = efi.substr(prefix.size(), efi.size() - prefix.size() - 4);
  if ((hex.size() != 64 && hex.size() != 128) || !is_hex(hex)) return std::nullopt;
  return std::string(hex);
}

Result<std::vector<EntryInfo>> read_entries(const std::string& esp) {
  std::string dir = fmt::format("{}/{}", esp, kEntriesDir);
  // An interrupted fallback swap leaves only the staged set (see entries.h).
  if (!sys::path_exists(dir) && sys::path_exists(fmt::format("{}/{}", esp, kStagedEntriesDir)))
    dir = fmt::format("{}/{}", esp, kStagedEntriesDir);
  std::vector<EntryInfo> out;
  for (const std::string& name : BS_TRY(conf_files(dir))) {
    std::string path = dir + "/" + name;
    std::string text = BS_TRY(sys::read_text_file(path));
    bls::Entry e = BS_TRY_CTX(bls::parse_entry(text), "{}", path);
    EntryInfo info;
    info.file = name;
    info.title = e.get("title").value_or("");
    info.version = e.get("version").value_or("");
    info.sort_key = e.get("sort-key").value_or("");
    info.efi = e.get("efi").value_or(e.get("uki").value_or(""));
    info.digest = digest_of_uki_path(info.efi).value_or("");
    CountedName cn = parse_counted_name(name);
    info.tries_left = cn.tries_left;
    info.tries_done = cn.tries_done;
    out.push_back(std::move(info));
  }
  std::stable_sort(out.begin(), out.end(), [](const EntryInfo& a, const EntryInfo& b) {
    if (a.sort_key.empty() != b.sort_key.empty()) return !a.sort_key.empty();
    if (a.sort_key != b.sort_key) return a.sort_key < b.sort_key;
    return a.file < b.file;
  });
  return out;
}

Status replace_entries(const std::string& esp, const std::vector<Deployment>& deployments) {
  if (deployments.empty() || deployments.size() > 2)
    return input_error("a boot entry set has one or two deployments, not {}", deployments.size());
  const std::string live = fmt::format("{}/{}", esp, kEntriesDir);
  const std::string staged = fmt::format("{}/{}", esp, kStagedEntriesDir);
  // A staged set left by an interrupted fallback swap is the current one.
  if (!sys::path_exists(live) && sys::path_exists(staged)) BS_TRY(sys::rename_path(staged, live));
  if (sys::path_exists(staged)) BS_TRY(sys::remove_tree(staged));
  BS_TRY(sys::mkdir_p(staged));
  for (size_t i = 0; i < deployments.size(); i++) {
    const Deployment& d = deployments[i];
    if (!is_hex(d.digest) || (d.digest.size() != 64 && d.digest.size() != 128))
      return input_error("deployment {}: digest '{}' is not 64 or 128 hex digits", i, d.digest);
    std::string uki = fmt::format("{}/{}", esp, uki_path(d.digest));
    if (!sys::path_exists(uki)) return input_error("{}: missing; refusing to write an entry for it", uki);
    int index = static_cast<int>(i);
    BS_TRY(sys::write_file_atomic(staged + "/" + entry_name(d.os_id, d.version, index, d.tries_left, d.tries_done), as_bytes(bls_entry(d, index))));
  }
  BS_TRY(sys::sync_dir(staged));
  if (!sys::path_exists(live)) {
    BS_TRY(sys::rename_path(staged, live));
  } else {
    Status st = sys::rename_exchange(staged, live);
    if (!st.ok()) {
      if (st.error().kind() != ErrorKind::kUnsupported) return st;
      // Fallback (see entries.h): live -> old, staged -> live.
      const std::string old = live + ".old";
      if (sys::path_exists(old)) BS_TRY(sys::remove_tree(old));
      BS_TRY(sys::rename_path(live, old));
      BS_TRY(sys::rename_path(staged, live));
      BS_TRY(sys::remove_tree(old));
      BS_TRY(sys::sync_dir(sys::dirname_of(live)));
      return {};
    }
  }
  BS_TRY(sys::sync_dir(sys::dirname_of(live)));
  if (sys::path_exists(staged)) BS_TRY(sys::remove_tree(staged));
  return {};
}

}  // namespace bootseal::boot
