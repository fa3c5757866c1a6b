// composefs policy over EROFS: the tree rewrite that makes an EROFS image a
// composefs image (overlayfs xattrs for external files and whiteouts, the
// opaque root, the 00..ff whiteout stubs), the format version decision, the
// image digest, and reading an image back into the tree it was made from
// (composefs-info semantics). Byte-identical to containers/composefs v1.0.8
// mkcomposefs for SHA-256 digests; see docs/formats/composefs.md.
#pragma once

#include <cstdint>
#include <optional>

#include "base/bytes.h"
#include "base/error.h"
#include "crypto/hash.h"
#include "fstree/tree.h"

namespace bootseal::composefs {

inline constexpr uint32_t kMaxFormatVersion = 1;  // LCFS_VERSION_MAX

// Overlayfs xattr names (Linux Documentation/filesystems/overlayfs.rst).
inline constexpr std::string_view kOverlayPrefix = "trusted.overlay.";
inline constexpr std::string_view kOverlayEscapedPrefix = "trusted.overlay.overlay.";
inline constexpr std::string_view kOverlayMetacopy = "trusted.overlay.metacopy";
inline constexpr std::string_view kOverlayRedirect = "trusted.overlay.redirect";
inline constexpr std::string_view kOverlayOpaque = "trusted.overlay.opaque";
inline constexpr std::string_view kEscapedWhiteout = "trusted.overlay.overlay.whiteout";
inline constexpr std::string_view kEscapedWhiteouts = "trusted.overlay.overlay.whiteouts";
inline constexpr std::string_view kEscapedOpaque = "trusted.overlay.overlay.opaque";
inline constexpr std::string_view kUserWhiteout = "user.overlay.whiteout";
inline constexpr std::string_view kUserWhiteouts = "user.overlay.whiteouts";
inline constexpr std::string_view kUserOpaque = "user.overlay.opaque";

// The format version range, as mkcomposefs's --min-version/--max-version:
// with neither option 0..1; with either one, the other defaults to 0 and a
// max below min is raised to min.
struct VersionRange {
  uint32_t min = 0;
  uint32_t max = kMaxFormatVersion;
};
Result<VersionRange> version_range(std::optional<int64_t> min, std::optional<int64_t> max);

// The version mkcomposefs picks: min, raised to 1 (if max allows) when the
// tree holds a whiteout (a character device with rdev 0).
uint32_t effective_version(const fstree::Tree& tree, VersionRange range);

// The tree as composefs writes it to EROFS (a new tree; the input is not
// changed): user "trusted.overlay.*" xattrs escaped, metacopy and redirect
// on external files (a 32-byte digest gives the SHA-256 metacopy
// "00 24 00 01"+digest, a 64-byte one the SHA-512 form "00 44 00 02"+digest),
// whiteouts turned into marked regular files (and, from version 1, their
// directories marked opaque "x"), the root opaque "y", and a 0/0 character
// device for each missing top-level name 00..ff. Errors when the added xattrs
// exceed an inode's xattr budget (32767 bytes, libcomposefs's accounting).
Result<fstree::Tree> rewrite_for_erofs(const fstree::Tree& tree, uint32_t version);

struct Image {
  Bytes data;
  uint32_t version = 0;
};
// The whole pipeline: version decision, rewrite, EROFS layout.
Result<Image> build_image(const fstree::Tree& tree, VersionRange range = {});
// The same, rewriting `tree` in place instead of a copy (it is left rewritten).
Result<Image> build_image(fstree::Tree&& tree, VersionRange range = {});

// composefs-rs's legacy format V2 (bootc 1.16.3 and earlier): see
// image_v2.cc for the layout. Takes the plain tree (no rewrite needed).
Result<Image> build_image_v2(const fstree::Tree& tree);

// fs-verity digest of an image (4 KiB blocks, no salt): the image's identity.
Bytes image_digest(ByteSpan image, crypto::HashAlg alg = crypto::HashAlg::kSha256);

// Reads an image back into the tree it describes, as composefs-info does:
// the 00..ff stubs dropped, whiteouts restored, overlay xattrs turned back into
// payloads and digests, escaped xattrs unescaped. The first name of a
// multiply-linked inode in depth-first order becomes the primary.
Result<fstree::Tree> read_image(ByteSpan image);

// The composefs header's composefs_version field (after checking magics).
Result<uint32_t> image_version(ByteSpan image);

}  // namespace bootseal::composefs
