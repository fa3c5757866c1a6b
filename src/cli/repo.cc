// bootseal repo init|fsck|gc|ls|tag|untag: the content-addressed repository
// (docs/formats/repository.md).
#include <cstdio>

#include "cli/command.h"
#include "cli/repo_util.h"
#include "store/import.h"
#include "store/meta.h"

namespace bootseal::cli {
namespace {

struct InitOptions {
  RepoFlags rf;
  std::string hash = "sha512";
  std::string format = "v1";
};

Status init_cmd(const InitOptions& o, const Globals& g) {
  auto alg = BS_TRY(parse_hash(o.hash));
  uint32_t fmt_v = BS_TRY(parse_format(o.format));
  store::RepoMeta m = store::new_meta(alg, fmt_v);
  store::RepoOptions ro;
  ro.require_verity = o.rf.require_verity;
  auto repo = BS_TRY(store::Repository::init(repo_root(o.rf.repo), m, ro));
  if (g.json)
    print_json({{"path", repo.path()}, {"algorithm", store::algorithm_string(alg)}, {"erofs_format", fmt_v}});
  else  // the result: printed even with -q
    std::printf("%s: %s, EROFS V%u\n", repo.path().c_str(), store::algorithm_string(alg).c_str(), fmt_v);
  return {};
}

Status fsck_cmd(const RepoFlags& rf, const Globals& g) {
  auto repo = BS_TRY(open_repo(rf));
  auto rep = BS_TRY(repo.fsck(store::record_refs(repo)));
  if (g.json) {
    print_json({{"objects", rep.objects}, {"images", rep.images}, {"streams", rep.streams}, {"refs", rep.refs},
                {"problems", rep.problems}});
  } else {
    for (auto& p : rep.problems) std::printf("%s\n", p.c_str());
    // The verdict: printed even with -q.
    std::printf("%llu objects, %llu images, %llu streams, %llu refs: %zu problems\n",
                  static_cast<unsigned long long>(rep.objects), static_cast<unsigned long long>(rep.images),
                  static_cast<unsigned long long>(rep.streams), static_cast<unsigned long long>(rep.refs),
                  rep.problems.size());
  }
  if (!rep.problems.empty()) return check_error("{}: fsck found {} problems", repo.path(), rep.problems.size());
  return {};
}

Status gc_cmd(const RepoFlags& rf, bool dry_run, const Globals& g) {
  auto repo = BS_TRY(open_repo(rf, /*exclusive=*/true));
  auto rep = BS_TRY(repo.gc(store::record_refs(repo), dry_run));
  if (g.json) {
    print_json({{"removed", rep.removed}, {"bytes", rep.bytes}, {"dry_run", dry_run}});
  } else {
    for (auto& r : rep.removed) std::printf("%s %s\n", dry_run ? "would remove" : "removed", r.c_str());
    std::printf("%s %zu files, %llu bytes\n", dry_run ? "would free" : "freed", rep.removed.size(),
                  static_cast<unsigned long long>(rep.bytes));
  }
  return {};
}

Status ls_cmd(const RepoFlags& rf, const Globals& g) {
  auto repo = BS_TRY(open_repo(rf));
  auto refs = BS_TRY(repo.list_refs());
  nlohmann::json out = nlohmann::json::array();
  for (auto& [ref, stream] : refs) {
    std::string image = stream.starts_with(store::kImageStreamPrefix) ? stream.substr(strlen(store::kImageStreamPrefix)) : "";
    image = image.substr(0, image.find('-'));
    if (g.json)
      out.push_back({{"ref", ref}, {"stream", stream}, {"image", image}});
    else
      std::printf("%s %s\n", ref.c_str(), image.empty() ? stream.c_str() : image.c_str());
  }
  if (g.json) print_json(out);
  return {};
}

Status tag_cmd(const RepoFlags& rf, const std::string& ref, const std::string& image, const Globals& g) {
  auto repo = BS_TRY(open_repo(rf));
  auto [stream, rec] = BS_TRY(store::find_image(repo, image));
  BS_TRY(repo.set_ref(ref, stream));
  if (g.json) print_json({{"ref", ref}, {"stream", stream}});
  return {};
}

Status untag_cmd(const RepoFlags& rf, const std::string& ref, const Globals& g) {
  auto repo = BS_TRY(open_repo(rf));
  BS_TRY(repo.remove_ref(ref));
  if (g.json) print_json({{"ref", ref}, {"removed", true}});
  return {};
}

void setup(CLI::App& root, Context& ctx) {
  CLI::App* r = group(root, "repo", "The content-addressed composefs repository");

  static InitOptions init;
  CLI::App* i = r->add_subcommand("init", "Create a repository (meta.json pins algorithm and EROFS format)");
  json_output(i);
  add_repo_flags(i, init.rf);
  i->add_option("--hash", init.hash, "fs-verity algorithm of objects and images: sha256 or sha512")->capture_default_str()->check(CLI::IsMember({"sha256", "sha512"}));
  hidden_alias(i, "--hash-alg", init.hash)->check(CLI::IsMember({"sha256", "sha512"}));
  i->add_option("--format", init.format, "EROFS format of images: v1 or v2")->capture_default_str()->check(CLI::IsMember({"v1", "v2"}));
  i->callback([&ctx] { ctx.action = [&ctx] { return init_cmd(init, ctx.globals); }; });

  static RepoFlags fsck_rf;
  CLI::App* f = r->add_subcommand("fsck", "Recompute every object's and image's digest and check every reference");
  json_output(f);
  add_repo_flags(f, fsck_rf);
  f->callback([&ctx] { ctx.action = [&ctx] { return fsck_cmd(fsck_rf, ctx.globals); }; });

  static RepoFlags gc_rf;
  static bool dry_run = false;
  CLI::App* gcc = r->add_subcommand("gc", "Remove objects, images and records no reference reaches");
  json_output(gcc);
  add_repo_flags(gcc, gc_rf);
  gcc->add_flag("--dry-run,-n", dry_run, "Only print what would be removed");
  gcc->callback([&ctx] { ctx.action = [&ctx] { return gc_cmd(gc_rf, dry_run, ctx.globals); }; });

  static RepoFlags ls_rf;
  CLI::App* l = r->add_subcommand("ls", "List references and the images they name");
  json_output(l);
  add_repo_flags(l, ls_rf);
  l->callback([&ctx] { ctx.action = [&ctx] { return ls_cmd(ls_rf, ctx.globals); }; });

  static RepoFlags tag_rf;
  static std::string tag_ref, tag_image;
  CLI::App* t = r->add_subcommand("tag", "Name an image (a GC root)");
  json_output(t);
  add_repo_flags(t, tag_rf);
  t->add_option("REF", tag_ref, "New reference name")->required();
  t->add_option("IMAGE", tag_image, "Existing reference or image digest (prefix)")->required();
  t->callback([&ctx] { ctx.action = [&ctx] { return tag_cmd(tag_rf, tag_ref, tag_image, ctx.globals); }; });

  static RepoFlags untag_rf;
  static std::string untag_ref;
  CLI::App* u = r->add_subcommand("untag", "Remove a reference (gc then frees what it alone kept)");
  json_output(u);
  add_repo_flags(u, untag_rf);
  u->add_option("REF", untag_ref, "Reference name")->required();
  u->callback([&ctx] { ctx.action = [&ctx] { return untag_cmd(untag_rf, untag_ref, ctx.globals); }; });
}

}  // namespace

BOOTSEAL_VERB(40, setup);

}  // namespace bootseal::cli
