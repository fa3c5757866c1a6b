// bootseal verity digest|measure|enable: fs-verity digests in userspace
// (same output as `fsverity digest`) and the kernel's fs-verity ioctls.

#include <cstdio>

#include "base/hex.h"
#include "cli/command.h"
#include "fsverity/fsverity.h"
#include "par/progress.h"
#include "sys/file.h"
#include "sys/tree.h"
#include "sys/verity.h"

namespace bootseal::cli {
namespace {

struct VerityOptions {
  std::string hash_alg = "sha256";
  uint32_t block_size = 4096;
  std::string salt;
  bool compact = false;
  std::string out_descriptor;
  std::vector<std::string> files;
};

Result<fsverity::Params> make_params(const VerityOptions& o) {
  fsverity::Params p;
  p.alg = BS_TRY(crypto::parse_hash_name(o.hash_alg));
  p.block_size = o.block_size;
  // Bad option values are usage errors (exit 2).
  if (!o.salt.empty()) {
    auto salt = from_hex(o.salt);
    if (!salt.ok()) return usage_error("invalid --salt: {}", salt.error().message());
    p.salt = std::move(*salt);
  }
  if (Status st = fsverity::validate(p); !st.ok()) return usage_error("{}", st.error().message());
  return p;
}

void add_params(CLI::App* c, VerityOptions& o) {
  c->add_option("--hash-alg", o.hash_alg, "Hash algorithm: sha256 or sha512")->capture_default_str()->check(CLI::IsMember({"sha256", "sha512"}));
  hidden_alias(c, "--hash", o.hash_alg)->check(CLI::IsMember({"sha256", "sha512"}));
  c->add_option("--block-size", o.block_size, "Merkle tree block size (power of two, 1024..65536)")
      ->capture_default_str();
  c->add_option("--salt", o.salt, "Salt, as hex (at most 32 bytes)");
}

Status digest_cmd(const VerityOptions& o, const Globals& g) {
  fsverity::Params p = BS_TRY(make_params(o));
  // The total is only for the progress line: with many small files the extra
  // stat() per file costs as much as reading them.
  uint64_t total = 0;
  if (par::Progress::shown())
    for (auto& f : o.files) {
      auto st = sys::stat_path(f);
      if (st && S_ISREG(st->st_mode)) total += static_cast<uint64_t>(st->st_size);
    }
  par::Progress progress("hashing", total, "B");
  auto results = fsverity::digest_files(o.files, p, [&](uint64_t n) { progress.add(n); });
  progress.done();
  std::string alg(crypto::hash_name(p.alg));
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < o.files.size(); i++) {
    if (!results[i].ok()) {
      if (g.json) print_json(out);
      return Error(results[i].error()).context("verity digest");
    }
    std::string hex = to_hex(*results[i]);
    if (g.json)
      out.push_back({{"file", o.files[i]}, {"algorithm", alg}, {"digest", hex},
                     {"block_size", p.block_size}, {"salt", to_hex(p.salt)}});
    else if (o.compact)
      std::printf("%s\n", hex.c_str());
    else
      std::printf("%s:%s %s\n", alg.c_str(), hex.c_str(), o.files[i].c_str());
  }
  if (g.json) print_json(out);
  if (!o.out_descriptor.empty()) {
    if (o.files.size() != 1) return usage_error("--out-descriptor needs exactly one file");
    // Recompute the root hash for the descriptor (cheap relative to I/O for one file).
    sys::Fd fd = BS_TRY(sys::open_regular(o.files[0]));
    struct stat st = BS_TRY(sys::fstat_fd(fd.get(), o.files[0]));
    fsverity::StreamDigester d(p);
    Bytes buf(1 << 20);
    uint64_t off = 0;
    fsverity::MerkleBuilder mb(p);
    fsverity::BlockHasher bh(p);
    uint8_t h[64];
    while (off < static_cast<uint64_t>(st.st_size)) {
      size_t n = BS_TRY(sys::pread_full(fd.get(), buf.data(), buf.size(), off, o.files[0]));
      if (n == 0) break;
      for (size_t b = 0; b < n; b += p.block_size) {
        bh.hash_block(buf.data() + b, std::min<size_t>(p.block_size, n - b), h);
        mb.add_leaf(h);
      }
      off += n;
    }
    Bytes root = mb.finish();
    BS_TRY(sys::write_file_atomic(o.out_descriptor, fsverity::descriptor(p, off, root)));
  }
  return {};
}

Status measure_cmd(const std::vector<std::string>& files, const Globals& g) {
  nlohmann::json out = nlohmann::json::array();
  for (auto& f : files) {
    sys::Fd fd = BS_TRY_CTX(sys::open_file(f, O_RDONLY), "verity measure");
    auto m = BS_TRY_CTX(sys::measure_verity(fd.get(), f), "verity measure");
    auto alg = fsverity::alg_from_id(static_cast<uint8_t>(m.hash_algorithm));
    std::string name = alg.ok() ? std::string(crypto::hash_name(*alg)) : fmt::format("alg{}", m.hash_algorithm);
    if (g.json)
      out.push_back({{"file", f}, {"algorithm", name}, {"digest", to_hex(m.digest)}});
    else
      std::printf("%s:%s %s\n", name.c_str(), to_hex(m.digest).c_str(), f.c_str());
  }
  if (g.json) print_json(out);
  return {};
}

Status enable_cmd(const VerityOptions& o) {
  fsverity::Params p = BS_TRY(make_params(o));
  for (auto& f : o.files) {
    sys::Fd fd = BS_TRY_CTX(sys::open_regular(f), "verity enable");
    BS_TRY_CTX(sys::enable_verity(fd.get(), f, fsverity::algorithm_id(p.alg), p.block_size, p.salt),
               "verity enable");
  }
  return {};
}

void setup(CLI::App& root, Context& ctx) {
  CLI::App* v = group(root, "verity", "fs-verity digests and the kernel's fs-verity ioctls");

  static VerityOptions dig;
  CLI::App* d = v->add_subcommand("digest", "Print fs-verity file digests, as `fsverity digest` does");
  json_output(d);
  add_params(d, dig);
  d->add_flag("--compact", dig.compact, "Print only the hex digest");
  d->add_option("--out-descriptor", dig.out_descriptor, "Write the fs-verity descriptor to this file");
  d->add_option("FILE", dig.files, "Files to digest")->required();
  d->callback([&ctx] { ctx.action = [&ctx] { return digest_cmd(dig, ctx.globals); }; });

  static std::vector<std::string> mfiles;
  CLI::App* m = v->add_subcommand("measure", "Print the kernel-measured fs-verity digest (FS_IOC_MEASURE_VERITY)");
  json_output(m);
  m->add_option("FILE", mfiles, "Files with fs-verity enabled")->required();
  m->callback([&ctx] { ctx.action = [&ctx] { return measure_cmd(mfiles, ctx.globals); }; });

  static VerityOptions en;
  CLI::App* e = v->add_subcommand("enable", "Enable fs-verity on files (FS_IOC_ENABLE_VERITY)");
  add_params(e, en);
  e->add_option("FILE", en.files, "Files to seal")->required();
  e->callback([&ctx] { ctx.action = [] { return enable_cmd(en); }; });
}

}  // namespace

BOOTSEAL_VERB(10, setup);

}  // namespace bootseal::cli
