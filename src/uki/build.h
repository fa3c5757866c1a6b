// Building a UKI from its parts, as `ukify build` does (section set, ukify's
// file order, .sbat merged from the stub's, the kernel's and the given texts,
// .uname read from the kernel when not given). Pure: bytes in, bytes out.
// `bootseal uki build` and `bootseal disk create` both use it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "uki/uki.h"

namespace bootseal::uki {

struct BuildInputs {
  Bytes stub;                       // systemd-stub (linuxx64.efi.stub)
  Bytes linux_image;                // the kernel (a PE bzImage)
  std::vector<Bytes> initrds;       // concatenated in order
  std::string cmdline;              // empty: no .cmdline
  std::optional<std::string> os_release;  // nullopt: no .osrel
  std::optional<std::string> uname;       // nullopt: read from the kernel (a failure adds a warning)
  std::optional<Bytes> devicetree, splash;
  std::vector<std::string> sbat_texts;    // empty: ukify's default "uki,1,..." line
  std::optional<std::string> pcrpkey;     // PEM public key for .pcrpkey
  bool update_checksum = true;
};

struct BuildResult {
  Bytes image;
  std::vector<std::string> warnings;
  std::vector<NamedSection> sections;  // in file order (views into `image` are not kept)
};

// Sections for `in`, in ukify's file order (without .pcrsig).
Result<std::vector<NamedSection>> build_sections(const BuildInputs& in, std::vector<std::string>* warnings);
// Appends a .pcrsig (if given) and assembles the image.
Result<Bytes> assemble_uki(ByteSpan stub, std::vector<NamedSection> sections, const std::optional<std::string>& pcrsig,
                           bool update_checksum);
// Both steps, no .pcrsig.
Result<Bytes> build(const BuildInputs& in, std::vector<std::string>* warnings = nullptr);

}  // namespace bootseal::uki
