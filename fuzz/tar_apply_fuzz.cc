// Fuzzes the layer applier fed with arbitrary (possibly compressed) tar
// streams: tar parsing, path normalisation, whiteouts, hardlinks, the OCI and
// boot transforms, and printing the result as a dumpfile. Any input must give
// a tree or an error, never a crash; an applied tree must print and parse back.
#include <cstdint>

#include "fstree/dumpfile.h"
#include "oci/apply.h"
#include "oci/transform.h"
#include "tar/reader.h"

using namespace bootseal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan in(data, size);
  auto r = tar::Reader::open(tar::memory_source(in), "fuzz");
  if (!r.ok()) return 0;
  fstree::Tree tree;
  oci::Applier ap(tree, oci::inline_or([](const tar::Entry&, tar::Reader& rd) -> Result<Bytes> {
    auto all = BS_TRY(rd.read_all(1 << 22));
    return Bytes(32, static_cast<uint8_t>(all.size()));
  }));
  // Apply the same stream twice: as two layers (hardlinks across layers, whiteouts of earlier content).
  if (!ap.apply_layer(**r).ok()) return 0;
  auto r2 = tar::Reader::open(tar::memory_source(in), "fuzz2");
  if (r2.ok()) (void)ap.apply_layer(**r2);
  fstree::Tree t = fstree::clone(tree);
  if (oci::transform_for_oci(t, oci::XattrMode::kKeepUser).ok()) (void)oci::transform_for_boot(t);
  oci::finalize_links(t);
  std::string dump = fstree::print_dumpfile(t);
  auto back = fstree::parse_dumpfile(dump);
  (void)back;
  return 0;
}
