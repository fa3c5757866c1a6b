// bootseal composefs mkfs: a composefs image from a directory or a dumpfile,
// option-compatible with mkcomposefs and byte-identical to its output.

#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <thread>

#include "base/hex.h"
#include "cli/command.h"
#include "cli/composefs_scan.h"
#include "composefs/image.h"
#include "fstree/dumpfile.h"
#include "par/pool.h"
#include "sys/file.h"
#include "sys/mapped_file.h"
#include "sys/term.h"

namespace bootseal::cli {
namespace {

struct MkfsOptions {
  std::string digest_store;
  bool from_file = false;
  bool print_digest = false;
  bool print_digest_only = false;
  bool use_epoch = false;
  bool skip_xattrs = false;
  bool user_xattrs = false;
  bool skip_devices = false;
  bool hardlinks = false;
  std::string hash = "sha256";
  std::string format;
  std::optional<int64_t> min_version, max_version;
  unsigned threads = 0;
  std::vector<std::string> args;
};

// Object digests: SHA-256 (mkcomposefs) or SHA-512 (composefs-rs/bootc
// repositories: 64-byte metacopy digests, "xx/<126 hex>" objects).
Result<crypto::HashAlg> parse_object_hash(const std::string& name) {
  if (name == "sha256") return crypto::HashAlg::kSha256;
  if (name == "sha512") return crypto::HashAlg::kSha512;
  return usage_error("--hash must be sha256 or sha512, not '{}'", name);
}

Result<std::string> read_stdin() {
  std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (std::cin.bad()) return sys_error("read stdin");
  return s;
}

Status mkfs_cmd(const MkfsOptions& o, const Globals& g) {
  if (o.args.empty()) return usage_error("no source given");
  const std::string& src = o.args[0];
  if (src.empty()) return input_error("empty source path");
  std::string out;
  if (o.print_digest_only) {
    if (o.args.size() > 1) return usage_error("cannot give an image path with --print-digest-only");
  } else {
    if (o.args.size() < 2) return usage_error("no image path given");
    out = o.args[1];
  }
  if (o.args.size() > 2) return usage_error("too many arguments");
  if (o.skip_xattrs && o.user_xattrs) return usage_error("--skip-xattrs and --user-xattrs conflict");
  if (o.threads) par::set_threads(o.threads);
  std::optional<int64_t> min_v = o.min_version, max_v = o.max_version;
  bool v2 = false;
  if (!o.format.empty()) {
    if (min_v || max_v) return usage_error("--format and --min-version/--max-version are exclusive");
    if (o.format == "v0" || o.format == "v1") {
      min_v = max_v = o.format[1] - '0';
    } else if (o.format == "v2") {
      v2 = true;
    } else {
      return usage_error("--format must be v0, v1 or v2, not '{}'", o.format);
    }
  }
  composefs::VersionRange range = BS_TRY(composefs::version_range(min_v, max_v));

  // Phase timings for -v.
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  auto lap = [&t0](const char* what) {
    auto now = Clock::now();
    double s = std::chrono::duration<double>(now - t0).count();
    t0 = now;
    return fmt::format("{} {:.3f} s", what, s);
  };
  std::vector<std::string> phases;
  fstree::Tree tree;
  if (o.from_file) {
    // A file is mapped, not copied: the parser takes a view.
    std::string text;
    sys::MappedFile map;
    std::string_view view;
    if (src == "-") {
      text = BS_TRY(read_stdin());
      view = text;
    } else {
      map = BS_TRY(sys::MappedFile::open(src));
      view = as_string(map.data());
    }
    phases.push_back(lap("read"));
    tree = BS_TRY_CTX(fstree::parse_dumpfile(view), "{}", src == "-" ? "<stdin>" : src);
    phases.push_back(lap("parse"));
  } else {
    ScanOptions so;
    so.use_epoch = o.use_epoch;
    so.skip_xattrs = o.skip_xattrs;
    so.user_xattrs = o.user_xattrs;
    so.skip_devices = o.skip_devices;
    so.hardlinks = o.hardlinks;
    so.hash = BS_TRY(parse_object_hash(o.hash));
    so.digest_store = o.digest_store;
    so.progress = !g.quiet && !g.json;
    ScanStats st;
    tree = BS_TRY(scan_directory(src, so, &st));
    lap("");
    phases.push_back(fmt::format("scan+hash {:.3f} s ({} files, {} bytes)", st.hash_seconds, st.files, st.bytes));
    if (!o.digest_store.empty())
      phases.push_back(fmt::format("syncfs {:.3f} s ({} objects written, {} existing)", st.sync_seconds,
                                   st.objects_written, st.objects_existing));
  }
  composefs::Image img = v2 ? BS_TRY_CTX(composefs::build_image_v2(tree), "{}", src == "-" ? "<stdin>" : src)
                            : BS_TRY_CTX(composefs::build_image(std::move(tree), range), "{}", src == "-" ? "<stdin>" : src);
  phases.push_back(lap("layout"));
  // Freeing a tree of 100k+ nodes takes as long as parsing it: do it on
  // another thread while the image is written.
  std::thread reaper([t = std::move(tree)]() mutable { t.root.reset(); });
  struct Join {
    std::thread& t;
    ~Join() { t.join(); }
  } join{reaper};
  if (!out.empty()) {
    if (out == "-") {
      if (sys::is_terminal(1)) return input_error("stdout is a tty, refusing to write the image to it");
      BS_TRY(sys::write_full(1, img.data, "stdout"));
    } else {
      BS_TRY(sys::write_file_atomic(out, img.data));
    }
    phases.push_back(lap("write"));
  }
  // --json always prints the result (image, digest, format version, size).
  if (o.print_digest || g.json) {
    std::string hex = to_hex(composefs::image_digest(img.data));
    phases.push_back(lap("digest"));
    if (g.json) {
      nlohmann::json j = {{"digest", hex}, {"version", img.version}, {"size", img.data.size()}};
      if (!out.empty()) j["image"] = out;
      print_json(j);
    } else {
      std::printf("%s\n", hex.c_str());
    }
  }
  if (g.verbose) {
    std::string line;
    for (auto& p : phases) line += (line.empty() ? "" : ", ") + p;
    std::fprintf(stderr, "mkfs phases: %s\n", line.c_str());
  }
  return {};
}

struct ScanCmdOptions {
  ScanOptions scan;
  std::string hash = "sha256";
  std::string dir;
  std::string out;
};

Status scan_cmd(const ScanCmdOptions& o, const Globals& g) {
  ScanOptions so = o.scan;
  so.hash = BS_TRY(parse_object_hash(o.hash));
  if (so.skip_xattrs && so.user_xattrs) return usage_error("--skip-xattrs and --user-xattrs conflict");
  so.progress = !g.quiet && !g.json;
  fstree::Tree t = BS_TRY(scan_directory(o.dir, so));
  std::string text = fstree::print_dumpfile(t);
  if (o.out.empty() || o.out == "-") return sys::write_full(1, as_bytes(text), "stdout");
  return sys::write_file_atomic(o.out, as_bytes(text));
}

void setup(CLI::App& root, Context& ctx) {
  CLI::App* c = group(root, "composefs", "composefs images (EROFS + overlayfs), compatible with mkcomposefs");
  static MkfsOptions o;
  CLI::App* m = c->add_subcommand("mkfs", "Make a composefs image from a directory or a dumpfile (as mkcomposefs)");
  json_output(m);
  m->add_option("--digest-store", o.digest_store, "Copy file contents into this object store (DIR/xx/yyyy...)");
  m->add_flag("--from-file", o.from_file, "SOURCE is a composefs dumpfile ('-' for stdin)");
  m->add_flag("--print-digest", o.print_digest, "Print the image's fs-verity digest");
  m->add_flag("--print-digest-only", o.print_digest_only, "Print the digest, write no image");
  m->add_flag("--use-epoch", o.use_epoch, "Set all mtimes to 0");
  m->add_flag("--skip-xattrs", o.skip_xattrs, "Store no xattrs");
  m->add_flag("--user-xattrs", o.user_xattrs, "Store only user.* xattrs");
  m->add_flag("--skip-devices", o.skip_devices, "Store no device nodes");
  m->add_flag("--hardlinks", o.hardlinks,
              "Detect hardlinks by inode and keep link counts (mkcomposefs does not; changes the image)");
  m->add_option("--hash", o.hash, "Object digest algorithm when scanning a directory: sha256 (default) or sha512")->check(CLI::IsMember({"sha256", "sha512"}));
  hidden_alias(m, "--hash-alg", o.hash)->check(CLI::IsMember({"sha256", "sha512"}));
  m->add_option("--format", o.format,
                "v0 or v1 (= --min-version N --max-version N), or v2 (composefs-rs's legacy layout)")->check(CLI::IsMember({"v0", "v1", "v2"}));
  m->add_option("--min-version", o.min_version, "Minimum format version (0..1)");
  m->add_option("--max-version", o.max_version, "Maximum format version (0..1)");
  m->add_option("--threads", o.threads, "Threads for hashing and copying (default: all CPUs)");
  static std::string source, image;
  m->add_option("SOURCE", source, "Source directory, or dumpfile with --from-file ('-' = stdin)")->required();
  m->add_option("IMAGE", image, "Image to write ('-' = stdout); omitted with --print-digest-only");
  m->callback([&ctx] {
    if (o.print_digest_only) o.print_digest = true;
    o.args = {source};
    if (!image.empty()) o.args.push_back(image);
    ctx.action = [&ctx] { return mkfs_cmd(o, ctx.globals); };
  });

  static ScanCmdOptions so;
  CLI::App* s = c->add_subcommand("scan", "Print the composefs dumpfile of a directory (what mkfs would store)");
  s->add_option("--digest-store", so.scan.digest_store, "Also copy file contents into this object store");
  s->add_flag("--use-epoch", so.scan.use_epoch, "Set all mtimes to 0");
  s->add_flag("--skip-xattrs", so.scan.skip_xattrs, "No xattrs");
  s->add_flag("--user-xattrs", so.scan.user_xattrs, "Only user.* xattrs");
  s->add_flag("--skip-devices", so.scan.skip_devices, "No device nodes");
  s->add_flag("--hardlinks", so.scan.hardlinks, "Detect hardlinks by inode and keep link counts");
  s->add_option("--hash", so.hash, "Object digest algorithm: sha256 (default) or sha512")->check(CLI::IsMember({"sha256", "sha512"}));
  hidden_alias(s, "--hash-alg", so.hash)->check(CLI::IsMember({"sha256", "sha512"}));
  s->add_option("-o,--output", so.out, "Write the dumpfile here (default stdout)");
  s->add_option("DIR", so.dir, "Directory")->required();
  s->callback([&ctx] { ctx.action = [&ctx] { return scan_cmd(so, ctx.globals); }; });
}

}  // namespace

BOOTSEAL_VERB(40, setup);

}  // namespace bootseal::cli
