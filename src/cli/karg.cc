// bootseal karg parse|format: the composefs kernel-argument grammar (bls/karg.h),
// decided exactly as composefs-rs's ComposefsCmdline::from_cmdline.
#include <cstdio>

#include "base/hex.h"
#include "bls/karg.h"
#include "cli/command.h"

namespace bootseal::cli {
namespace {

struct ParseOptions {
  std::string hash = "sha512";
  std::vector<std::string> cmdline;
};

struct FormatOptions {
  std::string hash = "sha512";
  std::string version = "v2";
  std::string form = "auto";
  bool insecure = false;
  std::string digest;
};

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

// Prints none | error: <reason> | <V1|V2> <secure|insecure> <hex>. A malformed karg
// is a verdict of this command, printed on stdout, with exit code 1.
Status parse_cmd(const ParseOptions& o, const Globals& g) {
  bls::KargHash h = BS_TRY(bls::parse_karg_hash(o.hash));
  auto r = bls::parse_composefs_karg(join(o.cmdline), h);
  nlohmann::json j;
  if (!r.ok()) {
    if (g.json)
      print_json({{"result", "error"}, {"error", r.error().message()}});
    else
      std::printf("error: %s\n", r.error().message().c_str());
    std::fflush(stdout);
    return check_error("malformed composefs karg");
  }
  if (!r->has_value()) {
    if (g.json)
      print_json({{"result", "none"}});
    else
      std::printf("none\n");
    return {};
  }
  const bls::ComposefsKarg& k = **r;
  const char* ver = k.version == bls::KargVersion::kV1 ? "V1" : "V2";
  if (g.json)
    print_json({{"result", "found"},
                {"version", ver},
                {"insecure", k.insecure},
                {"hash", bls::karg_hash_name(k.hash)},
                {"digest", to_hex(k.digest)},
                {"karg", bls::format_composefs_karg(k)}});
  else
    std::printf("%s %s %s\n", ver, k.insecure ? "insecure" : "secure", to_hex(k.digest).c_str());
  return {};
}

Status format_cmd(const FormatOptions& o, const Globals& g) {
  bls::KargHash h = BS_TRY(bls::parse_karg_hash(o.hash));
  // DIGEST is a command-line value: a bad one is a usage error (exit 2).
  auto hex = from_hex(o.digest);
  if (!hex.ok()) return usage_error("digest '{}': {}", o.digest, hex.error().message());
  Bytes d = std::move(*hex);
  if (d.size() != bls::karg_digest_size(h))
    return usage_error("digest has {} hex characters, expected {} for {}", o.digest.size(),
                       2 * bls::karg_digest_size(h), o.hash);
  bls::KargVersion v;
  if (o.version == "v1")
    v = bls::KargVersion::kV1;
  else if (o.version == "v2")
    v = bls::KargVersion::kV2;
  else
    return usage_error("unknown --version '{}' (expected v1 or v2)", o.version);
  std::string out;
  if (o.form == "legacy")
    out = bls::format_legacy_karg(d, o.insecure);
  else if (o.form == "digest")
    out = bls::format_digest_karg(v, h, d, o.insecure);
  else if (o.form == "auto")
    out = bls::format_composefs_karg({v, h, o.insecure, d});
  else
    return usage_error("unknown --form '{}' (expected auto, legacy or digest)", o.form);
  if (g.json)
    print_json({{"karg", out}});
  else
    std::printf("%s\n", out.c_str());
  return {};
}

void setup(CLI::App& root, Context& ctx) {
  CLI::App* k = group(root, "karg", "The composefs kernel arguments (composefs=, composefs.digest=)");

  static ParseOptions po;
  CLI::App* p = k->add_subcommand("parse", "Decide a kernel command line as composefs-rs does: "
                                           "none | error: <reason> | <V1|V2> <secure|insecure> <hex>");
  json_output(p);
  p->add_option("--hash", po.hash, "Hash type of the parser: sha256 or sha512")->capture_default_str()->check(CLI::IsMember({"sha256", "sha512"}));
  hidden_alias(p, "--hash-alg", po.hash)->check(CLI::IsMember({"sha256", "sha512"}));
  p->add_option("CMDLINE", po.cmdline, "Kernel command line (several arguments are joined with spaces)")
      ->required()
      ->allow_extra_args();
  p->callback([&ctx] { ctx.action = [&ctx] { return parse_cmd(po, ctx.globals); }; });

  static FormatOptions fo;
  CLI::App* f = k->add_subcommand("format", "Write the composefs karg for a digest");
  json_output(f);
  f->add_option("--hash", fo.hash, "sha256 or sha512")->capture_default_str()->check(CLI::IsMember({"sha256", "sha512"}));
  hidden_alias(f, "--hash-alg", fo.hash)->check(CLI::IsMember({"sha256", "sha512"}));
  f->add_option("--version", fo.version, "EROFS format family: v1 or v2")->capture_default_str()->check(CLI::IsMember({"v1", "v2"}));
  f->add_option("--form", fo.form,
                "auto (composefs-rs: V1 -> composefs.digest=, V2 -> composefs=), legacy (always composefs=), "
                "digest (always composefs.digest=)")
      ->capture_default_str()->check(CLI::IsMember({"auto", "legacy", "digest"}));
  f->add_flag("--insecure", fo.insecure, "Add the '?' marker (fs-verity optional)");
  f->add_option("DIGEST", fo.digest, "Hex digest")->required();
  f->callback([&ctx] { ctx.action = [&ctx] { return format_cmd(fo, ctx.globals); }; });
}

}  // namespace

BOOTSEAL_VERB(60, setup);

}  // namespace bootseal::cli
