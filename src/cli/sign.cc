// bootseal sign | verify | unsign: Authenticode signatures of PE images
// (compatible with sbsign/sbverify and pesign).
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <optional>

#include <fmt/ranges.h>

#include "authenticode/authenticode.h"
#include "cli/command.h"
#include "crypto/pkcs7.h"
#include "keys/keyset.h"
#include "par/pool.h"
#include "sys/dirscan.h"
#include "sys/file.h"
#include "sys/mapped_file.h"
#include "verify/verify.h"

namespace bootseal::cli {

int64_t reproducible_now();  // keys.cc

Status write_layout_file(const std::string& path, pe::Layout l, mode_t mode, bool set_checksum);

// --key-passphrase-file of the verb being run (sign, uki build): for an encrypted PEM key.
std::string& key_passphrase_file() {
  static std::string path;
  return path;
}

namespace {

struct SignArgs {
  std::string key, cert, input, output;
  std::vector<std::string> addcerts;
  bool append = false;
  bool in_place = false;
  // Offline signing (systemd-sbsign 258): write the data to be signed, or put
  // an externally made signature of it in.
  bool prepare_offline = false;
  std::string signed_data, signed_data_signature;  // --signed-data alone: a whole PKCS#7 (sbattach --attach)
};

void warn_about_certificate(const crypto::Certificate& c, const std::string& path, int64_t now) {
  if (c.not_after() < now)
    warn(fmt::format("{}: certificate '{}' expired on {}", path, c.subject(), crypto::format_time(c.not_after())));
  else if (c.not_before() > now)
    warn(fmt::format("{}: certificate '{}' is not valid before {}", path, c.subject(),
                     crypto::format_time(c.not_before())));
  if (!c.has_code_signing_usage())
    warn(fmt::format("{}: certificate '{}' has no code-signing extended key usage", path, c.subject()));
}

// Writes go out in pieces of at most kWriteChunk, each summed for the
// checksum just before it is written (so the copy into the page cache reads it
// from cache); writeback is started every kWritebackChunk, so the disk works
// while the rest is copied and hashed and the final fsync has little to wait for.
constexpr uint64_t kWriteChunk = uint64_t{1} << 20;
constexpr uint64_t kWritebackChunk = uint64_t{8} << 20;

// Writes [offset, offset + len) of a layout into the file at the same offsets;
// returns the checksum word sum of those bytes when `sum` is set (else 0).
Result<uint64_t> write_range(sys::AtomicFile& f, const pe::Layout& l, uint64_t offset, uint64_t len, bool sum) {
  Status st;
  uint64_t pos = offset, flushed = offset, word_sum = 0;
  bool inside = l.visit(offset, len, [&](ByteSpan d) {
    while (!d.empty() && st.ok()) {
      ByteSpan c = d.first(static_cast<size_t>(std::min<uint64_t>(d.size(), kWriteChunk)));
      if (sum) word_sum += pe::checksum_word_sum(c, pos);
      st = sys::pwrite_full(f.fd(), c, pos, f.path());
      pos += c.size();
      d = d.subspan(c.size());
      if (pos - flushed >= kWritebackChunk) {
        sys::start_writeback(f.fd(), flushed, pos - flushed);
        flushed = pos;
      }
    }
  });
  if (!inside) return internal_error("write {}: range {:#x}+{} outside the image", f.path(), offset, len);
  BS_TRY(st);
  if (pos > flushed) sys::start_writeback(f.fd(), flushed, pos - flushed);
  return word_sum;
}

Result<Bytes> read_pe(const std::string& path) {
  Bytes data = BS_TRY(sys::read_file(path));
  if (!pe::looks_like_pe(data)) return input_error("{}: not a PE image (no MZ/PE header)", path);
  return data;
}

nlohmann::json report_json(const std::string& file, const authenticode::VerifyReport& r) {
  nlohmann::json j{{"file", file}, {"type", "pe"}, {"ok", r.ok()}, {"signed", r.signed_image}};
  j["signatures"] = nlohmann::json::array();
  for (auto& s : r.signatures) {
    nlohmann::json e{{"index", s.index}, {"signer", s.signer}, {"issuer", s.issuer},
                     {"digest_algorithm", s.digest_algorithm}, {"hash_ok", s.hash_ok}, {"ok", s.ok}};
    if (s.signing_time) e["signing_time"] = crypto::format_time(*s.signing_time);
    if (!s.ok) e["problem"] = s.problem;
    j["signatures"].push_back(e);
  }
  if (!r.ok()) j["failure"] = r.failure();
  return j;
}

// A signing key (or, offline, the prepared signed data and its signature),
// its certificate and the options, loaded and checked once.
struct SigningSetup {
  std::unique_ptr<crypto::Signer> signer;  // null when signing offline
  crypto::Certificate cert;
  authenticode::SignOptions options;
  Bytes signed_data, signature;  // --signed-data, --signed-data-signature
};

Result<SigningSetup> load_signing(const std::string& key, const std::string& cert_path,
                                  const std::vector<std::string>& addcerts, bool append) {
  std::unique_ptr<crypto::Signer> signer;
  if (!key.empty()) signer = BS_TRY(keys::load_signer(key, key_passphrase_file()));
  SigningSetup s{std::move(signer), BS_TRY(keys::load_certificate(cert_path)), {}, {}, {}};
  if (s.signer && s.signer->public_key_der() != s.cert.public_key_der())
    return input_error("key {} does not match certificate {} ('{}')", key, cert_path, s.cert.subject());
  warn_about_certificate(s.cert, cert_path, static_cast<int64_t>(std::time(nullptr)));
  s.options.append = append;
  s.options.signing_time = reproducible_now();
  for (auto& f : addcerts) {
    auto certs = BS_TRY(keys::load_certificates(f));
    s.options.extra_certificates.insert(s.options.extra_certificates.end(), certs.begin(), certs.end());
  }
  return s;
}

// Signs a layout and writes it atomically. Once the image is prepared, its
// bytes after the headers are final, so they are written out while the image
// hash is computed (two tasks on the pool: the page-cache copy and SHA-256 run
// side by side); then the table is appended and the patched headers are
// written at offset 0. One fsync, at commit.
Status sign_and_write(pe::Layout image, const SigningSetup& s, const std::string& output) {
  authenticode::PreparedImage p = BS_TRY(authenticode::prepare_signing(std::move(image), s.options.append));
  auto f = BS_TRY(sys::AtomicFile::create(output, 0644));
  const uint64_t body = p.layout.headers.size(), prepared_size = p.layout.size;
  std::optional<Result<uint64_t>> body_sum;
  std::optional<Result<Bytes>> hash;
  par::parallel_for(2, [&](size_t task) {
    if (task == 0)
      body_sum = write_range(f, p.layout, body, prepared_size - body, true);
    else
      hash = authenticode::image_hash(p.layout, p.ranges, crypto::HashAlg::kSha256);
  });
  uint64_t sum = BS_TRY(std::move(*body_sum));
  Bytes digest = BS_TRY(std::move(*hash));
  pe::Layout done =
      s.signer ? BS_TRY(authenticode::finish_signing(std::move(p), digest, *s.signer, s.cert, s.options, sum))
               : BS_TRY(authenticode::finish_signing_offline(std::move(p), digest, s.cert, s.options, s.signed_data,
                                                             s.signature, sum));
  BS_TRY(write_range(f, done, prepared_size, done.size - prepared_size, false));
  BS_TRY(write_range(f, done, 0, body, false));
  return f.commit();
}

// sign --signed-data P7 (no --signed-data-signature): a whole PKCS#7 signature
// made elsewhere goes in as it is, after authenticode::attach_pkcs7 checked it
// is this image's (`trusted`: --cert, if given, it must chain to).
Status attach_and_write(pe::Layout image, ByteSpan p7, const std::vector<crypto::Certificate>& trusted, bool append,
                        const std::string& output) {
  authenticode::PreparedImage p = BS_TRY(authenticode::prepare_signing(std::move(image), append));
  const uint64_t body = p.layout.headers.size(), prepared_size = p.layout.size;
  pe::Layout done = BS_TRY(authenticode::attach_pkcs7(std::move(p), p7, trusted));
  auto f = BS_TRY(sys::AtomicFile::create(output, 0644));
  BS_TRY(write_range(f, done, body, prepared_size - body, false));
  BS_TRY(write_range(f, done, prepared_size, done.size - prepared_size, false));
  BS_TRY(write_range(f, done, 0, body, false));
  return f.commit();
}

}  // namespace

// Writes a PE layout atomically (temp file, one fsync, rename): headers,
// pieces, zeros in the gaps; with `set_checksum`, the CheckSum is computed
// from the bytes as they are written and the headers go last. `uki build`
// writes its UKIs with it too.
Status write_layout_file(const std::string& path, pe::Layout l, mode_t mode, bool set_checksum) {
  auto f = BS_TRY(sys::AtomicFile::create(path, mode));
  uint64_t body = l.headers.size();
  uint64_t sum = BS_TRY(write_range(f, l, body, l.size - body, set_checksum));
  if (set_checksum) l.set_checksum(sum);
  BS_TRY(write_range(f, l, 0, body, false));
  return f.commit();
}

// Signs a PE image held as a layout (views of its data, nothing copied) and
// writes it atomically to `output`: what `bootseal sign` and `uki build
// --sign-key/--sign-cert` share.
Status sign_layout_to_file(pe::Layout image, const std::string& key, const std::string& cert,
                           const std::vector<std::string>& addcerts, bool append, const std::string& output) {
  SigningSetup s = BS_TRY(load_signing(key, cert, addcerts, append));
  return sign_and_write(std::move(image), s, output);
}

// Authenticode verification of one PE file, printed as `bootseal verify`
// does; the whole-chain verifier calls this for each PE it finds (the
// library function underneath is authenticode::verify).
Status verify_pe_file(const std::string& file, ByteSpan data, const std::vector<crypto::Certificate>& trusted,
                      const Globals& g) {
  authenticode::VerifyReport r = BS_TRY_CTX(authenticode::verify(data, trusted), "verify {}", file);
  if (g.json) {
    print_json(report_json(file, r));
  } else if (r.ok()) {  // the verdict: printed even with -q
    for (auto& s : r.signatures)
      if (s.ok) {
        std::printf("%s: signature OK (signer '%s', %s)\n", file.c_str(), s.signer.c_str(), s.digest_algorithm.c_str());
        break;
      }
  }
  if (!r.ok()) return check_error("verify {}: {}", file, r.failure());
  return {};
}

namespace {

// sign --prepare-offline-signing: the DER signed attributes for IN, to be signed elsewhere.
Status prepare_offline_cmd(const SignArgs& a, const SigningSetup& setup, const pe::Layout& image, const Globals& g) {
  authenticode::PreparedImage p = BS_TRY(authenticode::prepare_signing(image, a.append));
  Bytes hash = BS_TRY(authenticode::image_hash(p.layout, p.ranges, crypto::HashAlg::kSha256));
  Bytes tbs = BS_TRY(authenticode::offline_signed_data(hash, setup.cert, setup.options));
  BS_TRY(sys::write_file_atomic(a.output, tbs, 0644));
  if (g.json)
    print_json({{"input", a.input}, {"signed_data", a.output}, {"signer", setup.cert.subject()}, {"bytes", tbs.size()}});
  else if (!g.quiet)
    std::printf("Wrote the data to be signed for %s to %s (%zu bytes; sign it with SHA-256, e.g. "
                "'openssl dgst -sha256 -sign KEY -out SIG %s')\n",
                a.input.c_str(), a.output.c_str(), tbs.size(), a.output.c_str());
  return {};
}

// sign --signed-data P7: a whole signature made elsewhere (sbattach --attach), checked first.
Status attach_p7_cmd(const SignArgs& a, const Globals& g) {
  auto ctx = [&] { return fmt::format("sign {} with --signed-data {}", a.input, a.signed_data); };
  if (!a.addcerts.empty())
    return usage_error("sign --signed-data {}: a PKCS#7 signature carries its own certificates; --addcert is for "
                       "signing here", a.signed_data);
  std::vector<crypto::Certificate> trusted;
  if (!a.cert.empty()) trusted.push_back(BS_TRY_CTX(keys::load_certificate(a.cert), "{}", ctx()));
  Bytes p7 = BS_TRY_CTX(sys::read_file(a.signed_data), "{}", ctx());
  sys::MappedFile in = BS_TRY_CTX(sys::MappedFile::open(a.input), "sign");
  if (!pe::looks_like_pe(in.data())) return input_error("sign: {}: not a PE image (no MZ/PE header)", a.input);
  pe::Image img = BS_TRY_CTX(pe::parse(in.data()), "{}", ctx());
  std::string output = !a.output.empty() ? a.output : a.in_place ? a.input : a.input + ".signed";
  BS_TRY_CTX(attach_and_write(pe::Layout::of_file(in.data(), img.SizeOfHeaders), p7, trusted, a.append, output), "{}",
             ctx());
  crypto::Pkcs7Info info = BS_TRY_CTX(crypto::pkcs7_parse(p7), "{}", ctx());
  std::string signer = info.signers[0].certificate->subject();
  if (g.json)
    print_json({{"input", a.input}, {"output", output}, {"signer", signer}, {"append", a.append}, {"signed_data", a.signed_data}});
  else if (!g.quiet)
    std::printf("Signed %s -> %s (signer '%s', signature from %s)\n", a.input.c_str(), output.c_str(), signer.c_str(),
                a.signed_data.c_str());
  return {};
}

Status sign_cmd(const SignArgs& a, const Globals& g) {
  auto ctx = [&] { return fmt::format("sign {}", a.input); };
  const bool attach = !a.signed_data_signature.empty();
  const bool attach_p7 = !a.signed_data.empty() && a.signed_data_signature.empty();
  if (a.key.empty() && !a.prepare_offline && a.signed_data.empty())
    return usage_error("sign: give --key, or --prepare-offline-signing, or --signed-data (a PKCS#7 signature, or the "
                       "prepared data with --signed-data-signature)");
  if (!a.key.empty() && (a.prepare_offline || !a.signed_data.empty() || attach))
    return usage_error("sign: --key signs here; --prepare-offline-signing and --signed-data sign elsewhere: "
                       "give one of them");
  if (a.prepare_offline && (!a.signed_data.empty() || attach))
    return usage_error("sign: --prepare-offline-signing writes the data to sign; --signed-data puts a signature in: "
                       "give one of them");
  if (a.prepare_offline && a.output.empty())
    return usage_error("sign --prepare-offline-signing: give --output FILE for the data to be signed");
  if (a.signed_data.empty() && attach)
    return usage_error("sign: --signed-data-signature needs --signed-data, the data --prepare-offline-signing wrote");
  if (a.cert.empty() && !attach_p7)
    return usage_error("sign: give --cert, the certificate of the signing key");
  if (attach_p7) return attach_p7_cmd(a, g);
  // Key and certificate problems first: they are reported before the image is read.
  SigningSetup setup = BS_TRY_CTX(load_signing(a.key, a.cert, a.addcerts, a.append), "{}", ctx());
  if (attach) {
    setup.signed_data = BS_TRY_CTX(sys::read_file(a.signed_data), "{}", ctx());
    setup.signature = BS_TRY_CTX(sys::read_file(a.signed_data_signature), "{}", ctx());
  }
  // The input is mapped, not read: the signed output is written from views of
  // it (headers patched, table appended), one pass, no copy. Signing in place
  // is safe: the output replaces the input by rename, the mapping keeps the old file.
  sys::MappedFile in = BS_TRY_CTX(sys::MappedFile::open(a.input), "sign");
  if (!pe::looks_like_pe(in.data())) return input_error("sign: {}: not a PE image (no MZ/PE header)", a.input);
  pe::Image img = BS_TRY_CTX(pe::parse(in.data()), "{}", ctx());
  if (a.prepare_offline) {
    BS_TRY_CTX(prepare_offline_cmd(a, setup, pe::Layout::of_file(in.data(), img.SizeOfHeaders), g), "{}", ctx());
    return {};
  }
  // As sbsign: IN.signed unless --output names the file or --in-place is asked for.
  std::string output = !a.output.empty() ? a.output : a.in_place ? a.input : a.input + ".signed";
  BS_TRY_CTX(sign_and_write(pe::Layout::of_file(in.data(), img.SizeOfHeaders), setup, output),
             "{}{}", ctx(), attach ? fmt::format(" with --signed-data {}", a.signed_data) : "");
  if (g.json)
    print_json({{"input", a.input}, {"output", output}, {"signer", setup.cert.subject()}, {"append", a.append}});
  else if (!g.quiet)
    std::printf("Signed %s -> %s (signer '%s')\n", a.input.c_str(), output.c_str(), setup.cert.subject().c_str());
  return {};
}

struct VerifyArgs {
  std::vector<std::string> certs;
  std::vector<std::string> targets;
  std::string efivars, vars, pcr_public_key, policy, arch;
  bool deep = false;
};

// The whole chain of a disk, block device or ESP + root (verify/verify.h).
namespace vfy = ::bootseal::verify;

Status verify_chain(const VerifyArgs& a, const Globals& g) {
  vfy::Options o;
  o.targets = a.targets;
  o.db_certs = a.certs;
  o.efivars_dir = a.efivars;
  o.vars_file = a.vars;
  o.pcr_public_key = a.pcr_public_key;
  o.policy_file = a.policy;
  o.deep = a.deep;
  if (!a.arch.empty()) o.arch = BS_TRY_CTX(parse_arch(a.arch), "--arch");
  std::string what = fmt::format("verify {}", fmt::join(a.targets, " "));
  vfy::Report r = BS_TRY_CTX(vfy::run(o), "{}", what);
  size_t width = 0;
  for (auto& l : r.links) width = std::max(width, l.name.size());
  for (auto& l : r.links) {
    if (g.json) {
      nlohmann::json d = nlohmann::json::object();
      for (auto& [k, v] : l.details) d[k] = v;
      nlohmann::json j = {{"link", l.name}, {"verdict", std::string(vfy::verdict_name(l.verdict))}, {"reason", l.reason}, {"details", d}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("%s  %-*s  %s\n", std::string(vfy::verdict_name(l.verdict)).c_str(), static_cast<int>(width), l.name.c_str(),
                  l.reason.c_str());
    }
  }
  std::fflush(stdout);
  size_t fails = 0;
  std::string first;
  for (auto& l : r.links)
    if (l.verdict == vfy::Verdict::kFail && fails++ == 0) first = l.name;
  if (fails) return check_error("{}: {} link(s) fail, the first {}: this disk would not boot sealed", what, fails, first);
  return {};
}


Status verify_cmd(const VerifyArgs& a, const Globals& g) {
  auto st = a.targets.size() == 1 ? sys::lstat_path(a.targets[0]) : Result<struct stat>(input_error("-"));
  if (st && S_ISREG(st->st_mode)) {
    const std::string& file = a.targets[0];
    sys::MappedFile map = BS_TRY_CTX(sys::MappedFile::open_random(file), "verify");
    ByteSpan data = map.data();
    if (pe::looks_like_pe(data)) {
      if (a.certs.empty()) return input_error("verify {}: a PE file is verified against --db/--cert certificates; give one", file);
      std::vector<crypto::Certificate> trusted;
      for (auto& c : a.certs) trusted.push_back(BS_TRY_CTX(keys::load_certificate(c), "verify {}", file));
      return verify_pe_file(file, data, trusted, g);
    }
    // Smaller than a protective MBR plus a GPT header and its entries: no disk either.
    if (data.size() < 34 * 512)
      return input_error("verify {}: not a PE image (no MZ/PE header), and at {} bytes too small for a GPT disk", file,
                         data.size());
  }
  return verify_chain(a, g);
}

struct UnsignArgs {
  std::string input, output;
};

Status unsign_cmd(const UnsignArgs& a, const Globals& g) {
  Bytes in = BS_TRY_CTX(read_pe(a.input), "unsign");
  Bytes out = BS_TRY_CTX(authenticode::unsign(in), "unsign {}", a.input);
  std::string output = a.output.empty() ? a.input : a.output;
  BS_TRY_CTX(sys::write_file_atomic(output, out, 0644), "unsign {}", a.input);
  if (g.json)
    print_json({{"input", a.input}, {"output", output}});
  else if (!g.quiet)
    std::printf("Removed signatures: %s -> %s\n", a.input.c_str(), output.c_str());
  return {};
}

void setup(CLI::App& root, Context& ctx) {
  static SignArgs sa;
  CLI::App* s = root.add_subcommand("sign", "Authenticode-sign a PE image (UKI, boot loader, kernel) with a db key");
  json_output(s);
  s->add_option("--key", sa.key, "Private key: PEM file, or a PKCS#11 URI ('pkcs11:token=...;object=...') for a key in a token");
  s->add_option("--key-passphrase-file", key_passphrase_file(), "Passphrase of an encrypted PEM key (first line)");
  s->add_option("--cert", sa.cert,
                "Certificate of the key (PEM or DER); with --signed-data P7 alone: the certificate its signer must chain to");
  auto* sout = s->add_option("--output,-o", sa.output, "Output file (default: IN.signed, as sbsign)");
  s->add_flag("--in-place", sa.in_place, "Replace IN with the signed image")->excludes(sout);
  s->add_flag("--append", sa.append, "Keep existing signatures and add this one");
  s->add_option("--addcert", sa.addcerts, "Intermediate certificates to embed (PEM bundle); repeatable");
  s->add_flag("--prepare-offline-signing", sa.prepare_offline,
              "Write the data to be signed (DER PKCS#7 signed attributes) to --output instead of signing, "
              "as systemd-sbsign; no key needed");
  s->add_option("--signed-data", sa.signed_data,
                "A DER PKCS#7 Authenticode signature made elsewhere for IN (as sbattach --attach; checked first), or "
                "with --signed-data-signature the data --prepare-offline-signing wrote");
  s->add_option("--signed-data-signature", sa.signed_data_signature,
                "Its signature made elsewhere (SHA-256, raw: 'openssl dgst -sha256 -sign'): put it in IN");
  s->add_option("IN", sa.input, "PE image")->required();
  s->callback([&ctx] { ctx.action = [&ctx] { return sign_cmd(sa, ctx.globals); }; });

  static VerifyArgs va;
  CLI::App* v = root.add_subcommand(
      "verify", "Check the whole boot chain of a disk image, block device, ESP + root or booted system offline "
                "(or one PE image's Authenticode signature)");
  json_output(v);
  v->add_option("--db,--cert", va.certs, "Certificate the firmware trusts (db; PEM or DER); repeatable")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false);  // one value per --db: `--db C ESP ROOT` keeps both targets
  v->add_option("--vars", va.vars, "Read db from an OVMF_VARS.fd (the edk2 variable store) instead");
  v->add_option("--efivars", va.efivars, "Read db from efivarfs (or a copy of it) instead");
  v->add_option("--pcr-public-key", va.pcr_public_key, "Public key (PEM) every UKI's .pcrsig must be signed with");
  v->add_option("--policy", va.policy, "Kernel command line policy: lines 'require ARG' / 'forbid ARG'");
  v->add_flag("--deep", va.deep, "Hash every object of the root images (fs-verity) and compare with its name");
  v->add_option("--arch", va.arch, "x86-64 or arm64: the architecture the disk must be for (default: from the ESP's "
                                   "EFI/BOOT/BOOT*.EFI, else the root partition type)");
  v->add_option("TARGET", va.targets, "Disk image, block device, /, a root directory, or ESP and root directories; or a PE file")
      ->required()
      ->expected(1, 2);
  v->callback([&ctx] { ctx.action = [&ctx] { return verify_cmd(va, ctx.globals); }; });

  static UnsignArgs ua;
  CLI::App* u = root.add_subcommand("unsign", "Remove all Authenticode signatures from a PE image");
  json_output(u);
  u->add_option("--output,-o", ua.output, "Output file (default: IN in place)");
  u->add_option("IN", ua.input, "Signed PE image")->required();
  u->callback([&ctx] { ctx.action = [&ctx] { return unsign_cmd(ua, ctx.globals); }; });
}

}  // namespace

BOOTSEAL_VERB(50, setup);

}  // namespace bootseal::cli
