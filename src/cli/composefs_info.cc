// bootseal composefs info ls|dump|objects|missing-objects: read composefs
// images back, with composefs-info's output formats.

#include <cstdio>
#include <set>

#include "cli/command.h"
#include "composefs/image.h"
#include "fstree/dumpfile.h"
#include "sys/file.h"
#include "sys/repo_io.h"

namespace bootseal::cli {
namespace {

struct InfoOptions {
  std::string basedir;
  std::vector<std::string> images;
};

void print_ls(const fstree::Node& dir, const std::string& parent, std::string& out) {
  for (const fstree::Entry& e : dir.children) {
    std::string path = parent + "/" + e.name;
    out += fstree::escape(path, fstree::Escape::kKeepSpace);
    const fstree::Node& n = *e.node;
    // composefs-info prints nothing after a hardlink's name (its own inode is empty).
    if (!e.hardlink) {
      if (n.is_dir()) {
        out += "/\t";
      } else if (n.is_symlink()) {
        out += "\t-> " + fstree::escape(n.payload.value_or(""), fstree::Escape::kStandard);
      } else if (n.is_reg() && n.payload) {
        out += "\t@ " + fstree::escape(*n.payload, fstree::Escape::kStandard);
      }
    }
    out += "\n";
    if (!e.hardlink && n.is_dir()) print_ls(n, path, out);
  }
}

void collect_objects(const fstree::Node& n, std::set<std::string>& out) {
  if (n.is_reg() && n.payload) out.insert(*n.payload);
  for (auto& e : n.children)
    if (!e.hardlink) collect_objects(*e.node, out);
}

Status info_cmd(const std::string& verb, const InfoOptions& o) {
  if (o.images.empty()) return usage_error("no image given");
  std::set<std::string> objects;
  for (auto& path : o.images) {
    Bytes data = BS_TRY(sys::read_file(path));
    fstree::Tree t = BS_TRY_CTX(composefs::read_image(data), "{}", path);
    if (verb == "dump") {
      std::string s = fstree::print_dumpfile(t);
      std::fwrite(s.data(), 1, s.size(), stdout);
    } else if (verb == "ls") {
      std::string s;
      print_ls(*t.root, "", s);
      std::fwrite(s.data(), 1, s.size(), stdout);
    } else {
      collect_objects(*t.root, objects);
    }
  }
  if (verb == "objects" || verb == "missing-objects") {
    sys::Fd base;
    if (verb == "missing-objects" && !o.basedir.empty())
      base = BS_TRY_CTX(sys::open_file(o.basedir, O_PATH | O_DIRECTORY), "--basedir");
    for (auto& obj : objects) {
      if (verb == "missing-objects" && base.valid()) {
        std::string rel = obj;
        while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
        auto st = sys::stat_at(base.get(), rel);  // lstat: a symlink is present as itself
        if (st.ok() && *st) continue;
      }
      std::printf("%s\n", obj.c_str());
    }
  }
  return {};
}

void setup(CLI::App& root, Context& ctx) {
  CLI::App* c = group(root, "composefs", "composefs images (EROFS + overlayfs), compatible with mkcomposefs");
  static InfoOptions o;
  static std::string verb;
  CLI::App* i = c->add_subcommand("info", "Inspect composefs images (as composefs-info)");
  i->add_option("COMMAND", verb, "ls, dump, objects or missing-objects")
      ->required()
      ->check(CLI::IsMember({"ls", "dump", "objects", "missing-objects"}));
  i->add_option("--basedir", o.basedir, "Object store for missing-objects");
  i->add_option("IMAGE", o.images, "composefs images")->required();
  i->callback([&ctx] { ctx.action = [] { return info_cmd(verb, o); }; });
}

}  // namespace

BOOTSEAL_VERB(41, setup);

}  // namespace bootseal::cli
