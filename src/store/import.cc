#include "store/import.h"

#include <algorithm>
#include <functional>
#include <map>
#include <future>
#include <optional>

#include "base/hex.h"
#include "composefs/image.h"
#include "fstree/dumpfile.h"
#include "fsverity/fsverity.h"
#include "oci/apply.h"
#include "sys/file.h"

namespace bootseal::store {

namespace {

constexpr uint64_t kMaxRecordSize = 1ull << 31;
constexpr uint64_t kAsyncMax = 16ull << 20;  // larger files stream through the calling thread
constexpr uint64_t kKeptMax = 64ull << 20;   // etc/selinux/ files kept in memory without a repository

// Reads a regular file's data from the tar: inline, or into an object.
Result<oci::FileData> take_content(const tar::Entry& e, tar::Reader& r, Repository* repo, fsverity::StreamDigester& dig,
                                   ImportStats* stats, std::map<std::string, Bytes>* kept) {
  oci::FileData fd;
  if (stats) {
    stats->files++;
    stats->bytes += e.size;
  }
  if (e.size <= oci::kInlineContentMax) {
    fd.inline_content = BS_TRY(r.read_all(oci::kInlineContentMax));
    if (fd.inline_content.size() != e.size)
      return input_error("{}: entry {}: short data ({} of {} bytes)", r.name(), e.path, fd.inline_content.size(), e.size);
    return fd;
  }
  uint64_t got = 0;
  auto read = [&](uint8_t* b, size_t n) -> Result<size_t> {
    size_t k = BS_TRY(r.read(b, n));
    got += k;
    return k;
  };
  if (repo) {
    fd.digest = BS_TRY(repo->write_object(read));
  } else {
    dig.reset();
    static thread_local Bytes buf(256 * 1024);
    std::string_view p = e.path;
    while (p.starts_with("./") || p.starts_with("/")) p.remove_prefix(p[0] == '.' ? 2 : 1);
    bool keep = kept && p.starts_with("etc/selinux/") && e.size <= kKeptMax;
    Bytes data;
    for (;;) {
      size_t n = BS_TRY(read(buf.data(), buf.size()));
      if (n == 0) break;
      dig.update(ByteSpan(buf.data(), n));
      if (keep) data.insert(data.end(), buf.begin(), buf.begin() + static_cast<ptrdiff_t>(n));
    }
    fd.digest = dig.finish();
    if (keep) (*kept)[to_hex(fd.digest)] = std::move(data);
  }
  if (got != e.size) return input_error("{}: entry {}: short data ({} of {} bytes)", r.name(), e.path, got, e.size);
  return fd;
}

Status replay(oci::Applier& ap, const std::vector<RecordEntry>& entries, const std::string& layer) {
  for (auto& r : entries) BS_TRY_CTX(ap.apply_resolved(r.entry, r.data), "layer {}: entry {}", layer, r.entry.path);
  return {};
}

}  // namespace

namespace {

constexpr size_t kParallelLayers = 3;  // layers read at once into a repository

// Reads one layer into objects and its record entries (with a repository),
// or applies it to `ap` directly (without: `dig` hashes the contents). The
// blob's digests are checked before this returns.
Result<std::vector<RecordEntry>> read_layer(ImageSource& src, const LayerInfo& layer, Repository* repo,
                                            fsverity::StreamDigester* dig, oci::Applier* ap, MergedImage* m,
                                            ImportStats* stats) {
  std::string lname = layer.digest.str();
  std::optional<fsverity::StreamDigester> own;  // unused with a repository, but take_content wants one
  if (!dig) dig = &own.emplace(repo->params());
  auto ls = BS_TRY(src.open_layer(layer));
  tar::Reader& rd = ls->reader();
  std::vector<RecordEntry> recorded;
  // Files written by worker threads: (index in `recorded`, digest to come).
  std::vector<std::pair<size_t, std::future<Result<Bytes>>>> async;
  // A failure while reading is checked against the blob's digest first:
  // damage shows as a digest mismatch, not as the tar error it caused.
  auto read_entries = [&]() -> Status {
    tar::Entry e;
    for (;;) {
      bool more = BS_TRY(rd.next(e));
      if (!more) break;
      RecordEntry r;
      if (repo && e.type == tar::EntryType::kRegular && e.size > oci::kInlineContentMax && e.size <= kAsyncMax) {
        // Read here (decompression is serial), hash and write on a worker.
        Bytes data = BS_TRY(rd.read_all(e.size));
        if (data.size() != e.size)
          return input_error("{}: entry {}: short data ({} of {} bytes)", rd.name(), e.path, data.size(), e.size);
        if (stats) {
          stats->files++;
          stats->bytes += e.size;
          stats->entries++;
        }
        async.emplace_back(recorded.size(), repo->write_object_async(std::move(data)));
        r.entry = std::move(e);
        recorded.push_back(std::move(r));
        continue;
      }
      if (e.type == tar::EntryType::kRegular)
        r.data = BS_TRY(take_content(e, rd, repo, *dig, stats, repo ? nullptr : &m->kept_files));  // reader errors name layer and entry
      if (stats) stats->entries++;
      if (repo) {
        r.entry = std::move(e);
        recorded.push_back(std::move(r));
      } else {
        BS_TRY_CTX(ap->apply_resolved(e, r.data), "layer {}: entry {}", lname, e.path);
      }
    }
    return {};
  };
  if (Status st = read_entries(); !st.ok()) {
    for (auto& [idx, fut] : async) fut.wait();
    return ls->explain_failure(st.error());
  }
  std::optional<Error> async_error;
  for (auto& [idx, fut] : async) {
    auto d = fut.get();
    if (!d.ok()) {
      if (!async_error) async_error = Error(d.error()).context(fmt::format("{}: entry {}", rd.name(), recorded[idx].entry.path));
      continue;
    }
    recorded[idx].data.digest = std::move(*d);
  }
  if (async_error) return std::move(*async_error);
  BS_TRY(ls->finish());  // digest check before anything refers to the layer
  if (stats) stats->layers_read++;
  return recorded;
}

void add_stats(ImportStats* to, const ImportStats& s) {
  if (!to) return;
  to->layers_read += s.layers_read;
  to->layers_reused += s.layers_reused;
  to->entries += s.entries;
  to->files += s.files;
  to->bytes += s.bytes;
}

}  // namespace

Result<MergedImage> merge_image(ImageSource& src, const ImageOptions& o, Repository* repo, ImportStats* stats) {
  MergedImage m;
  m.meta = BS_TRY(src.resolve(o.platform));
  fsverity::Params params;
  params.alg = repo ? repo->algorithm() : o.hash;
  fsverity::StreamDigester dig(params);
  oci::Applier ap(m.tree, {});
  if (!repo) {
    for (auto& layer : m.meta.layers) BS_TRY(read_layer(src, layer, nullptr, &dig, &ap, &m, stats));
    oci::finalize_links(m.tree);
    return m;
  }
  // With a repository: layers already recorded are replayed; the others are
  // read kParallelLayers at a time (each streams from its blob through
  // decompression into objects), then recorded and applied in order.
  size_t n = m.meta.layers.size();
  std::vector<std::optional<std::vector<RecordEntry>>> entries(n);
  std::vector<bool> reused(n, false);
  for (size_t i = 0; i < n; i++) {
    auto& layer = m.meta.layers[i];
    std::string stream = layer_stream_name(layer.digest.algorithm, layer.digest.hex);
    m.layer_streams.push_back(stream);
    if (auto obj = BS_TRY(repo->stream_object(stream))) {
      Bytes text = BS_TRY(repo->read_object(*obj, kMaxRecordSize));
      auto rec = parse_layer_record(text);
      bool complete = rec.ok();
      if (complete)
        for (auto& r : *rec)
          if (!r.data.digest.empty() && !repo->has_object(to_hex(r.data.digest))) {
            complete = false;
            break;
          }
      if (complete) {
        reused[i] = true;
        entries[i] = std::move(*rec);
      }
    }
  }
  // The same blob twice in one image is read once.
  std::map<std::string, size_t> first;
  std::vector<size_t> todo;
  for (size_t i = 0; i < n; i++)
    if (!reused[i] && first.emplace(m.meta.layers[i].digest.str(), i).second) todo.push_back(i);
  std::vector<ImportStats> lstats(n);
  std::vector<std::optional<Error>> errors(n);
  for (size_t b = 0; b < todo.size(); b += kParallelLayers) {
    std::vector<std::future<void>> running;
    for (size_t k = b; k < std::min(todo.size(), b + kParallelLayers); k++) {
      size_t i = todo[k];
      running.push_back(std::async(std::launch::async, [&, i] {
        auto r = read_layer(src, m.meta.layers[i], repo, nullptr, nullptr, &m, &lstats[i]);
        if (r.ok())
          entries[i] = std::move(*r);
        else
          errors[i] = r.error();
      }));
    }
    for (auto& f : running) f.get();
    for (size_t k = b; k < std::min(todo.size(), b + kParallelLayers); k++)
      if (errors[todo[k]]) return std::move(*errors[todo[k]]);
  }
  for (size_t i = 0; i < n; i++) {
    auto& layer = m.meta.layers[i];
    std::string lname = layer.digest.str();
    if (reused[i]) {
      BS_TRY(replay(ap, *entries[i], lname));
      if (stats) {
        stats->layers_reused++;
        stats->entries += entries[i]->size();
      }
      continue;
    }
    size_t f = first[lname];
    if (f == i) {
      add_stats(stats, lstats[i]);
      std::string text = serialize_layer_record(*entries[i]);
      Bytes obj = BS_TRY(repo->write_object(as_bytes(text)));
      BS_TRY(repo->set_stream(m.layer_streams[i], to_hex(obj)));
    }
    BS_TRY(replay(ap, *entries[f], lname));
  }
  oci::finalize_links(m.tree);
  return m;
}

oci::ReadFileFn repo_reader(const Repository& repo) {
  return [&repo](const std::string& path, const fstree::Node& n) -> Result<Bytes> {
    if (n.digest.empty()) return input_error("{}: no object digest", path);
    return repo.read_object(to_hex(n.digest), n.size);
  };
}

oci::ReadFileFn dir_reader(const std::string& root) {
  return [root](const std::string& path, const fstree::Node&) -> Result<Bytes> {
    return sys::read_file(root + path);
  };
}

oci::ReadFileFn kept_reader(std::map<std::string, Bytes> kept) {
  return [kept = std::move(kept)](const std::string& path, const fstree::Node& n) -> Result<Bytes> {
    auto it = kept.find(to_hex(n.digest));
    if (it == kept.end()) return input_error("{}: content not kept", path);
    return it->second;
  };
}

Result<fstree::Tree> transform_tree(const fstree::Tree& tree, Transforms t, oci::XattrMode x,
                                    std::vector<std::string>* applied, const oci::ReadFileFn& read) {
  fstree::Tree out = fstree::clone(tree);
  bool oci_t = t == Transforms::kBoot, boot_t = t == Transforms::kBoot;
  if (t == Transforms::kAuto) {
    auto usr = fstree::lookup(out, "/usr");
    oci_t = usr && usr->is_dir();
    auto b = fstree::lookup(out, "/boot"), s = fstree::lookup(out, "/sysroot");
    boot_t = oci_t && b && b->is_dir() && s && s->is_dir();
  }
  if (oci_t) {
    BS_TRY(oci::transform_for_oci(out, x));
    if (applied) applied->push_back("oci");
  }
  if (boot_t) {
    BS_TRY(oci::transform_for_boot(out, read));
    if (applied) applied->push_back("boot");
  }
  oci::finalize_links(out);
  return out;
}

Result<Bytes> make_image(const fstree::Tree& transformed, uint32_t format) {
  if (format == 2) {
    auto img = BS_TRY(composefs::build_image_v2(transformed));
    return std::move(img.data);
  }
  if (format != 1) return input_error("unknown EROFS format {}", format);
  composefs::VersionRange range{1, 1};
  auto img = BS_TRY(composefs::build_image(transformed, range));
  return std::move(img.data);
}

Status store_tree_files(Repository& repo, const fstree::Tree& tree, const std::string& root, ImportStats* stats) {
  std::vector<std::pair<std::string, const fstree::Node*>> files;
  fstree::walk(tree, [&](const std::string& path, const fstree::Entry* entry, const fstree::Node& n) {
    if (n.is_reg() && !n.digest.empty() && !(entry && entry->hardlink)) files.emplace_back(path, &n);
    return true;
  });
  for (auto& [path, n] : files) {
    std::string hex = to_hex(n->digest);
    if (stats) {
      stats->files++;
      stats->bytes += n->size;
    }
    if (repo.has_object(hex)) continue;
    std::string full = root + path;
    sys::Fd fd = BS_TRY(sys::open_file(full, O_RDONLY | O_NOFOLLOW));
    Bytes got = BS_TRY(repo.write_object_from_fd(fd.get(), n->size, full));
    if (to_hex(got) != hex) return input_error("{}: file changed while importing", full);
  }
  return repo.flush();
}

Result<ImportResult> commit_image(Repository& repo, const MergedImage& m, const ImageOptions& o, const std::string& ref) {
  ImportResult res;
  ImageRecord& r = res.record;
  r.source = m.meta.source;
  if (m.meta.manifest_digest) r.manifest_digest = m.meta.manifest_digest->str();
  r.config_digest = m.meta.config_digest.hex.empty() ? "" : m.meta.config_digest.str();
  r.layers = m.layer_streams;
  r.architecture = m.meta.config.architecture;
  r.os = m.meta.config.os;
  r.created = m.meta.config.created;
  if (auto it = m.meta.config.labels.find(oci::kLabelVersion); it != m.meta.config.labels.end()) r.version = it->second;
  r.format = repo.meta().erofs_default;
  r.hash = std::string(crypto::hash_name(repo.algorithm()));
  r.xattrs = o.xattrs == oci::XattrMode::kAllowlist ? "allowlist" : "keep-user";
  std::string dump = fstree::print_dumpfile(m.tree);
  r.tree = to_hex(BS_TRY(repo.write_object(as_bytes(dump))));
  fstree::Tree t = BS_TRY(transform_tree(m.tree, Transforms::kAuto, o.xattrs, &r.transforms, repo_reader(repo)));
  Bytes image = BS_TRY_CTX(make_image(t, r.format), "repository {}", repo.path());
  r.image = BS_TRY(repo.write_image(image));
  std::string rec = serialize_image_record(r);
  Bytes rec_obj = BS_TRY(repo.write_object(as_bytes(rec)));
  res.image = r.image;
  // One record per (image, provenance): the same tree imported from several
  // sources keeps each source's manifest and layer records.
  res.stream = std::string(kImageStreamPrefix) + r.image + "-" + to_hex(rec_obj).substr(0, 16);
  BS_TRY(repo.set_stream(res.stream, to_hex(rec_obj)));
  if (!ref.empty()) BS_TRY(repo.set_ref(ref, res.stream));
  for (uint32_t format : repo.meta().erofs_extra) {
    if (format == r.format) continue;
    ImageRecord extra = r;
    extra.format = format;
    Bytes extra_image = BS_TRY_CTX(make_image(t, format), "repository {} (extra format V{})", repo.path(), format);
    extra.image = BS_TRY(repo.write_image(extra_image));
    Bytes extra_obj = BS_TRY(repo.write_object(as_bytes(serialize_image_record(extra))));
    BS_TRY(repo.set_stream(std::string(kImageStreamPrefix) + extra.image + "-" + to_hex(extra_obj).substr(0, 16),
                           to_hex(extra_obj)));
    res.extra_images.push_back(extra.image);
  }
  return res;
}

Repository::RefsFn record_refs(const Repository& repo) {
  return [&repo](const std::string& stream, ByteSpan data)
             -> Result<std::pair<std::vector<std::string>, std::vector<std::string>>> {
    std::pair<std::vector<std::string>, std::vector<std::string>> out;
    if (stream.starts_with(kLayerStreamPrefix)) {
      out.first = BS_TRY(layer_record_objects(data));
    } else if (stream.starts_with(kImageStreamPrefix)) {
      ImageRecord r = BS_TRY(parse_image_record(data));
      for (auto& l : r.layers) out.first.push_back("stream:" + l);
      if (!r.tree.empty()) {
        out.first.push_back(r.tree);
        // Directory imports have no layer records: the tree keeps its objects.
        if (r.layers.empty()) {
          Bytes dump = BS_TRY(repo.read_object(r.tree, kMaxRecordSize));
          fstree::Tree t = BS_TRY_CTX(fstree::parse_dumpfile(std::string_view(reinterpret_cast<const char*>(dump.data()), dump.size())), "tree {}", r.tree);
          fstree::walk(t, [&](const std::string&, const fstree::Entry*, const fstree::Node& n) {
            if (n.is_reg() && !n.digest.empty()) out.first.push_back(to_hex(n.digest));
            return true;
          });
        }
      }
      if (!r.image.empty()) out.second.push_back(r.image);
    } else if (stream.starts_with(kDeployStreamPrefix)) {
      DeployRecord r = BS_TRY(parse_deploy_record(data));
      out.first = BS_TRY(image_objects(repo, r.image));
      out.second.push_back(r.image);
    }
    return out;
  };
}

Result<std::vector<std::string>> image_objects(const Repository& repo, const std::string& image_hex) {
  Bytes image = BS_TRY(repo.read_image(image_hex));
  fstree::Tree t = BS_TRY_CTX(composefs::read_image(image), "images/{}", image_hex);
  std::vector<std::string> out;
  fstree::walk(t, [&](const std::string&, const fstree::Entry*, const fstree::Node& n) {
    if (n.is_reg() && n.payload && n.content.empty() && n.size > 0) {
      std::string hex = *n.payload;
      hex.erase(std::remove(hex.begin(), hex.end(), '/'), hex.end());
      out.push_back(std::move(hex));
    }
    return true;
  });
  return out;
}

Status pin_deployment(Repository& repo, const std::string& image_hex, const std::string& source) {
  if (!repo.has_image(image_hex)) return input_error("images/{} is not in {}", image_hex, repo.path());
  Bytes obj = BS_TRY(repo.write_object(as_bytes(serialize_deploy_record({image_hex, source}))));
  std::string stream = std::string(kDeployStreamPrefix) + image_hex;
  BS_TRY(repo.set_stream(stream, to_hex(obj)));
  return repo.set_ref(std::string(kDeployRefPrefix) + image_hex, stream);
}

Status unpin_deployment(Repository& repo, const std::string& image_hex) {
  auto refs = BS_TRY(repo.list_refs());
  std::string ref = std::string(kDeployRefPrefix) + image_hex;
  if (refs.count(ref)) BS_TRY(repo.remove_ref(ref));
  return {};
}

Result<std::pair<std::string, ImageRecord>> find_image(const Repository& repo, const std::string& ref) {
  std::string stream;
  auto refs = BS_TRY(repo.list_refs());
  if (auto it = refs.find(ref); it != refs.end()) {
    stream = it->second;
  } else {
    if (ref.size() < 8 && !ref.empty() && is_hex(ref))
      return input_error("\"{}\": a digest prefix needs at least 8 hex digits (shorter ones match too easily); "
                         "no reference has that name either", ref);
    std::vector<std::string> matches;
    for (auto& s : BS_TRY(repo.list_streams()))
      if (s.starts_with(kImageStreamPrefix) && s.substr(strlen(kImageStreamPrefix)).starts_with(ref) && ref.size() >= 8)
        matches.push_back(s);
    if (matches.size() > 1) {
      // Several records of one image are fine (any names the same tree).
      std::string first = matches.front().substr(strlen(kImageStreamPrefix));
      first = first.substr(0, first.find('-'));
      for (auto& mm : matches)
        if (mm.substr(strlen(kImageStreamPrefix)).substr(0, first.size()) != first)
          return input_error("\"{}\" matches {} images; give more digits", ref, matches.size());
      matches.resize(1);
    }
    if (matches.empty()) return input_error("no image \"{}\" in {} (not a reference or image digest)", ref, repo.path());
    stream = matches.front();
  }
  auto obj = BS_TRY(repo.stream_object(stream));
  if (!obj) return input_error("{}: reference {} points at a missing record", repo.path(), ref);
  Bytes data = BS_TRY(repo.read_object(*obj, kMaxRecordSize));
  ImageRecord r = BS_TRY_CTX(parse_image_record(data), "streams/{}", stream);
  return std::make_pair(stream, r);
}

Result<fstree::Tree> stored_tree(const Repository& repo, const ImageRecord& r) {
  Bytes dump = BS_TRY(repo.read_object(r.tree, kMaxRecordSize));
  return fstree::parse_dumpfile(std::string_view(reinterpret_cast<const char*>(dump.data()), dump.size()));
}

}  // namespace bootseal::store
