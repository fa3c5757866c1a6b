// bootseal rechunk (re-layer an image into content-stable layers) and
// bootseal image diff-size (what an update downloads, layer-wise): docs/rechunk.md.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "cli/command.h"
#include "cli/repo_util.h"
#include "oci/transport.h"
#include "rechunk/plan.h"
#include "rechunk/rechunk.h"
#include "store/import.h"
#include "store/source.h"
#include "sys/tty.h"

namespace bootseal::cli {
namespace {

struct RechunkCli {
  RepoFlags rf;
  RegistryFlags reg;
  std::string source, output, platform;
  size_t max_layers = 64;
  int64_t clamp = -1;
};

Result<int64_t> default_clamp() {
  const char* s = std::getenv("SOURCE_DATE_EPOCH");
  if (!s || !*s) return int64_t{0};
  char* end = nullptr;
  long long v = std::strtoll(s, &end, 10);
  if (*end || v < 0) return input_error("SOURCE_DATE_EPOCH \"{}\" is not a number of seconds", s);
  return static_cast<int64_t>(v);
}

Status rechunk_cmd(const RechunkCli& c, const Globals& g) {
  auto t0 = std::chrono::steady_clock::now();
  oci::SourceName out = BS_TRY(oci::parse_source_name(c.output));
  if (out.transport != oci::Transport::kOciLayout && out.transport != oci::Transport::kOciArchive)
    return input_error("rechunk: --output \"{}\" must be oci:DIR[:TAG] or oci-archive:FILE[:TAG]", c.output);
  if (c.max_layers < 1 || c.max_layers > oci::kMaxLayers)
    return input_error("rechunk: --max-layers must be between 1 and {}, not {}", oci::kMaxLayers, c.max_layers);
  store::ImageOptions o;
  if (!c.platform.empty()) o.platform = BS_TRY(oci::parse_platform(c.platform));
  auto repo = BS_TRY(open_repo(c.rf));
  bool progress = !g.quiet && !g.json;
  auto ro = registry_options(c.reg, g, progress && sys::stderr_is_terminal());
  store::ImportStats stats;
  auto imported = BS_TRY(import_source(repo, c.source, o, "", progress, &stats, ro));
  fstree::Tree tree = BS_TRY_CTX(store::stored_tree(repo, imported.record), "rechunk {}", c.source);
  Bytes config;
  oci::SourceName in = BS_TRY(oci::parse_source_name(c.source));
  if (in.transport != oci::Transport::kDirectory) {
    auto src = BS_TRY(store::open_source(in, c.source, ro));
    config = BS_TRY(src->resolve(o.platform)).config_json;
  }
  rechunk::Options ro2;
  ro2.max_layers = c.max_layers;
  ro2.clamp_mtime = c.clamp >= 0 ? c.clamp : BS_TRY(default_clamp());
  auto r = BS_TRY_CTX(rechunk::rechunk(repo, tree, config, out, ro2), "rechunk {}", c.source);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  uint64_t total = 0;
  for (auto& l : r.layers) total += l.size;
  if (g.json) {
    nlohmann::json layers = nlohmann::json::array();
    for (auto& l : r.layers)
      layers.push_back({{"digest", l.digest.str()}, {"diff_id", l.diff_id.str()}, {"size", l.size},
                        {"tar_size", l.tar_size}, {"components", l.components}});
    print_json({{"manifest_digest", r.manifest_digest.str()}, {"output", c.output}, {"image", imported.image},
                {"layers", layers}, {"bytes", total}, {"notes", r.notes}, {"seconds", secs}});
    return {};
  }
  for (auto& n : r.notes) std::fprintf(stderr, "bootseal: note: %s\n", n.c_str());
  std::printf("%s\n", r.manifest_digest.str().c_str());
  if (g.verbose) {
    for (size_t i = 0; i < r.layers.size(); i++) {
      auto& l = r.layers[i];
      std::string names;
      for (auto& x : l.components) names += (names.empty() ? "" : ",") + x;
      if (names.size() > 100) names = names.substr(0, 97) + "...";
      std::fprintf(stderr, "%3zu %s %10llu %s\n", i + 1, l.digest.hex.substr(0, 12).c_str(),
                   static_cast<unsigned long long>(l.size), names.c_str());
    }
    std::fprintf(stderr, "%zu layers, %llu bytes, %.2f s\n", r.layers.size(), static_cast<unsigned long long>(total), secs);
  }
  return {};
}

struct DiffSizeCli {
  RegistryFlags reg;
  std::string old_src, new_src, platform;
};

Result<std::vector<rechunk::BlobRef>> layers_of(const std::string& s, const oci::Platform& p, const registry::Options& ro) {
  oci::SourceName n = BS_TRY(oci::parse_source_name(s));
  if (n.transport == oci::Transport::kDirectory)
    return input_error("image diff-size: \"{}\" is a directory; give an image (oci:, oci-archive:, docker-archive:, docker://)", s);
  auto src = BS_TRY(store::open_source(n, s, ro));
  auto img = BS_TRY(src->resolve(p));
  std::vector<rechunk::BlobRef> out;
  for (auto& l : img.layers) out.push_back({l.digest.str(), l.size});
  return out;
}

Status diff_size_cmd(const DiffSizeCli& c, const Globals& g) {
  oci::Platform p = oci::host_platform();
  if (!c.platform.empty()) p = BS_TRY(oci::parse_platform(c.platform));
  auto ro = registry_options(c.reg, g, false);
  auto a = BS_TRY(layers_of(c.old_src, p, ro));
  auto b = BS_TRY(layers_of(c.new_src, p, ro));
  auto d = rechunk::diff_size(a, b);
  double pct = d.total_bytes ? 100.0 * static_cast<double>(d.download_bytes) / static_cast<double>(d.total_bytes) : 0.0;
  if (g.json) {
    nlohmann::json layers = nlohmann::json::array();
    for (size_t i = 0; i < b.size(); i++)
      layers.push_back({{"digest", b[i].digest}, {"size", b[i].size}, {"reused", static_cast<bool>(d.reused[i])}});
    print_json({{"old", c.old_src}, {"new", c.new_src}, {"layers", d.total_layers}, {"bytes", d.total_bytes},
                {"download_layers", d.download_layers}, {"download_bytes", d.download_bytes}, {"percent", pct},
                {"new_layers", layers}});
    return {};
  }
  std::printf("%llu of %llu bytes to download (%.1f%%): %zu of %zu layers\n",
              static_cast<unsigned long long>(d.download_bytes), static_cast<unsigned long long>(d.total_bytes), pct,
              d.download_layers, d.total_layers);
  return {};
}

void setup(CLI::App& root, Context& ctx) {
  static RechunkCli rc;
  CLI::App* r = root.add_subcommand("rechunk", "Re-layer an image into at most N content-stable layers (by package), reproducibly");
  json_output(r);
  add_repo_flags(r, rc.rf);
  add_registry_flags(r, rc.reg);
  r->add_option("--max-layers", rc.max_layers, "Layers at most (the last one holds volatile state and directories)")
      ->capture_default_str()->check(CLI::Range(size_t{1}, oci::kMaxLayers));
  r->add_option("--output", rc.output, "oci:DIR[:TAG] or oci-archive:FILE[:TAG]")->required();
  r->add_option("--platform", rc.platform, "OS/ARCH[/VARIANT] to pick from a multi-arch index (default: this host)");
  r->add_option("--clamp-mtime", rc.clamp, "mtime of parent directories in content layers (default: $SOURCE_DATE_EPOCH, else 0)");
  r->add_option("SOURCE", rc.source, "Image source (docker://, oci:, oci-archive:, docker-archive:, dir:)")->required();
  r->callback([&ctx] { ctx.action = [&ctx] { return rechunk_cmd(rc, ctx.globals); }; });

  static DiffSizeCli ds;
  CLI::App* im = group(root, "image", "OCI images: import into the repository, boot digests, differences");
  CLI::App* d = im->add_subcommand("diff-size", "Bytes an update from OLD to NEW downloads: NEW's layers OLD lacks");
  json_output(d);
  add_registry_flags(d, ds.reg);
  d->add_option("--platform", ds.platform, "OS/ARCH[/VARIANT] to pick from multi-arch indexes");
  d->add_option("OLD", ds.old_src, "The image a device has")->required();
  d->add_option("NEW", ds.new_src, "The update")->required();
  d->callback([&ctx] { ctx.action = [&ctx] { return diff_size_cmd(ds, ctx.globals); }; });
}

}  // namespace

BOOTSEAL_VERB(42, setup);

}  // namespace bootseal::cli
